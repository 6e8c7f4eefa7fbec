package sstest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"path/filepath"
	"testing"

	"github.com/seastream/ss/format"
	"github.com/seastream/ss/ssdir"
	"github.com/seastream/ss/ssfile"
)

// TestWriteFile: the records WriteFile writes read back as they were, with
// the options given.
func TestWriteFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.ss")
	recs := []Record{
		{format.MessageHeader{StreamKey: "a", SeqNo: 1, Timestamp: 1}, []byte("one")},
		{format.MessageHeader{StreamKey: "b", ShardID: 2, SeqNo: 1, Timestamp: 2}, nil},
		{format.MessageHeader{StreamKey: "a", SeqNo: 2, Timestamp: 3}, bytes.Repeat([]byte("x"), 3000)},
	}
	WriteFile(t, path, recs, ssfile.WithBeaconInterval(1024))
	r, err := ssfile.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if got := r.Header().BeaconInterval; got != 1024 {
		t.Errorf("beacon interval %d, want 1024", got)
	}
	for i, want := range recs {
		m, err := r.Next(context.Background())
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if m.MessageHeader != want.Header || !bytes.Equal(m.Payload, want.Payload) {
			t.Errorf("message %d: %+v %q, want %+v %q", i, m.MessageHeader, m.Payload, want.Header, want.Payload)
		}
	}
	if _, err := r.Next(context.Background()); !errors.Is(err, io.EOF) {
		t.Errorf("after the last message: %v, want io.EOF", err)
	}
}

// TestDir: the directory holds DirRecords in order, over several segments,
// and each stream's sequence numbers count from 1 with no gap.
func TestDir(t *testing.T) {
	dir, segs := Dir(t)
	if got, err := ssdir.Segments(dir); err != nil || len(got) != len(segs) {
		t.Fatalf("%d segments now (%v), Dir returned %d", len(got), err, len(segs))
	}
	r, err := ssdir.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	want := DirRecords(0, DirMessages)
	next := map[string]uint64{}
	for i, w := range want {
		m, err := r.Next(context.Background())
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if m.MessageHeader != w.Header || !bytes.Equal(m.Payload, w.Payload) {
			t.Fatalf("message %d: %+v %q, want %+v %q", i, m.MessageHeader, m.Payload, w.Header, w.Payload)
		}
		next[w.Header.StreamKey]++
		if w.Header.SeqNo != next[w.Header.StreamKey] {
			t.Fatalf("message %d: seq %d of %s, want %d", i, w.Header.SeqNo, w.Header.StreamKey, next[w.Header.StreamKey])
		}
	}
	if _, err := r.Next(context.Background()); !errors.Is(err, io.EOF) {
		t.Errorf("after message %d: %v, want io.EOF", DirMessages, err)
	}
	if len(next) != 5 {
		t.Errorf("%d streams, want 5", len(next))
	}
}
