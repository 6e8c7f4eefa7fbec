package sscheck

import (
	"cmp"
	"slices"

	"github.com/seastream/ss/format"
)

type streamID struct {
	key   string
	shard uint64
}

func compareIDs(a, b streamID) int {
	return cmp.Or(cmp.Compare(a.key, b.key), cmp.Compare(a.shard, b.shard))
}

// stream is what the scan knows of one (stream key, shard): the state a
// writer's marker for it would carry.
type stream struct {
	id      streamID
	seq, ts uint64
	sum     format.RunningChecksum
	// certain says that seq, ts and sum are the writer's. They are not after
	// bytes were lost, or after a marker disagreed, until the next marker
	// for the stream is adopted.
	certain bool
	// alt is the running checksum had the stored checksum of a message that
	// failed its payload check been the damaged part (hasAlt).
	alt    format.RunningChecksum
	hasAlt bool

	// order is what the order checks compare the next message with.
	order order

	// tsLoose says that the writer's timestamp for the stream is only known
	// to be no earlier than ts (see reopen.go); the next marker gives it.
	tsLoose bool
	// The whole file's state of the stream, as one writer that wrote every
	// message would record it, while no bytes were lost (walker.globalOK):
	// seq, ts and sum are the state of the writer that wrote the last
	// message, which differs after SeaStreamer reopened the file.
	gseq, gts uint64
	gsum      format.RunningChecksum
	// What the search for a reopen needs of the stream's history (see
	// reopen.go): whether it had a message, its highest-numbered one, and
	// the session of the reopened writer it joined (0: none).
	hasMsg  bool
	firstAt int64 // the offset of its first message, when hasMsg
	top     top
	sess    int
	// Scratch of findReopen, valid while bmark or bseen is its epoch.
	bmark, bseen, bmk int
	need              uint16
	bseq, bts         uint64
	okSink, okProd    bool
}

// order is the header of the previous message of a stream, for the order
// checks (see ErrOrder).
type order struct {
	seen    bool   // there is a previous message (or a marker taken for one)
	seq, ts uint64 // its sequence number and timestamp
	off     int64  // its offset, -1 when taken from a marker
	// gap says that messages of the stream may have been lost since, in
	// bytes the scan could not read: the next sequence number need only be
	// above seq, not next to it.
	gap bool
	// alt is the previous message's header had it read as the checks
	// expected (the one before it with Strict, seq+1): when the previous
	// message was reported, its own header may be the damaged one, and the
	// next message is checked against either.
	hasAlt        bool
	altSeq, altTs uint64
	altGap        bool
}

// update counts one message, as the writer does before writing it.
func (s *stream) update(seq, ts uint64, checksum uint16) {
	s.seq = max(s.seq, seq)
	s.ts = max(s.ts, ts)
	s.sum = s.sum.Add(checksum)
}

// agrees reports whether the marker m carries the writer's state of s.
func (s *stream) agrees(m *format.Marker) bool {
	if s.seq != m.SeqNo || s.ts != m.Timestamp && !(s.tsLoose && m.Timestamp >= s.ts) {
		return false
	}
	return s.sum == m.RunningChecksum || s.hasAlt && s.alt == m.RunningChecksum
}

// adopt takes the state a marker carries. When messages of the stream may
// have been lost (or none was seen), the marker's sequence number and
// timestamp, those of the stream's last message before the beacon, also
// become what the order checks compare the next message with.
func (s *stream) adopt(m *format.Marker) {
	s.seq, s.ts, s.sum, s.certain, s.tsLoose = m.SeqNo, m.Timestamp, m.RunningChecksum, true, false
	if s.order.gap || !s.order.seen {
		s.order = order{seen: true, seq: m.SeqNo, ts: m.Timestamp, off: -1}
	}
}

// streams is every stream met so far, in the order the writer's round-robin
// goes through them.
type streams struct {
	byID   map[streamID]*stream
	sorted []*stream
}

func (ss *streams) lookup(key string, shard uint64) *stream {
	return ss.byID[streamID{key, shard}]
}

// add starts a stream the writer has not written before: its state is that
// of a new writer's tracker.
func (ss *streams) add(id streamID, certain bool) *stream {
	if ss.byID == nil {
		ss.byID = make(map[streamID]*stream)
	}
	s := &stream{id: id, sum: format.NewRunningChecksum(), gsum: format.NewRunningChecksum(), certain: certain}
	ss.byID[id] = s
	i, _ := slices.BinarySearchFunc(ss.sorted, id, func(e *stream, id streamID) int { return compareIDs(e.id, id) })
	ss.sorted = slices.Insert(ss.sorted, i, s)
	return s
}

// uncertain marks every stream's state unknown, after bytes were lost.
func (ss *streams) uncertain() {
	for _, s := range ss.sorted {
		s.certain = false
		s.order.gap = true
	}
}

// selection appends to dst the streams the writer puts in its next beacon:
// per markers at most, round-robin in (key, shard) order, starting at the
// count of markers written so far modulo the number of streams. extra, when
// not nil and not known yet, counts as one more stream (the stream of a
// message that a beacon splices is counted before the beacon).
func (ss *streams) selection(dst []streamID, written uint64, per int, extra *streamID) []streamID {
	list := ss.sorted
	at := -1 // where extra goes in the list
	if extra != nil {
		if _, ok := ss.byID[*extra]; !ok {
			at, _ = slices.BinarySearchFunc(list, *extra, func(e *stream, id streamID) int { return compareIDs(e.id, id) })
		}
	}
	n := len(list)
	if at >= 0 {
		n++
	}
	item := func(i int) streamID {
		switch {
		case at < 0 || i < at:
			return list[i].id
		case i == at:
			return *extra
		default:
			return list[i-1].id
		}
	}
	k := min(per, n)
	if k <= 0 {
		return dst
	}
	start := int(written % uint64(n))
	for i := range k {
		dst = append(dst, item((start+i)%n))
	}
	return dst
}

// selectFrom appends to dst the streams of list (in (key, shard) order) that
// a writer with written markers so far puts in its next beacon, per at most.
func selectFrom(dst []streamID, list []*stream, written uint64, per int) []streamID {
	n := len(list)
	k := min(per, n)
	if k <= 0 {
		return dst
	}
	start := int(written % uint64(n))
	for i := range k {
		dst = append(dst, list[(start+i)%n].id)
	}
	return dst
}

// beaconSize returns the size of a beacon carrying markers for ids.
func beaconSize(ids []streamID) int {
	n := 7
	for _, id := range ids {
		n += 1 + len(id.key) + 24 + 2
	}
	return n
}
