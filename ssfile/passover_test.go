package ssfile

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/seastream/ss/format"
)

// TestPassOver: Next returns only the messages the pass function does not
// pass over, and does not verify those it passes over: a damaged payload
// there is no error, while the same damage in a returned message is.
func TestPassOver(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.ss")
	var msgs []rec
	for i := range 60 {
		key := []string{"keep", "skip"}[i%2]
		msgs = append(msgs, rec{format.MessageHeader{StreamKey: key, SeqNo: uint64(i/2 + 1), Timestamp: 1}, bytes.Repeat([]byte{byte('a' + i%26)}, 50+i)})
	}
	writeFile(t, path, msgs, WithAnyBeaconInterval(256)) // some frames split by beacons
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// Damage the payload of a passed-over message (index 1, stream skip).
	at := bytes.Index(data, msgs[1].payload)
	data[at+10] ^= 0xff
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	read := func(pass func(*format.MessageHeader, int64) bool) ([]string, error) {
		r, err := Open(path, WithPassOver(pass))
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		var got []string
		for {
			m, err := r.Next(context.Background())
			if errors.Is(err, io.EOF) {
				return got, nil
			}
			if err != nil {
				return got, err
			}
			got = append(got, m.StreamKey)
		}
	}
	got, err := read(func(h *format.MessageHeader, _ int64) bool { return h.StreamKey == "skip" })
	if err != nil || len(got) != 30 {
		t.Fatalf("passing stream skip over: %d messages, %v; want the 30 of keep and no error", len(got), err)
	}
	for _, k := range got {
		if k != "keep" {
			t.Fatalf("returned a message of %q", k)
		}
	}
	if _, err := read(func(h *format.MessageHeader, _ int64) bool { return h.StreamKey == "keep" }); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("returning stream skip: %v, want the damage reported (ErrCorrupt)", err)
	}
}
