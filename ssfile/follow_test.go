package ssfile

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/seastream/ss/format"
)

func TestFollowWhileWriting(t *testing.T) {
	for _, mode := range []Mode{Live, LiveReplay} {
		t.Run(mode.String(), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "x.ss")
			w, err := Create(path, WithAnyBeaconInterval(256))
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			// Messages before the reader opens: Live skips them.
			early := randomMessages(rand.New(rand.NewPCG(5, 5)), 20, 100)
			for _, m := range early {
				w.Write(m.h, m.payload)
			}
			w.Flush()
			r, err := Open(path, WithMode(mode), WithPollInterval(time.Hour)) // notifications only
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			late := randomMessages(rand.New(rand.NewPCG(6, 6)), 500, 300)
			go func() {
				for i, m := range late {
					w.Write(m.h, m.payload)
					if i%7 == 0 {
						w.Flush()
					}
				}
				w.Flush()
			}()
			want := late
			if mode == LiveReplay {
				want = append(append([]rec{}, early...), late...)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			for i, m := range want {
				got, err := r.Next(ctx)
				if err != nil {
					t.Fatalf("message %d: %v", i, err)
				}
				if got.MessageHeader != m.h || string(got.Payload) != string(m.payload) {
					t.Fatalf("message %d: got %+v want %+v", i, got.MessageHeader, m.h)
				}
			}
		})
	}
}

func TestFollowCancelAndClose(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.ss")
	w, _ := Create(path)
	defer w.Close()
	r, err := Open(path, WithMode(Live))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := r.Next(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled Next: %v", err)
	}
	done := make(chan error)
	go func() {
		_, err := r.Next(context.Background())
		done <- err
	}()
	r.Close()
	if err := <-done; !errors.Is(err, ErrClosed) {
		t.Fatalf("Next blocked across Close: %v", err)
	}
}

func TestFollowDetectsTruncationRemovalReplacement(t *testing.T) {
	setup := func(t *testing.T) (string, *Reader) {
		path := filepath.Join(t.TempDir(), "x.ss")
		writeFile(t, path, randomMessages(rand.New(rand.NewPCG(1, 1)), 10, 10))
		r, err := Open(path, WithMode(LiveReplay), WithPollInterval(5*time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { r.Close() })
		for range 10 {
			if _, err := r.Next(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
		return path, r
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	t.Run("truncated", func(t *testing.T) {
		path, r := setup(t)
		os.Truncate(path, 200)
		if _, err := r.Next(ctx); !errors.Is(err, ErrTruncated) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("removed", func(t *testing.T) {
		path, r := setup(t)
		os.Remove(path)
		if _, err := r.Next(ctx); !errors.Is(err, ErrRemoved) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("replaced", func(t *testing.T) {
		path, r := setup(t)
		other := path + ".new"
		writeFile(t, other, nil)
		os.Rename(other, path)
		if _, err := r.Next(ctx); !errors.Is(err, ErrReplaced) {
			t.Fatalf("got %v", err)
		}
	})
}

// TestShrunkMappingDoesNotCrash truncates the file under a Reader that has
// already seen its full size: reading must fail with ErrTruncated, not SIGBUS.
func TestShrunkMappingDoesNotCrash(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.ss")
	msgs := randomMessages(rand.New(rand.NewPCG(2, 2)), 2000, 1000)
	writeFile(t, path, msgs)
	r, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := os.Truncate(path, 4096); err != nil {
		t.Fatal(err)
	}
	var n int
	for ; ; n++ {
		_, err = r.Next(context.Background())
		if err != nil {
			break
		}
	}
	if !errors.Is(err, ErrTruncated) {
		t.Fatalf("after %d messages: %v", n, err)
	}
}

// TestSeekMatchesScan compares Seek with a plain scan for many targets, with
// many streams so that most beacons lack a marker for the target stream.
func TestSeekMatchesScan(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	for _, interval := range []uint32{1024, 4096} {
		path := filepath.Join(t.TempDir(), fmt.Sprint(interval, ".ss"))
		var msgs []rec
		seq := map[string]uint64{}
		for i := 0; i < 3000; i++ {
			key := fmt.Sprintf("k%02d", rng.IntN(20))
			seq[key]++
			msgs = append(msgs, rec{format.MessageHeader{StreamKey: key, SeqNo: seq[key], Timestamp: uint64(1000 + i/3)}, make([]byte, rng.IntN(200))})
		}
		writeFile(t, path, msgs, WithAnyBeaconInterval(interval))
		r, err := Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		for trial := 0; trial < 300; trial++ {
			key := fmt.Sprintf("k%02d", rng.IntN(20))
			var target Target
			if trial%2 == 0 {
				target = SeqNoTarget(key, 0, uint64(rng.IntN(int(seq[key])+2)))
			} else {
				target = Target{StreamKey: key, Timestamp: uint64(1000 + rng.IntN(1002)), ByTime: true}
			}
			want := -1
			for i := range msgs {
				m := Message{MessageHeader: msgs[i].h}
				if target.matches(&m) {
					want = i
					break
				}
			}
			err := r.Seek(target)
			if want < 0 {
				if !errors.Is(err, ErrNotFound) {
					t.Fatalf("%+v: want not found, got %v", target, err)
				}
				continue
			}
			if err != nil {
				t.Fatalf("%+v: %v", target, err)
			}
			got, err := r.Next(context.Background())
			if err != nil || got.MessageHeader != msgs[want].h {
				t.Fatalf("%+v: got %+v %v, want %+v", target, got.MessageHeader, err, msgs[want].h)
			}
			// The rest of the file follows in order.
			if want+1 < len(msgs) {
				next, _ := r.Next(context.Background())
				if next.MessageHeader != msgs[want+1].h {
					t.Fatalf("after seek: got %+v, want %+v", next.MessageHeader, msgs[want+1].h)
				}
			}
		}
	}
}

func TestRewindAndSeekEnd(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.ss")
	msgs := randomMessages(rand.New(rand.NewPCG(3, 3)), 200, 100)
	writeFile(t, path, msgs, WithAnyBeaconInterval(1024))
	r, _ := Open(path)
	defer r.Close()
	readAll(t, r)
	if err := r.RewindToBeacon(0); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, r); len(got) != len(msgs) {
		t.Fatalf("after rewind to 0: %d messages", len(got))
	}
	if err := r.RewindToBeacon(3); err != nil {
		t.Fatal(err)
	}
	got := readAll(t, r)
	if len(got) == 0 || got[0].Offset < 3*1024 || got[0].Offset > 4*1024 {
		t.Fatalf("rewind to beacon 3 starts at %d", got[0].Offset)
	}
	if err := r.SeekEnd(); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, r); len(got) != 0 {
		t.Fatalf("%d messages after the end", len(got))
	}
}
