package filedriver

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/seastream/ss/internal/testkit"
	"github.com/seastream/ss/ssfile"
	"github.com/seastream/ss/streamer/driver"
)

// TestFullDisk: when the disk fills, the file holds exactly the messages
// whose receipts succeeded, ending after a complete frame; once space is
// freed, a new Conn of the same process produces again while the old ones
// still hold the failed writer.
func TestFullDisk(t *testing.T) {
	ctx := testkit.Context(t)
	dir := testkit.Tmpfs(t, "2m")
	const runs = 5
	for run := range runs {
		path := filepath.Join(dir, fmt.Sprintf("x%d.ss", run))
		c := open(t, path, "create=if-missing")
		p := newProducer(t, c)
		holder := open(t, path, "") // another Conn sharing the writer
		newProducer(t, holder)
		send(t, ctx, p, driver.Header{StreamKey: "s"}, "first")
		filler := testkit.FillDisk(t, dir, int64(16<<10+run*3001))

		f := sendUntilFull(t, ctx, p, strings.Repeat("x", 200+run*50))
		want := append([]string{"first"}, f.ok...)
		wantFailure(t, p.Flush(ctx))
		if err := os.Remove(filler); err != nil {
			t.Fatal(err)
		}
		got := filePayloads(t, path)
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Fatalf("run %d: the file holds %d messages, the %d successful receipts say %d", run, len(got), f.sent-f.failed, len(want))
		}
		t.Logf("run %d: %d receipts ok, %d failed", run, len(want)-1, f.failed)

		// The space is back: a new Conn produces, the old ones still open.
		c2 := open(t, path, "")
		h := send(t, ctx, newProducer(t, c2), driver.Header{StreamKey: "s"}, "after")
		if h.Seq != driver.SeqNo(len(want)+1) {
			t.Fatalf("run %d: seq %d after %d messages", run, h.Seq, len(want))
		}
		// So does a new producer of the Conn whose writer failed.
		send(t, ctx, newProducer(t, c), driver.Header{StreamKey: "s"}, "again")
		for _, conn := range []driver.Conn{c, holder, c2} {
			_ = conn.Close(ctx)
		}
		if got := filePayloads(t, path); len(got) != len(want)+2 || got[len(got)-1] != "again" {
			t.Fatalf("run %d: after recovery the file holds %d messages, want %d", run, len(got), len(want)+2)
		}
		if err := os.Remove(path); err != nil {
			t.Fatal(err)
		}
	}
}

// filled is what sendUntilFull sent.
type filled struct {
	sent    int      // the messages whose Send succeeded
	failed  int      // of them, those whose receipts failed
	ok      []string // the payloads of the others, in order
	sendErr error    // the error of the Send that failed
}

// sendUntilFull sends messages to stream "s", each its number and pad,
// until a Send fails on the full disk; then it waits for the receipts of
// those sent. The failed Send and every failed receipt must fail as
// wantFailure says, whether a write or, in a stream directory, a rollover
// (a seed, a segment) failed: the next producer reopens the file or the
// directory.
func sendUntilFull(t *testing.T, ctx context.Context, p driver.Producer, pad string) filled {
	t.Helper()
	var pend []driver.Pending
	var sendErr error
	for i := 0; sendErr == nil; i++ {
		if i == 100000 {
			t.Fatal("the disk never filled")
		}
		var pd driver.Pending
		pd, sendErr = p.Send(ctx, driver.Header{StreamKey: "s"}, fmt.Appendf(nil, "m%d-%s", i, pad))
		if sendErr == nil {
			pend = append(pend, pd)
		}
	}
	wantFailure(t, sendErr)
	f := filled{sent: len(pend), sendErr: sendErr}
	for i, pd := range pend {
		if _, err := pd.Wait(ctx); err != nil {
			wantFailure(t, err)
			f.failed++
			continue
		}
		f.ok = append(f.ok, fmt.Sprintf("m%d-%s", i, pad))
	}
	return f
}

// wantFailure checks the error of a send, receipt or flush after the disk
// filled: it matches the cause and says what a streamer user can do.
func wantFailure(t *testing.T, err error) {
	t.Helper()
	if !errors.Is(err, syscall.ENOSPC) || !errors.Is(err, ssfile.ErrWriterFailed) {
		t.Fatalf("error %v, want ENOSPC and ssfile.ErrWriterFailed", err)
	}
	if msg := err.Error(); strings.Contains(msg, "Append") || !strings.Contains(msg, "new producer") {
		t.Fatalf("error %q does not tell a streamer user what to do", msg)
	}
}
