package ssdir

import (
	"context"
	"errors"
	"testing"

	"github.com/seastream/ss/ssfile"
)

// TestFollowerBehindRetention: a following Reader that opened the last
// segment, and fell behind while retention deleted it and the one after,
// reads the segment to its end and then gets ErrSegmentDeleted (or with
// WithSkipDeleted goes on from the oldest segment left), never the
// ssfile.ErrRemoved of the segment it followed.
func TestFollowerBehindRetention(t *testing.T) {
	for _, skip := range []bool{false, true} {
		dir := t.TempDir()
		w, err := Append(dir, WithSegmentSize(4096), WithRetention(Retention{Segments: 2}))
		if err != nil {
			t.Fatal(err)
		}
		writeN(t, w, 0, 5)
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		opts := []ReaderOption{WithMode(ssfile.LiveReplay)}
		if skip {
			opts = append(opts, WithSkipDeleted())
		}
		r, err := Open(dir, opts...) // follows the first segment, the last one
		if err != nil {
			t.Fatal(err)
		}
		checkNext(t, r, 0, 5)
		writeN(t, w, 5, 400)
		w.Close() // waits for retention
		segs, _ := Segments(dir)
		if segs[0].Number < 3 {
			t.Fatalf("segments %+v: want the first two deleted", segs)
		}
		ctx := context.Background()
		i := 5
		for ; ; i++ {
			m, err := r.Next(ctx)
			if !skip && err != nil {
				if !errors.Is(err, ErrSegmentDeleted) {
					t.Fatalf("skip=%v: after message %d: %v, want ErrSegmentDeleted", skip, i-1, err)
				}
				break
			}
			if err != nil {
				t.Fatalf("skip=%v: after message %d: %v", skip, i-1, err)
			}
			if m.MessageHeader != header(i) {
				if !skip {
					t.Fatalf("after message %d got %v: a gap", i-1, m.MessageHeader)
				}
				break // skipped to the oldest segment left
			}
		}
		if i < 20 {
			t.Fatalf("skip=%v: left the first segment after message %d, before its end", skip, i-1)
		}
		r.Close()
	}
}
