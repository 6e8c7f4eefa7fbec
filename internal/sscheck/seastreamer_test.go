package sscheck

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/seastream/ss/format"
	"github.com/seastream/ss/ssfile"
)

// seaStreamerFiles are the files SeaStreamer 1.0.0-rc.2 wrote in
// testdata/seastreamer (see its README): where each was reopened, as the
// sink that reopened it reported (started_from) or, for the producer, where
// its first message after the reopen is; and whether some sequence numbers
// go back.
var seaStreamerFiles = []struct {
	name            string
	reopens         []int64
	seqBack, strict bool // some sequence numbers go back; Strict reports some
}{
	{"sink-reopen-640.ss", []int64{30191, 41497}, true, true},
	{"sink-reopen-128-noeos.ss", nil, true, true}, // beacons of 128 bytes carry no markers: a reopen does not show
	{"sink-reopen-1024-many.ss", []int64{112904, 164971}, true, true},
	{"sink-noreopen-1000.ss", nil, true, true},
	{"sink-boundary-1024.ss", []int64{3079}, false, true}, // gaps
	{"sink-boundary-640.ss", []int64{1927}, false, true},
	{"producer-reopen-1024.ss", []int64{22988, 38083}, false, false},
	{"producer-reopen-1024-many.ss", []int64{154721, 223607}, false, false},
}

func seaStreamerPath(name string) string { return filepath.Join("testdata", "seastreamer", name) }

type scanned struct {
	sum      Summary
	problems []*Problem
	notes    []*Note
}

func scanPath(t *testing.T, path string, opts ...Option) scanned {
	t.Helper()
	var r scanned
	var err error
	r.sum, err = ScanFile(path, Visitor{
		Problem: func(p *Problem) error { r.problems = append(r.problems, p); return nil },
		Note:    func(n *Note) error { r.notes = append(r.notes, n); return nil },
	}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// readAll reads every message of the file at path with ssfile's reader.
func readAll(t *testing.T, path string) []ssfile.Message {
	t.Helper()
	r, err := ssfile.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var out []ssfile.Message
	for {
		m, err := r.Next(context.Background())
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		m.Payload = slices.Clone(m.Payload)
		out = append(out, m)
	}
}

// TestSeaStreamerFiles: every file SeaStreamer's MessageSink and producer
// wrote verifies without problems, whatever the order of its sequence
// numbers and however often it was closed and reopened; each reopen is
// noted where it is. With Strict, sequence numbers that go back are still
// reported.
func TestSeaStreamerFiles(t *testing.T) {
	for _, f := range seaStreamerFiles {
		t.Run(f.name, func(t *testing.T) {
			path := seaStreamerPath(f.name)
			r := scanPath(t, path)
			if len(r.problems) != 0 {
				t.Fatalf("%d problems, first: %v", len(r.problems), r.problems[0])
			}
			var at []int64
			for _, n := range r.notes {
				if !errors.Is(n, NoteReopen) {
					t.Errorf("note %v", n)
				}
				at = append(at, n.Offset)
			}
			if !slices.Equal(at, f.reopens) {
				t.Errorf("reopens noted at %v, want %v: %v", at, f.reopens, r.notes)
			}
			if n := len(readAll(t, path)); int64(n) != r.sum.Messages {
				t.Errorf("ssfile reads %d messages, the scan %d", n, r.sum.Messages)
			}
			strict := scanPath(t, path, Strict())
			if got := hasKind(strict.problems, ErrOrder); got != f.strict || (r.sum.SeqBack > 0) != f.seqBack {
				t.Errorf("strict: order problems %v, want %v; SeqBack %d, want some: %v", got, f.strict, r.sum.SeqBack, f.seqBack)
			}
			if back := strict.problems; f.seqBack && !slices.ContainsFunc(back, func(p *Problem) bool { return errors.Is(p, ErrOrder) && strings.Contains(p.Error(), "does not go up") }) {
				t.Errorf("strict: no sequence number reported going back")
			}
			for _, p := range strict.problems {
				if !errors.Is(p, ErrOrder) {
					t.Errorf("strict: %v", p)
				}
			}
		})
	}
}

// TestAppendToSeaStreamerFiles appends with ssfile to each file SeaStreamer
// wrote: the file still verifies (the beacons after the append carry the
// whole file's state, which the scan recognises after a reopen), and every
// message reads back, the old ones and the new ones, new streams included.
func TestAppendToSeaStreamerFiles(t *testing.T) {
	for _, f := range seaStreamerFiles {
		t.Run(f.name, func(t *testing.T) {
			orig, err := os.ReadFile(seaStreamerPath(f.name))
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(t.TempDir(), f.name)
			if err := os.WriteFile(path, orig, 0o644); err != nil {
				t.Fatal(err)
			}
			before := readAll(t, path)
			for len(before) > 0 && before[len(before)-1].IsEndOfStream() {
				before = before[:len(before)-1] // Append cuts a trailing end of stream
			}
			var added []format.MessageHeader
			for round := range 2 {
				w, err := ssfile.Append(path)
				if err != nil {
					t.Fatal(err)
				}
				streams := w.Streams()
				for i := range 300 {
					st := streams[(i*7)%len(streams)]
					key, shard := st.Key, st.Shard
					if key == format.InternalStreamKey || i%40 == 39 {
						key, shard = fmt.Sprintf("new-%d", round), uint64(i%3)
					}
					seq := uint64(1)
					if s, ok := w.Stream(key, shard); ok {
						seq = s.SeqNo + 1
					}
					h := format.MessageHeader{StreamKey: key, ShardID: shard, SeqNo: seq, Timestamp: 1_800_000_000_000 + uint64(round*1000+i)}
					if err := w.Write(h, fmt.Appendf(nil, "appended %d %d %s", round, i, make([]byte, i%50))); err != nil {
						t.Fatal(err)
					}
					added = append(added, h)
				}
				if err := w.Close(); err != nil {
					t.Fatal(err)
				}
			}
			r := scanPath(t, path)
			if len(r.problems) != 0 {
				t.Fatalf("%d problems after appending, first: %v; notes %v", len(r.problems), r.problems[0], r.notes)
			}
			continued := slices.ContainsFunc(r.notes, func(n *Note) bool { return errors.Is(n, NoteContinued) })
			if continued != (len(f.reopens) > 0) {
				t.Errorf("whole file's state noted again after the reopen: %v, want %v: %v", continued, len(f.reopens) > 0, r.notes)
			}
			got := readAll(t, path)
			if len(got) != len(before)+len(added) || r.sum.Messages != int64(len(got)) {
				t.Fatalf("read %d messages (scan %d), want %d + %d", len(got), r.sum.Messages, len(before), len(added))
			}
			for i, m := range before {
				if g := got[i]; g.MessageHeader != m.MessageHeader || string(g.Payload) != string(m.Payload) {
					t.Fatalf("message %d: %v, want %v", i, g.MessageHeader, m.MessageHeader)
				}
			}
			for i, h := range added {
				if g := got[len(before)+i]; g.MessageHeader != h {
					t.Fatalf("appended message %d: %v, want %v", i, g.MessageHeader, h)
				}
			}
		})
	}
}
