package filedriver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seastream/ss/internal/testkit"
	"github.com/seastream/ss/ssdir"
	"github.com/seastream/ss/streamer/driver"
)

// TestFullDiskDir is TestFullDisk on a stream directory rolling over every
// 4 KiB: when the disk fills, in a write or in a rollover, the directory
// holds exactly the messages whose receipts succeeded; once space is freed,
// producing goes on with the next sequence number.
func TestFullDiskDir(t *testing.T) {
	ctx := testkit.Context(t)
	mnt := testkit.Tmpfs(t, "2m")
	const runs = 5
	for run := range runs {
		dir := filepath.Join(mnt, fmt.Sprintf("d%d", run)) + "/"
		c := open(t, dir, "create=if-missing&segment_size=4KiB")
		p := newProducer(t, c)
		send(t, ctx, p, driver.Header{StreamKey: "s"}, "first")
		filler := testkit.FillDisk(t, mnt, int64(16<<10+run*3001))

		f := sendUntilFull(t, ctx, p, strings.Repeat("x", 200+run*50))
		want := append([]string{"first"}, f.ok...)
		if err := os.Remove(filler); err != nil {
			t.Fatal(err)
		}
		got := dirPayloads(t, dir)
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Fatalf("run %d: the directory holds %d messages, the %d successful receipts say %d", run, len(got), f.sent-f.failed, len(want))
		}
		t.Logf("run %d: %d receipts ok, %d failed, send error %v", run, len(want)-1, f.failed, f.sendErr)

		// The space is back: a new Conn produces, and so does a new
		// producer of the Conn whose writer failed.
		c2 := open(t, dir, "")
		h := send(t, ctx, newProducer(t, c2), driver.Header{StreamKey: "s"}, "after")
		if h.Seq != driver.SeqNo(len(want)+1) {
			t.Fatalf("run %d: seq %d after %d messages", run, h.Seq, len(want))
		}
		send(t, ctx, newProducer(t, c), driver.Header{StreamKey: "s"}, "again")
		for _, conn := range []driver.Conn{c, c2} {
			_ = conn.Close(ctx)
		}
		if got := dirPayloads(t, dir); len(got) != len(want)+2 || got[len(got)-1] != "again" {
			t.Fatalf("run %d: after recovery the directory holds %d messages, want %d", run, len(got), len(want)+2)
		}
		if err := os.RemoveAll(dir); err != nil {
			t.Fatal(err)
		}
	}
}

// dirPayloads reads every message of a stream directory.
func dirPayloads(t *testing.T, dir string) []string {
	t.Helper()
	r, err := ssdir.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var out []string
	for {
		m, err := r.Next(context.Background())
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("reading %s after %d messages: %v", dir, len(out), err)
		}
		if !m.IsEndOfStream() {
			out = append(out, string(m.Payload))
		}
	}
}
