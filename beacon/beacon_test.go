package beacon

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/seastream/ss/format"
)

func TestLayout(t *testing.T) {
	l := Layout{Interval: 1024}
	if l.IsBoundary(0) || !l.IsBoundary(1024) || l.IsBoundary(1025) {
		t.Fatal("IsBoundary")
	}
	if l.Room(1000) != 24 || l.Room(1024) != 1024 {
		t.Fatal("Room")
	}
	for size, want := range map[int64]int{0: 0, 1024: 0, 1025: 1, 2048: 1, 2049: 2} {
		if got := l.Count(size); got != want {
			t.Errorf("Count(%d) = %d, want %d", size, got, want)
		}
	}
}

func TestRoundRobinMarkers(t *testing.T) {
	var tr Tracker
	// Inserted out of order: markers follow (key, shard) order.
	tr.Update("b", 0, 1, 10, 0x1111)
	tr.Update("a", 2, 1, 10, 0x2222)
	tr.Update("a", 1, 1, 10, 0x3333)
	names := func(ms []format.Marker) string {
		var s string
		for _, m := range ms {
			s += fmt.Sprintf("%s/%d ", m.StreamKey, m.ShardID)
		}
		return s
	}
	want := []string{"a/1 a/2 ", "b/0 a/1 ", "a/2 b/0 ", "a/1 a/2 "}
	for i, w := range want {
		if got := names(tr.NextMarkers(nil, 2)); got != w {
			t.Fatalf("beacon %d: markers %q, want %q", i, got, w)
		}
	}
	if tr.MarkersWritten() != 8 {
		t.Fatal(tr.MarkersWritten())
	}
	// Max seq and timestamp are kept; the running checksum is fed every checksum.
	tr.Update("b", 0, 0, 5, 0x4444)
	st, _ := tr.Lookup("b", 0)
	if st.SeqNo != 1 || st.Timestamp != 10 || st.Checksum != format.NewRunningChecksum().Add(0x1111).Add(0x4444) {
		t.Fatalf("state %+v", st)
	}
	tr.UpdateBytes([]byte("b"), 0, 7, 11, 0)
	if st, _ := tr.Lookup("b", 0); st.SeqNo != 7 {
		t.Fatal(st)
	}
	if a := testing.AllocsPerRun(100, func() { tr.UpdateBytes([]byte("b"), 0, 7, 11, 0) }); a != 0 {
		t.Fatalf("UpdateBytes allocates %v", a)
	}
}

// TestMuxerSplices writes frames through a Muxer at small intervals and checks
// that stripping the beacons gives back the plain frames, that every beacon is
// at a boundary, and that its Remaining counts the rest of the spliced frame.
func TestMuxerSplices(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, interval := range []uint32{128, 129, 200, 1024} {
		m := NewMuxer(interval, 0, nil)
		out, err := m.AppendHeader(nil, format.Header{FileName: "t", BeaconInterval: interval})
		if err != nil {
			t.Fatal(err)
		}
		var plain []byte
		for i := 0; i < 200; i++ {
			payload := make([]byte, rng.IntN(600))
			h := format.MessageHeader{StreamKey: fmt.Sprint("s", i%3), ShardID: uint64(i % 2), SeqNo: uint64(i), Timestamp: uint64(i)}
			out, _, err = m.AppendMessage(out, h, payload)
			if err != nil {
				t.Fatal(err)
			}
			plain, _, _ = format.AppendMessage(plain, h, payload)
		}
		if m.Offset() != int64(len(out)) {
			t.Fatalf("offset %d, len %d", m.Offset(), len(out))
		}
		// Strip beacons.
		var got []byte
		pos := int64(format.HeaderSize)
		l := Layout{Interval: int64(interval)}
		for pos < int64(len(out)) {
			if l.IsBoundary(pos) {
				info, err := format.ScanBeacon(out[pos:])
				if err != nil {
					t.Fatalf("interval %d: beacon at %d: %v", interval, pos, err)
				}
				pos += int64(info.Size)
				continue
			}
			end := min(int64(len(out)), pos+l.Room(pos))
			got = append(got, out[pos:end]...)
			pos = end
		}
		if !bytes.Equal(got, plain) {
			t.Fatalf("interval %d: frames differ after removing beacons", interval)
		}
	}
}

func TestMuxerNoAllocs(t *testing.T) {
	m := NewMuxer(1024, 0, nil)
	buf, _ := m.AppendHeader(make([]byte, 0, 1<<20), format.Header{BeaconInterval: 1024})
	payload := make([]byte, 256)
	h := format.MessageHeader{StreamKey: "k", ShardID: 0}
	buf, _, _ = m.AppendMessage(buf, h, payload) // first message creates the stream
	a := testing.AllocsPerRun(1000, func() {
		h.SeqNo++
		buf, _, _ = m.AppendMessage(buf[:0], h, payload)
	})
	if a != 0 {
		t.Fatalf("AppendMessage allocates %v per message", a)
	}
}

// fakeSource is a beacon.Source that counts its reads.
type fakeSource struct {
	beacons []*format.Beacon
	reads   int
}

func (f *fakeSource) Count() int { return len(f.beacons) }
func (f *fakeSource) Beacon(n int) (*format.Beacon, error) {
	f.reads++
	return f.beacons[n-1], nil
}

func TestSearch(t *testing.T) {
	// 1000 beacons; the stream has a marker (seq = 10*n) in every k-th beacon only.
	for _, every := range []int{1, 3, 50} {
		src := &fakeSource{beacons: make([]*format.Beacon, 1000)}
		for i := range src.beacons {
			n := i + 1
			src.beacons[i] = &format.Beacon{}
			if n%every == 0 {
				src.beacons[i].Markers = []format.Marker{{MessageHeader: format.MessageHeader{StreamKey: "s", SeqNo: uint64(10 * n)}}}
			}
		}
		for _, target := range []uint64{0, 5, 10, 11, 5000, 5001, 9990, 10000, 10001, 99999} {
			src.reads = 0
			got, err := Search(src, BySeqNo("s", 0, target))
			if err != nil {
				t.Fatal(err)
			}
			// The answer: the last beacon with a marker below target.
			want := 0
			for n := 1; n <= src.Count(); n++ {
				if n%every == 0 && uint64(10*n) < target {
					want = n
				}
			}
			if got != want {
				t.Errorf("every %d, target %d: got beacon %d, want %d", every, target, got, want)
			}
			if every == 1 && src.reads > 11 {
				t.Errorf("target %d: %d reads for 1000 beacons", target, src.reads)
			}
		}
	}
	// A stream that appears in no beacon: start from the beginning.
	if got, _ := Search(&fakeSource{beacons: []*format.Beacon{{}, {}, {}}}, BySeqNo("s", 0, 1)); got != 0 {
		t.Fatal(got)
	}
}
