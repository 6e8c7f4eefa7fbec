package ssdir

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/seastream/ss/format"
	"github.com/seastream/ss/ssfile"
)

// header is message i of the tests: three streams, seq counting per stream.
func header(i int) format.MessageHeader {
	return format.MessageHeader{StreamKey: fmt.Sprintf("s%d", i%3), SeqNo: uint64(i/3 + 1), Timestamp: uint64(1_000_000 + i)}
}

func payload(i int) []byte { return fmt.Appendf(nil, "message %06d %0100d", i, i) }

func writeN(t testing.TB, w *Writer, from, to int) {
	t.Helper()
	for i := from; i < to; i++ {
		if err := w.Write(header(i), payload(i)); err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
	}
}

// readAll reads a directory in Replay mode and checks it holds messages
// 0..n-1 in order.
func readAll(t testing.TB, dir string, n int) {
	t.Helper()
	r, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	checkNext(t, r, 0, n)
	if _, err := r.Next(context.Background()); !errors.Is(err, io.EOF) {
		t.Fatalf("after %d messages: %v, want io.EOF", n, err)
	}
}

func checkNext(t testing.TB, r *Reader, from, to int) {
	t.Helper()
	for i := from; i < to; i++ {
		m, err := r.Next(context.Background())
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if m.MessageHeader != header(i) || string(m.Payload) != string(payload(i)) {
			t.Fatalf("message %d: got %v %q", i, m.MessageHeader, m.Payload)
		}
	}
}

func TestRolloverBySize(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "orders")
	w, err := Append(dir, WithSegmentSize(16<<10), WithFileOptions(ssfile.WithBeaconInterval(1024)))
	if err != nil {
		t.Fatal(err)
	}
	const n = 2000
	writeN(t, w, 0, n)
	// One writer of a single file is what the segments go on as.
	one, err := ssfile.Create(filepath.Join(t.TempDir(), "one.ss"), ssfile.WithBeaconInterval(1024))
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if err := one.Write(header(i), payload(i)); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := w.Streams(), one.Streams(); !reflect.DeepEqual(got, want) {
		t.Fatalf("streams across segments:\n%v\nwant one writer's:\n%v", got, want)
	}
	one.Close()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	segs, err := Segments(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(segs) < 10 {
		t.Fatalf("%d segments of %d messages at 16 KiB, want more than 10", len(segs), n)
	}
	count := 0
	for i, s := range segs {
		if s.Number != uint64(i+1) {
			t.Fatalf("segment %d is numbered %d", i+1, s.Number)
		}
		// Each segment is a .ss file of its own, whose header names it.
		r, err := ssfile.Open(s.Path)
		if err != nil {
			t.Fatal(err)
		}
		if h := r.Header(); h.FileName != filepath.Base(s.Path) {
			t.Errorf("segment %s: header file name %q", s.Path, h.FileName)
		}
		for {
			_, err := r.Next(context.Background())
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("segment %s: %v", s.Path, err)
			}
			count++
		}
		r.Close()
		if i < len(segs)-1 && s.Size > 16<<10+1024 {
			t.Errorf("segment %s is %d bytes: past the size by more than a message", s.Path, s.Size)
		}
	}
	if count != n {
		t.Fatalf("segments hold %d messages, want %d", count, n)
	}
	readAll(t, dir, n)
}

func TestRolloverByAge(t *testing.T) {
	dir := t.TempDir()
	var mu sync.Mutex
	now := time.Unix(1_700_000_000, 0)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	w, err := Append(dir, WithSegmentAge(time.Hour), WithClock(clock))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		if err := w.Write(header(i), payload(i)); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		now = now.Add(30 * time.Minute)
		mu.Unlock()
	}
	w.Close()
	segs, _ := Segments(dir)
	if len(segs) != 5 {
		t.Fatalf("%d segments for 10 messages 30 minutes apart with hourly segments, want 5", len(segs))
	}
	r, _ := ssfile.Open(segs[1].Path)
	defer r.Close()
	if got, want := r.Header().CreatedAt, uint64(time.Unix(1_700_000_000, 0).Add(2*30*time.Minute).UnixMilli()); got != want {
		t.Fatalf("segment 2 created at %d, want %d (its start)", got, want)
	}
	readAll(t, dir, 10)
}

// TestReopenGoesOn: Append on a directory goes on in its last segment,
// with the state of all before it, also after the seed was lost.
func TestReopenGoesOn(t *testing.T) {
	dir := t.TempDir()
	opts := []Option{WithSegmentSize(8 << 10), WithFileOptions(ssfile.WithBeaconInterval(1024))}
	w, err := Append(dir, opts...)
	if err != nil {
		t.Fatal(err)
	}
	writeN(t, w, 0, 500)
	want := w.Streams()
	last := w.Segment()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	for _, lose := range []bool{false, true} {
		if lose {
			if err := os.Remove(seedPath(dir, last.Number)); err != nil {
				t.Fatal(err)
			}
		}
		w, err = Append(dir, opts...)
		if err != nil {
			t.Fatal(err)
		}
		if got := w.Streams(); !reflect.DeepEqual(got, want) {
			t.Fatalf("seed lost %v: reopened with\n%v\nwant\n%v", lose, got, want)
		}
		if got := w.Segment().Number; got != last.Number {
			t.Fatalf("reopened in segment %d, want the last, %d", got, last.Number)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	w, err = Append(dir, opts...)
	if err != nil {
		t.Fatal(err)
	}
	writeN(t, w, 500, 1000)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	readAll(t, dir, 1000)
}

func TestSecondWriterLocked(t *testing.T) {
	dir := t.TempDir()
	w, err := Append(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if _, err := Append(dir); !errors.Is(err, ErrLocked) {
		t.Fatalf("a second Writer: %v, want ErrLocked", err)
	}
}

// TestDurability: under SyncOnFlush every Flush syncs the segment, and the
// rollovers sync what they write; the messages read back the same.
func TestDurability(t *testing.T) {
	dir := t.TempDir()
	syncs := 0
	var mu sync.Mutex
	w, err := Append(dir, WithSegmentSize(4096), WithDurability(ssfile.SyncOnFlush()),
		WithFileOptions(ssfile.WithSyncObserver(func(time.Duration, error) { mu.Lock(); syncs++; mu.Unlock() })))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 100 {
		writeN(t, w, i, i+1)
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if syncs < 100 {
		t.Fatalf("%d fdatasyncs for 100 flushes under SyncOnFlush", syncs)
	}
	readAll(t, dir, 100)
}
