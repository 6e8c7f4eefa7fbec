package sscheck

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/seastream/ss/format"
)

// TestFindsDamage changes one thing in a sound file at a time and checks
// the first problem the strict scan reports (its kind and where), and that
// every message the change did not touch is given back. (These cases come
// from the harness's former second verifier, reliability.Verify.)
func TestFindsDamage(t *testing.T) {
	const iv = 1024
	msgs := randomMessages(5, 200, 300)
	sound := build(t, header(iv), msgs)
	mid := msgs[len(msgs)/2]
	k := len(mid.h.StreamKey)
	field := func(k int) int64 { return frameByteOffset(t, sound, mid, iv, k) }
	size := format.MessageSize(k, len(mid.payload))
	// The beacons: the fifth, and its first marker (every beacon of these
	// files has one).
	beacon := int64(5 * iv)
	b, n, err := format.DecodeBeacon(sound[beacon:])
	if err != nil || len(b.Markers) == 0 {
		t.Fatal(b, err)
	}
	marker := beacon + 6
	for _, d := range []struct {
		name     string
		change   func(data []byte) []byte
		want     error
		from, to int64 // where the first problem must be: [from, to)
		lost     int   // messages that may not be given back
	}{
		{"payload bit", func(b []byte) []byte { b[field(1+k+24+4)] ^= 0x10; return b }, ErrChecksum, mid.start, mid.start + 1, 1},
		{"checksum bit", func(b []byte) []byte { b[field(size-3)] ^= 0x01; return b }, ErrChecksum, mid.start, mid.start + 1, 1},
		{"key to an invalid character", func(b []byte) []byte { b[field(1)] = '/'; return b }, ErrFrame, mid.start, mid.start + 1, 1},
		{"key to another stream", func(b []byte) []byte { b[field(k)] ^= 0x01; return b }, nil, mid.start, int64(len(sound)), 0},
		{"size field", func(b []byte) []byte { b[field(1+k+24+2)] ^= 0x04; return b }, ErrFrame, mid.start, mid.start + 1, 1},
		{"seq", func(b []byte) []byte { b[field(1+k+8+7)] ^= 0x02; return b }, ErrOrder, mid.start, int64(len(sound)), 0},
		{"terminator", func(b []byte) []byte { b[field(size-1)] = 0; return b }, ErrFrame, mid.start, mid.start + 1, 1},
		{"marker running checksum", func(b []byte) []byte { b[marker+int64(b[marker])+1+24] ^= 0x80; return b }, ErrMarker, beacon, beacon + int64(n), 0},
		{"marker seq", func(b []byte) []byte { b[marker+int64(b[marker])+1+8+7] ^= 0x01; return b }, ErrMarker, beacon, beacon + int64(n), 0},
		{"beacon remaining", func(b []byte) []byte { b[beacon+4] ^= 0x01; return b }, nil, beacon, beacon + int64(n), 0},
		{"beacon terminator", func(b []byte) []byte { b[beacon+int64(n)-1] = 0; return b }, ErrBeacon, beacon, beacon + int64(n), 0},
		{"header padding", func(b []byte) []byte { b[60] = 1; return b }, ErrHeader, 60, 61, 0},
		{"torn tail", func(b []byte) []byte { return b[:len(b)-5] }, ErrTornTail, msgs[len(msgs)-1].start, msgs[len(msgs)-1].end, 1},
	} {
		t.Run(d.name, func(t *testing.T) {
			r := scanWithOpts(d.change(slices.Clone(sound)), Strict())
			if r.err != nil || len(r.problems) == 0 {
				t.Fatalf("err %v, no problem found", r.err)
			}
			p := r.problems[0]
			if d.want != nil && !errors.Is(p, d.want) {
				t.Errorf("first problem %v, want %v", p, d.want)
			}
			if p.Offset < d.from || p.Offset >= d.to {
				t.Errorf("first problem at %d, want it in [%d, %d): %v", p.Offset, d.from, d.to, p)
			}
			found := make(map[int64]bool)
			for _, m := range r.messages {
				found[m.Offset] = true
			}
			missing := 0
			for _, m := range msgs {
				if !found[m.start] {
					missing++
				}
			}
			if missing > d.lost {
				t.Errorf("%d messages not given back, at most %d may be (problems: %v)", missing, d.lost, r.problems)
			}
		})
	}
}

// TestMangledNoPanic scans files mangled anywhere, header included: random
// bytes, random 32-bit words, cuts. No panic; every message given back
// passes its checksum.
func TestMangledNoPanic(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	sound := build(t, header(128), randomMessages(9, 60, 400))
	for range 300 {
		data := bytes.Clone(sound)
		for range 1 + rng.IntN(20) {
			switch i := rng.IntN(len(data)); rng.IntN(3) {
			case 0:
				data[i] = byte(rng.Uint32())
			case 1:
				if i+4 <= len(data) {
					binary.BigEndian.PutUint32(data[i:], rng.Uint32())
				}
			default:
				data = data[:i]
			}
			if len(data) < 8 {
				break
			}
		}
		for _, opts := range [][]Option{nil, {Strict()}} {
			r := scanWithOpts(data, opts...)
			for _, m := range r.messages {
				if format.Checksum(m.Payload) != m.Checksum {
					t.Fatalf("message at %d fails its checksum", m.Offset)
				}
			}
		}
	}
}
