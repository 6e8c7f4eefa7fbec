package sscheck

import (
	"github.com/seastream/ss/beacon"
	"github.com/seastream/ss/format"
)

// State is the state a file's writer goes on from, or ends with: each
// stream written before, with its highest sequence number and timestamp and
// its running checksum, and how many markers the beacons before carried. A
// segment of a stream directory goes on from the state the segments before
// it ended with (its seed), as one writer of them all would.
type State = beacon.State

// From makes the scan check a file that goes on from the state st, as a
// segment of a stream directory goes on from its seed (ssfile's
// WithState): its markers are those of a writer that had already written
// st's streams, so each stream starts with st's sequence number, timestamp
// and running checksum instead of none and 0xFFFF, the round-robin goes over
// st's streams too and starts at st.MarkersWritten, and with Strict a
// stream's first message must follow st's sequence number. A segment then
// checks as strictly as a whole file. Summary.Streams counts st's streams.
func From(st State) Option {
	return func(c *config) { c.seed = &st }
}

// seedStreams gives the walker the state it goes on from.
func (w *walker) seedStreams(st *State) {
	for _, b := range st.Streams {
		s := w.st.add(streamID{b.Key, b.Shard}, true)
		s.seq, s.ts, s.sum = b.SeqNo, b.Timestamp, b.Checksum
		s.gseq, s.gts, s.gsum = b.SeqNo, b.Timestamp, b.Checksum
		if b.Key != format.InternalStreamKey {
			s.order = order{seen: true, seq: b.SeqNo, ts: b.Timestamp, off: -1}
		}
	}
	w.written = st.MarkersWritten
}

// endState returns the state a file going on from the scanned one starts
// from: every stream's state as the writer of the whole file (and of st
// before it) records it, and the markers written. It is nil when bytes were
// lost, as the state is not known then.
func (w *walker) endState() *State {
	if !w.globalOK || w.lossy {
		return nil
	}
	st := &State{Streams: make([]beacon.Stream, len(w.st.sorted)), MarkersWritten: w.written}
	for i, s := range w.st.sorted {
		st.Streams[i] = beacon.Stream{Key: s.id.key, Shard: s.id.shard, StreamState: beacon.StreamState{SeqNo: s.gseq, Timestamp: s.gts, Checksum: s.gsum}}
	}
	return st
}
