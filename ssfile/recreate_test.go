package ssfile

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/seastream/ss/format"
)

// labelled returns n messages of one stream whose payloads are label-0001,
// label-0002, ...: every file of these has frames at the same offsets.
func labelled(label string, n int) []rec {
	out := make([]rec, n)
	for i := range out {
		out[i] = rec{format.MessageHeader{StreamKey: "s", SeqNo: uint64(i + 1), Timestamp: 1700000000000}, fmt.Appendf(nil, "%s-%04d", label, i+1)}
	}
	return out
}

// TestRecreatedInPlace recreates a followed file with ssfile.Create (same
// inode, truncated and written again) while a Reader is at its end or in its
// middle. The Reader must report it and never hand out a message of the new
// file. With the same creation time the header bytes are identical, and only
// the last bytes read show the change.
func TestRecreatedInPlace(t *testing.T) {
	created := time.UnixMilli(1700000000000)
	for _, tc := range []struct {
		name      string
		mode      Mode
		read      int // of 100 old messages, before the file is recreated
		createdAt time.Time
	}{
		{"live-replay/at-end/same-header", LiveReplay, 100, created},
		{"live-replay/at-end/new-header", LiveReplay, 100, created.Add(time.Second)},
		{"live-replay/middle/same-header", LiveReplay, 50, created},
		{"live-replay/middle/new-header", LiveReplay, 50, created.Add(time.Second)},
		{"replay/middle/same-header", Replay, 50, created},
		{"replay/middle/new-header", Replay, 50, created.Add(time.Second)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "x.ss")
			writeFile(t, path, labelled("old", 100), WithCreatedAt(created))
			r, err := Open(path, WithMode(tc.mode), WithPollInterval(time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			for i := range tc.read {
				m, err := r.Next(ctx)
				if err != nil || string(m.Payload) != fmt.Sprintf("old-%04d", i+1) {
					t.Fatalf("message %d: %q, %v", i+1, m.Payload, err)
				}
			}
			writeFile(t, path, labelled("new", 300), WithCreatedAt(tc.createdAt))
			if fi, err := os.Stat(path); err != nil || fi.Size() <= r.Size() {
				t.Fatalf("the new file is not longer: %v", err)
			}
			for range 2 { // and again: the error stays
				m, err := r.Next(ctx)
				if err == nil {
					t.Fatalf("after the file was recreated, Next returned %q", m.Payload)
				}
				if !errors.Is(err, ErrReplaced) {
					t.Fatalf("got %v, want ErrReplaced", err)
				}
			}
		})
	}
}

// TestRecreatedWhileWaiting recreates the file while a LiveReplay Reader
// waits at its end for more: it must end with ErrTruncated (it saw the file
// shorter than its position) or ErrReplaced, never with a new message.
func TestRecreatedWhileWaiting(t *testing.T) {
	for round := range 20 {
		path := filepath.Join(t.TempDir(), "x.ss")
		writeFile(t, path, labelled("old", 100))
		r, err := Open(path, WithMode(LiveReplay), WithPollInterval(time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		for range 100 {
			if _, err := r.Next(ctx); err != nil {
				t.Fatal(err)
			}
		}
		got := make(chan error, 1)
		go func() {
			m, err := r.Next(ctx)
			if err == nil {
				err = fmt.Errorf("returned %q", m.Payload)
			}
			got <- err
		}()
		writeFile(t, path, labelled("new", 300))
		err = <-got
		if !errors.Is(err, ErrReplaced) && !errors.Is(err, ErrTruncated) {
			t.Fatalf("round %d: %v, want ErrReplaced or ErrTruncated", round, err)
		}
		cancel()
		r.Close()
	}
}

// TestFollowAfterUnreadTailCut cuts away bytes the Reader has not read (what
// Append's recovery does with a torn frame) and appends: the Reader goes on
// with the new messages.
func TestFollowAfterUnreadTailCut(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.ss")
	writeFile(t, path, labelled("old", 10))
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	complete := fi.Size()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte{1, 's', 0, 0, 0}) // the start of a frame: a torn tail
	f.Close()
	r, err := Open(path, WithMode(LiveReplay), WithPollInterval(time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for range 10 {
		if _, err := r.Next(ctx); err != nil {
			t.Fatal(err)
		}
	}
	w, err := Append(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(path); fi.Size() != complete {
		t.Fatalf("recovery left %d bytes, want %d", fi.Size(), complete)
	}
	// The Reader sees the file shorter than it knew it, not than its
	// position: nothing to report.
	done, stop := context.WithCancel(ctx)
	stop()
	if _, err := r.Next(done); !errors.Is(err, context.Canceled) {
		t.Fatalf("after the cut: %v, want context.Canceled", err)
	}
	more := labelled("more", 15)[10:]
	for _, m := range more {
		if err := w.Write(m.h, m.payload); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	for _, want := range more {
		m, err := r.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if string(m.Payload) != string(want.payload) {
			t.Fatalf("got %q want %q", m.Payload, want.payload)
		}
	}
}
