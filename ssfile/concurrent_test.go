package ssfile

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/seastream/ss/format"
)

// concurrentPayload is the payload of message seq of stream w: its content
// tells what it is, so that a message of another one, or a torn one, shows.
func concurrentPayload(w int, seq uint64) []byte {
	n := int(seq*37) % 700
	if seq%500 == 0 {
		n = 70 << 10 // larger than a chunk: written in pieces
	}
	return bytes.Repeat([]byte{byte(w)<<6 | byte(seq)&63}, n)
}

// TestFlushWhileWriting has one goroutine flush in a loop while others
// write (WriteNext), filling buffers that writeLoop writes and frames
// larger than a buffer: every message is in the file once, complete,
// numbered in order, and Flushed only grows, never past what the file
// holds.
func TestFlushWhileWriting(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.ss")
	w, err := Create(path, WithBufferSize(4096), WithBeaconInterval(1024))
	if err != nil {
		t.Fatal(err)
	}
	const writers, each = 3, 3000
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			key := fmt.Sprintf("w%d", i)
			for k := 1; k <= each; k++ {
				seq, size, err := w.WriteNext(format.MessageHeader{StreamKey: key, Timestamp: uint64(k)}, concurrentPayload(i, uint64(k)))
				if err != nil {
					errs <- err
					return
				}
				if seq != uint64(k) || size <= 0 {
					errs <- fmt.Errorf("WriteNext on %s gave seq %d and size %d, want seq %d", key, seq, size, k)
					return
				}
			}
		}()
	}
	written := make(chan struct{})
	go func() { wg.Wait(); close(written) }()
	flushes := 0
	var last int64
flushing:
	for {
		select {
		case <-written:
			break flushing
		default:
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		flushes++
		got := w.Flushed()
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if got < last || fi.Size() < got {
			t.Fatalf("after a flush Flushed is %d (before %d), the file has %d bytes", got, last, fi.Size())
		}
		last = got
	}
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d flushes", flushes)

	r, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	next := map[string]uint64{}
	for _, m := range readAll(t, r) {
		var i int
		if _, err := fmt.Sscanf(m.StreamKey, "w%d", &i); err != nil {
			t.Fatalf("stream %q: %v", m.StreamKey, err)
		}
		next[m.StreamKey]++
		if m.SeqNo != next[m.StreamKey] || !bytes.Equal(m.Payload, concurrentPayload(i, m.SeqNo)) {
			t.Fatalf("%s: message %d has seq %d and %d bytes, want message %d", m.StreamKey, next[m.StreamKey], m.SeqNo, len(m.Payload), next[m.StreamKey])
		}
	}
	for i := range writers {
		if key := fmt.Sprintf("w%d", i); next[key] != each {
			t.Errorf("%s: %d messages in the file, want %d", key, next[key], each)
		}
	}
}

// TestWriteNext numbers messages per (stream key, shard), goes on from what
// the file holds after Append, and returns the size Size reports.
func TestWriteNext(t *testing.T) {
	path := filepath.Join(t.TempDir(), "n.ss")
	want := map[string]uint64{}
	for round := range 2 {
		var w *Writer
		var err error
		if round == 0 {
			w, err = Create(path)
		} else {
			w, err = Append(path)
		}
		if err != nil {
			t.Fatal(err)
		}
		for i := range 10 {
			key, shard := fmt.Sprintf("s%d", i%2), uint64(i%3)
			id := fmt.Sprint(key, "/", shard)
			want[id]++
			seq, size, err := w.WriteNext(format.MessageHeader{StreamKey: key, ShardID: shard, SeqNo: 99}, []byte("x"))
			if err != nil {
				t.Fatal(err)
			}
			if seq != want[id] || size != w.Size() {
				t.Fatalf("round %d, %s: seq %d, size %d; want seq %d, size %d", round, id, seq, size, want[id], w.Size())
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if _, _, err := w.WriteNext(format.MessageHeader{StreamKey: "a"}, nil); !errors.Is(err, ErrClosed) {
			t.Fatalf("WriteNext on a closed Writer: %v, want ErrClosed", err)
		}
	}
}
