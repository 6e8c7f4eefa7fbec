package sscheck

import (
	"fmt"

	"github.com/seastream/ss/format"
)

// What a valid frame changes and checks: per-stream order, running
// checksums, beacon markers.

// apply counts a frame that read well (its payload may fail its checksum).
func (w *walker) apply(p int64, f *frameResult) {
	raw := &f.raw
	s := w.last
	if s == nil || s.id.shard != raw.ShardID || s.id.key != string(raw.StreamKey) {
		s = w.st.lookup(string(raw.StreamKey), raw.ShardID)
		if s == nil {
			s = w.st.add(streamID{string(raw.StreamKey), raw.ShardID}, !w.lossy)
		}
		w.last = s
	}
	if w.sess != nil && s.sess != w.sess.id {
		w.join(s, s.hasMsg, false, s.top)
	}
	s.gseq, s.gts, s.gsum = max(s.gseq, raw.SeqNo), max(s.gts, raw.Timestamp), s.gsum.Add(raw.Checksum)
	if f.status == frameChecksum {
		w.recentFull = true // no reopen is looked for where damage is
	}
	w.record(s, p, raw.SeqNo, raw.Timestamp, raw.Checksum)
	// The writer fed the checksum it stored into the running checksum. When
	// the payload fails it, either may be damaged: keep the other case too,
	// for the next marker to decide.
	if f.status == frameChecksum {
		computed := format.Checksum(raw.Payload)
		alt := s.sum.Add(computed)
		s.update(raw.SeqNo, raw.Timestamp, raw.Checksum)
		// A second mismatch before the next marker: too many cases to keep.
		s.alt, s.hasAlt = alt, !s.hasAlt
		h := raw.Header()
		w.problem(&Problem{Offset: p, End: f.end, Message: &h, Err: fmt.Errorf("%w: message %s shard %d seq %d: stored 0x%04X, computed 0x%04X",
			ErrChecksum, h.StreamKey, h.ShardID, h.SeqNo, raw.Checksum, computed)})
	} else {
		s.update(raw.SeqNo, raw.Timestamp, raw.Checksum)
		if s.hasAlt {
			s.alt = s.alt.Add(raw.Checksum)
		}
	}
	w.checkOrder(s, p, raw.SeqNo, raw.Timestamp)
	for i := range f.inner {
		ib := &f.inner[i]
		if ib.predicted {
			w.report(ErrBeacon, ib.off, ib.off, "the beacon is damaged (%v); stepped over it by the size the writer's rules give it", ib.err)
			w.advance(uint64(ib.count))
			continue
		}
		if want := f.total - ib.done; int(ib.b.Remaining) != want {
			w.report(ErrRemaining, ib.off+1, ib.off+1, "the beacon at offset %d says %d bytes of the message at offset %d remain, not %d", ib.off, ib.b.Remaining, p, want)
		}
		w.checkMarkers(ib.off, &ib.b)
	}
	if f.status != frameOK || w.stop != nil {
		return
	}
	w.sum.Messages++
	if w.v.Message != nil {
		w.msg = Message{MessageHeader: format.MessageHeader{StreamKey: s.id.key, ShardID: raw.ShardID, SeqNo: raw.SeqNo, Timestamp: raw.Timestamp},
			Payload: raw.Payload, Checksum: raw.Checksum, Offset: p}
		w.stop = w.v.Message(&w.msg)
	}
}

// checkOrder checks the sequence number and timestamp of the message at off
// against the previous message of its stream s (see ErrOrder), and makes it
// the previous one. A message whose payload fails its checksum counts too:
// its frame, header included, read well.
func (w *walker) checkOrder(s *stream, off int64, seq, ts uint64) {
	if s.id.key == format.InternalStreamKey {
		return // the end-of-stream message, written with seq 0
	}
	o := &s.order
	why := func(pseq, pts uint64, gap bool) string {
		switch {
		case w.cfg.strict && seq <= pseq:
			return "does not go up"
		case w.cfg.strict && !gap && seq != pseq+1:
			return "is not the next (strict)"
		case w.cfg.strict && ts < pts:
			return "has a timestamp before the previous one's (strict)"
		}
		return ""
	}
	if !o.seen {
		*o = order{seen: true, seq: seq, ts: ts, off: off}
		return
	}
	if seq <= o.seq {
		w.sum.SeqBack++
	}
	reason := why(o.seq, o.ts, o.gap)
	if reason == "" || o.hasAlt && why(o.altSeq, o.altTs, o.altGap) == "" {
		*o = order{seen: true, seq: seq, ts: ts, off: off}
		return
	}
	prev := fmt.Sprintf("the message at offset %d", o.off)
	if o.off < 0 {
		prev = "the stream's marker in the beacon before it"
	}
	w.report(ErrOrder, off, off, "message %s shard %d seq %d (timestamp %d) %s: it follows seq %d (timestamp %d) of %s; one of the two headers is damaged",
		s.id.key, s.id.shard, seq, ts, reason, o.seq, o.ts, prev)
	// This message's header may be the damaged one: the next message is
	// also checked against what it should have been.
	next := order{seen: true, seq: seq, ts: ts, off: off, hasAlt: true, altSeq: o.seq, altTs: o.ts, altGap: o.gap}
	if w.cfg.strict && !o.gap {
		next.altSeq, next.altGap = o.seq+1, false
	}
	*o = next
}

// checkMarkers checks the markers of the readable beacon at off against the
// streams' states.
func (w *walker) checkMarkers(off int64, b *format.Beacon) {
	defer w.newInterval()
	defer w.logBeacon(off, b)
	if w.rotation && !w.lossy && w.explain(off, b) {
		return // an empty beacon, which the next one tells about
	}
	var want []streamID
	if w.rotation {
		list, written := w.rotationSet()
		want = selectFrom(w.ids[:0], list, written, w.per)
		if len(want) != len(b.Markers) {
			w.report(ErrMarker, off+5, off+5, "the beacon at offset %d has %d markers; the writer puts %d (round-robin over %d streams, %d a beacon)",
				off, len(b.Markers), len(want), len(list), w.per)
			w.rotation, want = false, nil
		}
	}
	w.advance(uint64(len(b.Markers)))
	moff := off + 6
	for i := range b.Markers {
		m := &b.Markers[i]
		at := moff
		moff += int64(m.Size() + 2)
		if want != nil && (want[i].key != m.StreamKey || want[i].shard != m.ShardID) {
			w.report(ErrMarker, at, at, "marker %d of the beacon at offset %d is for %s shard %d; the writer's round-robin puts %s shard %d there",
				i+1, off, m.StreamKey, m.ShardID, want[i].key, want[i].shard)
			continue
		}
		s := w.st.lookup(m.StreamKey, m.ShardID)
		switch {
		case s == nil && !w.lossy:
			w.report(ErrMarker, at, at, "the beacon at offset %d has a marker for %s shard %d, which has no message before it", off, m.StreamKey, m.ShardID)
			continue
		case s == nil:
			s = w.st.add(streamID{m.StreamKey, m.ShardID}, true)
			s.adopt(m)
		case !s.certain:
			s.adopt(m)
		case !s.agrees(m):
			w.report(ErrMarker, at, at, "the marker for %s shard %d in the beacon at offset %d says seq %d, timestamp %d, running checksum 0x%04X; the messages before it give seq %d, timestamp %d, running checksum 0x%04X",
				m.StreamKey, m.ShardID, off, m.SeqNo, m.Timestamp, uint16(m.RunningChecksum), s.seq, s.ts, uint16(s.sum))
			s.certain = false // take the next marker's word
		default:
			if s.sum != m.RunningChecksum {
				s.sum = s.alt // the stored checksum was the damaged part, or the reopened writer's other seed
			}
			if s.tsLoose {
				s.ts, s.tsLoose = m.Timestamp, false
			}
		}
		s.hasAlt = false
	}
}

// advance counts n markers written, by the writer of the whole file and by
// the one that reopened it.
func (w *walker) advance(n uint64) {
	w.written += n
	if w.sess != nil {
		w.sess.written += n
	}
}

// newInterval starts the messages kept for the search for a reopen afresh,
// after a beacon.
func (w *walker) newInterval() {
	w.recent, w.recentFull = w.recent[:0], false
}
