package ssfile

import (
	"bytes"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/seastream/ss/beacon"
	"github.com/seastream/ss/format"
)

// TestLargeMessageMemoryIsBounded writes one message far larger than the
// buffer: the Writer streams it in chunks, so what it allocates stays near
// two buffers instead of the message's size (before, its buffers grew to the
// frame and kept that capacity), and the file holds the same bytes as the
// muxer lays out in memory.
func TestLargeMessageMemoryIsBounded(t *testing.T) {
	const size = 16 << 20
	payload := make([]byte, size)
	rand.NewChaCha8([32]byte{3}).Read(payload)
	path := filepath.Join(t.TempDir(), "big.ss")
	w, err := Create(path, WithBeaconInterval(1024))
	if err != nil {
		t.Fatal(err)
	}
	small := format.MessageHeader{StreamKey: "s", SeqNo: 1, Timestamp: 1}
	big := format.MessageHeader{StreamKey: "big", SeqNo: 1, Timestamp: 2}
	if err := w.Write(small, []byte("before")); err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	if err := w.Write(big, payload); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 8<<20 {
		t.Errorf("writing a %d MiB message allocated %d MiB", size>>20, alloc>>20)
	}
	if c := cap(w.buf) + cap(w.spare); c > 4<<20 {
		t.Errorf("the Writer keeps %d MiB of buffers after a %d MiB message", c>>20, size>>20)
	}
	small.SeqNo, small.Timestamp = 2, 3
	if err := w.Write(small, []byte("after")); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}

	// The same messages laid out in memory.
	m := beacon.NewMuxer(1024, 0, nil)
	hdr, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	h, err := format.DecodeHeader(hdr)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := m.AppendHeader(nil, h)
	want, _, _ = m.AppendMessage(want, format.MessageHeader{StreamKey: "s", SeqNo: 1, Timestamp: 1}, []byte("before"))
	want, _, _ = m.AppendMessage(want, big, payload)
	want, _, _ = m.AppendMessage(want, small, []byte("after"))
	if !bytes.Equal(hdr, want) {
		t.Fatalf("the file (%d bytes) differs from the muxer's layout (%d bytes)", len(hdr), len(want))
	}
	checkMessages(t, path, []rec{
		{format.MessageHeader{StreamKey: "s", SeqNo: 1, Timestamp: 1}, []byte("before")},
		{big, payload},
		{small, []byte("after")},
	})
}

// TestLargeMessagesRoundTrip mixes frames larger than the buffer with small
// ones, at intervals that put beacons in chunk boundaries.
func TestLargeMessagesRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 8))
	msgs := randomMessages(rng, 60, 3000)
	for i := range msgs {
		if i%5 == 0 {
			msgs[i].payload = make([]byte, minChunk+rng.IntN(4*minChunk))
			rand.NewChaCha8([32]byte{byte(i)}).Read(msgs[i].payload)
		}
	}
	for _, interval := range []uint32{128, 1000, 1024, 1 << 20} {
		path := filepath.Join(t.TempDir(), "x.ss")
		writeFile(t, path, msgs, WithAnyBeaconInterval(interval), WithBufferSize(4096))
		checkMessages(t, path, msgs)
	}
}
