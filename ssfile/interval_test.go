package ssfile

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/seastream/ss/format"
)

// TestAnyBeaconInterval: WithBeaconInterval keeps its multiple-of-1024 rule;
// WithAnyBeaconInterval writes any interval SeaStreamer's MessageSink does
// (≥ 128), the file reads back whole, and rewriting what was read gives the
// same bytes; less than 128 is refused.
func TestAnyBeaconInterval(t *testing.T) {
	dir := t.TempDir()
	if _, err := Create(filepath.Join(dir, "a.ss"), WithBeaconInterval(640)); !errors.Is(err, ErrInvalidOption) {
		t.Fatalf("WithBeaconInterval(640): %v, want ErrInvalidOption", err)
	}
	if _, err := Create(filepath.Join(dir, "b.ss"), WithAnyBeaconInterval(MinBeaconInterval-1)); !errors.Is(err, ErrInvalidOption) {
		t.Fatalf("WithAnyBeaconInterval(127): %v, want ErrInvalidOption", err)
	}
	created := time.UnixMilli(1_700_000_000_000)
	for _, iv := range []uint32{128, 640, 1000} {
		h := format.Header{FileName: "any.ss", CreatedAt: uint64(created.UnixMilli()), BeaconInterval: iv}
		var msgs []Message
		for i := range 40 {
			mh := format.MessageHeader{StreamKey: "s", SeqNo: uint64(i + 1), Timestamp: h.CreatedAt + uint64(i)}
			msgs = append(msgs, Message{MessageHeader: mh, Payload: bytes.Repeat([]byte{'a' + byte(i%26)}, 10+i*7)})
		}
		data := rewrite(t, h, msgs)
		path := filepath.Join(dir, "any.ss")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		r, err := Open(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := r.Header(); got.BeaconInterval != iv {
			t.Fatalf("interval %d: the header says %d", iv, got.BeaconInterval)
		}
		var read []Message
		for m, err := range r.Messages(context.Background()) {
			if err != nil {
				t.Fatalf("interval %d: %v", iv, err)
			}
			read = append(read, m)
		}
		if len(read) != len(msgs) {
			t.Fatalf("interval %d: read %d of %d messages", iv, len(read), len(msgs))
		}
		for i, m := range read {
			if m.MessageHeader != msgs[i].MessageHeader || !bytes.Equal(m.Payload, msgs[i].Payload) {
				t.Fatalf("interval %d: message %d differs", iv, i)
			}
		}
		if again := rewrite(t, r.Header(), read); !bytes.Equal(again, data) {
			t.Fatalf("interval %d: rewriting the messages read gives other bytes", iv)
		}
		r.Close()
	}
}
