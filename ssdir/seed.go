package ssdir

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/seastream/ss/beacon"
	"github.com/seastream/ss/format"
	"github.com/seastream/ss/ssfile"
)

// State is what a segment goes on from: every stream written to the
// segments before it, with its highest sequence number and timestamp and
// its running checksum, and how many markers their beacons carried.
type State = beacon.State

// reached reports whether a stream with this state has already passed t's
// message: then the first message matching t is before the state was taken.
// The state holds maxima, so this is exact whatever the order of the
// messages.
func reached(s State, t ssfile.Target) bool {
	st, ok := s.Stream(t.StreamKey, t.ShardID)
	if !ok {
		return false
	}
	if t.ByTime {
		return int64(st.Timestamp) > int64(t.Timestamp)
	}
	return st.SeqNo >= t.SeqNo
}

// newest returns the highest timestamp of any stream, 0 for none.
func newest(s State) uint64 {
	var ts uint64
	for _, st := range s.Streams {
		ts = max(ts, st.Timestamp)
	}
	return ts
}

type seedJSON struct {
	Version        int          `json:"version"`
	MarkersWritten uint64       `json:"markers_written"`
	Streams        []streamJSON `json:"streams"`
}

type streamJSON struct {
	Key      string `json:"key"`
	Shard    uint64 `json:"shard"`
	Seq      uint64 `json:"seq"`
	Time     uint64 `json:"timestamp"`
	Checksum uint16 `json:"running_checksum"`
}

const seedVersion = 1

// readSeed reads the seed of segment n.
func readSeed(dir string, n uint64) (State, error) {
	b, err := os.ReadFile(seedPath(dir, n))
	if err != nil {
		return State{}, err
	}
	var j seedJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return State{}, fmt.Errorf("ssdir: %s: %w", seedPath(dir, n), err)
	}
	if j.Version != seedVersion {
		return State{}, fmt.Errorf("ssdir: %s: seed version %d, want %d", seedPath(dir, n), j.Version, seedVersion)
	}
	st := State{MarkersWritten: j.MarkersWritten, Streams: make([]beacon.Stream, len(j.Streams))}
	for i, s := range j.Streams {
		st.Streams[i] = beacon.Stream{Key: s.Key, Shard: s.Shard, StreamState: beacon.StreamState{
			SeqNo: s.Seq, Timestamp: s.Time, Checksum: format.RunningChecksum(s.Checksum)}}
	}
	return st, nil
}

// writeSeed writes the seed of segment n: into a temporary file, synced
// if sync, then renamed into place, so that a seed file is whole or absent
// (after a machine crash, an unsynced one may be empty: it is rebuilt).
func writeSeed(dir string, n uint64, st State, sync bool) error {
	j := seedJSON{Version: seedVersion, MarkersWritten: st.MarkersWritten, Streams: make([]streamJSON, len(st.Streams))}
	for i, s := range st.Streams {
		j.Streams[i] = streamJSON{Key: s.Key, Shard: s.Shard, Seq: s.SeqNo, Time: s.Timestamp, Checksum: uint16(s.Checksum)}
	}
	b, err := json.Marshal(j)
	if err != nil {
		return err
	}
	path := seedPath(dir, n)
	tmp := filepath.Join(dir, "."+filepath.Base(path)+tmpExt)
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("ssdir: writing seed: %w", err)
	}
	_, err = f.Write(b)
	if err == nil && sync {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("ssdir: writing seed %s: %w", path, err)
	}
	return nil
}

// seedOf returns the state segment n goes on from: its seed file, or when
// that is missing or unreadable, the state rebuilt from the segment before
// (its own seed and its messages), recursively. With no segment before it
// (the first, or retention deleted the one before along with its seed), the
// state is empty: the streams start afresh in that segment.
func seedOf(dir string, n uint64) (State, bool, error) {
	st, err := readSeed(dir, n)
	if err == nil {
		return st, false, nil
	}
	prev := n - 1
	if prev == 0 {
		return State{}, true, nil
	}
	if _, serr := os.Stat(segmentPath(dir, prev)); errors.Is(serr, fs.ErrNotExist) {
		return State{}, true, nil
	}
	before, _, err := seedOf(dir, prev)
	if err != nil {
		return State{}, false, err
	}
	st, err = stateAfter(segmentPath(dir, prev), before)
	return st, true, err
}

// stateAfter is the state after the segment at path, which went on from
// before: before, fed with its messages, and its beacons' markers counted.
func stateAfter(path string, before State) (State, error) {
	r, err := ssfile.Open(path)
	if err != nil {
		return State{}, err
	}
	defer r.Close()
	t := new(beacon.Tracker)
	for _, s := range before.Streams {
		t.Set(s)
	}
	markers := before.MarkersWritten
	for {
		m, err := r.Next(context.Background())
		if errors.Is(err, io.EOF) || errors.Is(err, ssfile.ErrTornTail) {
			break
		}
		if err != nil {
			return State{}, fmt.Errorf("ssdir: rebuilding the state after %s: %w", path, err)
		}
		if m.IsEndOfStream() {
			continue
		}
		t.Update(m.StreamKey, m.ShardID, m.SeqNo, m.Timestamp, m.Checksum)
	}
	for i := 1; i <= r.Count(); i++ {
		b, err := r.Beacon(i)
		if err != nil {
			break // a beacon cut by the end of the data
		}
		markers += uint64(len(b.Markers))
	}
	return State{Streams: t.Streams(), MarkersWritten: markers}, nil
}

// ReadSeed reads the seed file of segment n of the stream directory dir:
// the state the segment goes on from, as its writer recorded it before
// creating it (no rebuilding: tools check it against the segment before).
// The error matches fs.ErrNotExist when there is none.
func ReadSeed(dir string, n uint64) (State, error) { return readSeed(dir, n) }

// SeedPath returns the path of the seed file of segment n of dir.
func SeedPath(dir string, n uint64) string { return seedPath(dir, n) }

// SegmentOf returns the directory and number of the segment file at path,
// and false when its name is not a segment's (NNNNNNNNNNNNNNNNNNNN.ss).
func SegmentOf(path string) (dir string, n uint64, ok bool) {
	n, ext, ok := parseName(filepath.Base(path))
	if !ok || ext != segmentExt {
		return "", 0, false
	}
	return filepath.Dir(path), n, true
}

// WriteSeed writes the seed file of segment n of dir (whole or not at all:
// a temporary file, synced, renamed into place), as a tool that rewrote the
// segment before it must: ss-repair.
func WriteSeed(dir string, n uint64, st State) error { return writeSeed(dir, n, st, true) }
