package reliability

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"github.com/seastream/ss/beacon"
	"github.com/seastream/ss/format"
)

// Options tunes Verify.
type Options struct {
	// Strict adds the checks that hold for a file written by writers that
	// number each (stream key, shard) consecutively and stamp it with a
	// clock that does not go back, as ssfile's Writer and SeaStreamer's
	// producers do: each sequence number is one more than the previous one
	// of its stream, timestamps never go back, and every beacon carries
	// min(format.MarkersPerBeacon, streams so far) markers, picked
	// round-robin in (stream key, shard) order.
	Strict bool
}

// Message is a message Verify found whole: sound structure and a valid
// payload checksum.
type Message struct {
	format.MessageHeader
	Payload  []byte // a copy
	Checksum uint16
	Offset   int64 // where the frame starts
}

// Span is the range of bytes [From, To).
type Span struct{ From, To int64 }

// Report is what Verify found in a file.
type Report struct {
	Header format.Header
	// Messages holds every message whose frame is sound and whose payload
	// checksum is valid, in file order, also those found after damage.
	Messages []Message
	// Suspect holds the offsets of messages in Messages whose header failed
	// an order check (sequence number or, with Strict, timestamp): their
	// payload is intact, but their header or a neighbour's may not be.
	Suspect []int64
	// Damaged holds the offsets of frames whose structure is sound but whose
	// payload checksum fails: never to be trusted.
	Damaged []int64
	// Skipped holds the byte ranges that could not be decoded at all.
	Skipped []Span
	// Problems is everything found wrong, each with its offset.
	Problems []*Problem
	// Beacons and Markers count the beacons decoded and the markers checked.
	Beacons, Markers int
}

// Err returns the first problem, or nil when the file is sound.
func (r *Report) Err() error {
	if len(r.Problems) == 0 {
		return nil
	}
	return r.Problems[0]
}

// Verify checks the whole .ss file in data and reports every problem it
// finds with its offset. It never panics, and its work is bounded: about
// linear in the size of data for a sound file; after damage, resynchronising
// tries the bytes that follow as frame starts, and the sizes a damaged beacon
// could have, a bounded number of times.
//
// What it checks: the header (magic, version, name, padding, terminator);
// every beacon where the interval puts one (terminators, marker keys, the
// remaining-byte count against the frame it splices, at most
// format.MarkersPerBeacon markers); every frame (key length and characters,
// timestamp range, the size field against the beacons and the end of the
// file, terminator, payload checksum); per (stream key, shard), that
// sequence numbers go up and that each marker carries the highest sequence
// number and timestamp so far and the running checksum recomputed from the
// message checksums; with Options.Strict, more (see Options).
//
// After a frame or beacon it cannot decode, Verify looks for the next offset
// where a whole frame decodes (valid checksum and terminator) or a valid
// beacon stands, reports the bytes in between as skipped, and carries on; the
// state of the streams is then taken again from the next marker of each.
func Verify(data []byte, opts Options) *Report {
	rep := &Report{}
	h, err := format.DecodeHeader(data)
	if err == nil {
		// Beacons must stand where the interval places them.
		if found, placed := beaconsAt(data, uint64(h.BeaconInterval)); placed > 0 && found == 0 {
			err = fmt.Errorf("%w: no beacon where the beacon interval %d places one", ErrBeaconInterval, h.BeaconInterval)
		}
	}
	if err != nil {
		if errors.Is(err, format.ErrShortInput) {
			err = fmt.Errorf("%w: %w", ErrTornTail, err)
		}
		rep.add(0, fmt.Errorf("header: %w", err))
		var ok bool
		if h, ok = lenientHeader(data); !ok {
			return rep
		}
	}
	clean := len(rep.Problems) == 0
	walk(data, opts, h, rep, 0)
	if !clean || len(rep.Problems) == 0 {
		return rep
	}
	// A damaged beacon interval can still place beacons that are there, at
	// multiples of the right one. When one bit away from it is an interval
	// under which the file is sound, that is the one.
	for _, iv := range flips(uint64(h.BeaconInterval), 32)[1:] {
		if found, placed := beaconsAt(data, iv); placed == 0 || found < placed {
			continue
		}
		alt := &Report{}
		alt.add(0, fmt.Errorf("header: %w: it says %d, the beacons stand every %d bytes", ErrBeaconInterval, h.BeaconInterval, iv))
		h2 := h
		h2.BeaconInterval = uint32(iv)
		if walk(data, opts, h2, alt, 1); len(alt.Problems) == 1 {
			return alt
		}
	}
	return rep
}

// walk checks the file after its header h, adding to rep; it stops when rep
// has more than limit problems, unless limit is 0.
func walk(data []byte, opts Options, h format.Header, rep *Report, limit int) {
	rep.Header = h
	v := &verifier{
		limit:        limit,
		searches:     maxSizeSearches,
		data:         data,
		opts:         opts,
		layout:       beacon.Layout{Interval: int64(h.BeaconInterval)},
		perBeacon:    format.MarkersPerBeacon(h.BeaconInterval),
		rep:          rep,
		streams:      make(map[streamID]*stream),
		streamsKnown: true,
	}
	v.run()
}

// lenientHeader reads a damaged header when one damaged field explains the
// damage: it tries the header as it is, and with one bit of the name length
// or of the beacon interval flipped back, and takes a reading in which at
// most one thing is wrong (magic and version, padding, name length or
// interval) and the beacon interval is confirmed: first by beacons found
// where it places them, else, for a file shorter than the interval, by a
// message after the header.
func lenientHeader(data []byte) (format.Header, bool) {
	if len(data) < format.HeaderSize {
		return format.Header{}, false
	}
	magicOK := data[0] == 0x53 && data[1] == 0x73 && data[2] == format.Version
	// Passes: every beacon placed is found; some are; none is placed.
	for pass := range 3 {
		for _, n := range flips(uint64(data[3]), 8) {
			if n > format.MaxFileNameLen {
				continue
			}
			rest := data[4+n : format.HeaderSize]
			padOK := rest[len(rest)-1] == format.Terminator
			for _, c := range rest[12 : len(rest)-1] {
				padOK = padOK && c == 0
			}
			stored := uint64(binary.BigEndian.Uint32(rest[8:]))
			for _, iv := range flips(stored, 32) {
				wrong := 0
				for _, bad := range []bool{!magicOK, !padOK, n != uint64(data[3]), iv != stored} {
					if bad {
						wrong++
					}
				}
				if wrong > 1 || iv < format.MinBeaconInterval {
					continue
				}
				found, placed := beaconsAt(data, iv)
				switch {
				case pass == 0 && (placed == 0 || found < placed):
					continue
				case pass == 1 && found == 0:
					continue
				case pass == 2 && (placed > 0 || !messageAfterHeader(data)):
					continue
				}
				return format.Header{
					FileName:       string(data[4 : 4+n]),
					CreatedAt:      binary.BigEndian.Uint64(rest),
					BeaconInterval: uint32(iv),
				}, true
			}
		}
	}
	return format.Header{}, false
}

// flips returns v, then v with each of its low bits flipped.
func flips(v uint64, bits int) []uint64 {
	out := []uint64{v}
	for b := range bits {
		out = append(out, v^1<<b)
	}
	return out
}

// beaconsAt returns how many of the first three beacons the interval iv
// places in data are readable (or cut short by its end), and how many it
// places.
func beaconsAt(data []byte, iv uint64) (found, placed int) {
	if iv < format.MinBeaconInterval {
		return 0, 0
	}
	for off := iv; off < uint64(len(data)) && placed < 3; off += iv {
		placed++
		if _, err := format.ScanBeacon(data[off:]); err == nil || errors.Is(err, format.ErrShortInput) {
			found++
		}
	}
	return found, placed
}

// messageAfterHeader reports whether a whole message follows the header.
func messageAfterHeader(data []byte) bool {
	_, _, err := format.DecodeMessage(data[format.HeaderSize:])
	return err == nil
}

func (r *Report) add(off int64, err error) {
	r.Problems = append(r.Problems, &Problem{Offset: off, Err: err})
}

type streamID struct {
	key   string
	shard uint64
}

func compareIDs(a, b streamID) int {
	return cmp.Or(cmp.Compare(a.key, b.key), cmp.Compare(a.shard, b.shard))
}

// stream is what Verify recomputes of one (stream key, shard): what its
// writer's markers must say.
type stream struct {
	lastSeq, lastTs uint64 // of the previous message seen
	maxSeq, maxTs   uint64
	sum             format.RunningChecksum
	seen            bool // a message was seen
	// known means maxSeq, maxTs and sum account for every message of the
	// stream so far; after damage they are taken again from a marker.
	known bool
}

// maxSizeSearches bounds how many times one walk searches for the size of a
// damaged beacon inside a frame (each tries up to a few thousand sizes).
const maxSizeSearches = 32

type verifier struct {
	limit    int // stop after this many problems, unless 0
	searches int // size searches left

	data      []byte
	opts      Options
	layout    beacon.Layout
	perBeacon int
	rep       *Report

	streams map[streamID]*stream
	order   []streamID // in (key, shard) order, for the rotation
	// streamsKnown means every stream of the file so far is in streams, and
	// markersWritten counts the markers of every beacon so far: false once
	// bytes were skipped.
	streamsKnown   bool
	markersWritten uint64
}

// crossing is a beacon inside a frame.
type crossing struct {
	off      int64
	b        format.Beacon
	err      error // the beacon is damaged; b is empty
	consumed int   // frame bytes before it
}

// frame is a decoded frame.
type frame struct {
	start, end int64
	total      int // the frame's length, without the beacons inside it
	raw        format.RawMessage
	crossed    []crossing
	// damagedBeacon is the offset of the first damaged beacon inside the
	// frame, or -1.
	damagedBeacon int64
	sumErr        error // the payload checksum fails
}

var errShort = format.ErrShortInput

func (v *verifier) size() int64 { return int64(len(v.data)) }

func (v *verifier) run() {
	pos := int64(format.HeaderSize)
	for pos < v.size() {
		if v.limit > 0 && len(v.rep.Problems) > v.limit {
			return
		}
		if v.layout.IsBoundary(pos) {
			b, n, err := format.DecodeBeacon(v.data[pos:])
			if errors.Is(err, errShort) {
				v.rep.add(pos, fmt.Errorf("%w: beacon", ErrTornTail))
				return
			}
			if err != nil {
				v.rep.add(pos, fmt.Errorf("beacon: %w", err))
				pos = v.resync(pos, pos+1)
				continue
			}
			if b.Remaining != 0 {
				v.rep.add(pos, fmt.Errorf("%w: %d bytes of a message after a beacon that stands between two messages", ErrRemaining, b.Remaining))
			}
			v.checkMarkers(pos, &b)
			pos += int64(n)
			continue
		}
		f, err := v.frame(pos)
		if errors.Is(err, errShort) {
			// The frame runs past the end of the file: a torn tail, unless
			// whole messages follow, and then its size field is damaged.
			if sp := v.findSync(pos + 1); sp.pos < v.size() {
				v.rep.add(pos, fmt.Errorf("%w: the frame would run past the end of the file", ErrFrameSize))
				pos = v.skipTo(pos, sp)
				continue
			}
			v.rep.add(pos, fmt.Errorf("%w: the last %d bytes", ErrTornTail, v.size()-pos))
			return
		}
		if err != nil {
			v.rep.add(pos, err)
			pos = v.resync(pos, pos+1)
			continue
		}
		v.accept(f)
		pos = f.end
	}
}

// frame decodes the frame at p, which is not a beacon boundary, gathering
// its bytes across beacons. A frame that is whole but for its payload
// checksum comes back with sumErr set and no error. When a beacon inside the
// frame is damaged, frame tries every size the beacon could have had, and
// takes the one that makes the frame whole.
func (v *verifier) frame(p int64) (*frame, error) {
	f, err := v.frameWith(p, -1, 0)
	if f.damagedBeacon < 0 || (err == nil && f.sumErr == nil) || v.searches == 0 {
		if err != nil {
			return nil, err
		}
		return f, nil
	}
	v.searches--
	b := f.damagedBeacon
	most := min(7+v.perBeacon*format.MaxMarkerSize, int(v.size()-b))
	for size := 7; size <= most; size++ {
		if g, err := v.frameWith(p, b, size); err == nil && g.sumErr == nil {
			return g, nil
		}
	}
	if err != nil {
		return nil, err
	}
	return f, nil
}

// frameWith is frame, taking the beacon at offset at, if damaged, to be size
// bytes long. It returns a frame, for damagedBeacon, even with an error.
func (v *verifier) frameWith(p, at int64, size int) (*frame, error) {
	f := &frame{start: p, damagedBeacon: -1}
	k := int(v.data[p])
	if k > format.MaxStreamKeyLen {
		return f, fmt.Errorf("stream key length %d: %w", k, format.ErrInvalidStreamKey)
	}
	headLen := 1 + k + 24 + 4
	g := gathering{damaged: -1, at: at, size: size}
	head, pos, err := v.gather(p, headLen, nil, 0, &g)
	f.crossed, f.damagedBeacon = g.crossed, g.damaged
	if err != nil {
		return f, err
	}
	var raw format.RawMessage
	n, err := format.DecodeMessageHeader(head, &raw)
	if err != nil {
		return f, err
	}
	total := n + 4 + int(binary.BigEndian.Uint32(head[n:])) + 3
	// Beacons only add bytes: a frame that cannot fit is short, whatever
	// its size field says, and nothing is allocated for it.
	if p+int64(total) > v.size() {
		return f, errShort
	}
	frameBytes, end, err := v.gather(pos, total-headLen, head, headLen, &g)
	f.crossed, f.damagedBeacon = g.crossed, g.damaged
	if err != nil {
		return f, err
	}
	f.end, f.total = end, total
	raw, _, err = format.DecodeMessage(frameBytes)
	var sumErr *format.ChecksumError
	switch {
	case errors.As(err, &sumErr):
		f.sumErr = err
	case err != nil:
		return f, err
	}
	f.raw = raw
	// Each beacon inside the frame must count what is left of it. With a
	// valid checksum and terminator, the frame is right and a beacon that
	// disagrees is damaged; without, the size field is the suspect.
	for _, c := range f.crossed {
		if c.err == nil && int(c.b.Remaining) != total-c.consumed && f.sumErr != nil {
			return f, fmt.Errorf("%w: the beacon at %d says %d bytes of it remain, its size field says %d", ErrFrameSize, c.off, c.b.Remaining, total-c.consumed)
		}
	}
	return f, nil
}

// gathering is the state of gather across the calls for one frame.
type gathering struct {
	crossed []crossing
	damaged int64 // the first damaged beacon, or -1
	at      int64 // a damaged beacon whose size is given
	size    int
}

// gather appends to buf the n frame bytes that start at p, stepping over the
// beacons among them, which it records in g; consumed is how many bytes of
// the frame came before p. It returns the offset after the n bytes (a beacon
// right after them is left alone).
func (v *verifier) gather(p int64, n int, buf []byte, consumed int, g *gathering) ([]byte, int64, error) {
	for done := 0; done < n; {
		if consumed+done > 0 && v.layout.IsBoundary(p) {
			// A beacon inside the frame.
			c := crossing{off: p, consumed: consumed + done}
			b, size, err := format.DecodeBeacon(v.data[p:])
			if errors.Is(err, errShort) {
				return nil, p, errShort
			}
			if err != nil {
				c.err = err
				if g.damaged < 0 {
					g.damaged = p
				}
				// Step over it by the size given, or the sizes it states,
				// to try the frame anyway.
				if p == g.at {
					size = g.size
				} else if size = lenientBeaconSize(v.data[p:]); size == 0 {
					g.crossed = append(g.crossed, c)
					return nil, p, fmt.Errorf("beacon at %d inside the frame: %w", p, err)
				}
			} else {
				c.b = b
			}
			g.crossed = append(g.crossed, c)
			p += int64(size)
		}
		chunk := min(int64(n-done), v.layout.Room(p))
		if p+chunk > v.size() {
			return nil, p, errShort
		}
		buf = append(buf, v.data[p:p+chunk]...)
		p += chunk
		done += int(chunk)
	}
	return buf, p, nil
}

// lenientBeaconSize returns the size a damaged beacon states through its
// marker count and key lengths, or 0 if that runs past the data.
func lenientBeaconSize(b []byte) int {
	if len(b) < 6 {
		return 0
	}
	n := 6
	for range int(b[5]) {
		if n >= len(b) || int(b[n]) > format.MaxStreamKeyLen {
			return 0
		}
		n += 1 + int(b[n]) + 24 + 2
	}
	if n+1 > len(b) {
		return 0
	}
	return n + 1
}

// accept records a decoded frame and checks the beacons inside it, whose
// markers already count it.
func (v *verifier) accept(f *frame) {
	id := streamID{string(f.raw.StreamKey), f.raw.ShardID}
	s := v.stream(id, true)
	internal := id.key == format.InternalStreamKey
	suspect := false
	if f.sumErr != nil {
		v.rep.add(f.start, f.sumErr)
		v.rep.Damaged = append(v.rep.Damaged, f.start)
		s.known = false // the stored checksum or the payload is wrong: which?
	}
	seq, ts := f.raw.SeqNo, f.raw.Timestamp
	if s.seen && !internal {
		switch {
		case v.opts.Strict && s.known && seq != s.lastSeq+1:
			v.rep.add(f.start, fmt.Errorf("%w: %s shard %d seq %d after %d", ErrSeqOrder, id.key, id.shard, seq, s.lastSeq))
			suspect = true
			seq = s.lastSeq + 1 // what it must have been, for what follows
		case seq <= s.lastSeq:
			v.rep.add(f.start, fmt.Errorf("%w: %s shard %d seq %d after %d", ErrSeqOrder, id.key, id.shard, seq, s.lastSeq))
			suspect = true
		}
		if v.opts.Strict && ts < s.lastTs {
			v.rep.add(f.start, fmt.Errorf("%w: %s shard %d timestamp %d after %d", ErrTimeOrder, id.key, id.shard, ts, s.lastTs))
			suspect = true
		}
	}
	s.seen = true
	s.lastSeq, s.lastTs = seq, ts
	if v.opts.Strict && !internal && s.known {
		s.maxSeq = seq
	} else {
		s.maxSeq = max(s.maxSeq, seq)
	}
	s.maxTs = max(s.maxTs, ts)
	s.sum = s.sum.Add(f.raw.Checksum)
	if f.sumErr == nil {
		v.rep.Messages = append(v.rep.Messages, Message{
			MessageHeader: format.MessageHeader{StreamKey: id.key, ShardID: id.shard, SeqNo: f.raw.SeqNo, Timestamp: f.raw.Timestamp},
			Payload:       f.raw.Payload,
			Checksum:      f.raw.Checksum,
			Offset:        f.start,
		})
		if suspect {
			v.rep.Suspect = append(v.rep.Suspect, f.start)
		}
	}
	for _, c := range f.crossed {
		if c.err != nil {
			v.rep.add(c.off, fmt.Errorf("beacon: %w", c.err))
			v.markersWritten += uint64(min(v.perBeacon, len(v.order))) // what its writer put there
			continue
		}
		if int(c.b.Remaining) != f.total-c.consumed {
			v.rep.add(c.off, fmt.Errorf("%w: says %d bytes of the message at %d remain", ErrRemaining, c.b.Remaining, f.start))
		}
		v.checkMarkers(c.off, &c.b)
	}
}

// stream returns the state of id, creating it (known while no bytes were
// skipped) when create is set.
func (v *verifier) stream(id streamID, create bool) *stream {
	if s, ok := v.streams[id]; ok || !create {
		return s
	}
	s := &stream{sum: format.NewRunningChecksum(), known: v.streamsKnown}
	v.streams[id] = s
	i, _ := slices.BinarySearchFunc(v.order, id, compareIDs)
	v.order = slices.Insert(v.order, i, id)
	return s
}

// checkMarkers checks the markers of the beacon at off against the streams.
func (v *verifier) checkMarkers(off int64, b *format.Beacon) {
	v.rep.Beacons++
	if len(b.Markers) > v.perBeacon {
		v.rep.add(off, fmt.Errorf("%w: %d markers, its writer puts at most %d in a beacon", ErrMarker, len(b.Markers), v.perBeacon))
	} else if v.opts.Strict && v.streamsKnown {
		want := min(v.perBeacon, len(v.order))
		if len(b.Markers) != want {
			v.rep.add(off, fmt.Errorf("%w: %d markers for %d streams, want %d", ErrMarker, len(b.Markers), len(v.order), want))
		} else {
			for i, m := range b.Markers {
				id := v.order[(int(v.markersWritten%uint64(len(v.order)))+i)%len(v.order)]
				if m.StreamKey != id.key || m.ShardID != id.shard {
					v.rep.add(off, fmt.Errorf("%w: marker %d is for %s shard %d, the rotation picks %s shard %d", ErrMarker, i, m.StreamKey, m.ShardID, id.key, id.shard))
					break
				}
			}
		}
	}
	v.markersWritten += uint64(len(b.Markers))
	for _, m := range b.Markers {
		v.rep.Markers++
		id := streamID{m.StreamKey, m.ShardID}
		s := v.stream(id, false)
		if s == nil {
			if v.streamsKnown {
				v.rep.add(off, fmt.Errorf("%w: marker for %s shard %d, which has no message before it", ErrMarker, id.key, id.shard))
				continue
			}
			s = v.stream(id, true) // its messages were in skipped bytes
		}
		switch {
		case !s.known:
			if s.seen && m.SeqNo < s.lastSeq && id.key != format.InternalStreamKey {
				v.rep.add(off, fmt.Errorf("%w: %s shard %d marker seq %d is behind message seq %d", ErrMarker, id.key, id.shard, m.SeqNo, s.lastSeq))
			}
			if v.opts.Strict || !s.seen {
				s.lastSeq = m.SeqNo
			}
			s.maxSeq, s.maxTs, s.sum, s.known = m.SeqNo, m.Timestamp, m.RunningChecksum, true
		case m.SeqNo != s.maxSeq || m.Timestamp != s.maxTs:
			v.rep.add(off, fmt.Errorf("%w: %s shard %d marker seq %d timestamp %d, the messages say seq %d timestamp %d", ErrMarker, id.key, id.shard, m.SeqNo, m.Timestamp, s.maxSeq, s.maxTs))
			if !v.opts.Strict {
				s.maxSeq = m.SeqNo
			}
			s.maxTs, s.sum = m.Timestamp, m.RunningChecksum
		case m.RunningChecksum != s.sum:
			v.rep.add(off, fmt.Errorf("%w: %s shard %d marker %#04x, recomputed %#04x", ErrRunningChecksum, id.key, id.shard, uint16(m.RunningChecksum), uint16(s.sum)))
			s.sum = m.RunningChecksum
		}
	}
}

// syncPoint is where decoding can start again: a frame start, after the
// beacons (their offsets in beacons) whose markers come first.
type syncPoint struct {
	pos     int64
	beacons []int64
}

// resync skips from damage at off to the next sync point at or after at.
func (v *verifier) resync(off, at int64) int64 {
	return v.skipTo(off, v.findSync(at))
}

// skipTo records the bytes from off to sp as skipped, forgets what is known
// of the streams, and checks the markers of the beacons at sp.
func (v *verifier) skipTo(off int64, sp syncPoint) int64 {
	to := sp.pos
	if len(sp.beacons) > 0 {
		to = sp.beacons[0]
	}
	if to > off {
		v.rep.Skipped = append(v.rep.Skipped, Span{off, to})
		v.rep.add(off, fmt.Errorf("%w: %d bytes up to offset %d", ErrUnreadable, to-off, to))
	}
	v.streamsKnown = false
	for _, s := range v.streams {
		s.known = false
	}
	for _, b := range sp.beacons {
		bc, _, err := format.DecodeBeacon(v.data[b:])
		if err == nil {
			v.checkMarkers(b, &bc)
		}
	}
	return sp.pos
}

// findSync returns the first offset at or after at where a whole frame
// decodes, or where a valid beacon stands, then the offset after it and the
// rest of the message it splices. It returns the end of the data when there
// is none.
func (v *verifier) findSync(at int64) syncPoint {
	for q := at; q < v.size(); q++ {
		if !v.layout.IsBoundary(q) {
			if v.frameAt(q) {
				return syncPoint{pos: q}
			}
			continue
		}
		if sp, ok := v.afterBeacon(q); ok {
			return sp
		}
	}
	return syncPoint{pos: v.size()}
}

// frameAt reports whether a whole frame, with a valid checksum, a non-empty
// key and sound beacons inside it, starts at q.
func (v *verifier) frameAt(q int64) bool {
	if v.data[q] == 0 {
		return false
	}
	f, err := v.frameWith(q, -1, 0)
	if err != nil || f.sumErr != nil {
		return false
	}
	for _, c := range f.crossed {
		if c.err != nil || int(c.b.Remaining) != f.total-c.consumed {
			return false
		}
	}
	return true
}

// afterBeacon steps over the valid beacon at the boundary q and the message
// bytes it says remain, across any further beacons.
func (v *verifier) afterBeacon(q int64) (syncPoint, bool) {
	sp := syncPoint{beacons: []int64{q}}
	b, n, err := format.DecodeBeacon(v.data[q:])
	if err != nil {
		return sp, false
	}
	p := q + int64(n)
	left := int64(b.Remaining)
	for left > 0 {
		chunk := min(left, v.layout.Room(p))
		p += chunk
		left -= chunk
		if p > v.size() {
			return sp, false
		}
		if left == 0 {
			break
		}
		b, n, err := format.DecodeBeacon(v.data[p:])
		if err != nil || int64(b.Remaining) != left {
			return sp, false
		}
		sp.beacons = append(sp.beacons, p)
		p += int64(n)
	}
	sp.pos = p
	return sp, true
}
