package filedriver

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/seastream/ss/internal/sscheck"
	"github.com/seastream/ss/internal/testkit"
	"github.com/seastream/ss/streamer/driver"
)

// repairPayload is message i's payload: unique, and of mixed sizes if mixed.
func repairPayload(i int, mixed bool) string {
	p := fmt.Sprintf("msg%04d.", i)
	if mixed {
		p += strings.Repeat("x", (i*37)%300)
	}
	return p
}

// TestResumeAfterRepair is issue 11 item 5: a repair that drops a damaged
// message before the committed position moves every message after it; the
// resumed consumer must go on with the next message, not skip one (or land
// inside a frame).
func TestResumeAfterRepair(t *testing.T) {
	for _, tc := range []struct {
		mixed, legacy bool // legacy: an offsets file written before "last" was recorded
	}{{false, false}, {true, false}, {true, true}} {
		mixed := tc.mixed
		t.Run(fmt.Sprintf("mixed=%v,legacy=%v", tc.mixed, tc.legacy), func(t *testing.T) {
			ctx := testkit.Context(t)
			path := tempFile(t)
			c, err := openErr(path, "create&beacon_interval=4KiB")
			if err != nil {
				t.Fatal(err)
			}
			p := newProducer(t, c)
			for i := range 1000 {
				if _, err := p.Send(ctx, driver.Header{StreamKey: "a"}, []byte(repairPayload(i, mixed))); err != nil {
					t.Fatal(err)
				}
			}
			if err := p.Flush(ctx); err != nil {
				t.Fatal(err)
			}
			cons := newCons(t, c, resumable("r"), "a")
			for i := range 500 {
				m := next(t, ctx, cons)
				if got, want := string(m.Payload), repairPayload(i, mixed); got != want {
					t.Fatalf("message %d: %.12q, want %.12q", i, got, want)
				}
			}
			if err := cons.Commit(ctx); err != nil {
				t.Fatal(err)
			}
			cons.Close(ctx)
			if tc.legacy {
				store := OffsetsPath(path, "r")
				data, err := os.ReadFile(store)
				if err != nil {
					t.Fatal(err)
				}
				var f offsetsFile
				if err := json.Unmarshal(data, &f); err != nil || f.Last == nil {
					t.Fatalf("offsets file %s: %v", data, err)
				}
				f.Last = nil
				data, _ = json.Marshal(f)
				if err := os.WriteFile(store, data, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if err := c.Close(ctx); err != nil { // releases the writer for the repair
				t.Fatal(err)
			}

			// Flip a payload byte of message 250.
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			at := bytes.Index(data, []byte(repairPayload(250, false)))
			if at < 0 {
				t.Fatal("message 250 not found in the file")
			}
			data[at+3] ^= 0x01
			if err := os.WriteFile(path, data, 0o644); err != nil {
				t.Fatal(err)
			}
			sum, err := sscheck.Repair(path, sscheck.RepairOptions{InPlace: true}, func(*sscheck.Problem) error { return nil })
			if err != nil {
				t.Fatal(err)
			}
			if sum.LostMessages != 1 {
				t.Fatalf("repair dropped %d messages, want 1", sum.LostMessages)
			}

			cons = restart(t, path, resumable("r"), "a")
			for i := 500; i < 1000; i++ {
				m := next(t, ctx, cons)
				if got, want := string(m.Payload), repairPayload(i, mixed); got != want {
					t.Fatalf("after the repair, message %d: got %.12q, want %.12q", i, got, want)
				}
			}
			// The position found again is committed as a verified one.
			if err := cons.Commit(ctx); err != nil {
				t.Fatal(err)
			}
			cons.Close(ctx)
			c2 := open(t, path, "")
			sendN(t, ctx, newProducer(t, c2), "a", "new", 2)
			cons = restart(t, path, resumable("r"), "a")
			if got := payloads(t, ctx, cons, 2); got[0] != "new0" || got[1] != "new1" {
				t.Fatalf("after a commit on the repaired file: %q", got)
			}
		})
	}
}

// TestResumeLatestAfterRepair: a consumer that committed at the end before
// reading anything (ResetLatest) resumes, after a repair moved the end, with
// the first message written after its commit.
func TestResumeLatestAfterRepair(t *testing.T) {
	ctx := testkit.Context(t)
	path := tempFile(t)
	c, err := openErr(path, "create&beacon_interval=4KiB")
	if err != nil {
		t.Fatal(err)
	}
	p := newProducer(t, c)
	for i := range 300 {
		if _, err := p.Send(ctx, driver.Header{StreamKey: "a"}, []byte(repairPayload(i, true))); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	opts := driver.ConsumerOptions{Mode: driver.Resumable, Group: "r"} // ResetLatest
	cons := newCons(t, c, opts, "a")
	if err := cons.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	cons.Close(ctx)
	c.Close(ctx)

	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	at := bytes.Index(data, []byte(repairPayload(100, false)))
	data[at+3] ^= 0x01
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := sscheck.Repair(path, sscheck.RepairOptions{InPlace: true}, func(*sscheck.Problem) error { return nil }); err != nil {
		t.Fatal(err)
	}
	c2 := open(t, path, "")
	p2 := newProducer(t, c2)
	for i := range 3 {
		send(t, ctx, p2, driver.Header{StreamKey: "a"}, fmt.Sprintf("new%d-%s", i, strings.Repeat("y", 200)))
	}
	cons = restart(t, path, opts, "a")
	if got := payloads(t, ctx, cons, 1); !strings.HasPrefix(got[0], "new0-") {
		t.Fatalf("after the repair resumed with %.12q, want new0", got[0])
	}
}
