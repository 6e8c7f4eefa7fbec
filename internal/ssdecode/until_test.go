package ssdecode

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/seastream/ss/format"
	"github.com/seastream/ss/ssfile"
)

// TestFollowUntil: a followed file known complete (Until) is printed to
// its end, what was written after the reader caught up included, and Run
// returns: the output is that of decoding the whole file.
func TestFollowUntil(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f.ss")
	w, err := ssfile.Create(path, ssfile.WithBeaconInterval(1024))
	if err != nil {
		t.Fatal(err)
	}
	write := func(from, to int) {
		for i := from; i < to; i++ {
			h := format.MessageHeader{StreamKey: "a", SeqNo: uint64(i + 1), Timestamp: 1_700_000_000_000 + uint64(i)}
			if err := w.Write(h, fmt.Appendf(nil, "payload-%d %0100d", i, i)); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	write(0, 5)
	until := make(chan struct{})
	pr := &notifyWriter{wrote: make(chan struct{}, 1000)}
	done := make(chan error)
	go func() {
		done <- Run(context.Background(), Options{Path: path, Follow: true, FlushInterval: time.Millisecond, Until: until}, pr, nil)
	}()
	<-pr.wrote // it printed what was there, and follows
	write(5, 40)
	close(until)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	want, _, err := decode(t, Options{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	if got := pr.String(); got != want {
		t.Errorf("followed until complete:\n%s\nwant:\n%s", got, want)
	}
}
