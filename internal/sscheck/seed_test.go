package sscheck

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/seastream/ss/beacon"
	"github.com/seastream/ss/format"
)

// segments lays out two files as a stream directory's writer does: the
// second goes on from the state the first ended with. The second has
// messages of only some of the streams, so its beacons carry markers for
// streams it has no message of.
func segments(t *testing.T) (first, second []byte, seed, end State) {
	t.Helper()
	const iv = 1024
	lay := func(m *beacon.Muxer, keys []string, from, n int) []byte {
		data, err := m.AppendHeader(nil, format.Header{FileName: "seg.ss", CreatedAt: 1_700_000_000_000, BeaconInterval: iv})
		if err != nil {
			t.Fatal(err)
		}
		for i := from; i < from+n; i++ {
			key := keys[i%len(keys)]
			h := format.MessageHeader{StreamKey: key, SeqNo: uint64(i/len(keys) + 1), Timestamp: 1_700_000_000_000 + uint64(i)}
			if data, _, err = m.AppendMessage(data, h, fmt.Appendf(nil, "payload %d", i)); err != nil {
				t.Fatal(err)
			}
		}
		return data
	}
	keys := []string{"a", "b", "c", "d"}
	m1 := beacon.NewMuxer(iv, 0, nil)
	first = lay(m1, keys, 0, 800)
	seed = State{Streams: m1.Tracker().Streams(), MarkersWritten: m1.Tracker().MarkersWritten()}
	m2 := beacon.NewMuxer(iv, 0, m1.Tracker().Clone())
	// Only a and c go on, from their sequence numbers.
	second = lay(m2, nil, 0, 0)
	var err error
	for i := range 400 {
		key := []string{"a", "c"}[i%2]
		st, _ := m2.Tracker().Lookup(key, 0)
		h := format.MessageHeader{StreamKey: key, SeqNo: st.SeqNo + 1, Timestamp: st.Timestamp + 1}
		if second, _, err = m2.AppendMessage(second, h, fmt.Appendf(nil, "more %d", i)); err != nil {
			t.Fatal(err)
		}
	}
	end = State{Streams: m2.Tracker().Streams(), MarkersWritten: m2.Tracker().MarkersWritten()}
	return first, second, seed, end
}

// TestFrom: a file that goes on from a state checks clean, strictly too,
// only when told that state, and its end state is the writer's; a state
// that is not the one it went on from is reported.
func TestFrom(t *testing.T) {
	first, second, seed, end := segments(t)
	if r := scanWithOpts(first, Strict()); len(r.problems) != 0 || r.err != nil || !slices.Equal(r.sum.End.Streams, seed.Streams) || r.sum.End.MarkersWritten != seed.MarkersWritten {
		t.Fatalf("first file: %v %v, end %+v, want %+v", r.problems, r.err, r.sum.End, seed)
	}
	r := scanWithOpts(second, Strict(), From(seed))
	if len(r.problems) != 0 || r.err != nil || r.sum.Messages != 400 {
		t.Fatalf("second file from its seed: %d messages, problems %v, %v", r.sum.Messages, r.problems, r.err)
	}
	if !slices.Equal(r.sum.End.Streams, end.Streams) || r.sum.End.MarkersWritten != end.MarkersWritten {
		t.Errorf("end state %+v, want %+v", r.sum.End, end)
	}
	if r.sum.Streams != 4 {
		t.Errorf("%d streams, want 4 (two of them from the seed)", r.sum.Streams)
	}

	// Alone, the markers of the streams written before and the running
	// checksums that go on are wrong.
	if r := scanWithOpts(second); !hasKind(r.problems, ErrMarker) {
		t.Errorf("second file without its seed: problems %v, want ErrMarker", r.problems)
	}
	wrong := func(f func(*State)) State {
		st := State{Streams: slices.Clone(seed.Streams), MarkersWritten: seed.MarkersWritten}
		f(&st)
		return st
	}
	for _, tc := range []struct {
		name   string
		seed   State
		strict bool
		want   error
	}{
		{"checksum", wrong(func(s *State) { s.Streams[0].Checksum ^= 1 }), false, ErrMarker},
		{"markers written", wrong(func(s *State) { s.MarkersWritten++ }), false, ErrMarker},
		{"stream missing", wrong(func(s *State) { s.Streams = s.Streams[1:] }), false, ErrMarker},
		{"seq behind, strict", wrong(func(s *State) { s.Streams[0].SeqNo--; s.Streams[1].SeqNo-- }), true, ErrOrder},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := []Option{From(tc.seed)}
			if tc.strict {
				opts = append(opts, Strict())
			}
			if r := scanWithOpts(second, opts...); !hasKind(r.problems, tc.want) {
				t.Errorf("problems %v, want %v", r.problems, tc.want)
			}
		})
	}
}

// TestRepairFrom: a segment repaired with its seed is rewritten byte for
// byte when sound, and its beacons go on from the seed.
func TestRepairFrom(t *testing.T) {
	_, second, seed, _ := segments(t)
	in := filepath.Join(t.TempDir(), "seg.ss")
	if err := os.WriteFile(in, second, 0o644); err != nil {
		t.Fatal(err)
	}
	out := in + ".repaired"
	sum, err := Repair(in, RepairOptions{Out: out, From: &seed}, nil)
	if err != nil || sum.Problems != 0 {
		t.Fatalf("repair: %v, %d problems", err, sum.Problems)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, second) {
		t.Errorf("a sound segment was not rewritten byte for byte (%d bytes, want %d)", len(got), len(second))
	}
}

// TestRepairOutFrom: a segment repaired to go on from another state (the
// end of a repaired segment before it) keeps its messages, and checks clean
// from that state only.
func TestRepairOutFrom(t *testing.T) {
	_, second, seed, _ := segments(t)
	in := filepath.Join(t.TempDir(), "seg.ss")
	if err := os.WriteFile(in, second, 0o644); err != nil {
		t.Fatal(err)
	}
	other := State{Streams: slices.Clone(seed.Streams), MarkersWritten: seed.MarkersWritten + 1}
	other.Streams[0].Checksum ^= 0x5555
	out := in + ".repaired"
	if sum, err := Repair(in, RepairOptions{Out: out, From: &seed, OutFrom: &other}, nil); err != nil || sum.Problems != 0 {
		t.Fatalf("repair: %v, %d problems", err, sum.Problems)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if r := scanWithOpts(got, Strict(), From(other)); len(r.problems) != 0 || r.sum.Messages != 400 {
		t.Errorf("from the new state: %d messages, problems %v", r.sum.Messages, r.problems)
	}
	if r := scanWithOpts(got, From(seed)); !hasKind(r.problems, ErrMarker) {
		t.Errorf("from the input's seed: problems %v, want ErrMarker", r.problems)
	}
}
