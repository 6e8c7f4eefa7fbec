package beacon

import (
	"errors"

	"github.com/seastream/ss/format"
)

// Damage says why a frame does not read.
type Damage uint8

const (
	// Intact: the frame reads (its payload checksum is the caller's to check).
	Intact Damage = iota
	// Short: the data ends inside the frame, or inside a beacon that
	// splices it: a write in progress or torn by a crash, unless the caller
	// finds valid data after it.
	Short
	// BadHeader: the message header does not decode (the key's length or
	// characters, the timestamp).
	BadHeader
	// BadBeacon: a beacon that splices the frame does not read.
	BadBeacon
	// BadRemaining: a beacon that splices the frame counts other than the
	// frame bytes its size field leaves after it.
	BadRemaining
	// BadTerminator: no 0x0D where the size field ends the frame.
	BadTerminator
)

var damageNames = [...]string{"intact", "short", "bad header", "bad beacon", "bad remaining count", "bad terminator"}

func (d Damage) String() string {
	if int(d) < len(damageNames) {
		return damageNames[d]
	}
	return "damage(?)"
}

// Splice is a beacon inside a frame, as the Demuxer meets it.
type Splice struct {
	Off       int64 // where the beacon starts
	Done      int   // frame bytes before it
	Remaining int   // frame bytes after it; -1 while the header that gives the frame's size is read
	// Head holds the header bytes read so far while Remaining is -1, the
	// whole header after.
	Head []byte
}

// InnerFunc reads the beacon s inside a frame of data and returns its size,
// or why it does not read (with a cause, which may be nil). It is the
// caller's policy for those beacons: check strictly, leniently, or step
// over unreadable ones by sizes the writer's rules give.
type InnerFunc func(data []byte, s *Splice) (size int64, d Damage, cause error)

// StrictInner reads a beacon inside a frame by its structure, and checks
// that it counts the frame bytes that remain after it (once they are known).
func StrictInner(data []byte, s *Splice) (int64, Damage, error) {
	info, d, err := scanInner(data, s.Off)
	if d == Intact && s.Remaining >= 0 && int(info.Remaining) != s.Remaining {
		return 0, BadRemaining, nil
	}
	return int64(info.Size), d, err
}

// LenientInner is StrictInner without the check of the count of remaining
// bytes: for a frame whose beacon may be the damaged part.
func LenientInner(data []byte, s *Splice) (int64, Damage, error) {
	info, d, err := scanInner(data, s.Off)
	return int64(info.Size), d, err
}

func scanInner(data []byte, off int64) (format.BeaconInfo, Damage, error) {
	info, err := format.ScanBeacon(data[min(off, int64(len(data))):])
	switch {
	case err == nil:
		return info, Intact, nil
	case errors.Is(err, format.ErrShortInput):
		return info, Short, err
	}
	return info, BadBeacon, err
}

// Frame is one message frame as a Demuxer reads it.
type Frame struct {
	// Raw is the message. Its key aliases the data, or the Demuxer's
	// scratch when a beacon splits the header (valid until its next use);
	// its payload aliases the data, or the buffer Body returned when
	// Gathered.
	Raw   format.RawMessage
	Start int64 // where the frame starts
	// End is where the frame ends, beacons inside it included; for a Short
	// frame, the end of the data.
	End     int64
	HeadLen int  // header bytes, the payload size field included
	Size    int  // frame bytes, beacons excluded (0 until the header is read)
	Beacons int  // beacons inside the frame read so far
	Spliced bool // a beacon lies inside the frame
	// Gathered: the frame was copied out from around its beacons.
	Gathered bool

	// When the frame does not read: what, at which offset (the frame's
	// start, or the beacon inside it), the cause if any; for BadRemaining
	// the count the frame needs there, for Short the frame bytes the data
	// holds.
	Damage Damage
	At     int64
	Err    error
	Want   int
	Have   int64

	head []byte // the header, in data or in the Demuxer's scratch
}

func (f *Frame) fail(d Damage, at int64, err error) bool {
	f.Damage, f.At, f.Err = d, at, err
	return false
}

// Demuxer reads message frames back out of the bytes of a .ss file, the
// inverse of Muxer: it follows a frame across the beacons that splice it,
// gathers its bytes when beacons split them, decodes it, and classifies
// what does not read. It is pure: no I/O, no state between frames but
// scratch buffers. What to do with damage is its callers' policy: ssfile
// stops at it, internal/sscheck reports it and resynchronises. It is not
// safe for concurrent use.
type Demuxer struct {
	Layout Layout
	// Inner reads the beacons inside frames; nil is StrictInner.
	Inner InnerFunc

	scratch []byte  // a header split by a beacon
	sizes   []int64 // the sizes of the beacons inside the frame being read
	splice  Splice
}

// NewDemuxer returns a Demuxer for a file of the given beacon interval.
func NewDemuxer(interval uint32) *Demuxer {
	return &Demuxer{Layout: Layout{Interval: int64(interval)}}
}

func (d *Demuxer) inner(data []byte, s *Splice) (int64, Damage, error) {
	if d.Inner == nil {
		return StrictInner(data, s)
	}
	return d.Inner(data, s)
}

// Frame reads the frame at p, which is a message start (not a beacon), into
// f: Header, then Body. It reports whether the frame reads; f says why
// not.
func (d *Demuxer) Frame(data []byte, p int64, f *Frame, buf []byte) ([]byte, bool) {
	if !d.Header(data, p, f) {
		return buf, false
	}
	return d.Body(data, f, buf)
}

// Header reads the header of the frame at p into f (Raw's key, shard, seq
// and timestamp, HeadLen, Size), gathering it across the beacons that
// split it, and reports whether it reads. It is enough to decide whether
// the frame is wanted before its payload is read.
func (d *Demuxer) Header(data []byte, p int64, f *Frame) bool {
	*f = Frame{Start: p, End: p}
	n := int64(len(data))
	if p >= n {
		f.End = n
		return f.fail(Short, p, format.ErrShortInput)
	}
	f.Have = n - p // until the header is known
	k := int(data[p])
	if k > format.MaxStreamKeyLen {
		return f.fail(BadHeader, p, format.ErrInvalidStreamKey)
	}
	f.HeadLen = 1 + k + 24 + 4
	var head []byte
	if room := d.Layout.Room(p); int64(f.HeadLen) <= room {
		head = data[p:min(p+int64(f.HeadLen), n)]
	} else {
		var ok bool
		if head, ok = d.gatherHead(data, f); !ok {
			return false
		}
	}
	hn, err := format.DecodeMessageHeader(head, &f.Raw)
	if err != nil {
		if errors.Is(err, format.ErrShortInput) {
			f.End = n
			return f.fail(Short, p, err)
		}
		return f.fail(BadHeader, p, err)
	}
	f.head = head
	f.Size = hn + 4 + int(be32(head[hn:])) + 3
	return true
}

// gatherHead copies out the header of f, which a beacon splits, into the
// scratch buffer.
func (d *Demuxer) gatherHead(data []byte, f *Frame) ([]byte, bool) {
	n := int64(len(data))
	buf := d.scratch[:0]
	defer func() { d.scratch = buf }()
	s := &d.splice
	for p := f.Start; ; {
		chunk := min(int64(f.HeadLen-len(buf)), d.Layout.Room(p))
		if p+chunk > n {
			f.End, f.Have = n, int64(len(buf))+n-p
			return nil, f.fail(Short, p, format.ErrShortInput)
		}
		buf = append(buf, data[p:p+chunk]...)
		p += chunk
		if len(buf) == f.HeadLen {
			return buf, true
		}
		*s = Splice{Off: p, Done: len(buf), Remaining: -1, Head: buf}
		size, dmg, err := d.inner(data, s)
		if dmg != Intact {
			if dmg == Short {
				f.End = n
			}
			return nil, f.fail(dmg, p, err)
		}
		p += size
	}
}

// Body reads the rest of the frame whose header Header read into f: it
// follows the frame across the beacons inside it (each read by Inner)
// before copying anything, so that a damaged size field costs no
// allocation, then decodes it, in place when no beacon splits it, else
// gathered into buf (appended from buf[:0], grown to the frame's size, and
// returned). It reports whether the frame reads; the payload checksum is
// not checked.
func (d *Demuxer) Body(data []byte, f *Frame, buf []byte) ([]byte, bool) {
	n := int64(len(data))
	p, total := f.Start, int64(f.Size)
	if total <= d.Layout.Room(p) {
		// The common case: no beacon inside, decoded in place.
		if p+total > n {
			f.End, f.Have = n, n-p
			return buf, f.fail(Short, p, format.ErrShortInput)
		}
		f.End = p + total
		return buf, d.rest(data[p:f.End], f)
	}
	f.Spliced = true
	d.sizes = d.sizes[:0]
	s := &d.splice
	q := p
	for done := int64(0); ; {
		chunk := min(total-done, d.Layout.Room(q))
		if q+chunk > n {
			f.End, f.Have = n, done+n-q
			return buf, f.fail(Short, q, format.ErrShortInput)
		}
		q += chunk
		done += chunk
		if done == total {
			break
		}
		*s = Splice{Off: q, Done: int(done), Remaining: int(total - done), Head: f.head}
		size, dmg, err := d.inner(data, s)
		if dmg != Intact {
			if dmg == Short {
				f.End = n
			}
			f.Want = s.Remaining
			return buf, f.fail(dmg, q, err)
		}
		d.sizes = append(d.sizes, size)
		f.Beacons++
		q += size
	}
	f.End = q
	if int64(cap(buf)) < total {
		buf = make([]byte, 0, total) // not slices.Grow, which clears it first
	}
	buf = buf[:0]
	q = p
	for i := 0; ; i++ {
		chunk := min(total-int64(len(buf)), d.Layout.Room(q))
		buf = append(buf, data[q:q+chunk]...)
		if int64(len(buf)) == total {
			break
		}
		q += chunk + d.sizes[i]
	}
	f.Gathered = true
	if cap(d.sizes) > 1<<16 {
		d.sizes = nil // a very large frame's: not kept
	}
	return buf, d.rest(buf, f)
}

// rest decodes the frame's bytes after its header.
func (d *Demuxer) rest(frame []byte, f *Frame) bool {
	if _, err := format.DecodeMessageRest(frame, f.HeadLen-4, &f.Raw); err != nil {
		if errors.Is(err, format.ErrTerminator) {
			return f.fail(BadTerminator, f.Start, err)
		}
		return f.fail(BadHeader, f.Start, err)
	}
	return true
}

func be32(b []byte) uint32 {
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

// Landing follows, from the beacon at off, the rest of the frame it
// splices (its count of remaining bytes), across the beacons after it, each
// of which must count what remains, to where the next message starts (or
// the next beacon position, or the end of the data). It is how a reader
// starts at a beacon: to seek, and to resume after damage. visit, when not
// nil, gets the offset of each beacon passed, off first. When the walk
// breaks, it returns the damage and the offset of the beacon that broke it
// (Short when the data ends first).
func (d *Demuxer) Landing(data []byte, off int64, visit func(off int64)) (land int64, damage Damage, at int64, cause error) {
	n := int64(len(data))
	info, dmg, err := scanInner(data, off)
	if dmg != Intact {
		return off, dmg, off, err
	}
	if visit != nil {
		visit(off)
	}
	p := off + int64(info.Size)
	for left := int64(info.Remaining); left > 0; {
		chunk := min(left, d.Layout.Room(p))
		p += chunk
		left -= chunk
		if left == 0 {
			break
		}
		bi, dmg, err := scanInner(data, p)
		if dmg != Intact {
			return p, dmg, p, err
		}
		if int64(bi.Remaining) != left {
			return p, BadRemaining, p, nil
		}
		if visit != nil {
			visit(p)
		}
		p += int64(bi.Size)
	}
	if p > n {
		return p, Short, p, format.ErrShortInput
	}
	return p, Intact, 0, nil
}
