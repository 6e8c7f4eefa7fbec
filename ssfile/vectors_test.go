package ssfile

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/seastream/ss/format"
)

func readAll(t testing.TB, r *Reader) []Message {
	t.Helper()
	var out []Message
	for {
		m, err := r.Next(context.Background())
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("after %d messages: %v", len(out), err)
		}
		out = append(out, m)
	}
}

func openVector(t *testing.T, name string) (*Reader, []byte) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	r, err := Open(filepath.Join("..", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r, data
}

// rewrite writes msgs with the header of the original and returns the bytes.
func rewrite(t *testing.T, h format.Header, msgs []Message, opts ...Option) []byte {
	t.Helper()
	path := filepath.Join(t.TempDir(), "out.ss")
	opts = append([]Option{WithAnyBeaconInterval(h.BeaconInterval), WithFileName(h.FileName),
		WithCreatedAt(time.UnixMilli(int64(h.CreatedAt)))}, opts...)
	w, err := Create(path, opts...)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		if err := w.Write(m.MessageHeader, m.Payload); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	out, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestVectorSample1(t *testing.T) {
	r, data := openVector(t, "sample-1.ss")
	msgs := readAll(t, r)
	if len(msgs) != 28 {
		t.Fatalf("%d messages, want 28", len(msgs))
	}
	var keys []string
	for _, m := range msgs {
		keys = append(keys, fmt.Sprintf("%s/%d", m.StreamKey, m.SeqNo))
	}
	want := []string{"file/1", "breakpoint/1", "breakpoint/2", "breakpoint/3", "event/1", "breakpoint/4"}
	for i := 2; i <= 22; i++ {
		want = append(want, fmt.Sprintf("event/%d", i))
	}
	want = append(want, "SEA_STREAMER_INTERNAL/0")
	if fmt.Sprint(keys) != fmt.Sprint(want) {
		t.Fatalf("messages\n got %v\nwant %v", keys, want)
	}
	first, last := msgs[0], msgs[len(msgs)-1]
	if first.Timestamp != 1694767177912 || len(first.Payload) != 134 || first.Checksum != 0xEFF5 || first.ShardID != 0 {
		t.Fatalf("first message %+v", first.MessageHeader)
	}
	if !last.IsEndOfStream() || last.Timestamp != 1694767178569 {
		t.Fatalf("last message %+v %q", last.MessageHeader, last.Payload)
	}
	if got := rewrite(t, r.Header(), msgs); !bytes.Equal(got, data) {
		t.Fatalf("rewritten file differs (%d vs %d bytes)", len(got), len(data))
	}
}

func TestVectorConsumer(t *testing.T) {
	r, data := openVector(t, "consumer.ss")
	msgs := readAll(t, r)
	if len(msgs) != 101 {
		t.Fatalf("%d messages, want 101", len(msgs))
	}
	for i, m := range msgs[:100] {
		if m.StreamKey != "hello" || m.ShardID != 1 || m.SeqNo != uint64(i) || string(m.Payload) != fmt.Sprintf("hello-%d", i) {
			t.Fatalf("message %d: %+v %q", i, m.MessageHeader, m.Payload)
		}
	}
	if msgs[0].Timestamp != 1691686154745 || !msgs[100].IsEndOfStream() || msgs[100].Timestamp != 1691686154921 {
		t.Fatal("timestamps")
	}
	if r.Count() != 4 {
		t.Fatalf("%d beacons, want 4", r.Count())
	}
	for n := 1; n <= 4; n++ {
		b, err := r.Beacon(n)
		if err != nil || len(b.Markers) != 1 || b.Markers[0].StreamKey != "hello" {
			t.Fatalf("beacon %d: %+v %v", n, b, err)
		}
	}
	if got := rewrite(t, r.Header(), msgs); !bytes.Equal(got, data) {
		for i := range min(len(got), len(data)) {
			if got[i] != data[i] {
				t.Fatalf("rewritten file differs at byte %d (%d vs %d bytes)", i, len(got), len(data))
			}
		}
		t.Fatalf("rewritten file differs in length: %d vs %d", len(got), len(data))
	}
	// Writing the messages but the last, then closing with WithEndOfStream,
	// gives the same file but for the EOS timestamp.
	got := rewrite(t, r.Header(), msgs[:100], WithEndOfStream())
	if len(got) != len(data) || !bytes.Equal(got[:len(got)-100], data[:len(data)-100]) {
		t.Fatal("EOS on close differs")
	}
}

func TestVectorSeek(t *testing.T) {
	r, _ := openVector(t, "consumer.ss")
	for _, seq := range []uint64{0, 1, 19, 20, 21, 50, 99} {
		if err := r.Seek(SeqNoTarget("hello", 1, seq)); err != nil {
			t.Fatal(err)
		}
		m, err := r.Next(context.Background())
		if err != nil || m.SeqNo != seq {
			t.Fatalf("seek %d: got %d %v", seq, m.SeqNo, err)
		}
	}
	if err := r.Seek(SeqNoTarget("hello", 1, 100)); !errors.Is(err, ErrNotFound) {
		t.Fatalf("seek past the end: %v", err)
	}
	// Timestamp targets: the first message strictly after.
	if err := r.Seek(Target{StreamKey: "hello", ShardID: 1, Timestamp: 1691686154745, ByTime: true}); err != nil {
		t.Fatal(err)
	}
	if m, _ := r.Next(context.Background()); m.SeqNo != 1 {
		t.Fatalf("time seek gave seq %d", m.SeqNo)
	}
}
