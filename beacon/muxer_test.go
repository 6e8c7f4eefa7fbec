package beacon

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/seastream/ss/format"
	"github.com/seastream/ss/internal/testkit"
)

// appendMessageQuadratic is the muxer's first AppendMessage, kept as the
// reference for the bytes: it appends the whole frame, then rotates each
// beacon from the end into place, moving the rest of the frame every time.
func appendMessageQuadratic(m *Muxer, dst []byte, h format.MessageHeader, payload []byte) ([]byte, uint16, error) {
	start := len(dst)
	dst, sum, err := format.AppendMessage(dst, h, payload)
	if err != nil {
		return dst[:start], 0, err
	}
	m.tracker.Update(h.StreamKey, h.ShardID, h.SeqNo, h.Timestamp, sum)
	pos := start
	left := int64(len(dst) - start)
	var beaconBu []byte
	for {
		room := m.layout.Room(m.offset)
		if left < room {
			m.offset += left
			return dst, sum, nil
		}
		pos += int(room)
		m.offset += room
		left -= room
		tail := len(dst) - pos
		dst = m.appendBeacon(dst, uint32(left))
		n := len(dst) - pos - tail
		if tail > 0 {
			beaconBu = append(beaconBu[:0], dst[len(dst)-n:]...)
			copy(dst[pos+n:], dst[pos:pos+tail])
			copy(dst[pos:], beaconBu)
		}
		pos += n
		if left == 0 {
			return dst, sum, nil
		}
	}
}

// TestMuxerMatchesReference lays out the same messages with the muxer and
// the reference algorithm, for many intervals, start offsets, payload sizes
// (crossing no beacon, one, many, ending on a boundary) and keys, and
// requires the same bytes and the same state; chunked output, joined, must
// be the same too.
func TestMuxerMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	fill := rand.NewChaCha8([32]byte{1})
	keys := []string{"", "a", "stream.key_with-64.chars." + string(bytes.Repeat([]byte("x"), 39)), "b"}
	for _, interval := range []uint32{128, 129, 640, 1000, 1024, 4096, 1 << 20} {
		iv := int(interval)
		sizes := []int{0, 1, 2, 50, iv/2 - 30, iv - 40, iv - 39, iv - 38, iv, iv + 1, 2*iv + 13}
		if interval < 1<<20 { // many beacons; at 1 MiB that is slow under -race
			sizes = append(sizes, 7*iv+13, 30*1024+5)
		}
		for _, off := range []int64{format.HeaderSize, int64(iv) - 1, int64(iv) + 100, 5*int64(iv) - 3} {
			ref := NewMuxer(interval, off, nil)
			got := NewMuxer(interval, off, nil)
			chunked := NewMuxer(interval, off, nil)
			limit := 1 + rng.IntN(3*iv)
			var want, have, joined, buf []byte
			for i := 0; i < 2*len(sizes); i++ {
				size := sizes[i%len(sizes)]
				if i >= len(sizes) {
					size = rng.IntN(min(3*iv, 256<<10) + 1)
				}
				payload := make([]byte, size)
				fill.Read(payload)
				h := format.MessageHeader{StreamKey: keys[i%len(keys)], ShardID: uint64(i % 3), SeqNo: uint64(i), Timestamp: uint64(1000 + i)}
				var s1, s2, s3 uint16
				var err error
				want, s1, err = appendMessageQuadratic(ref, want, h, payload)
				if err != nil {
					t.Fatal(err)
				}
				if have, s2, err = got.AppendMessage(have, h, payload); err != nil {
					t.Fatal(err)
				}
				buf, s3, err = chunked.AppendMessageChunked(buf, limit, h, payload, func(b []byte) ([]byte, error) {
					if len(b) < limit {
						t.Fatalf("flushed %d bytes, below the limit %d", len(b), limit)
					}
					joined = append(joined, b...)
					return b[:0], nil
				})
				if err != nil {
					t.Fatal(err)
				}
				if s1 != s2 || s1 != s3 {
					t.Fatalf("checksums %x %x %x", s1, s2, s3)
				}
			}
			joined = append(joined, buf...)
			if !bytes.Equal(want, have) {
				t.Fatalf("interval %d offset %d: AppendMessage differs from the reference at byte %d of %d",
					interval, off, firstDiff(want, have), len(want))
			}
			if !bytes.Equal(want, joined) {
				t.Fatalf("interval %d offset %d limit %d: AppendMessageChunked differs from the reference at byte %d of %d",
					interval, off, limit, firstDiff(want, joined), len(want))
			}
			for _, m := range []*Muxer{got, chunked} {
				if m.Offset() != ref.Offset() || m.Tracker().MarkersWritten() != ref.Tracker().MarkersWritten() {
					t.Fatalf("interval %d: state offset %d markers %d, want %d %d", interval,
						m.Offset(), m.Tracker().MarkersWritten(), ref.Offset(), ref.Tracker().MarkersWritten())
				}
			}
		}
	}
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// TestMuxerChunkedErrors: a bad message changes nothing and never flushes;
// a flush error is returned.
func TestMuxerChunkedErrors(t *testing.T) {
	m := NewMuxer(1024, format.HeaderSize, nil)
	flushed := false
	noFlush := func(b []byte) ([]byte, error) { flushed = true; return b[:0], nil }
	out, _, err := m.AppendMessageChunked([]byte("x"), 10, format.MessageHeader{StreamKey: "bad key"}, make([]byte, 5000), noFlush)
	if !errors.Is(err, format.ErrInvalidStreamKey) || string(out) != "x" || flushed || m.Offset() != format.HeaderSize || len(m.Tracker().Streams()) != 0 {
		t.Fatalf("bad key: err %v, out %q, flushed %v, offset %d", err, out, flushed, m.Offset())
	}
	boom := errors.New("boom")
	_, _, err = m.AppendMessageChunked(nil, 100, format.MessageHeader{StreamKey: "k"}, make([]byte, 5000),
		func(b []byte) ([]byte, error) { return b, boom })
	if !errors.Is(err, boom) {
		t.Fatalf("flush error: %v", err)
	}
}

// TestMuxerLinear: laying out one message 4× as large takes about 4× as
// long, not 16× (the old splicing moved the rest of the frame at every
// beacon). Best of several runs, to ride out the machine's noise.
func TestMuxerLinear(t *testing.T) {
	const small = 1 << 20
	appendOne := func(size int) func() {
		payload := make([]byte, size)
		dst := make([]byte, 0, size+size/4)
		return func() {
			m := NewMuxer(1024, format.HeaderSize, nil)
			if _, _, err := m.AppendMessage(dst, format.MessageHeader{StreamKey: "k"}, payload); err != nil {
				t.Fatal(err)
			}
		}
	}
	ratio := testkit.GrowthRatio(5, appendOne(small), appendOne(4*small))
	t.Logf("interval 1024: %d KiB against %d KiB: CPU time ratio %.1f", small>>10, 4*small>>10, ratio)
	if ratio > 10 { // linear: about 4; quadratic: 16
		t.Fatalf("4× the payload took %.1f× the CPU time: not linear", ratio)
	}
}

func ExampleMuxer_AppendMessageChunked() {
	m := NewMuxer(1024, format.HeaderSize, nil)
	var file []byte // stands for the file the chunks go to
	buf, _, _ := m.AppendMessageChunked(make([]byte, 0, 4096), 4096, format.MessageHeader{StreamKey: "big"}, make([]byte, 100_000),
		func(b []byte) ([]byte, error) { file = append(file, b...); return b[:0], nil })
	file = append(file, buf...)
	fmt.Println(len(file) == int(m.Offset()-format.HeaderSize))
	// Output: true
}
