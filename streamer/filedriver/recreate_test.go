package filedriver

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/seastream/ss/format"
	"github.com/seastream/ss/internal/testkit"
	"github.com/seastream/ss/ssfile"
	"github.com/seastream/ss/streamer/driver"
)

// writeLabelled writes n messages of stream s, payloads label-0001, ...,
// with a fixed creation time: files of these differ only in the payloads.
func writeLabelled(t *testing.T, path, label string, n int) {
	t.Helper()
	w, err := ssfile.Create(path, ssfile.WithCreatedAt(time.UnixMilli(1700000000000)))
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		h := format.MessageHeader{StreamKey: "s", SeqNo: uint64(i + 1), Timestamp: 1700000000000}
		if err := w.Write(h, fmt.Appendf(nil, "%s-%04d", label, i+1)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestRecreatedInPlaceUnderConsumer recreates the file (same inode, same
// header bytes) under a consumer whose prefetch queue is full: the messages
// already returned do not change, and the consumer ends with an error
// instead of handing out messages of the new file.
func TestRecreatedInPlaceUnderConsumer(t *testing.T) {
	ctx := testkit.Context(t)
	path := tempFile(t)
	writeLabelled(t, path, "old", 200)
	c := open(t, path, "prefetch=10")
	cons := newCons(t, c, earliest, "s")
	var kept []driver.Message
	for range 20 {
		m, err := cons.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		kept = append(kept, m)
	}
	writeLabelled(t, path, "new", 300)
	var err error
	for n := 20; ; n++ {
		var m driver.Message
		if m, err = cons.Next(ctx); err != nil {
			break
		}
		if want := fmt.Sprintf("old-%04d", n+1); string(m.Payload) != want {
			t.Fatalf("message %d: %q, want %q", n+1, m.Payload, want)
		}
	}
	if !errors.Is(err, ssfile.ErrReplaced) && !errors.Is(err, ssfile.ErrTruncated) {
		t.Fatalf("the consumer ended with %v, want ssfile.ErrReplaced or ssfile.ErrTruncated", err)
	}
	for i, m := range kept {
		if want := fmt.Sprintf("old-%04d", i+1); string(m.Payload) != want || !strings.HasPrefix(m.String(), "old-") {
			t.Fatalf("message %d returned before the file was recreated now reads %q, want %q", i+1, m.Payload, want)
		}
	}
}
