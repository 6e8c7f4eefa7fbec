// Package sstest holds what the tests of several packages do with .ss files
// and stream directories: write records to a file through ssfile (WriteFile),
// and build a stream directory that rolls over many times through ssdir
// (Dir), the fixture of the tools' directory tests.
//
// It is for tests only: no non-test file of the module may import it
// (internal/archtest checks). It imports ssfile and ssdir, so their own
// internal tests cannot import it and keep their own helpers; it imports
// nothing above them.
package sstest

import (
	"fmt"
	"testing"

	"github.com/seastream/ss/format"
	"github.com/seastream/ss/ssdir"
	"github.com/seastream/ss/ssfile"
)

// Record is a message as written: its header and its payload.
type Record struct {
	Header  format.MessageHeader
	Payload []byte
}

// Writer is what Write writes to: an *ssfile.Writer or an *ssdir.Writer.
type Writer interface {
	Write(h format.MessageHeader, payload []byte) error
}

// Write writes recs to w, failing the test at the first error.
func Write(t testing.TB, w Writer, recs []Record) {
	t.Helper()
	for _, r := range recs {
		if err := w.Write(r.Header, r.Payload); err != nil {
			t.Fatal(err)
		}
	}
}

// WriteFile writes recs to a new file at path with ssfile.Create, Write and
// Close, failing the test at the first error.
func WriteFile(t testing.TB, path string, recs []Record, opts ...ssfile.Option) {
	t.Helper()
	w, err := ssfile.Create(path, opts...)
	if err != nil {
		t.Fatal(err)
	}
	Write(t, w, recs)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// DirMessages is how many messages Dir writes.
const DirMessages = 600

// DirRecord returns message i of the directory Dir writes: the first 200
// go to the streams s0 to s4 in turn, the rest to s0 and s1 only, each
// stream's sequence numbers counting from 1; message i has the timestamp
// 1_700_000_000_000 + i and the payload "message i " followed by i in 50
// digits.
func DirRecord(i int) Record {
	key, seq := fmt.Sprintf("s%d", i%5), uint64(i/5+1)
	if i >= 200 {
		key, seq = fmt.Sprintf("s%d", i%2), uint64(40+(i-200)/2+1)
	}
	return Record{
		Header:  format.MessageHeader{StreamKey: key, SeqNo: seq, Timestamp: uint64(1_700_000_000_000 + i)},
		Payload: fmt.Appendf(nil, "message %d %050d", i, i),
	}
}

// DirRecords returns the messages from to to-1 of DirRecord.
func DirRecords(from, to int) []Record {
	out := make([]Record, 0, max(0, to-from))
	for i := from; i < to; i++ {
		out = append(out, DirRecord(i))
	}
	return out
}

// OpenDir opens the stream directory dir for appending with the options
// of Dir: segments of 4 KiB, beacons every 1 KiB.
func OpenDir(t testing.TB, dir string) *ssdir.Writer {
	t.Helper()
	w, err := ssdir.Append(dir, ssdir.WithSegmentSize(4096), ssdir.WithFileOptions(ssfile.WithBeaconInterval(1024)))
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// Dir writes the DirMessages messages of DirRecord to a new stream
// directory opened with OpenDir, which rolls over many times: the segments
// after message 200 carry markers for streams written in earlier segments
// only. It returns the directory and its segments, failing the test if
// there are fewer than five.
func Dir(t testing.TB) (string, []ssdir.Segment) {
	t.Helper()
	dir := t.TempDir()
	w := OpenDir(t, dir)
	Write(t, w, DirRecords(0, DirMessages))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	segs, err := ssdir.Segments(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(segs) < 5 {
		t.Fatalf("%d segments, want at least 5", len(segs))
	}
	return dir, segs
}
