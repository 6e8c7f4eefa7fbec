package reliability

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/seastream/ss/beacon"
	"github.com/seastream/ss/format"
	"github.com/seastream/ss/internal/sscheck"
	"github.com/seastream/ss/internal/sstest"
	"github.com/seastream/ss/ssfile"
)

// checked is what sscheck, the check behind ss-verify and ss-repair, finds
// in a whole file.
type checked struct {
	messages []sscheck.Message // every valid message, payloads copied
	problems []*sscheck.Problem
	err      error   // the header could not be read (sscheck.ErrHeader)
	damaged  []int64 // the frames whose payload fails its checksum
}

// check scans data with sscheck.
func check(data []byte, opts ...sscheck.Option) *checked {
	c := &checked{}
	_, c.err = sscheck.Scan(data, sscheck.Visitor{
		Message: func(m *sscheck.Message) error {
			k := *m
			k.Payload = bytes.Clone(m.Payload)
			c.messages = append(c.messages, k)
			return nil
		},
		Problem: func(p *sscheck.Problem) error {
			c.problems = append(c.problems, p)
			if errors.Is(p, sscheck.ErrChecksum) {
				c.damaged = append(c.damaged, p.Offset)
			}
			return nil
		},
	}, opts...)
	return c
}

// found reports whether the check found anything wrong.
func (c *checked) found() bool { return c.err != nil || len(c.problems) > 0 }

// rec is a message as written.
type rec = sstest.Record

// genSpec describes messages to generate.
type genSpec struct {
	n          int  // messages
	streams    int  // stream keys s0, s1, ...
	shards     int  // shards per stream
	maxPayload int  // payload sizes are 0..maxPayload
	text       bool // payloads of printable ASCII without spaces or newlines
}

// genMessages makes n messages over streams × shards with consecutive
// sequence numbers from 1 per (stream, shard) and rising timestamps.
func genMessages(rng *rand.Rand, g genSpec) []rec {
	seq := make(map[string]uint64)
	out := make([]rec, 0, g.n)
	for i := range g.n {
		key := fmt.Sprintf("s%d", rng.IntN(g.streams))
		shard := uint64(rng.IntN(g.shards))
		id := fmt.Sprint(key, "/", shard)
		seq[id]++
		p := make([]byte, rng.IntN(g.maxPayload+1))
		for j := range p {
			if g.text {
				p[j] = byte('a' + rng.IntN(26))
			} else {
				p[j] = byte(rng.Uint32())
			}
		}
		out = append(out, rec{Header: format.MessageHeader{StreamKey: key, ShardID: shard, SeqNo: seq[id], Timestamp: uint64(1_700_000_000_000 + 3*i)}, Payload: p})
	}
	return out
}

// fixedCreated is the created_at of the files the tests write, given to
// sstest.WriteFile, so that ssfile's Writer and layoutFile lay out the same
// bytes.
var fixedCreated = time.UnixMilli(1_700_000_000_000)

// layoutFile lays out msgs with beacon.Muxer: the bytes ssfile's Writer
// writes, for any interval down to 128 (ssfile's public options take
// multiples of 1024).
func layoutFile(t testing.TB, msgs []rec, interval uint32) []byte {
	t.Helper()
	m := beacon.NewMuxer(interval, 0, nil)
	data, err := m.AppendHeader(nil, format.Header{FileName: "torn.ss", CreatedAt: uint64(fixedCreated.UnixMilli()), BeaconInterval: interval})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range msgs {
		if data, _, err = m.AppendMessage(data, r.Header, r.Payload); err != nil {
			t.Fatal(err)
		}
	}
	return data
}

// frameEnds returns, for each message of a complete file, the offset right
// after its last byte, and its start.
func frameBounds(t testing.TB, data []byte) (starts, ends []int64) {
	t.Helper()
	lbl := labelFile(t, data)
	for i := range lbl {
		l := lbl[i]
		if l.region != regionMsgHeader && l.region != regionPayload {
			continue
		}
		if l.frame >= len(starts) {
			starts = append(starts, int64(i))
			ends = append(ends, 0)
		}
		ends[l.frame] = int64(i) + 1
	}
	return starts, ends
}

// Regions of a file, for the bit-rot test.
const (
	regionHeader    = "file header"
	regionMsgHeader = "message headers"
	regionPayload   = "payloads"
	regionBeacon    = "beacons"
)

// label says what one byte of a file holds.
type label struct {
	region string
	field  string
	frame  int // the message it belongs to (message regions)
}

// labelFile labels every byte of a complete, undamaged file written by the
// muxer rules: header fields, beacon fields, message header fields and
// payloads.
func labelFile(t testing.TB, data []byte) []label {
	t.Helper()
	h, err := format.DecodeHeader(data)
	if err != nil {
		t.Fatal(err)
	}
	lbl := make([]label, len(data))
	set := func(from, n int, region, field string, frame int) int {
		for i := from; i < from+n && i < len(lbl); i++ {
			lbl[i] = label{region, field, frame}
		}
		return from + n
	}
	p := set(0, 2, regionHeader, "magic", -1)
	p = set(p, 1, regionHeader, "version", -1)
	p = set(p, 1, regionHeader, "name length", -1)
	p = set(p, len(h.FileName), regionHeader, "file name", -1)
	p = set(p, 8, regionHeader, "created_at", -1)
	p = set(p, 4, regionHeader, "beacon interval", -1)
	set(p, format.HeaderSize-1-p, regionHeader, "padding", -1)
	set(format.HeaderSize-1, 1, regionHeader, "terminator", -1)

	layout := beacon.Layout{Interval: int64(h.BeaconInterval)}
	// Frame bytes in file order, beacons taken out.
	var stream []int
	for pos := format.HeaderSize; pos < len(data); {
		if layout.IsBoundary(int64(pos)) {
			info, err := format.ScanBeacon(data[pos:])
			if err != nil {
				t.Fatalf("beacon at %d: %v", pos, err)
			}
			q := set(pos, 1, regionBeacon, "start 0x0D", -1)
			q = set(q, 4, regionBeacon, "remaining bytes", -1)
			q = set(q, 1, regionBeacon, "marker count", -1)
			for range info.Markers {
				k := int(data[q])
				q = set(q, 1, regionBeacon, "marker key length", -1)
				q = set(q, k, regionBeacon, "marker key", -1)
				q = set(q, 8, regionBeacon, "marker shard", -1)
				q = set(q, 8, regionBeacon, "marker seq", -1)
				q = set(q, 8, regionBeacon, "marker timestamp", -1)
				q = set(q, 2, regionBeacon, "marker running checksum", -1)
			}
			set(q, 1, regionBeacon, "end 0x0D", -1)
			pos += info.Size
			continue
		}
		stream = append(stream, pos)
		pos++
	}
	// Walk the frames through the logical bytes.
	for i, frame := 0, 0; i < len(stream); frame++ {
		at := func(j int) byte { return data[stream[i+j]] }
		k := int(at(0))
		size := int(at(1+k+24))<<24 | int(at(1+k+25))<<16 | int(at(1+k+26))<<8 | int(at(1+k+27))
		fields := []struct {
			n      int
			region string
			name   string
		}{
			{1, regionMsgHeader, "key length"}, {k, regionMsgHeader, "key"},
			{8, regionMsgHeader, "shard"}, {8, regionMsgHeader, "seq"}, {8, regionMsgHeader, "timestamp"},
			{4, regionMsgHeader, "payload size"}, {size, regionPayload, "payload"},
			{2, regionMsgHeader, "checksum"}, {1, regionMsgHeader, "terminator"},
		}
		for _, f := range fields {
			for range f.n {
				lbl[stream[i]] = label{f.region, f.name, frame}
				i++
			}
		}
	}
	return lbl
}

// readAll reads a file with ssfile in Replay mode: the messages (copied)
// before the first error, and that error (nil at a clean end).
func readAll(r *ssfile.Reader) ([]rec, error) {
	var out []rec
	for {
		m, err := r.Next(context.Background())
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, rec{Header: m.MessageHeader, Payload: bytes.Clone(m.Payload)})
	}
}

// sameRecs reports where got and want first differ, or -1.
func firstDiff(got, want []rec) int {
	for i := range min(len(got), len(want)) {
		if got[i].Header != want[i].Header || !bytes.Equal(got[i].Payload, want[i].Payload) {
			return i
		}
	}
	if len(got) != len(want) {
		return min(len(got), len(want))
	}
	return -1
}

func tempPath(t testing.TB, name string) string { return filepath.Join(t.TempDir(), name) }

// fastDir returns a temporary directory on tmpfs (/dev/shm) when there is
// one, else t.TempDir(). Tests that close thousands of writers use it: Close
// syncs, and an fdatasync on tmpfs costs nothing, while what they check does
// not depend on the disk. It is removed when the test ends.
func fastDir(t testing.TB) string {
	t.Helper()
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		if dir, err := os.MkdirTemp("/dev/shm", "reliability-"); err == nil {
			t.Cleanup(func() { os.RemoveAll(dir) })
			return dir
		}
	}
	return t.TempDir()
}
