package sscheck

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/seastream/ss/beacon"
	"github.com/seastream/ss/format"
	"github.com/seastream/ss/internal/testkit"
	"github.com/seastream/ss/ssfile"
)

// msg is a message of a test file and where the writer put it.
type msg struct {
	h          format.MessageHeader
	payload    []byte
	start, end int64 // frame start, and the end of its last byte (beacons inside counted)
}

// build lays out msgs as the writer does and records where each frame lies.
func build(t testing.TB, h format.Header, msgs []msg) []byte {
	t.Helper()
	mux := beacon.NewMuxer(h.BeaconInterval, 0, nil)
	data, err := mux.AppendHeader(nil, h)
	if err != nil {
		t.Fatal(err)
	}
	for i := range msgs {
		msgs[i].start = mux.Offset()
		if data, _, err = mux.AppendMessage(data, msgs[i].h, msgs[i].payload); err != nil {
			t.Fatal(err)
		}
	}
	for i := range msgs {
		msgs[i].end = frameEnd(t, data, msgs[i], int64(h.BeaconInterval))
	}
	return data
}

func frameEnd(t testing.TB, data []byte, m msg, iv int64) int64 {
	p, left := m.start, int64(format.MessageSize(len(m.h.StreamKey), len(m.payload)))
	for {
		room := iv - p%iv
		if left <= room {
			return p + left
		}
		p += room
		left -= room
		_, n, err := format.DecodeBeacon(data[p:])
		if err != nil {
			t.Fatalf("beacon at %d: %v", p, err)
		}
		p += int64(n)
	}
}

// randomMessages makes n messages over a few streams, some of them larger
// than the interval.
func randomMessages(seed uint64, n int, maxPayload int) []msg {
	rng := rand.New(rand.NewPCG(seed, 7))
	keys := []string{"a", "orders", "payments.eu-1", "x_y"}
	seqs := map[string]uint64{}
	ts := uint64(1_700_000_000_000)
	out := make([]msg, n)
	for i := range out {
		key := keys[rng.IntN(len(keys))]
		shard := uint64(rng.IntN(2))
		id := fmt.Sprintf("%s/%d", key, shard)
		seqs[id]++
		ts += uint64(rng.IntN(3))
		payload := make([]byte, rng.IntN(maxPayload+1))
		for j := range payload {
			payload[j] = byte('a' + rng.IntN(26))
		}
		out[i] = msg{h: format.MessageHeader{StreamKey: key, ShardID: shard, SeqNo: seqs[id], Timestamp: ts}, payload: payload}
	}
	return out
}

func header(iv uint32) format.Header {
	return format.Header{FileName: "test.ss", CreatedAt: 1_700_000_000_000, BeaconInterval: iv}
}

type result struct {
	sum      Summary
	err      error
	messages []Message // payloads copied
	problems []*Problem
}

func scan(data []byte) result { return scanWithOpts(data) }

// rebuild lays out what a repair of data writes: the valid messages the scan
// found, with data's header.
func rebuild(t testing.TB, h format.Header, ms []Message) []byte {
	t.Helper()
	in := make([]msg, len(ms))
	for i, m := range ms {
		in[i] = msg{h: m.MessageHeader, payload: m.Payload}
	}
	return build(t, h, in)
}

func sameMessages(t testing.TB, got []Message, want []msg) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d messages, want %d", len(got), len(want))
	}
	for i := range got {
		if got[i].MessageHeader != want[i].h || !bytes.Equal(got[i].Payload, want[i].payload) || got[i].Offset != want[i].start {
			t.Fatalf("message %d: %+v at %d, want %+v at %d", i, got[i].MessageHeader, got[i].Offset, want[i].h, want[i].start)
		}
	}
}

var intervals = []uint32{128, 256, 1024, 4096}

func TestCleanFiles(t *testing.T) {
	for _, iv := range append([]uint32{200}, intervals...) {
		t.Run(fmt.Sprint(iv), func(t *testing.T) {
			msgs := randomMessages(uint64(iv), 120, int(iv)*3/2)
			data := build(t, header(iv), msgs)
			r := scan(data)
			if r.err != nil || len(r.problems) != 0 {
				t.Fatalf("err %v, problems %v", r.err, r.problems)
			}
			if s := scanWithOpts(data, Strict()); s.err != nil || len(s.problems) != 0 {
				t.Fatalf("strict: err %v, problems %v", s.err, s.problems)
			}
			sameMessages(t, r.messages, msgs)
			if r.sum.Messages != int64(len(msgs)) || r.sum.Beacons != (int64(len(data))-1)/int64(iv) || r.sum.Streams != 8 && r.sum.Streams != 7 {
				t.Errorf("summary %+v", r.sum)
			}
			if got := rebuild(t, r.sum.Header, r.messages); !bytes.Equal(got, data) {
				t.Fatal("rebuilding the messages does not give the same bytes")
			}
		})
	}
}

// TestVectors scans the files SeaStreamer wrote, sound even by the strict
// checks, and repairs them to the same bytes.
func TestVectors(t *testing.T) {
	for _, name := range []string{"consumer.ss", "sample-1.ss"} {
		path := filepath.Join("..", "..", "testdata", name)
		orig, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var problems []*Problem
		sum, err := ScanFile(path, Visitor{Problem: func(p *Problem) error { problems = append(problems, p); return nil }}, Strict())
		if err != nil || len(problems) > 0 {
			t.Fatalf("%s: %v %v", name, err, problems)
		}
		want := map[string]int64{"consumer.ss": 101, "sample-1.ss": 28}[name]
		if sum.Messages != want {
			t.Errorf("%s: %d messages, want %d", name, sum.Messages, want)
		}
		out := filepath.Join(t.TempDir(), name)
		rsum, err := Repair(path, RepairOptions{Out: out}, nil)
		if err != nil || rsum.Problems != 0 {
			t.Fatalf("repair: %v %+v", err, rsum)
		}
		got, _ := os.ReadFile(out)
		if !bytes.Equal(got, orig) {
			t.Errorf("%s: a sound file does not repair to the same bytes", name)
		}
	}
}

// TestCutAtEveryByte cuts a small file at every offset: the scan keeps every
// message complete before the cut and reports the torn tail, and the repair
// writes exactly what the writer would have written for those messages.
func TestCutAtEveryByte(t *testing.T) {
	for _, iv := range []uint32{128, 1024} {
		msgs := randomMessages(uint64(iv)+1, 40, int(iv)+100)
		data := build(t, header(iv), msgs)
		rebuilt := map[int][]byte{} // by number of complete messages
		for cut := 0; cut <= len(data); cut += testkit.Stride(len(data), 300) {
			r := scan(data[:cut:cut])
			if cut < format.HeaderSize {
				if !errors.Is(r.err, ErrHeader) {
					t.Fatalf("interval %d, cut %d: err %v, want ErrHeader", iv, cut, r.err)
				}
				continue
			}
			if r.err != nil {
				t.Fatalf("interval %d, cut %d: %v", iv, cut, r.err)
			}
			complete := 0
			for complete < len(msgs) && msgs[complete].end <= int64(cut) {
				complete++
			}
			sameMessages(t, r.messages, msgs[:complete])
			repaired, ok := rebuilt[complete]
			if !ok {
				repaired = rebuild(t, r.sum.Header, r.messages)
				if !bytes.Equal(repaired, data[:len(repaired)]) {
					t.Fatalf("interval %d, cut %d: the repair differs from the original's prefix", iv, cut)
				}
				if v := scan(repaired); len(v.problems) != 0 {
					t.Fatalf("interval %d, cut %d: the repaired file has problems: %v", iv, cut, v.problems)
				}
				rebuilt[complete] = repaired
			}
			clean := int64(cut) == int64(len(repaired))
			if clean != (len(r.problems) == 0) {
				t.Fatalf("interval %d, cut %d (clean prefix %d): problems %v", iv, cut, len(repaired), r.problems)
			}
			for _, p := range r.problems {
				if !errors.Is(p, ErrTornTail) || p.End != int64(cut) {
					t.Fatalf("interval %d, cut %d: %v (end %d)", iv, cut, p, p.End)
				}
			}
		}
	}
}

// TestPayloadFlip flips one bit in the payload of each message in turn: the
// scan reports exactly that message, and the repair drops exactly it.
func TestPayloadFlip(t *testing.T) {
	for _, iv := range []uint32{128, 1024} {
		msgs := randomMessages(uint64(iv)+2, 60, int(iv)*2)
		data := build(t, header(iv), msgs)
		rng := rand.New(rand.NewPCG(3, 4))
		for i, m := range msgs {
			if len(m.payload) == 0 {
				continue
			}
			bad := slices.Clone(data)
			off := payloadOffset(t, data, m, int64(iv), rng.IntN(len(m.payload)))
			bad[off] ^= 1 << rng.IntN(8)
			r := scan(bad)
			if r.err != nil || len(r.problems) != 1 {
				t.Fatalf("interval %d, message %d: err %v, problems %v", iv, i, r.err, r.problems)
			}
			p := r.problems[0]
			if !errors.Is(p, ErrChecksum) || p.Offset != m.start || p.End != m.end || p.Message == nil || *p.Message != m.h {
				t.Fatalf("interval %d, message %d: %v", iv, i, p)
			}
			want := slices.Concat(msgs[:i:i], msgs[i+1:])
			if len(r.messages) != len(want) {
				t.Fatalf("kept %d messages, want %d", len(r.messages), len(want))
			}
			for j := range want {
				if r.messages[j].MessageHeader != want[j].h {
					t.Fatalf("message %d kept is %+v, want %+v", j, r.messages[j].MessageHeader, want[j].h)
				}
			}
			if r.sum.LostMessages != 1 {
				t.Errorf("lost %d messages", r.sum.LostMessages)
			}
		}
	}
}

// payloadOffset returns the file offset of byte k of m's payload.
func payloadOffset(t testing.TB, data []byte, m msg, iv int64, k int) int64 {
	return frameByteOffset(t, data, m, iv, 1+len(m.h.StreamKey)+24+4+k)
}

// frameByteOffset returns the file offset of byte k of m's frame.
func frameByteOffset(t testing.TB, data []byte, m msg, iv int64, k int) int64 {
	p, left := m.start, int64(k)
	for {
		room := iv - p%iv
		if left < room {
			return p + left
		}
		p += room
		left -= room
		_, n, err := format.DecodeBeacon(data[p:])
		if err != nil {
			t.Fatal(err)
		}
		p += int64(n)
	}
}

// TestChecksumFieldFlip damages a stored checksum instead of the payload:
// one problem, and the next marker of the stream still agrees.
func TestChecksumFieldFlip(t *testing.T) {
	iv := uint32(1024)
	msgs := randomMessages(11, 80, 300)
	data := build(t, header(iv), msgs)
	for i, m := range msgs {
		bad := slices.Clone(data)
		k := format.MessageSize(len(m.h.StreamKey), len(m.payload)) - 3
		bad[frameByteOffset(t, data, m, int64(iv), k)] ^= 0x40
		r := scan(bad)
		if len(r.problems) != 1 || !errors.Is(r.problems[0], ErrChecksum) {
			t.Fatalf("message %d: %v", i, r.problems)
		}
		if len(r.messages) != len(msgs)-1 {
			t.Fatalf("message %d: kept %d", i, len(r.messages))
		}
	}
}

// TestBeaconDamage flips a bit of every byte of every beacon in turn (every
// bit in the first beacons): no message is lost, and the damage is reported.
func TestBeaconDamage(t *testing.T) {
	for _, iv := range []uint32{256, 1024} {
		msgs := randomMessages(uint64(iv)+5, 70, int(iv)*3/2)
		data := build(t, header(iv), msgs)
		for b := int64(iv); b < int64(len(data)); b += int64(iv) {
			_, n, err := format.DecodeBeacon(data[b:])
			if err != nil {
				t.Fatal(err)
			}
			for off := b; off < b+int64(n); off++ {
				for bit := range 8 {
					if (b > 2*int64(iv) || testing.Short()) && bit != int(off%8) {
						continue
					}
					bad := slices.Clone(data)
					bad[off] ^= 1 << bit
					r := scan(bad)
					if r.err != nil {
						t.Fatal(r.err)
					}
					if len(r.problems) == 0 {
						t.Fatalf("interval %d, beacon %d, byte %d bit %d: not detected", iv, b, off-b, bit)
					}
					if len(r.messages) != len(msgs) {
						t.Fatalf("interval %d, beacon %d, byte %d bit %d: kept %d of %d messages; %v", iv, b, off-b, bit, len(r.messages), len(msgs), r.problems)
					}
					for _, p := range r.problems {
						if p.Lost() != 0 || errors.Is(p, ErrFrame) || errors.Is(p, ErrChecksum) {
							t.Fatalf("interval %d, beacon %d, byte %d bit %d: %v", iv, b, off-b, bit, p)
						}
					}
				}
			}
		}
	}
}

// TestFrameDamage breaks the structure of one message at a time (its key
// length, a key byte, its size field, its terminator): the scan resumes at
// the next beacon and keeps every message outside the range it reports lost.
func TestFrameDamage(t *testing.T) {
	iv := uint32(512)
	msgs := randomMessages(21, 90, 700)
	data := build(t, header(iv), msgs)
	for i, m := range msgs {
		size := format.MessageSize(len(m.h.StreamKey), len(m.payload))
		for _, k := range []int{0, 1, len(m.h.StreamKey) + 25, size - 1} {
			bad := slices.Clone(data)
			off := frameByteOffset(t, data, m, int64(iv), k)
			if k == 0 {
				bad[off] = 0xFF // a key length over 249
			} else if k == 1 {
				bad[off] = '/' // not a key character
			} else {
				bad[off] ^= 0x80
			}
			r := scan(bad)
			if r.err != nil || len(r.problems) == 0 {
				t.Fatalf("message %d byte %d: %v %v", i, k, r.err, r.problems)
			}
			var lost [][2]int64
			for _, p := range r.problems {
				if p.Lost() > 0 {
					lost = append(lost, [2]int64{p.Offset, p.End})
				}
			}
			var want []msg
			for _, o := range msgs {
				in := false
				for _, l := range lost {
					if o.end > l[0] && o.start < l[1] {
						in = true
					}
				}
				if !in {
					want = append(want, o)
				}
			}
			if len(r.messages) != len(want) {
				t.Fatalf("message %d byte %d: kept %d, want %d outside %v: %v", i, k, len(r.messages), len(want), lost, r.problems)
			}
			for j := range want {
				if r.messages[j].MessageHeader != want[j].h || r.messages[j].Offset != want[j].start {
					t.Fatalf("message %d byte %d: kept message %d is %+v", i, k, j, r.messages[j].MessageHeader)
				}
			}
			if !hasKind(r.problems, ErrFrame) && !hasKind(r.problems, ErrTornTail) {
				t.Fatalf("message %d byte %d: %v", i, k, r.problems)
			}
			// The repaired file is sound.
			if v := scan(rebuild(t, r.sum.Header, r.messages)); len(v.problems) != 0 {
				t.Fatalf("message %d byte %d: repaired file: %v", i, k, v.problems)
			}
		}
	}
}

// onlyOrder reports whether every problem is an order problem: what a
// repaired file may still have, as a repair keeps messages out of order.
func onlyOrder(ps []*Problem) bool {
	for _, p := range ps {
		if !errors.Is(p, ErrOrder) {
			return false
		}
	}
	return true
}

func hasKind(ps []*Problem, kind error) bool {
	for _, p := range ps {
		if errors.Is(p, kind) {
			return true
		}
	}
	return false
}

// TestRandomDamage flips random bits anywhere after the header: never a
// panic, every kept message is one of the originals, in order, with its
// payload intact, and the repaired file is sound but for messages kept out
// of order.
func TestRandomDamage(t *testing.T) {
	rng := rand.New(rand.NewPCG(99, 100))
	for round := range 300 {
		iv := intervals[round%len(intervals)]
		msgs := randomMessages(uint64(round), 30, int(iv))
		data := build(t, header(iv), msgs)
		bad := slices.Clone(data)
		for range 1 + rng.IntN(4) {
			off := format.HeaderSize + rng.IntN(len(data)-format.HeaderSize)
			bad[off] ^= 1 << rng.IntN(8)
		}
		r := scan(bad)
		if r.err != nil {
			t.Fatal(r.err)
		}
		j := 0
		for _, m := range r.messages {
			for j < len(msgs) && msgs[j].start != m.Offset {
				j++
			}
			if j == len(msgs) || !bytes.Equal(msgs[j].payload, m.Payload) {
				t.Fatalf("round %d: kept a message at %d that is not an original", round, m.Offset)
			}
		}
		if v := scan(rebuild(t, r.sum.Header, r.messages)); !onlyOrder(v.problems) {
			t.Fatalf("round %d: repaired file: %v", round, v.problems)
		}
	}
}

// TestMarkerChecks damages what markers say and what a restarted writer
// leaves (SeaStreamer's append restarts the running checksums): reported as
// marker problems, nothing lost.
func TestMarkerChecks(t *testing.T) {
	iv := uint32(1024)
	msgs := randomMessages(8, 60, 200)
	data := build(t, header(iv), msgs)
	b, _, err := format.DecodeBeacon(data[iv:])
	if err != nil || len(b.Markers) == 0 {
		t.Fatal(err)
	}
	// The running checksum of the first marker.
	off := int(iv) + 6 + b.Markers[0].Size()
	bad := slices.Clone(data)
	bad[off] ^= 1
	r := scan(bad)
	if len(r.problems) != 1 || !errors.Is(r.problems[0], ErrMarker) || r.problems[0].Offset != int64(iv)+6 || len(r.messages) != len(msgs) {
		t.Fatalf("%v", r.problems)
	}

	// A writer that restarts its state half way, as SeaStreamer's
	// MessageSink::append does: sound, and the reopen noted where it is.
	for _, half := range []int{1, len(msgs) / 3, len(msgs) / 2, len(msgs) - 5} {
		mux := beacon.NewMuxer(iv, 0, nil)
		out, _ := mux.AppendHeader(nil, header(iv))
		for _, m := range msgs[:half] {
			out, _, _ = mux.AppendMessage(out, m.h, m.payload)
		}
		at := mux.Offset()
		mux2 := beacon.NewMuxer(iv, at, nil)
		for _, m := range msgs[half:] {
			out, _, _ = mux2.AppendMessage(out, m.h, m.payload)
		}
		var notes []*Note
		sum, err := Scan(out, Visitor{
			Problem: func(p *Problem) error { return p },
			Note:    func(n *Note) error { notes = append(notes, n); return nil },
		})
		if err != nil || sum.Messages != int64(len(msgs)) {
			t.Fatalf("restarted writer at message %d: %v, %d messages", half, err, sum.Messages)
		}
		if len(notes) != 1 || !errors.Is(notes[0], NoteReopen) || notes[0].Offset != at {
			t.Fatalf("restarted writer at message %d (offset %d): notes %v", half, at, notes)
		}
	}
}

// TestWriterFiles checks files the engine's writer makes, reopened for
// appending along the way: sound, and repaired to the same bytes.
func TestWriterFiles(t *testing.T) {
	path := filepath.Join(t.TempDir(), "w.ss")
	msgs := randomMessages(31, 200, 3000)
	opts := []ssfile.Option{ssfile.WithBeaconInterval(1024), ssfile.WithCreatedAt(time.UnixMilli(1_700_000_000_000))}
	for part := range 4 {
		open := ssfile.Append
		if part == 0 {
			open = ssfile.Create
		}
		w, err := open(path, opts...)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs[part*50 : (part+1)*50] {
			if err := w.Write(m.h, m.payload); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	var problems []*Problem
	sum, err := ScanFile(path, Visitor{Problem: func(p *Problem) error { problems = append(problems, p); return nil }})
	if err != nil || len(problems) != 0 || sum.Messages != int64(len(msgs)) {
		t.Fatalf("%v %v %+v", err, problems, sum)
	}
	out := filepath.Join(t.TempDir(), "r.ss")
	if _, err := Repair(path, RepairOptions{Out: out}, nil); err != nil {
		t.Fatal(err)
	}
	a, _ := os.ReadFile(path)
	b, _ := os.ReadFile(out)
	if !bytes.Equal(a, b) {
		t.Fatal("a sound file written by ssfile does not repair to the same bytes")
	}
}

func TestRepairOptions(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.ss")
	msgs := randomMessages(41, 30, 500)
	data := build(t, header(1024), msgs)
	bad := slices.Clone(data)
	bad[payloadOffset(t, data, msgs[3], 1024, 0)] ^= 4
	if err := os.WriteFile(in, bad, 0o640); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out.ss")
	if _, err := Repair(in, RepairOptions{}, nil); err == nil {
		t.Error("no output: no error")
	}
	if _, err := Repair(in, RepairOptions{Out: in}, nil); err == nil {
		t.Error("output = input without in-place: no error")
	}
	if err := os.WriteFile(out, []byte("keep"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Repair(in, RepairOptions{Out: out}, nil); !errors.Is(err, os.ErrExist) {
		t.Errorf("existing output: %v", err)
	}
	if got, _ := os.ReadFile(out); string(got) != "keep" {
		t.Error("an existing output was changed without Force")
	}
	var reported []*Problem
	sum, err := Repair(in, RepairOptions{Out: out, Force: true}, func(p *Problem) error { reported = append(reported, p); return nil })
	if err != nil || sum.Messages != int64(len(msgs)-1) || len(reported) != 1 {
		t.Fatalf("%v %+v %v", err, sum, reported)
	}
	if got, _ := os.ReadFile(in); !bytes.Equal(got, bad) {
		t.Error("the input was modified")
	}
	want := build(t, header(1024), slices.Concat(msgs[:3:3], msgs[4:]))
	if got, _ := os.ReadFile(out); !bytes.Equal(got, want) {
		t.Error("the repaired file is not the writer's layout of the kept messages")
	}
	if fi, _ := os.Stat(out); fi.Mode().Perm() != 0o640 {
		t.Errorf("mode %v, want the input's", fi.Mode().Perm())
	}
	// In place.
	if _, err := Repair(in, RepairOptions{InPlace: true}, nil); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(in); !bytes.Equal(got, want) {
		t.Error("in place: wrong result")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Errorf("temporary files left: %v", entries)
	}
	// Refused while a writer has the file open.
	w, err := ssfile.Append(in)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if _, err := Repair(in, RepairOptions{InPlace: true}, nil); !errors.Is(err, ErrLocked) {
		t.Errorf("in place with a writer: %v", err)
	}
}

// FuzzScan scans arbitrary bytes after a valid header: no panic, no hang,
// every message kept passes its checksum, and a repair of them is sound but
// for messages kept out of order.
func FuzzScan(f *testing.F) {
	for _, iv := range []uint32{128, 1024} {
		f.Add(iv, build(f, header(iv), randomMessages(uint64(iv), 12, int(iv)))[format.HeaderSize:])
	}
	f.Fuzz(func(t *testing.T, iv uint32, body []byte) {
		iv = max(128, iv%4096)
		h := header(iv)
		data, err := format.AppendHeader(nil, h)
		if err != nil {
			t.Fatal(err)
		}
		r := scan(append(data, body...))
		if r.err != nil {
			t.Fatal(r.err)
		}
		for _, m := range r.messages {
			if format.Checksum(m.Payload) != m.Checksum {
				t.Fatalf("message at %d fails its checksum", m.Offset)
			}
		}
		if v := scan(rebuild(t, h, r.messages)); !onlyOrder(v.problems) {
			t.Fatalf("repaired: %v", v.problems)
		}
	})
}

// FuzzScanFile fuzzes whole files, header included (FuzzScan keeps a sound
// header): Scan must not panic, must fail only with ErrHeader, must hand
// out only messages whose payload matches its checksum, and what it hands
// out, written again under the header it read, must scan clean but for
// order.
func FuzzScanFile(f *testing.F) {
	for _, iv := range []uint32{128, 1024} {
		f.Add(build(f, header(iv), randomMessages(uint64(iv)+1, 8, int(iv))))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r := scan(data)
		if r.err != nil {
			if !errors.Is(r.err, ErrHeader) {
				t.Fatalf("Scan failed with %v, not ErrHeader", r.err)
			}
			return
		}
		for _, m := range r.messages {
			if format.Checksum(m.Payload) != m.Checksum {
				t.Fatalf("message at %d fails its checksum", m.Offset)
			}
		}
		if v := scan(rebuild(t, r.sum.Header, r.messages)); v.err != nil || !onlyOrder(v.problems) {
			t.Fatalf("written again: %v %v", v.err, v.problems)
		}
	})
}
