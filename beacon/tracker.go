package beacon

import (
	"cmp"
	"slices"

	"github.com/seastream/ss/format"
)

// StreamState is what a marker records of one (stream key, shard): the highest
// sequence number and timestamp written, and the running checksum.
type StreamState struct {
	SeqNo, Timestamp uint64
	Checksum         format.RunningChecksum
}

// Stream is one (stream key, shard) and its state.
type Stream struct {
	Key   string
	Shard uint64
	StreamState
}

// State is what a file goes on from, or ends with, when files follow one
// another as one writer's (the segments of a stream directory): every
// stream written, with its state, and how many markers the beacons carried
// (for the rotation).
type State struct {
	Streams        []Stream
	MarkersWritten uint64
}

// Stream returns the state of one stream.
func (s State) Stream(key string, shard uint64) (StreamState, bool) {
	for _, st := range s.Streams {
		if st.Key == key && st.Shard == shard {
			return st.StreamState, true
		}
	}
	return StreamState{}, false
}

// Tracker keeps the state of every stream written to a file and picks the
// markers of each beacon. The zero value is ready to use. It is not safe for
// concurrent use.
type Tracker struct {
	byKey   map[string]map[uint64]*Stream
	sorted  []*Stream // in (key, shard) order
	written uint64    // markers written so far, for the rotation
	last    *Stream   // the stream of the last update: runs of one stream skip the maps
}

// Update records one message. SeaStreamer keeps the maximum sequence number
// and timestamp, so a marker never goes backwards.
func (t *Tracker) Update(key string, shard, seq, ts uint64, checksum uint16) {
	if l := t.last; l != nil && l.Shard == shard && l.Key == key {
		l.update(seq, ts, checksum)
		return
	}
	t.last = t.state(key, shard)
	t.last.update(seq, ts, checksum)
}

// UpdateBytes is Update for a key held as bytes; it allocates only for a
// stream it has not seen before.
func (t *Tracker) UpdateBytes(key []byte, shard, seq, ts uint64, checksum uint16) {
	if shards, ok := t.byKey[string(key)]; ok {
		if s, ok := shards[shard]; ok {
			s.update(seq, ts, checksum)
			return
		}
	}
	t.Update(string(key), shard, seq, ts, checksum)
}

func (s *Stream) update(seq, ts uint64, checksum uint16) {
	s.SeqNo = max(s.SeqNo, seq)
	s.Timestamp = max(s.Timestamp, ts)
	s.Checksum = s.Checksum.Add(checksum)
}

func (t *Tracker) state(key string, shard uint64) *Stream {
	shards, ok := t.byKey[key]
	if !ok {
		if t.byKey == nil {
			t.byKey = make(map[string]map[uint64]*Stream)
		}
		shards = make(map[uint64]*Stream)
		t.byKey[key] = shards
	}
	s, ok := shards[shard]
	if !ok {
		s = &Stream{Key: key, Shard: shard, StreamState: StreamState{Checksum: format.NewRunningChecksum()}}
		shards[shard] = s
		i, _ := slices.BinarySearchFunc(t.sorted, s, compareStreams)
		t.sorted = slices.Insert(t.sorted, i, s)
	}
	return s
}

func compareStreams(a, b *Stream) int {
	return cmp.Or(cmp.Compare(a.Key, b.Key), cmp.Compare(a.Shard, b.Shard))
}

// Set sets the state of one stream, adding it if new: a tracker seeded
// with the state of files written before.
func (t *Tracker) Set(s Stream) {
	t.state(s.Key, s.Shard).StreamState = s.StreamState
	t.last = nil
}

// Lookup returns the state of one stream.
func (t *Tracker) Lookup(key string, shard uint64) (StreamState, bool) {
	s, ok := t.byKey[key][shard]
	if !ok {
		return StreamState{}, false
	}
	return s.StreamState, true
}

// Streams returns every stream in (key, shard) order.
func (t *Tracker) Streams() []Stream {
	out := make([]Stream, len(t.sorted))
	for i, s := range t.sorted {
		out[i] = *s
	}
	return out
}

// Len returns the number of streams.
func (t *Tracker) Len() int { return len(t.sorted) }

// MarkersWritten returns how many markers the beacons so far carried.
func (t *Tracker) MarkersWritten() uint64 { return t.written }

// SetMarkersWritten restores the rotation after reopening a file.
func (t *Tracker) SetMarkersWritten(n uint64) { t.written = n }

// NextMarkers appends the markers of the next beacon to dst, n of them at
// most, and advances the rotation.
func (t *Tracker) NextMarkers(dst []format.Marker, n int) []format.Marker {
	n = min(n, len(t.sorted))
	if n <= 0 {
		return dst
	}
	start := int(t.written % uint64(len(t.sorted)))
	for i := 0; i < n; i++ {
		s := t.sorted[(start+i)%len(t.sorted)]
		dst = append(dst, format.Marker{
			MessageHeader:   format.MessageHeader{StreamKey: s.Key, ShardID: s.Shard, SeqNo: s.SeqNo, Timestamp: s.Timestamp},
			RunningChecksum: s.Checksum,
		})
	}
	t.written += uint64(n)
	return dst
}

// Clone returns an independent copy of t.
func (t *Tracker) Clone() *Tracker {
	c := &Tracker{written: t.written}
	for _, s := range t.sorted {
		c.state(s.Key, s.Shard).StreamState = s.StreamState
	}
	return c
}
