package sscheck

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"sync"

	"github.com/seastream/ss/format"
)

// SeaStreamer closes a file and reopens it to append (MessageSink::append,
// which its producer's writer calls on connecting to an existing file)
// without carrying over the state its beacons' markers record: the reopened
// sink cuts a trailing end-of-stream message, goes on after the last
// message, writes an empty beacon when that is a beacon position, and
// starts with no stream state and a marker count of 0. So from the first
// message it writes, its markers rotate over only the streams written since,
// and each stream's running checksum starts again from a seed:
//
//   - MessageSink alone: 0xFFFF, as a new stream's, with the maximum sequence
//     number and timestamp of the messages since;
//   - the producer: for the first stream it writes, the checksum of that
//     stream's last message before (the one with the highest sequence
//     number, as its writer scans the file for it), with that message's
//     sequence number and timestamp; for a stream that had no message
//     before, 0xFFFF with a timestamp taken from the clock when it scanned
//     (so only known to be no earlier than the stream's messages); for the
//     other streams, 0xFFFF as MessageSink does.
//
// A scan meets this as markers that disagree with the whole file's state.
// At the first beacon after the reopen, it looks for the message from which
// a reopened writer gives exactly the beacon's markers: which streams (the
// first ones of those written since, in (key, shard) order) and each one's
// sequence number, timestamp and running checksum. That one message must
// explain every marker of the beacon, which damage does only by chance (a
// 16-bit running checksum per marker), so bit rot in files written by one
// writer is still reported. From there the scan checks the markers against
// the reopened writer's state, and reports the reopen as a Note.
//
// ssfile's Append, in turn, goes on with the whole file's state (see
// ssfile/recover.go): after a file SeaStreamer reopened, its first beacon
// carries the markers of a writer that wrote the whole file, which the scan
// also recognises (NoteContinued), and checks from there.

// seen is a message of the current beacon interval, for the search for a
// reopen.
type seen struct {
	s       *stream
	seq, ts uint64
	sum     uint16
	off     int64
	top     top  // the highest-numbered message of s before this one
	existed bool // s had a message before this one
}

// top is the message a SeaStreamer producer resumes a stream from: the first
// with the highest sequence number above 0.
type top struct {
	ok      bool
	seq, ts uint64
	sum     uint16
}

// maxRecent bounds the messages of one beacon interval kept for the search;
// in an interval with more, a reopen is not looked for.
const maxRecent = 1 << 20

// How a reopened writer seeds its streams.
const (
	modeSink     = 1 << iota // MessageSink::append
	modeProducer             // SeaStreamer's producer
)

// session is the state of a writer that reopened the file.
type session struct {
	id      int
	start   int64 // offset of its first message
	mode    int   // the modes its markers so far agree with
	first   *stream
	sorted  []*stream // the streams written since start, in (key, shard) order
	written uint64    // markers written since start
	where   string    // for its note
	confirm int64     // the beacon that showed it
}

// crcInverse returns the inverse of the map v -> v.Add(0): a running
// checksum fed one message checksum c is G(r ^ c) for a linear bijection G
// (16 bits through a 16-bit CRC register), so the state before is
// inverse[after] ^ c. It lets the search go back from a marker one message
// at a time.
var crcInverse = sync.OnceValue(func() *[1 << 16]uint16 {
	var inv [1 << 16]uint16
	for v := range 1 << 16 {
		inv[format.RunningChecksum(v).Add(0)] = uint16(v)
	}
	return &inv
})

// record keeps the message of stream s at off for the search, and updates
// what the search needs of s's history.
func (w *walker) record(s *stream, off int64, seq, ts uint64, sum uint16) {
	if w.rotation && !w.lossy && len(w.recent) < maxRecent {
		w.recent = append(w.recent, seen{s: s, seq: seq, ts: ts, sum: sum, off: off, top: s.top, existed: s.hasMsg})
		w.logMessage(w.recent[len(w.recent)-1])
	} else {
		w.recentFull = true
	}
	if w.firstOff < 0 {
		w.firstOff = off
	}
	if !s.hasMsg {
		s.firstAt = off
	}
	if seq > s.top.seq {
		s.top = top{true, seq, ts, sum}
	}
	s.hasMsg = true
}

// rotationSet returns the streams the writer's round-robin goes over, and
// its count of markers so far.
func (w *walker) rotationSet() ([]*stream, uint64) {
	if w.sess != nil {
		return w.sess.sorted, w.sess.written
	}
	return w.st.sorted, w.written
}

// agrees reports whether the markers of b are those of the writer whose
// streams are list, with written markers so far: the round-robin, and each
// stream's state (the whole file's when global).
func (w *walker) agrees(b *format.Beacon, list []*stream, written uint64, global bool) bool {
	return w.agreesBut(b, list, written, global, false)
}

// agreesBut is agrees, with untimed not comparing timestamps.
func (w *walker) agreesBut(b *format.Beacon, list []*stream, written uint64, global, untimed bool) bool {
	n := len(list)
	if len(b.Markers) != min(w.per, n) {
		return false
	}
	for i := range b.Markers {
		m := &b.Markers[i]
		s := list[(int(written%uint64(n))+i)%n]
		switch {
		case s.id.key != m.StreamKey || s.id.shard != m.ShardID:
			return false
		case global:
			if s.gseq != m.SeqNo || s.gts != m.Timestamp && !untimed || s.gsum != m.RunningChecksum {
				return false
			}
		case !s.certain:
		case untimed:
			if s.seq != m.SeqNo || s.sum != m.RunningChecksum && !(s.hasAlt && s.alt == m.RunningChecksum) {
				return false
			}
		case !s.agrees(m):
			return false
		}
	}
	return true
}

// explain looks, before the markers of the beacon at off are checked, for a
// writer that reopened the file since the previous beacon, and switches the
// scan to its state when one gives the markers. It reports whether the
// beacon is done with: an empty beacon where markers belong, which a reopen
// at a beacon position writes, waits for the next beacon to tell.
func (w *walker) explain(off int64, b *format.Beacon) (done bool) {
	list, written := w.rotationSet()
	if w.agrees(b, list, written, false) {
		w.pendingReport()
		return false
	}
	if len(b.Markers) == 0 && b.Remaining == 0 && w.pending < 0 {
		w.pending, w.pendingWant, w.pendingN = off, min(w.per, len(list)), len(list)
		return true
	}
	// After a reopened writer, one that recovered the whole file.
	if w.sess != nil && w.globalOK && w.agrees(b, w.st.sorted, w.written, true) {
		w.decide()
		w.endSession(off)
		return false
	}
	// A reopen restarts the round-robin and the running checksums: markers
	// that disagree only in timestamps are damaged (or written by some other
	// writer), not reopened.
	if w.agreesBut(b, list, written, false, true) {
		w.pendingReport()
		return false
	}
	if w.reanchor(b) {
		return false
	}
	if !w.recentFull {
		if i, mode, ok := w.findReopen(b); ok {
			w.decide()
			w.startSession(i, mode, off)
			return false
		}
	}
	if w.deepReopen(b, off) {
		return false
	}
	w.pendingReport()
	return false
}

// pendingReport reports an empty beacon that no reopen explained.
func (w *walker) pendingReport() {
	if w.pending < 0 {
		return
	}
	p := w.pending
	w.pending = -1
	w.report(ErrMarker, p+5, p+5, "the beacon at offset %d has 0 markers; the writer puts %d (round-robin over %d streams, %d a beacon)",
		p, w.pendingWant, w.pendingN, w.per)
}

// finish is called at the end of the scan: an empty beacon that no later
// beacon confirms or denies is taken for SeaStreamer's reopen there, as the
// messages after it read well.
func (w *walker) finish() {
	w.decide()
	if w.pending < 0 || w.stop != nil {
		return
	}
	p := w.pending
	w.pending = -1
	w.note(&Note{Offset: p, Err: fmt.Errorf("%w: at the beacon position %d, where the reopened writer wrote an empty beacon (no later beacon tells more)", NoteReopen, p)})
}

// findReopen looks for the message of the current interval from which a
// reopened SeaStreamer writer gives the markers of b, going back from the
// beacon: the latest such message, and the modes that give them.
func (w *walker) findReopen(b *format.Beacon) (int, int, bool) {
	w.cands = w.cands[:0]
	k := len(b.Markers)
	if k == 0 || k > w.per || len(w.recent) == 0 {
		return 0, 0, false
	}
	w.epoch++
	ep := w.epoch
	mks := w.mks[:0]
	for i := range b.Markers {
		m := &b.Markers[i]
		s := w.st.lookup(m.StreamKey, m.ShardID)
		if s == nil || s.bmark == ep || i > 0 && compareIDs(mks[i-1].id, s.id) >= 0 {
			return 0, 0, false // the round-robin starts again at 0: in order
		}
		s.bmark, s.bmk, s.need, s.bseq, s.bts, s.okSink, s.okProd = ep, i, uint16(m.RunningChecksum), 0, 0, false, false
		mks = append(mks, s)
	}
	w.mks = mks
	last := mks[k-1].id
	inv := crcInverse()
	present, n, okSink, okProd := 0, 0, 0, 0
	b2i := func(b bool) int {
		if b {
			return 1
		}
		return 0
	}
	for i := len(w.recent) - 1; i >= 0; i-- {
		e := &w.recent[i]
		s := e.s
		if s.bseen != ep {
			s.bseen = ep
			n++
			switch {
			case s.bmark == ep:
				present++
			case compareIDs(s.id, last) < 0:
				i = -1 // a stream the round-robin would have put first
				continue
			}
			if k < w.per && n > k {
				i = -1 // more streams than the beacon has markers for
				continue
			}
		}
		if s.bmark == ep {
			okSink -= b2i(s.okSink)
			okProd -= b2i(s.okProd)
			s.need = inv[s.need] ^ e.sum
			s.bseq, s.bts = max(s.bseq, e.seq), max(s.bts, e.ts)
			m := &b.Markers[s.bmk]
			s.okSink = s.need == format.CRCInit && m.SeqNo == s.bseq && m.Timestamp == s.bts
			s.okProd = s.okSink
			if !e.existed {
				s.okProd = s.need == format.CRCInit && m.SeqNo == s.bseq && m.Timestamp >= s.bts
			}
			okSink += b2i(s.okSink)
			okProd += b2i(s.okProd)
		}
		if present < k || e.off == w.firstOff {
			continue // a reopen has messages before it
		}
		mode := 0
		if okSink == k {
			mode |= modeSink
		}
		// The producer's first stream resumes from its last message.
		prod := okProd
		if s.bmark == ep {
			m := &b.Markers[s.bmk]
			var ok bool
			if t := e.top; e.existed && t.ok {
				ok = s.need == t.sum && m.SeqNo == max(t.seq, s.bseq) && m.Timestamp == max(t.ts, s.bts)
			} else {
				ok = s.need == format.CRCInit && m.SeqNo == s.bseq && m.Timestamp >= s.bts
			}
			prod += b2i(ok) - b2i(s.okProd)
		}
		if prod == k {
			mode |= modeProducer
		}
		if mode != 0 {
			w.cands = append(w.cands, cand{int64(i), mode})
			if len(w.cands) == maxCands {
				break
			}
		}
	}
	if len(w.cands) == 0 {
		return 0, 0, false
	}
	return int(w.cands[0].i), w.cands[0].mode, true
}

// startSession switches the scan to the state of a writer that reopened the
// file at the message w.recent[i], seeding its streams as mode says, and
// notes it; off is the beacon that confirms it.
func (w *walker) startSession(i, mode int, off int64) {
	w.sessions++
	e0 := &w.recent[i]
	w.sess = &session{id: w.sessions, start: e0.off, mode: mode, first: e0.s}
	w.replay(w.recent[i:])
	where := fmt.Sprintf("from the message at offset %d", e0.off)
	if w.pending >= 0 {
		where = fmt.Sprintf("at the beacon position %d, where it wrote an empty beacon, from the message at offset %d", w.pending, e0.off)
		w.pending = -1
	}
	w.sess.where, w.sess.confirm = where, off
	w.amb = nil
	if len(w.cands) > 1 {
		// Other messages give this beacon's markers too: the next beacons
		// tell which (see reanchor). The note waits until then.
		a := &ambiguity{}
		for _, c := range w.cands[1:] {
			a.cands = append(a.cands, cand{w.recent[c.i].off, c.mode})
		}
		w.amb = a
		return
	}
	w.noteSession()
}

// replay feeds the messages es, which follow the reopen, to the reopened
// writer's state.
func (w *walker) replay(es []seen) {
	for j := range es {
		w.replayOne(&es[j], j == 0)
	}
}

// replayOne feeds one message; first says it is the first since the reopen.
func (w *walker) replayOne(e *seen, first bool) {
	s := e.s
	if s.sess != w.sess.id {
		w.join(s, e.existed, first, e.top)
	}
	s.update(e.seq, e.ts, e.sum)
	if s.hasAlt {
		s.alt = s.alt.Add(e.sum)
	}
}

// noteSession notes the reopen the current session is.
func (w *walker) noteSession() {
	ss := w.sess
	how := map[int]string{
		modeSink:                "MessageSink's: each stream's running checksum restarts from 0xFFFF",
		modeProducer:            "its producer's: the first stream's running checksum resumes from its last message's checksum, the others' restart from 0xFFFF",
		modeSink | modeProducer: "each stream's running checksum restarts from 0xFFFF, or as its producer resumes them",
	}[ss.mode]
	w.note(&Note{Offset: ss.start, Err: fmt.Errorf("%w: %s (%s), and the markers rotate over the streams written since (%d when the beacon at offset %d shows it)",
		NoteReopen, ss.where, how, len(ss.sorted), ss.confirm)})
}

// A reopen may show only beacons after the one that follows it: as long
// as the markers name streams with no message before it, the reopened
// writer gives the markers the whole file's state gives. And where it is
// may stay undecided: a beacon with fewer markers than streams shows only
// the first few of them, whose running checksums do not change with
// messages of the others. So the scan keeps the last messages and beacons
// (maxLog entries at least, while nothing was lost), and a reopen before
// the current beacon interval is tried on them (deepReopen), as are the
// other places an undecided one may be at when a later beacon disagrees
// with the one taken (reanchor).
const (
	maxCands = 64
	maxLog   = 1 << 13
)

// cand is a message a reopen may start at (an index in w.recent, or an
// offset), with the modes that give the beacon's markers.
type cand struct {
	i    int64
	mode int
}

// logEntry is a message, or the markers of the beacon at off (beacon true).
type logEntry struct {
	msg     seen
	beacon  bool
	off     int64
	markers []format.Marker
}

// ambiguity is where else an undecided reopen may start.
type ambiguity struct {
	cands []cand
}

func (w *walker) logMessage(e seen) {
	w.log = append(w.log, logEntry{msg: e, off: e.off})
	w.trimLog()
}

func (w *walker) logBeacon(off int64, b *format.Beacon) {
	if w.rotation && !w.lossy {
		w.log = append(w.log, logEntry{beacon: true, off: off, markers: b.Markers})
		w.trimLog()
	}
}

// trimLog drops the older half of the log when it has twice maxLog
// entries.
func (w *walker) trimLog() {
	if len(w.log) >= 2*maxLog {
		n := copy(w.log, w.log[maxLog:])
		clear(w.log[n:])
		w.log = w.log[:n]
	}
}

// logIndex returns the index in the log of the message at off, or -1.
func (w *walker) logIndex(off int64) int {
	i, ok := slices.BinarySearchFunc(w.log, off, func(e logEntry, off int64) int {
		if e.off == off && e.beacon {
			return 1 // a message at a beacon's offset comes after it
		}
		return cmp.Compare(e.off, off)
	})
	if !ok || w.log[i].beacon {
		return -1
	}
	return i
}

// decide ends an undecided reopen with the state taken, and notes it.
func (w *walker) decide() {
	if w.amb == nil {
		return
	}
	w.amb = nil
	if w.sess != nil {
		w.noteSession()
	}
}

// simulate tries a reopen at the message log[j] in mode: the reopened
// writer's state, fed the kept messages and beacons after it, must give
// every beacon's markers and then b's. It switches the scan to that state
// and reports true, or leaves everything as it was.
func (w *walker) simulate(j, mode int, b *format.Beacon, confirm int64) bool {
	snap := w.snap[:0]
	for _, s := range w.st.sorted {
		snap = append(snap, savedState{s.seq, s.ts, s.alt, s.sum, s.certain, s.hasAlt, s.tsLoose, s.sess})
	}
	w.snap = snap
	orig := w.sess
	for _, s := range w.st.sorted {
		s.sess = 0
	}
	w.sessions++
	e0 := &w.log[j].msg
	w.sess = &session{id: w.sessions, start: e0.off, mode: mode, first: e0.s, where: fmt.Sprintf("from the message at offset %d", e0.off), confirm: confirm}
	ok := true
	for k := j; k < len(w.log) && ok; k++ {
		le := &w.log[k]
		if !le.beacon {
			w.replayOne(&le.msg, k == j)
			continue
		}
		ok = w.settle(&format.Beacon{Markers: le.markers})
	}
	if ok && w.agrees(b, w.sess.sorted, w.sess.written, false) {
		return true
	}
	for i, s := range w.st.sorted {
		v := snap[i]
		s.seq, s.ts, s.alt, s.sum, s.certain, s.hasAlt, s.tsLoose, s.sess = v.seq, v.ts, v.alt, v.sum, v.certain, v.hasAlt, v.tsLoose, v.sess
	}
	w.sess = orig
	return false
}

// savedState is what simulate changes of a stream.
type savedState struct {
	seq, ts                  uint64
	alt, sum                 format.RunningChecksum
	certain, hasAlt, tsLoose bool
	sess                     int
}

// reanchor tries, when the beacon b disagrees with the state taken for an
// undecided reopen, the other messages it may have started at.
func (w *walker) reanchor(b *format.Beacon) bool {
	a := w.amb
	if a == nil || w.sess == nil {
		return false
	}
	for n, c := range a.cands {
		j := w.logIndex(c.i)
		if j < 0 {
			continue
		}
		for _, mode := range []int{modeSink, modeProducer} {
			if c.mode&mode != 0 && w.simulate(j, mode, b, w.sess.confirm) {
				a.cands = slices.Delete(a.cands, n, n+1)
				return true
			}
		}
	}
	return false
}

// deepReopen looks for a reopen before the current beacon interval, in the
// kept log: the beacons since agree with the whole file's state, so their
// markers name only streams with no message before it, which bounds where
// it may be. The latest message that gives every beacon since becomes the
// state; the earlier ones that may also are kept as an ambiguity.
func (w *walker) deepReopen(b *format.Beacon, off int64) bool {
	if w.sess != nil {
		return false // a reopen after a reopen shows in its interval
	}
	bound := int64(math.MaxInt64)
	seenBeacon := false
	tries := 0
	for j := len(w.log) - 1; j >= 0 && tries < maxCands; j-- {
		le := &w.log[j]
		if le.beacon {
			seenBeacon = true
			for i := range le.markers {
				m := &le.markers[i]
				if s := w.st.lookup(m.StreamKey, m.ShardID); s != nil {
					bound = min(bound, s.firstAt)
				}
			}
			continue
		}
		if !seenBeacon || le.off >= bound || le.off == w.firstOff {
			continue
		}
		tries++
		for _, mode := range []int{modeSink, modeProducer} {
			if w.simulate(j, mode, b, off) {
				w.amb = nil
				w.noteSession()
				return true
			}
		}
	}
	return false
}

// settle checks the markers of a kept beacon against the reopened writer's
// state, as checkMarkers does, and counts them.
func (w *walker) settle(b *format.Beacon) bool {
	if !w.agrees(b, w.sess.sorted, w.sess.written, false) {
		return false
	}
	for i := range b.Markers {
		m := &b.Markers[i]
		s := w.st.lookup(m.StreamKey, m.ShardID)
		if s.sum != m.RunningChecksum {
			s.sum = s.alt
		}
		if s.tsLoose {
			s.ts, s.tsLoose = m.Timestamp, false
		}
		s.hasAlt = false
	}
	w.sess.written += uint64(len(b.Markers))
	return true
}

// join adds s to the reopened writer's streams, with the state its mode
// seeds it with: existed says s had messages before, first that it is the
// first stream written since the reopen, whose last message before is t.
func (w *walker) join(s *stream, existed, first bool, t top) {
	ss := w.sess
	s.sess = ss.id
	s.seq, s.ts, s.sum, s.certain, s.hasAlt, s.tsLoose = 0, 0, format.NewRunningChecksum(), true, false, false
	// The producer's seed, when it is not MessageSink's.
	var pseq, pts uint64
	var psum format.RunningChecksum
	pseed, ploose := false, false
	switch {
	case first && existed && t.ok:
		pseed, pseq, pts, psum = true, t.seq, t.ts, format.RunningChecksum(t.sum)
	case first || !existed:
		pseed, psum, ploose = true, format.NewRunningChecksum(), true
	}
	switch {
	case !pseed || ss.mode == modeSink:
	case ss.mode == modeProducer:
		s.seq, s.ts, s.sum, s.tsLoose = pseq, pts, psum, ploose
	default:
		// Either mode gives the markers so far: the next marker of s
		// decides between the seeds.
		s.alt, s.hasAlt, s.tsLoose = psum, true, ploose
	}
	i, _ := slices.BinarySearchFunc(ss.sorted, s.id, func(e *stream, id streamID) int { return compareIDs(e.id, id) })
	ss.sorted = slices.Insert(ss.sorted, i, s)
}

// endSession switches the scan back to the whole file's state, which the
// markers of the beacon at off agree with: a writer that recovered the whole
// file (ssfile's Append) went on after the reopened one.
func (w *walker) endSession(off int64) {
	start := w.sess.start
	w.sess = nil
	for _, s := range w.st.sorted {
		s.seq, s.ts, s.sum, s.certain, s.hasAlt, s.tsLoose, s.sess = s.gseq, s.gts, s.gsum, true, false, false, 0
	}
	w.note(&Note{Offset: off, Err: fmt.Errorf("%w: the markers of the beacon at offset %d carry the whole file's state again, after those of the writer that reopened it at offset %d",
		NoteContinued, off, start)})
}

func (w *walker) note(n *Note) {
	if w.stop != nil {
		return
	}
	w.sum.Notes++
	if w.v.Note != nil {
		w.stop = w.v.Note(n)
	}
}
