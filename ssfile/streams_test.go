package ssfile

import (
	"context"
	"fmt"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/seastream/ss/format"
)

// TestWithStateGoesOn: a file written WithState the state another writer
// left goes on with it, as one writer of both files would: each stream's
// seq, timestamp and running checksum, and the markers' rotation; Append
// given the same state finds the same.
func TestWithStateGoesOn(t *testing.T) {
	dir := t.TempDir()
	one, err := Create(filepath.Join(dir, "one.ss"), WithBeaconInterval(1024))
	if err != nil {
		t.Fatal(err)
	}
	first, err := Create(filepath.Join(dir, "first.ss"), WithBeaconInterval(1024))
	if err != nil {
		t.Fatal(err)
	}
	write := func(w *Writer, from, to int) {
		for i := from; i < to; i++ {
			h := format.MessageHeader{StreamKey: fmt.Sprintf("s%d", i%5), ShardID: uint64(i % 2), SeqNo: uint64(i), Timestamp: uint64(1000 + i)}
			if err := w.Write(h, []byte(fmt.Sprintf("payload %d", i))); err != nil {
				t.Fatal(err)
			}
		}
	}
	write(one, 0, 600)
	write(first, 0, 300)
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	seed := WithState(first.State())
	if first.MarkersWritten() == 0 {
		t.Fatal("no markers written in the first file: the test needs beacons")
	}
	secondPath := filepath.Join(dir, "second.ss")
	second, err := Create(secondPath, WithBeaconInterval(1024), seed)
	if err != nil {
		t.Fatal(err)
	}
	write(second, 300, 600)
	if got, want := second.Streams(), one.Streams(); !reflect.DeepEqual(got, want) {
		t.Fatalf("streams after going on:\n%v\nwant one writer's:\n%v", got, want)
	}
	wantStreams, wantMarkers := second.Streams(), second.MarkersWritten()
	if err := second.Close(); err != nil {
		t.Fatal(err)
	}
	again, err := Append(secondPath, seed)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if got := again.Streams(); !reflect.DeepEqual(got, wantStreams) {
		t.Fatalf("Append with the seed: streams\n%v\nwant\n%v", got, wantStreams)
	}
	if got := again.MarkersWritten(); got != wantMarkers {
		t.Fatalf("Append with the seed: %d markers written, want %d", got, wantMarkers)
	}
	if err := one.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestCloseUnsynced: CloseUnsynced hands every message to the operating
// system, as Close does, without the fdatasync Close makes.
func TestCloseUnsynced(t *testing.T) {
	for _, unsynced := range []bool{false, true} {
		path := filepath.Join(t.TempDir(), "c.ss")
		syncs := 0
		w, err := Create(path, WithSyncObserver(func(time.Duration, error) { syncs++ }))
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Write(format.MessageHeader{StreamKey: "s", SeqNo: 1, Timestamp: 1}, []byte("kept")); err != nil {
			t.Fatal(err)
		}
		closeFile := w.Close
		if unsynced {
			closeFile = w.CloseUnsynced
		}
		if err := closeFile(); err != nil {
			t.Fatal(err)
		}
		if want := map[bool]int{false: 1, true: 0}[unsynced]; syncs != want {
			t.Errorf("unsynced %v: %d fdatasyncs at close, want %d", unsynced, syncs, want)
		}
		r, err := Open(path)
		if err != nil {
			t.Fatal(err)
		}
		m, err := r.Next(context.Background())
		got := string(m.Payload) // before Close: the payload is in the mapping
		r.Close()
		if err != nil || got != "kept" {
			t.Fatalf("unsynced %v: read back %q, %v", unsynced, got, err)
		}
	}
}
