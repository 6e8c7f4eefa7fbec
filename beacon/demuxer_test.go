package beacon

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/seastream/ss/format"
)

type laidOut struct {
	h       format.MessageHeader
	payload []byte
	start   int64
}

// layOut writes msgs with a Muxer after a file header, and returns the
// bytes and where each frame starts.
func layOut(t *testing.T, interval uint32, msgs []laidOut) []byte {
	t.Helper()
	m := NewMuxer(interval, 0, nil)
	data, err := m.AppendHeader(nil, format.Header{FileName: "d.ss", BeaconInterval: interval})
	if err != nil {
		t.Fatal(err)
	}
	for i := range msgs {
		data = m.AppendPendingBeacon(data)
		msgs[i].start = m.Offset()
		if data, _, err = m.AppendMessage(data, msgs[i].h, msgs[i].payload); err != nil {
			t.Fatal(err)
		}
	}
	return data
}

func randomMessages(rng *rand.Rand, n, maxPayload int) []laidOut {
	msgs := make([]laidOut, n)
	for i := range msgs {
		p := make([]byte, rng.IntN(maxPayload+1))
		for j := range p {
			p[j] = byte(rng.Uint32())
		}
		key := strings.Repeat(string(rune('a'+i%3)), 1+rng.IntN(200))
		msgs[i] = laidOut{h: format.MessageHeader{StreamKey: key, ShardID: uint64(i % 2), SeqNo: uint64(i + 1), Timestamp: uint64(1700000000000 + i)}, payload: p}
	}
	return msgs
}

// TestDemuxerReadsWhatMuxerWrites reads back every frame a Muxer laid out,
// at intervals where beacons split headers, payloads and checksums, and
// requires the same messages, ends where the next frame (or its beacon)
// starts, and the gathered buffer only for spliced frames.
func TestDemuxerReadsWhatMuxerWrites(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 9))
	for _, interval := range []uint32{128, 200, 1024, 1 << 20} {
		t.Run(fmt.Sprint(interval), func(t *testing.T) {
			msgs := randomMessages(rng, 60, 700)
			data := layOut(t, interval, msgs)
			d := NewDemuxer(interval)
			var f Frame
			var buf []byte
			spliced := 0
			for i, want := range msgs {
				var ok bool
				buf, ok = d.Frame(data, want.start, &f, buf)
				if !ok {
					t.Fatalf("message %d at %d: %v at %d: %v", i, want.start, f.Damage, f.At, f.Err)
				}
				if f.Raw.Header() != want.h || !bytes.Equal(f.Raw.Payload, want.payload) || f.Raw.Checksum != format.Checksum(want.payload) {
					t.Fatalf("message %d: got %+v (%d bytes), want %+v (%d bytes)", i, f.Raw.Header(), len(f.Raw.Payload), want.h, len(want.payload))
				}
				next := int64(len(data))
				if i+1 < len(msgs) {
					next = msgs[i+1].start
				}
				if f.End > next || next-f.End > 0 && !d.Layout.IsBoundary(f.End) {
					t.Fatalf("message %d ends at %d, the next starts at %d", i, f.End, next)
				}
				if f.Gathered != f.Spliced || f.Spliced != (f.Beacons > 0) {
					t.Fatalf("message %d: spliced %v, gathered %v, %d beacons", i, f.Spliced, f.Gathered, f.Beacons)
				}
				if f.Spliced {
					spliced++
				}
			}
			if interval < 1<<20 && spliced == 0 {
				t.Fatal("no frame was spliced: the test does not test splicing")
			}
		})
	}
}

// TestDemuxerDamage classifies each kind of damage at the offset it is at.
func TestDemuxerDamage(t *testing.T) {
	const interval = 128
	msgs := []laidOut{
		{h: format.MessageHeader{StreamKey: "a", ShardID: 1, SeqNo: 1, Timestamp: 1}, payload: bytes.Repeat([]byte{7}, 20)},
		{h: format.MessageHeader{StreamKey: "b", ShardID: 1, SeqNo: 1, Timestamp: 2}, payload: bytes.Repeat([]byte{8}, 300)},
	}
	data := layOut(t, interval, msgs)
	small, big := msgs[0].start, msgs[1].start
	firstInner := (big/interval + 1) * interval // the first beacon inside the big frame
	cases := []struct {
		name   string
		mutate func([]byte) []byte
		at     int64
		want   Damage
	}{
		{"cut in the header", func(b []byte) []byte { return b[:big+5] }, big, Short},
		{"cut in the payload", func(b []byte) []byte { return b[:big+200] }, 0, Short},
		{"cut inside a splicing beacon", func(b []byte) []byte { return b[:firstInner+3] }, firstInner, Short},
		{"key length over the maximum", func(b []byte) []byte { b[big] = 250; return b }, big, BadHeader},
		{"bad key character", func(b []byte) []byte { b[big+1] = '*'; return b }, big, BadHeader},
		{"no 0x0D at the end", func(b []byte) []byte { b[small+int64(format.MessageSize(1, 20))-1] = 0; return b }, small, BadTerminator},
		{"a splicing beacon's count", func(b []byte) []byte { b[firstInner+4] ^= 1; return b }, firstInner, BadRemaining},
		{"a splicing beacon's 0x0D", func(b []byte) []byte { b[firstInner] = 0; return b }, firstInner, BadBeacon},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := c.mutate(bytes.Clone(data))
			start := big
			if c.want == BadTerminator {
				start = small
			}
			d := NewDemuxer(interval)
			var f Frame
			if _, ok := d.Frame(b, start, &f, nil); ok {
				t.Fatal("the damaged frame read")
			}
			if f.Damage != c.want {
				t.Fatalf("damage %v (at %d: %v), want %v", f.Damage, f.At, f.Err, c.want)
			}
			if c.at != 0 && f.At != c.at {
				t.Fatalf("damage at %d, want %d", f.At, c.at)
			}
			if c.want == Short && f.End != int64(len(b)) {
				t.Fatalf("a short frame ends at %d, the data at %d", f.End, len(b))
			}
			if c.want == BadRemaining && f.Want != f.Size-(int(firstInner-big)) {
				t.Fatalf("Want %d, the frame has %d bytes after the beacon", f.Want, f.Size-int(firstInner-big))
			}
		})
	}
	// Lenient: the count of the beacon is not checked.
	b := bytes.Clone(data)
	b[firstInner+4] ^= 1
	d := &Demuxer{Layout: Layout{Interval: interval}, Inner: LenientInner}
	var f Frame
	if _, ok := d.Frame(b, big, &f, nil); !ok || !bytes.Equal(f.Raw.Payload, msgs[1].payload) {
		t.Fatalf("lenient read of a frame whose beacon miscounts: %v %v", f.Damage, f.Err)
	}
}

// TestDemuxerNoAllocation: reading frames, spliced ones into a reused
// buffer, allocates nothing.
func TestDemuxerNoAllocation(t *testing.T) {
	msgs := randomMessages(rand.New(rand.NewPCG(1, 2)), 20, 400)
	data := layOut(t, 256, msgs)
	d := NewDemuxer(256)
	var f Frame
	buf := make([]byte, 0, 1024)
	allocs := testing.AllocsPerRun(50, func() {
		for _, m := range msgs {
			buf, _ = d.Frame(data, m.start, &f, buf)
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per run of %d frames", allocs, len(msgs))
	}
}

// FuzzDemuxer reads a frame at any offset of any bytes: it never panics,
// and a frame it reads lies inside the data, its parts adding up.
func FuzzDemuxer(f *testing.F) {
	rng := rand.New(rand.NewPCG(8, 8))
	for _, iv := range []uint32{128, 256} {
		msgs := randomMessages(rng, 8, 300)
		m := NewMuxer(iv, 0, nil)
		b, _ := m.AppendHeader(nil, format.Header{FileName: "f.ss", BeaconInterval: iv})
		for _, msg := range msgs {
			b, _, _ = m.AppendMessage(b, msg.h, msg.payload)
		}
		f.Add(b, uint16(iv), uint16(format.HeaderSize))
	}
	f.Fuzz(func(t *testing.T, data []byte, interval, at uint16) {
		iv := max(int64(interval), 16)
		if len(data) == 0 {
			return
		}
		p := int64(at) % int64(len(data))
		if p > 0 && p%iv == 0 {
			return // a beacon position: not a frame start
		}
		d := &Demuxer{Layout: Layout{Interval: iv}}
		var fr Frame
		buf, ok := d.Frame(data, p, &fr, nil)
		if !ok {
			if fr.Damage == Intact {
				t.Fatal("a frame that did not read has no damage")
			}
			return
		}
		if fr.End <= p || fr.End > int64(len(data)) {
			t.Fatalf("frame at %d ends at %d of %d bytes", p, fr.End, len(data))
		}
		if got := fr.HeadLen + len(fr.Raw.Payload) + 3; got != fr.Size {
			t.Fatalf("header %d + payload %d + 3 = %d, frame size %d", fr.HeadLen, len(fr.Raw.Payload), got, fr.Size)
		}
		if fr.Gathered && len(buf) != fr.Size {
			t.Fatalf("gathered %d bytes of a %d-byte frame", len(buf), fr.Size)
		}
	})
}

// TestDemuxerLanding: from every beacon of a laid-out file, Landing reaches
// the first message that starts after it (or the next beacon position, or
// the end), visiting each beacon of the splice; a beacon of the splice that
// miscounts breaks the walk there.
func TestDemuxerLanding(t *testing.T) {
	const interval = 128
	msgs := randomMessages(rand.New(rand.NewPCG(4, 4)), 30, 500)
	data := layOut(t, interval, msgs)
	d := NewDemuxer(interval)
	starts := map[int64]bool{}
	for _, m := range msgs {
		starts[m.start] = true
	}
	for off := int64(interval); off < int64(len(data)); off += interval {
		var visited []int64
		land, dmg, at, err := d.Landing(data, off, func(o int64) { visited = append(visited, o) })
		if dmg != Intact {
			t.Fatalf("beacon at %d: %v at %d: %v", off, dmg, at, err)
		}
		if !starts[land] && land != int64(len(data)) && !d.Layout.IsBoundary(land) {
			t.Fatalf("beacon at %d lands at %d, no message starts there", off, land)
		}
		for i, v := range visited {
			if v != off+int64(i)*interval {
				t.Fatalf("beacon at %d: visited %v", off, visited)
			}
		}
		if len(visited) > 1 {
			// Break the count of the last beacon of the splice.
			b := bytes.Clone(data)
			last := visited[len(visited)-1]
			b[last+4] ^= 1
			if _, dmg, at, _ := d.Landing(b, off, nil); dmg != BadRemaining || at != last {
				t.Fatalf("a miscounting beacon at %d: %v at %d", last, dmg, at)
			}
		}
	}
	if _, dmg, _, _ := d.Landing(data[:interval+3], interval, nil); dmg != Short {
		t.Fatalf("a beacon the data ends inside: %v", dmg)
	}
}
