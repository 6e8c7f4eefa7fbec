package ssfile

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/seastream/ss/format"
)

type rec struct {
	h       format.MessageHeader
	payload []byte
}

func randomMessages(rng *rand.Rand, n, maxPayload int) []rec {
	seq := map[string]uint64{}
	var out []rec
	for i := 0; i < n; i++ {
		key := fmt.Sprintf("s%d", rng.IntN(4))
		shard := uint64(rng.IntN(2))
		id := fmt.Sprint(key, shard)
		seq[id]++
		p := make([]byte, rng.IntN(maxPayload+1))
		for j := range p {
			p[j] = byte(rng.Uint32())
		}
		out = append(out, rec{format.MessageHeader{StreamKey: key, ShardID: shard, SeqNo: seq[id], Timestamp: uint64(1700000000000 + i)}, p})
	}
	return out
}

func writeFile(t testing.TB, path string, msgs []rec, opts ...Option) {
	t.Helper()
	w, err := Create(path, opts...)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		if err := w.Write(m.h, m.payload); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

func checkMessages(t testing.TB, path string, want []rec) {
	t.Helper()
	r, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	got := readAll(t, r)
	if len(got) != len(want) {
		t.Fatalf("%d messages, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i].MessageHeader != want[i].h || !bytes.Equal(got[i].Payload, want[i].payload) {
			t.Fatalf("message %d: got %+v, want %+v", i, got[i].MessageHeader, want[i].h)
		}
	}
}

// TestRoundTripSmallIntervals puts beacons inside headers, size fields,
// checksums, and messages several intervals long.
func TestRoundTripSmallIntervals(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	for _, interval := range []uint32{128, 129, 130, 200, 1024} {
		t.Run(fmt.Sprint(interval), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "x.ss")
			msgs := randomMessages(rng, 300, 3*int(interval))
			writeFile(t, path, msgs, WithAnyBeaconInterval(interval), WithBufferSize(333))
			checkMessages(t, path, msgs)
		})
	}
}

func TestCreateExclusiveAndLock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.ss")
	w, err := Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Create(path, WithExclusive()); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("exclusive create of an existing file: %v", err)
	}
	if _, err := Append(path); !errors.Is(err, ErrLocked) {
		t.Fatalf("second writer: %v", err)
	}
	if _, err := Create(path); !errors.Is(err, ErrLocked) {
		t.Fatalf("second writer: %v", err)
	}
	w.Close()
	if err := w.Write(format.MessageHeader{StreamKey: "a"}, nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("write after close: %v", err)
	}
	w2, err := Append(path)
	if err != nil {
		t.Fatal(err)
	}
	w2.Close()
}

func TestSizeLimit(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.ss")
	w, err := Create(path, WithSizeLimit(4096), WithBeaconInterval(1024))
	if err != nil {
		t.Fatal(err)
	}
	payload := make([]byte, 100)
	var n int
	for ; ; n++ {
		err := w.Write(format.MessageHeader{StreamKey: "k", SeqNo: uint64(n)}, payload)
		if errors.Is(err, ErrSizeLimit) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if w.Size() > 4096 {
		t.Fatalf("size %d over the limit", w.Size())
	}
	// A smaller message may still fit; the writer is still usable.
	if err := w.Write(format.MessageHeader{StreamKey: "k", SeqNo: uint64(n)}, nil); err != nil && !errors.Is(err, ErrSizeLimit) {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(path)
	if fi.Size() > 4096 {
		t.Fatalf("file is %d bytes", fi.Size())
	}
	r, _ := Open(path)
	defer r.Close()
	if got := len(readAll(t, r)); got < n {
		t.Fatalf("%d messages read, %d written", got, n)
	}
}

// TestAppendRecoversEveryCut cuts a file at every byte offset and checks that
// Append keeps exactly the complete messages before the cut and continues
// with the bytes an uninterrupted writer would have written.
func TestAppendRecoversEveryCut(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, interval := range []uint32{128, 256} {
		dir := t.TempDir()
		full := filepath.Join(dir, "full.ss")
		msgs := randomMessages(rng, 40, 150)
		writeFile(t, full, msgs, WithAnyBeaconInterval(interval), WithCreatedAt(fixedTime))
		data, _ := os.ReadFile(full)
		// Where each message ends, to know how many a cut keeps.
		r, _ := Open(full)
		all := readAll(t, r)
		r.Close()
		cutPath := filepath.Join(dir, "cut.ss")
		for cut := 0; cut <= len(data); cut++ {
			if err := os.WriteFile(cutPath, data[:cut], 0o644); err != nil {
				t.Fatal(err)
			}
			w, err := Append(cutPath, WithAnyBeaconInterval(interval), WithCreatedAt(fixedTime))
			if err != nil {
				t.Fatalf("interval %d, cut %d: %v", interval, cut, err)
			}
			kept := 0
			for kept < len(all) && frameEnd(all, kept, data) <= int64(cut) {
				kept++
			}
			if cut < format.HeaderSize {
				kept = 0
			}
			// Write the rest: the result must equal the uncut file.
			for _, m := range msgs[kept:] {
				if err := w.Write(m.h, m.payload); err != nil {
					t.Fatal(err)
				}
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			got, _ := os.ReadFile(cutPath)
			if cut >= format.HeaderSize && !bytes.Equal(got, data) {
				t.Fatalf("interval %d, cut %d (kept %d): appended file differs from the original", interval, cut, kept)
			}
			if cut < format.HeaderSize {
				checkMessages(t, cutPath, msgs)
			}
		}
	}
}

var fixedTime = time.UnixMilli(1700000000000).UTC()

// frameEnd returns where message i ends: where message i+1 starts less the
// beacon between them, or the file end.
func frameEnd(all []Message, i int, data []byte) int64 {
	if i+1 < len(all) {
		// A beacon right before the next message belongs to this one
		// only if this one ended on the boundary; either way, a cut
		// after this one's last byte keeps it.
		return all[i+1].Offset - beaconBefore(all[i+1].Offset, data)
	}
	return int64(len(data))
}

// beaconBefore returns the size of a beacon ending right at off, or 0.
func beaconBefore(off int64, data []byte) int64 {
	h, _ := format.DecodeHeader(data)
	iv := int64(h.BeaconInterval)
	b := off / iv * iv
	if b == 0 {
		return 0
	}
	info, err := format.ScanBeacon(data[b:])
	if err == nil && b+int64(info.Size) == off {
		return int64(info.Size)
	}
	return 0
}

func TestAppendDropsEndOfStreamAndContinues(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.ss")
	msgs := randomMessages(rand.New(rand.NewPCG(1, 1)), 50, 100)
	writeFile(t, path, msgs[:25], WithAnyBeaconInterval(256), WithEndOfStream())
	w, err := Append(path)
	if err != nil {
		t.Fatal(err)
	}
	st, ok := w.Stream(msgs[24].h.StreamKey, msgs[24].h.ShardID)
	if !ok || st.SeqNo != msgs[24].h.SeqNo {
		t.Fatalf("stream state %+v", st)
	}
	for _, m := range msgs[25:] {
		w.Write(m.h, m.payload)
	}
	w.Close()
	checkMessages(t, path, msgs)
}

func TestAppendRefusesDamageBeforeValidData(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.ss")
	msgs := randomMessages(rand.New(rand.NewPCG(1, 2)), 200, 100)
	writeFile(t, path, msgs, WithBeaconInterval(1024))
	data, _ := os.ReadFile(path)
	data[200] ^= 0xff // inside the first message or two
	os.WriteFile(path, data, 0o644)
	if _, err := Append(path); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("append to a file damaged in the middle: %v", err)
	}
	// Damage in the tail region past the last beacon is cut.
	data, _ = os.ReadFile(path)
	data[200] ^= 0xff
	data[len(data)-5] ^= 0xff
	os.WriteFile(path, data, 0o644)
	w, err := Append(path)
	if err != nil {
		t.Fatalf("append to a file damaged at the end: %v", err)
	}
	w.Close()
	checkMessages(t, path, msgs[:len(msgs)-1])
}

func TestReplayReportsTornTail(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.ss")
	msgs := randomMessages(rand.New(rand.NewPCG(1, 3)), 10, 50)
	writeFile(t, path, msgs)
	data, _ := os.ReadFile(path)
	os.WriteFile(path, data[:len(data)-3], 0o644)
	r, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for range 9 {
		if _, err := r.Next(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := r.Next(context.Background()); !errors.Is(err, ErrTornTail) {
		t.Fatalf("torn tail: %v", err)
	}
	if _, err := r.Next(context.Background()); !errors.Is(err, io.EOF) {
		t.Fatalf("after torn tail: %v", err)
	}
}

func TestReaderNeverReturnsCorruptPayload(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.ss")
	msgs := randomMessages(rand.New(rand.NewPCG(1, 4)), 10, 50)
	writeFile(t, path, msgs)
	data, _ := os.ReadFile(path)
	r0, _ := NewBytesReader(data)
	all := readAll(t, r0)
	// Flip a payload byte of message 5.
	data[all[5].Offset+int64(1+len(all[5].StreamKey)+28)] ^= 1
	r, _ := NewBytesReader(data)
	for i := 0; i < 5; i++ {
		if _, err := r.Next(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	var oe *OffsetError
	_, err := r.Next(context.Background())
	if !errors.Is(err, ErrCorrupt) || !errors.Is(err, format.ErrChecksum) || !errors.As(err, &oe) || oe.Offset != all[5].Offset {
		t.Fatalf("corrupt payload: %v", err)
	}
}

func TestCreateWithBadHeaderKeepsTheFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.ss")
	msgs := randomMessages(rand.New(rand.NewPCG(8, 8)), 5, 10)
	writeFile(t, path, msgs)
	if _, err := Create(path, WithFileName(string(make([]byte, 200)))); !errors.Is(err, format.ErrFileNameTooLong) {
		t.Fatalf("create with a 200-byte name: %v", err)
	}
	checkMessages(t, path, msgs) // untouched
}
