package sscheck

import (
	"encoding/binary"
	"fmt"

	"github.com/seastream/ss/beacon"
	"github.com/seastream/ss/format"
)

// The search for where valid data goes on after damage: the next beacon
// boundary or message start from which a chain of valid frames follows.

// boundary handles the beacon at p, between two messages, and returns where
// the next message starts.
func (w *walker) boundary(p int64) int64 {
	b, n, err := w.beaconAt(p)
	if err != nil {
		// Unreadable, or reading past the end of the file: a torn tail,
		// or damage to its marker count.
		if w.rotation {
			list, written := w.rotationSet()
			ids := selectFrom(w.ids[:0], list, written, w.per)
			q := p + int64(beaconSize(ids))
			if w.plausibleNext(q, w.written+uint64(len(ids))) {
				w.report(ErrBeacon, p, p, "the beacon is unreadable (%v); stepped over it by the size the writer's rules give it (%d bytes)", err, q-p)
				w.advance(uint64(len(ids)))
				w.newInterval()
				return q
			}
		}
		if err == errShort {
			w.report(ErrTornTail, p, w.size, "the file ends inside the beacon at offset %d", p)
			return w.size
		}
		q, anchor := w.resync(p)
		w.report(ErrBeacon, p, q, "the beacon is unreadable (%v); %s", err, w.resyncNote(q, anchor))
		return q
	}
	if w.rotation {
		list, written := w.rotationSet()
		ids := selectFrom(w.ids[:0], list, written, w.per)
		if q := p + int64(beaconSize(ids)); q != p+n && !w.plausibleNext(p+n, w.written+uint64(len(b.Markers))) && w.plausibleNext(q, w.written+uint64(len(ids))) {
			w.report(ErrBeacon, p, p, "the beacon reads as %d bytes, but what follows reads well only after the %d the writer's rules give it", n, q-p)
			w.advance(uint64(len(ids)))
			w.newInterval()
			return q
		}
	}
	if b.Remaining != 0 {
		w.report(ErrRemaining, p+1, p+1, "the beacon at offset %d falls between two messages but says %d bytes of a message remain", p, b.Remaining)
	}
	w.checkMarkers(p, &b)
	return p + n
}

// plausibleNext reports whether what starts at q reads well: the end of the
// file, a readable beacon, or a message whose frame is intact.
func (w *walker) plausibleNext(q int64, written uint64) bool {
	switch {
	case q == w.size:
		return true
	case q > w.size:
		return false
	case w.isBoundary(q):
		_, _, err := w.beaconAt(q)
		return err == nil
	}
	f := w.readFrame(q, written)
	return f.status == frameOK || f.status == frameChecksum
}

func (w *walker) resyncNote(q, anchor int64) string {
	if anchor < 0 || q >= w.size {
		return "no readable beacon after it leads to a message: the rest of the file is lost"
	}
	return fmt.Sprintf("resumed at offset %d, the first message after the beacon at offset %d", q, anchor)
}

// resync finds where reading can resume after damage at start: the first
// message after the first readable beacon past start, whose count of
// remaining bytes says where the message it splices ends. It returns that
// offset (the file size when there is none) and the beacon's offset (-1
// when none). The streams' states are taken from the markers of the beacons
// it passes, and become uncertain for the others.
func (w *walker) resync(start int64) (int64, int64) {
	w.lost()
	visited := w.visited[:0]
	visit := func(off int64) { visited = append(visited, off) }
	for b := (start/w.iv + 1) * w.iv; b < w.size; {
		visited = visited[:0]
		land, dmg, at, _ := w.dm.Landing(w.data, b, visit)
		switch dmg {
		case beacon.Short:
			w.visited = visited
			return w.size, -1
		case beacon.BadRemaining:
			b = at // a broken chain: start again from this beacon
			continue
		case beacon.Intact:
		default:
			b = at + w.iv // unreadable: the next beacon position after it
			continue
		}
		for _, off := range visited {
			bc, _, _ := w.beaconAt(off) // read by Landing
			for i := range bc.Markers {
				m := &bc.Markers[i]
				s := w.st.lookup(m.StreamKey, m.ShardID)
				if s == nil {
					s = w.st.add(streamID{m.StreamKey, m.ShardID}, true)
				}
				s.adopt(m)
			}
		}
		w.visited = visited
		return land, b
	}
	w.visited = visited
	return w.size, -1
}

// lost updates what the scan knows after bytes were lost: which streams
// there are, their states, and the writer's round-robin are no longer
// certain (the lost bytes may have held messages of any stream, or of a new
// one).
func (w *walker) lost() {
	w.decide()
	w.lossy, w.rotation = true, false
	w.st.uncertain()
	w.pendingReport()
	w.sess, w.globalOK, w.recent, w.log = nil, false, w.recent[:0], w.log[:0]
}

// recovered reports the damaged frame at p, whose bytes up to q are lost,
// after recover found that the messages after it start at q.
func (w *walker) recovered(p, q int64, why error) {
	w.lost()
	if q == w.size {
		w.report(ErrFrame, p, q, "%v; nothing follows it in the file", why)
		return
	}
	w.report(ErrFrame, p, q, "%v; resumed at offset %d, where the messages after it start (frames that read well lead from there to the next beacon or the end of the file)", why, q)
}

// recover looks for where the messages after the damaged frame at p start,
// so that only that frame is lost: the first offset q after p, up to the
// next beacon position b or the end of the file, from which frames that
// read well lead, one after another, to b (a readable beacon whose count of
// remaining bytes agrees with the frame it splices, or is 0) or to the end
// of the file. It fails when the damaged frame really crosses b, or when
// more is damaged; the scan then resynchronises at a beacon.
//
// Every offset is tried, but most fail on a few bytes (a key length, key
// characters, a timestamp in range, a terminator or the beacon's count
// where the size field puts them), and the first frame of a chain must
// pass its payload checksum, so a chain starting inside the damaged
// frame's payload is all but impossible. torn says the file seemed to end
// inside the frame: then reaching the end of the file with no frame is no
// evidence, and a chain needs a frame.
//
// It is beacon.ChainSearch, the search ssfile's reader and Append use too,
// with the scan's rules. The work stays linear: each frame start reached is
// followed once per search; and the bytes read by every search of the scan
// are counted against an allowance of a few times the file's size, past
// which the scan resynchronises at beacons as it did before recover
// existed.
func (w *walker) recover(p int64, torn bool) (int64, bool) {
	b := (p/w.iv + 1) * w.iv
	limit := min(b, w.size)
	bRem, bOK := int64(-1), false
	if b < w.size {
		if bc, _, err := w.beaconAt(b); err == nil {
			bRem, bOK = int64(bc.Remaining), true
		}
	}
	c := &w.chains
	c.Next = func(q int64) (int64, int64, bool) { return q, q, true } // every offset: Step's first checks decide
	c.Step = func(q int64, first bool) (int64, beacon.Verdict, int64) {
		ok := false
		switch {
		case q == w.size:
			ok = !first || !torn
		case q == b:
			ok = bOK && bRem == 0
		case first && !w.mayStart(q, b, bRem, bOK):
		default:
			f := w.frame(q, w.written, nil)
			work := max(f.end-q, int64(1+f.keyLen))
			if f.status != frameOK && (first || f.status != frameChecksum) || f.mismatch >= 0 {
				return q, beacon.Failed, work
			}
			for _, ib := range f.inner {
				if ib.predicted {
					return q, beacon.Failed, work
				}
			}
			if f.end > b {
				return q, beacon.Found, work // it crosses b, which agrees with its size
			}
			return f.end, beacon.Continue, work
		}
		if ok {
			return q, beacon.Found, 0
		}
		return q, beacon.Failed, 0
	}
	q, found, work := c.Find(p+1, limit+1, limit+1, w.recoverBudget-w.recoverWork)
	w.recoverWork += work
	return q, found
}

// mayStart checks the bytes that make a frame starting at q, before b,
// impossible: a key length of 0 (no writer writes an empty key) or over
// the maximum, key characters, a timestamp out of range, and, when the
// header is before b, the terminator where the size field puts it or the
// count of remaining bytes of the beacon at b.
func (w *walker) mayStart(q, b, bRem int64, bOK bool) bool {
	k := int(w.data[q])
	if k == 0 || k > format.MaxStreamKeyLen {
		return false
	}
	headLen := int64(1 + k + 24 + 4)
	if q+headLen > min(b, w.size) {
		return true // the header is not all here: frame reads it
	}
	var raw format.RawMessage
	n, err := format.DecodeMessageHeader(w.data[q:q+headLen], &raw)
	if err != nil {
		return false
	}
	end := q + int64(n) + 4 + int64(binary.BigEndian.Uint32(w.data[q+int64(n):])) + 3
	if end <= b {
		return end <= w.size && w.data[end-1] == format.Terminator
	}
	return bOK && bRem == end-b
}
