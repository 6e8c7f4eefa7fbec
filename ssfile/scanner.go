package ssfile

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/seastream/ss/beacon"
	"github.com/seastream/ss/format"
)

// scanner decodes the messages of a .ss file from its bytes, undoing the
// splicing by beacons. It is the core of Reader, of Append's recovery and of
// verification; it does no I/O.
type scanner struct {
	path   string
	data   []byte // the bytes of the file known so far
	layout beacon.Layout
	pos    int64 // next message start, or a boundary with a beacon before it

	keys    map[string]string // interned stream keys
	lastKey string            // the key intern returned last
	dm      beacon.Demuxer    // reads the frames
	frame   beacon.Frame      // the frame being read

	probe   bool   // a scanner of validAfter: no nested search, errors are errProbe
	lenient bool   // do not check beacons' counts of remaining bytes
	work    *int64 // a probe adds here the bytes of the frames it decodes

	lastValidAfter validAfterResult // callers retry the same offset
	splice         spliceWalk       // a probe's last walk from a beacon

	// gathered: the last message decoded was spliced by beacons, so its
	// payload is in a buffer of its own, not in data.
	gathered bool
}

// errPassed is next's error for a message the pass function passed over;
// pos is after it.
var errPassed = errors.New("ssfile: message passed over")

func newScanner(path string, data []byte, h format.Header) *scanner {
	return &scanner{
		path:   path,
		data:   data,
		layout: beacon.Layout{Interval: int64(h.BeaconInterval)},
		dm:     beacon.Demuxer{Layout: beacon.Layout{Interval: int64(h.BeaconInterval)}},
		pos:    format.HeaderSize,
		keys:   make(map[string]string),
	}
}

// errShort means the data ends before the message does.
var errShort = format.ErrShortInput

// errProbe is what a probe returns for a frame that does not read: the
// search of validAfter tries a frame at almost every offset, and only needs
// to know that it fails, not why; building an error that says why would
// cost more than the rest of the try. It never leaves the package.
var errProbe = errors.New("ssfile: no valid frame here")

// corrupt is the package's corrupt for the frame or beacon at off, or
// errProbe in a probe.
func (s *scanner) corrupt(off int64, err error) error {
	if s.probe {
		return errProbe
	}
	return corrupt(s.path, off, err)
}

// next decodes the message at pos and moves past it. When the data ends
// first it returns errShort and pos stays. A damaged message returns an error
// matching ErrCorrupt with pos unchanged.
func (s *scanner) next() (Message, error) {
	var m Message
	if err := s.read(&m, true, nil); err != nil {
		return Message{}, err
	}
	return m, nil
}

// nextPassing is next decoding into m, asking pass about the message first:
// one it reports true for is passed over (its payload not verified) and
// nextPassing returns errPassed with pos after it. pass is an argument, not
// scanner state, so that a read cut short (a fault the guard recovers)
// leaves nothing behind for the reads that follow, such as a Seek's. m is
// written only when nextPassing returns nil: the Reader's hot path, which
// decodes into the message it returns rather than copying it up through
// each call.
func (s *scanner) nextPassing(m *Message, pass func(h *format.MessageHeader, offset int64) bool) error {
	return s.read(m, true, pass)
}

// skip is next without verifying the payload checksum, to pass over messages
// that are not handed out.
func (s *scanner) skip() (Message, error) {
	var m Message
	if err := s.read(&m, false, nil); err != nil {
		return Message{}, err
	}
	return m, nil
}

// read decodes the message at pos into m (written only on success) and
// moves past it; see next, nextPassing and skip.
func (s *scanner) read(m *Message, verify bool, pass func(h *format.MessageHeader, offset int64) bool) error {
	p, err := s.skipBeacon(s.pos, 0)
	if err != nil {
		return err
	}
	s.dm.Inner = nil // strict
	if s.lenient {
		s.dm.Inner = beacon.LenientInner
	}
	f := &s.frame
	if !s.dm.Header(s.data, p, f) {
		return s.damaged(f, verify)
	}
	// The header is decoded once, here: the pass function needs it before
	// the payload is read.
	passed := false
	if verify && pass != nil && !s.probe {
		h := format.MessageHeader{StreamKey: s.intern(f.Raw.StreamKey), ShardID: f.Raw.ShardID, SeqNo: f.Raw.SeqNo, Timestamp: f.Raw.Timestamp}
		if passed = pass(&h, p); passed {
			verify = false
		}
	}
	// A spliced frame is gathered into a buffer of its own: its payload is
	// handed out.
	if _, ok := s.dm.Body(s.data, f, nil); !ok {
		return s.damaged(f, verify)
	}
	if s.probe {
		// Checked here rather than by Verify, whose *ChecksumError a
		// probe would only drop.
		*s.work += int64(f.Size)
		if verify && format.Checksum(f.Raw.Payload) != f.Raw.Checksum {
			return errProbe
		}
	} else if verify {
		if err := f.Raw.Verify(); err != nil {
			return s.corrupt(p, err)
		}
	}
	s.pos = f.End
	if passed {
		return errPassed
	}
	s.gathered = f.Gathered
	*m = Message{
		MessageHeader: format.MessageHeader{StreamKey: s.intern(f.Raw.StreamKey), ShardID: f.Raw.ShardID, SeqNo: f.Raw.SeqNo, Timestamp: f.Raw.Timestamp},
		Payload:       f.Raw.Payload,
		Checksum:      f.Raw.Checksum,
		Offset:        p,
	}
	return nil
}

// damaged is the scanner's policy for a frame the Demuxer could not read:
// it stops there, with errShort for the end of a write in progress (or torn
// by a crash), else an error matching ErrCorrupt that says what is wrong.
func (s *scanner) damaged(f *beacon.Frame, verify bool) error {
	switch f.Damage {
	case beacon.Short:
		if f.Beacons > 0 && !s.lenient {
			// A beacon inside the frame counted the bytes its size field
			// says remain: the size is right, and this is a write in
			// progress (or torn), however the bytes after it read. Not
			// searched (see short).
			return errShort
		}
		return s.short(f.Start, errShort, verify)
	case beacon.BadBeacon:
		if s.probe {
			return errProbe
		}
		return corrupt(s.path, f.At, fmt.Errorf("beacon: %w", f.Err))
	case beacon.BadRemaining:
		if s.probe {
			return errProbe
		}
		info, _ := format.ScanBeacon(s.data[f.At:])
		return corrupt(s.path, f.At, fmt.Errorf("beacon says %d bytes of a message remain, the message has %d", info.Remaining, f.Want))
	}
	return s.corrupt(f.Start, f.Err)
}

// intern returns the stream key as a string, one per key. The last key
// is checked first: a file mostly holds runs of one stream, and comparing
// a few bytes costs less than hashing them for the map.
func (s *scanner) intern(raw []byte) string {
	if s.lastKey == string(raw) {
		return s.lastKey
	}
	key, ok := s.keys[string(raw)]
	if !ok {
		key = string(raw)
		s.keys[key] = key
	}
	s.lastKey = key
	return key
}

// skipBeacon returns the offset after the beacon at p, or p when p is not a
// boundary. remaining, when not -1, is what the beacon must say remains of
// the spliced message.
func (s *scanner) skipBeacon(p int64, remaining int) (int64, error) {
	if !s.layout.IsBoundary(p) {
		return p, nil
	}
	info, err := format.ScanBeacon(s.data[min(p, int64(len(s.data))):])
	if err != nil {
		if errors.Is(err, format.ErrShortInput) {
			return p, errShort
		}
		if s.probe {
			return p, errProbe
		}
		return p, corrupt(s.path, p, fmt.Errorf("beacon: %w", err))
	}
	if remaining >= 0 && int(info.Remaining) != remaining && !s.lenient {
		if s.probe {
			return p, errProbe
		}
		return p, corrupt(s.path, p, fmt.Errorf("beacon says %d bytes of a message remain, the message has %d", info.Remaining, remaining))
	}
	return p + int64(info.Size), nil
}

// seekBeacon moves to the first message starting after beacon n (n = 0: the
// first message of the file), skipping the rest of the message it splices.
func (s *scanner) seekBeacon(n int) error {
	if n == 0 {
		s.pos = format.HeaderSize
		return nil
	}
	p := s.layout.Offset(n)
	if c := s.splice; s.probe && c.size == len(s.data) && c.from < p && p < c.upto {
		// Inside a splice a walk from an earlier beacon checked:
		// beacon n agrees with it, so the walk from n ends the same.
		if c.err == nil {
			s.pos = c.land
		}
		return c.err
	}
	land, upto, err := s.walkSplice(n)
	if s.probe && !s.lenient {
		s.splice = spliceWalk{from: p, upto: upto, land: land, err: err, size: len(s.data)}
	}
	if err == nil {
		s.pos = land
	}
	return err
}

// spliceWalk is a probe's last walk from a beacon over the message it
// splices: the searches of validAfter and validDataAfter try every beacon
// in turn, and the beacons inside one large message would each walk the
// rest of it again (quadratic in its length).
type spliceWalk struct {
	from, upto int64 // the beacon walked from; the first boundary not checked
	land       int64 // the message start after the splice
	err        error
	size       int // len(data) when walked
}

// walkSplice walks from beacon n over the rest of the message it splices
// (beacon.Demuxer.Landing), checking each beacon's count of what remains.
// It returns the offset after the splice, and the first boundary it did not
// check (where it failed, or that offset).
func (s *scanner) walkSplice(n int) (land, upto int64, err error) {
	p := s.layout.Offset(n)
	land, dmg, at, cause := s.dm.Landing(s.data, p, nil)
	switch {
	case dmg == beacon.Intact:
		return land, land, nil
	case dmg == beacon.Short:
		return at, at, errShort
	case s.probe:
		return at, at, errProbe
	case at == p:
		return p, p, corrupt(s.path, p, fmt.Errorf("beacon %d: %w", n, cause))
	case dmg == beacon.BadRemaining:
		info, _ := format.ScanBeacon(s.data[at:])
		return at, at, corrupt(s.path, at, fmt.Errorf("beacon says %d bytes of a message remain, which does not go on with the message beacon %d splices", info.Remaining, n))
	}
	return at, at, corrupt(s.path, at, fmt.Errorf("beacon: %w", cause))
}

func be32(b []byte) uint32 {
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

// atEnd reports whether nothing but a complete beacon remains after pos.
func (s *scanner) atEnd() bool {
	p, err := s.skipBeacon(s.pos, -1)
	return err == nil && p >= int64(len(s.data))
}

// scanTo moves to the first message matching t, passing over the others
// without verifying checksums or decoding more than their headers: this is
// the scan that follows the beacon search of a seek. Frames spliced by a
// beacon take the general path.
func (s *scanner) scanTo(t Target) error {
	for {
		at := s.pos
		p, err := s.skipBeacon(at, 0)
		if err != nil {
			return err
		}
		n := int64(len(s.data))
		if p >= n {
			return errShort
		}
		k := int64(s.data[p])
		headLen := 1 + k + 28
		room := s.layout.Room(p)
		if headLen <= room && p+headLen <= n {
			h := s.data[p : p+headLen]
			total := headLen + int64(be32(h[1+k+24:])) + 3
			if total <= room {
				if p+total > n {
					return errShort
				}
				key := h[1 : 1+k]
				if s.data[p+total-1] != format.Terminator || !format.ValidStreamKey(key) {
					return corrupt(s.path, p, format.ErrTerminator)
				}
				if string(key) == t.StreamKey && t.matchesFields(be64(h[1+k:]), be64(h[1+k+8:]), be64(h[1+k+16:])) {
					return nil
				}
				s.pos = p + total
				continue
			}
		}
		m, err := s.skip() // spliced, or near the end of the data
		if err != nil {
			return err
		}
		if t.matches(&m) {
			s.pos = at
			return nil
		}
	}
}

func be64(b []byte) uint64 { return uint64(be32(b))<<32 | uint64(be32(b[4:])) }

// short decides what a frame at p that the data does not hold is: the end of
// a write still in progress (or torn by a crash), unless valid messages
// follow it up to the end of the data, which shows that its size field is
// damaged.
func (s *scanner) short(p int64, err error, verify bool) error {
	// Only for messages handed out: a seek passing over frames stops at
	// the data's end either way, and the search is not free.
	if !verify || !errors.Is(err, errShort) || s.probe || !s.validAfter(p) {
		return err
	}
	// Not wrapping format.ErrShortInput: this is damage, not a short read.
	return corrupt(s.path, p, errors.New("the message's size reaches past the end of the data, yet valid messages follow it: its header is damaged"))
}

// validAfter reports whether, from some offset after p, messages decode and
// verify without a gap up to the end of the data. A write in progress or torn
// by a crash leaves only a prefix of one frame after p, which such a chain
// could match only if that frame's payload held frames itself, ending right
// at the cut. The frame at p itself counts when only a beacon's count of its
// remaining bytes is wrong: then the beacon is damaged, not the message.
func (s *scanner) validAfter(p int64) bool {
	end := int64(len(s.data))
	if c := s.lastValidAfter; c.at == p && c.end == end {
		return c.valid
	}
	valid := s.survivesBeacon(p) || s.chainAfter(p)
	s.lastValidAfter = validAfterResult{p, end, valid}
	return valid
}

type validAfterResult struct {
	at, end int64
	valid   bool
}

// chainAfter is the search of validAfter, beacon.ChainSearch with the
// reader's rules: a chain starts at p (its frame read leniently: only a
// beacon's count may be what is wrong), at the message after the splice a
// beacon position ends, or at an offset whose bytes may start a frame
// (mayStart); its frames must decode and verify; it must reach the end of
// the data after at least one frame. The search is linear in the bytes
// after p (see ChainSearch): most offsets fail in a few bytes, without
// building an error (see errProbe), and the checksums of frames that
// overlap, which damage crafted to that end could make quadratic, count
// against an allowance of a few times the searched length, past which the
// search gives up and finds nothing; Append's look for messages after the
// beacons (validDataAfter) still protects those.
func (s *scanner) chainAfter(p int64) bool {
	end := int64(len(s.data))
	var work int64
	probe := scanner{path: s.path, data: s.data, layout: s.layout, dm: beacon.Demuxer{Layout: s.layout}, keys: s.keys, probe: true, work: &work}
	iv := s.layout.Interval
	next := (p/iv + 1) * iv // the next beacon position, kept without a division per offset
	var c beacon.ChainSearch
	c.Next = func(q int64) (int64, int64, bool) {
		for ; q < end; q++ {
			if q == next {
				next += iv
			}
			if c.Dead(q) {
				continue
			}
			probe.lenient = q == p
			switch {
			case q == p:
				return q, q, true
			case q == next-iv:
				if probe.seekBeacon(int(q/iv)) == nil {
					return q, probe.pos, true
				}
			case s.mayStart(q, next-q):
				return q, q, true
			}
		}
		return end, end, false
	}
	c.Step = func(q int64, first bool) (int64, beacon.Verdict, int64) {
		probe.pos = q
		if !first && probe.atEnd() {
			return q, beacon.Found, 0
		}
		before := work
		if _, err := probe.next(); err != nil {
			return q, beacon.Failed, work - before
		}
		return probe.pos, beacon.Continue, work - before
	}
	_, found, _ := c.Find(p, end, end, 4*(end-p)+1<<20)
	return found
}

// mayStart checks, on the bytes in place, what rules out a message frame
// at q, which is not a beacon position and has room bytes before the next:
// its key length and characters, its timestamp, and, when the frame is not
// spliced by a beacon, the 0x0D where its size field ends it. A frame that
// passes may still fail to read.
func (s *scanner) mayStart(q, room int64) bool {
	data := s.data
	k := int64(data[q])
	headLen := 1 + k + 28
	if k > format.MaxStreamKeyLen {
		return false
	}
	if headLen > room || q+headLen > int64(len(data)) {
		// The header is split, or cut: the probe reads it.
		return q+1+k <= int64(len(data)) && format.ValidStreamKey(data[q+1:q+1+k])
	}
	h := data[q : q+headLen]
	total := headLen + int64(binary.BigEndian.Uint32(h[headLen-4:])) + 3
	if total <= room && q+total <= int64(len(data)) && data[q+total-1] != format.Terminator {
		return false // the commonest way out, so first
	}
	// Otherwise spliced, past the end (the probe's walk decides), or with
	// its 0x0D in place.
	return binary.BigEndian.Uint64(h[headLen-12:]) <= format.MaxTimestamp && format.ValidStreamKey(h[1:1+k])
}

// survivesBeacon reports whether the frame at p, spliced by one beacon whose
// structure is damaged, verifies for some size of that beacon: then the
// message is intact and only the beacon is damaged. Torn writes only cut a
// file short, so a damaged beacon is never the sign of one.
func (s *scanner) survivesBeacon(p int64) bool {
	end := int64(len(s.data))
	p, err := s.skipBeacon(p, -1)
	if err != nil || p >= end {
		return false
	}
	k := int64(s.data[p])
	headLen := 1 + k + 28
	boundary := p + s.layout.Room(p)
	if p+headLen > min(boundary, end) {
		return false // the header itself is split: not worth guessing
	}
	total := headLen + int64(be32(s.data[p+1+k+24:])) + 3
	before := boundary - p
	rest := total - before
	if rest <= 0 {
		return false // not spliced
	}
	maxBeacon := int64(7 + format.MarkersPerBeacon(uint32(s.layout.Interval))*format.MaxMarkerSize)
	var frame []byte
	for size := int64(7); size <= maxBeacon; size++ {
		tail := boundary + size
		if tail+rest > end {
			return false
		}
		if rest > s.layout.Room(tail) || s.data[tail+rest-1] != format.Terminator {
			continue // one beacon only; and the frame must end in 0x0D
		}
		frame = append(append(frame[:0], s.data[p:boundary]...), s.data[tail:tail+rest]...)
		if _, _, err := format.DecodeMessage(frame); err == nil {
			return true
		}
	}
	return false
}
