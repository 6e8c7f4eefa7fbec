package ssdir

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/seastream/ss/ssfile"
)

// TestFollowAcrossRollovers: LiveReplay and Live readers follow the writer
// into every new segment, with no gap and no duplicate, the writer flushing
// as it goes.
func TestFollowAcrossRollovers(t *testing.T) {
	for _, poll := range []time.Duration{time.Hour, 5 * time.Millisecond} { // notifications alone; polling too
		t.Run(fmt.Sprint("poll=", poll), func(t *testing.T) {
			dir := t.TempDir()
			w, err := Append(dir, WithSegmentSize(8<<10), WithFileOptions(ssfile.WithBeaconInterval(1024)))
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			writeN(t, w, 0, 10)
			if err := w.Flush(); err != nil {
				t.Fatal(err)
			}
			replay, err := Open(dir, WithMode(ssfile.LiveReplay), WithPollInterval(poll))
			if err != nil {
				t.Fatal(err)
			}
			defer replay.Close()
			live, err := Open(dir, WithMode(ssfile.Live), WithPollInterval(poll))
			if err != nil {
				t.Fatal(err)
			}
			defer live.Close()
			const n = 1500
			done := make(chan error, 1)
			go func() {
				for i := 10; i < n; i++ {
					if err := w.Write(header(i), payload(i)); err != nil {
						done <- err
						return
					}
					if i%7 == 0 {
						if err := w.Flush(); err != nil {
							done <- err
							return
						}
					}
				}
				done <- w.Flush()
			}()
			checkNext(t, replay, 0, n)
			checkNext(t, live, 10, n)
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			if segs, _ := Segments(dir); len(segs) < 10 {
				t.Fatalf("only %d segments: the test needs rollovers", len(segs))
			}
			// Nothing more: a Next waits, until its context ends.
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			if _, err := replay.Next(ctx); !errors.Is(err, context.Canceled) {
				t.Fatalf("Next past the end: %v, want context.Canceled", err)
			}
		})
	}
}

// TestFollowEmptyDirectory: a follower opened before the first segment
// exists reads from it once the writer creates it; Close stops a Next
// blocked in another goroutine.
func TestFollowEmptyDirectory(t *testing.T) {
	dir := t.TempDir()
	r, err := Open(dir, WithMode(ssfile.Live))
	if err != nil {
		t.Fatal(err)
	}
	w, err := Append(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	writeN(t, w, 0, 3)
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	checkNext(t, r, 0, 3)
	blocked := make(chan error, 1)
	go func() {
		_, err := r.Next(context.Background())
		blocked <- err
	}()
	r.Close()
	if err := <-blocked; !errors.Is(err, ErrClosed) {
		t.Fatalf("a Next blocked when the Reader was closed: %v, want ErrClosed", err)
	}
}

// TestRetention: the writer deletes the oldest sealed segments by count,
// bytes and age, calls the hook first with the segment in place, keeps a
// segment the hook refuses, and never deletes the one it writes.
func TestRetention(t *testing.T) {
	t.Run("segments", func(t *testing.T) {
		dir := t.TempDir()
		deleted := make(chan Segment, 100)
		w, err := Append(dir, WithSegmentSize(4096), WithRetention(Retention{Segments: 3}),
			WithBeforeDelete(func(s Segment) error {
				if _, err := os.Stat(s.Path); err != nil {
					t.Errorf("hook called for %s, which is not there: %v", s.Path, err)
				}
				deleted <- s
				return nil
			}))
		if err != nil {
			t.Fatal(err)
		}
		writeN(t, w, 0, 400)
		w.Close() // waits for the retention pass under way
		segs, _ := Segments(dir)
		if len(segs) != 3 { // Close waits for the pass the last rollover asked for
			t.Fatalf("%d segments left with retention of 3", len(segs))
		}
		close(deleted)
		var want uint64 = 1
		for s := range deleted {
			if s.Number != want {
				t.Fatalf("deleted segment %d, want the oldest, %d", s.Number, want)
			}
			if _, err := os.Stat(seedPath(dir, s.Number)); err == nil {
				t.Fatalf("the seed of deleted segment %d is still there", s.Number)
			}
			want++
		}
		if want+uint64(len(segs))-1 != segs[len(segs)-1].Number {
			t.Fatalf("deleted up to %d, left %v", want-1, segs)
		}
	})
	t.Run("bytes and a hook that keeps", func(t *testing.T) {
		dir := t.TempDir()
		keep := true
		calls := 0
		w, err := Append(dir, WithSegmentSize(4096), WithRetention(Retention{Bytes: 5 * 4096}),
			WithBeforeDelete(func(s Segment) error {
				calls++
				if keep {
					return errors.New("not archived yet")
				}
				return nil
			}))
		if err != nil {
			t.Fatal(err)
		}
		writeN(t, w, 0, 400)
		w.Close()
		segs, _ := Segments(dir)
		if segs[0].Number != 1 || calls == 0 {
			t.Fatalf("the hook kept segment 1 (called %d times), yet the oldest left is %d", calls, segs[0].Number)
		}
		keep = false
		w, err = Append(dir, WithSegmentSize(4096), WithRetention(Retention{Bytes: 5 * 4096}),
			WithBeforeDelete(func(Segment) error { return nil }))
		if err != nil {
			t.Fatal(err)
		}
		writeN(t, w, 400, 500)
		w.Close()
		segs, _ = Segments(dir)
		var total int64
		for _, s := range segs[:len(segs)-1] {
			total += s.Size
		}
		if total > 5*4096+2*4096 {
			t.Fatalf("%d bytes left in sealed segments with retention of %d", total, 5*4096)
		}
	})
	t.Run("age", func(t *testing.T) {
		dir := t.TempDir()
		now := time.UnixMilli(1_000_000 + 1000).Add(48 * time.Hour) // the messages' timestamps start at 1,000,000 ms
		w, err := Append(dir, WithSegmentSize(4096), WithRetention(Retention{Age: 24 * time.Hour}), WithClock(func() time.Time { return now }))
		if err != nil {
			t.Fatal(err)
		}
		writeN(t, w, 0, 400)
		w.Close()
		if segs, _ := Segments(dir); len(segs) != 1 {
			t.Fatalf("%d segments of messages two days old left with a retention of a day", len(segs))
		}
	})
}

// TestReaderOnDeletedSegment: a reader that must move to a segment
// retention deleted gets ErrSegmentDeleted, or with WithSkipDeleted goes on
// from the oldest left; the segment it has open it reads to its end.
func TestReaderOnDeletedSegment(t *testing.T) {
	dir := t.TempDir()
	w, err := Append(dir, WithSegmentSize(4096))
	if err != nil {
		t.Fatal(err)
	}
	writeN(t, w, 0, 300)
	w.Close()
	segs, _ := Segments(dir)
	if len(segs) < 5 {
		t.Fatalf("%d segments", len(segs))
	}
	for _, skip := range []bool{false, true} {
		opts := []ReaderOption{}
		if skip {
			opts = append(opts, WithSkipDeleted())
		}
		r, err := Open(dir, opts...)
		if err != nil {
			t.Fatal(err)
		}
		m, err := r.Next(context.Background()) // segment 1 is open
		if err != nil {
			t.Fatal(err)
		}
		if !skip {
			for _, n := range []uint64{1, 2, 3} {
				deleteSegment(dir, n)
			}
		}
		var got int
		for err == nil {
			got++
			m, err = r.Next(context.Background())
		}
		_ = m
		switch {
		case !skip && !errors.Is(err, ErrSegmentDeleted):
			t.Fatalf("moving to a deleted segment: %v after %d messages, want ErrSegmentDeleted", err, got)
		case skip && err.Error() != "EOF":
			t.Fatalf("with WithSkipDeleted: %v after %d messages", err, got)
		}
		r.Close()
	}
}
