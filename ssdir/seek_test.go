package ssdir

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/seastream/ss/ssfile"
)

// TestSeekAcrossSegments: a seek by sequence number or time finds the
// message in whichever segment holds it, reading only the seeds of a binary
// search; a target past every message is ErrNotFound and leaves the
// position.
func TestSeekAcrossSegments(t *testing.T) {
	dir := t.TempDir()
	w, err := Append(dir, WithSegmentSize(4096), WithFileOptions(ssfile.WithBeaconInterval(1024)))
	if err != nil {
		t.Fatal(err)
	}
	const n = 3000
	writeN(t, w, 0, n)
	w.Close()
	segs, _ := Segments(dir)
	if len(segs) < 50 {
		t.Fatalf("%d segments", len(segs))
	}
	r, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for _, i := range []int{0, 1, 2, 3, 100, 1234, 2000, n - 3, n - 1} {
		h := header(i)
		for _, target := range []ssfile.Target{
			ssfile.SeqNoTarget(h.StreamKey, 0, h.SeqNo),
			ssfile.TimeTarget(h.StreamKey, 0, time.UnixMilli(int64(h.Timestamp)-1)),
		} {
			clear(r.seeds)
			if err := r.Seek(target); err != nil {
				t.Fatalf("seek %+v: %v", target, err)
			}
			if reads := len(r.seeds); reads > 8 { // log2(segments) + 1
				t.Errorf("seek %+v read %d seeds of %d segments, want a binary search", target, reads, len(segs))
			}
			checkNext(t, r, i, i+1)
		}
	}
	at := r.Position()
	if err := r.Seek(ssfile.SeqNoTarget("s0", 0, n)); !errors.Is(err, ssfile.ErrNotFound) {
		t.Fatalf("seek past the end: %v, want ErrNotFound", err)
	}
	if r.Position() != at {
		t.Fatalf("a seek that found nothing moved the reader from %v to %v", at, r.Position())
	}
	// The last checkNext read message n-1 (the last of the seeks above):
	// the directory is at its end.
	if _, err := r.Next(context.Background()); err == nil {
		t.Fatal("a message after the last one")
	}
}
