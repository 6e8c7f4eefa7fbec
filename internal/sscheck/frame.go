package sscheck

import (
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/seastream/ss/beacon"
	"github.com/seastream/ss/format"
)

// Reading one frame, across the beacons inside it, guessing the sizes of
// unreadable ones.

// Frame statuses.
const (
	frameOK        = iota
	frameChecksum  // intact frame, payload fails its checksum
	frameShort     // the file ends inside the frame
	frameBroken    // unreadable
	frameAmbiguous // an unreadable beacon inside has several possible sizes
)

// guess is a possible size of an unreadable beacon, with its marker count.
type guess struct {
	size  int64
	count int
}

// maxGuessDepth bounds how many ambiguous beacons one frame may hold.
const maxGuessDepth = 3

// readFrame reads the frame at p (see frame), trying each possible size of
// an unreadable beacon inside it until the frame reads well.
func (w *walker) readFrame(p int64, written uint64) frameResult {
	w.tries = maxTries
	return w.readFrameWith(p, written, nil)
}

// maxTries bounds how many times one frame is read again with guessed
// beacon sizes, as each reading may gather a large frame.
const maxTries = 12

func (w *walker) readFrameWith(p int64, written uint64, force map[int64]guess) frameResult {
	f := w.frame(p, written, force)
	if f.status == frameBroken || f.status == frameShort {
		if r, ok := w.resize(p, written, force, &f); ok {
			return r
		}
		return f
	}
	if f.status != frameAmbiguous {
		return f
	}
	at, guesses := f.badBeacon, f.guesses
	if len(force) < maxGuessDepth {
		var fallback map[int64]guess
		for _, g := range guesses {
			if w.tries--; w.tries < 0 {
				break
			}
			try := maps.Clone(force)
			if try == nil {
				try = make(map[int64]guess)
			}
			try[at] = g
			r := w.readFrameWith(p, written, try)
			if r.status == frameOK {
				return r
			}
			if r.status == frameChecksum && fallback == nil {
				fallback = try
			}
		}
		if fallback != nil {
			return w.readFrameWith(p, written, fallback) // again, as later tries reused the buffers
		}
	}
	if f.badErr == errShort {
		f.status, f.err = frameShort, fmt.Errorf("the file ends inside the beacon at offset %d that splices it", at)
		return w.shortOrBroken(f)
	}
	f.status = frameBroken
	f.err = fmt.Errorf("the beacon at offset %d that splices it is unreadable, and no size the writer's rules allow for it makes the frame read well", at)
	return f
}

// innerBeacon is a beacon that splices a frame.
type innerBeacon struct {
	off       int64
	b         format.Beacon
	done      int   // frame bytes before it
	predicted bool  // unreadable, stepped over by the writer's rules
	count     int   // markers predicted
	err       error // why it is unreadable

	// For a readable one: its size, and what its size should be computed from.
	size    int64
	written uint64
	id      *streamID
}

type frameResult struct {
	status    int
	keyLen    int
	guesses   []guess // frameAmbiguous: the sizes to try for badBeacon
	raw       format.RawMessage
	total     int   // frame size, beacons excluded
	end       int64 // where the frame ends, beacons included
	inner     []innerBeacon
	mismatch  int // the first inner beacon whose remaining count disagrees, or -1
	agree     int // inner beacons whose remaining count agrees with the size field
	err       error
	badBeacon int64 // an unreadable beacon that stopped the frame, or -1
	badErr    error
}

// frame reads the frame at p, which is not a beacon position, without
// changing the scan's state. written is the count of markers before it, to
// predict the size of an unreadable beacon inside it; force gives the sizes
// to use for some. beacon.Demuxer reads it; this walker's policy for the
// beacons inside (spliceBeacon) steps over unreadable ones by the sizes the
// writer's rules give and tolerates one that miscounts, and the statuses
// say what the scan makes of the rest.
func (w *walker) frame(p int64, written uint64, force map[int64]guess) frameResult {
	w.cur = frameResult{mismatch: -1, badBeacon: -1, inner: w.inner[:0]}
	f := &w.cur // the walker's, so that spliceBeacon fills it without an allocation
	keyLen := int(w.data[p])
	f.keyLen = keyLen
	if keyLen > format.MaxStreamKeyLen {
		f.status, f.err = frameBroken, fmt.Errorf("stream key length %d is more than %d", keyLen, format.MaxStreamKeyLen)
		return *f
	}
	// The header pass only needs the beacons' sizes; the body pass, with
	// the frame's size known, records them (see spliceBeacon).
	w.fw = frameWalk{written: written, force: force, keyLen: keyLen}
	df := &w.df
	if !w.dm.Header(w.data, p, df) {
		return w.damaged(f, df)
	}
	f.total = df.Size
	w.fw = frameWalk{written: written, force: force, keyLen: keyLen, record: true}
	var ok bool
	w.buf, ok = w.dm.Body(w.data, df, w.buf)
	w.inner = f.inner
	if !ok {
		return w.damaged(f, df)
	}
	f.raw = df.Raw
	f.end = df.End
	return w.decode(*f, f.raw.Verify())
}

// frameWalk is what spliceBeacon knows of the frame being read (w.cur).
type frameWalk struct {
	written uint64          // markers before the next beacon
	force   map[int64]guess // sizes to use for some beacons
	keyLen  int
	record  bool // the body pass: record the beacons in w.cur
	id      streamID
	known   bool // id holds the frame's stream
	short   bool // the file ends inside a beacon
	guessed bool // a beacon is unreadable and has several possible sizes
}

var errInnerStop = errors.New("sscheck: frame stopped at a beacon")

// spliceBeacon is the walker's policy for a beacon inside a frame (see
// beacon.InnerFunc).
func (w *walker) spliceBeacon(data []byte, s *beacon.Splice) (int64, beacon.Damage, error) {
	fw := &w.fw
	f := &w.cur
	q := s.Off
	if !fw.known && len(s.Head) >= 1+fw.keyLen+8 && format.ValidStreamKey(s.Head[1:1+fw.keyLen]) {
		fw.id = streamID{string(s.Head[1 : 1+fw.keyLen]), binary.BigEndian.Uint64(s.Head[1+fw.keyLen:])}
		fw.known = true
	}
	var id *streamID
	if fw.known {
		id = &fw.id
	}
	b, n, err := w.beaconAt(q)
	if g, ok := fw.force[q]; ok && err == nil {
		// It reads, but a damaged count or key length may make it read
		// at a wrong size: use the rules' size.
		err = fmt.Errorf("it reads as %d bytes, not the %d the writer's rules give it", n, g.size)
	}
	if err == errShort && !w.rotation {
		fw.short = true
		return 0, beacon.Short, errInnerStop
	}
	if err != nil {
		// Unreadable, or reading past the end of the file: a torn tail,
		// or damage to its marker count.
		g, ok := fw.force[q]
		if !ok {
			f.badBeacon, f.badErr = q, err
			if !w.rotation {
				return 0, beacon.BadBeacon, errInnerStop
			}
			f.guesses = w.guessBeacon(f.guesses[:0], fw.written, id, fw.keyLen)
			if len(f.guesses) != 1 {
				fw.guessed = true
				return 0, beacon.BadBeacon, errInnerStop
			}
			g = f.guesses[0]
			f.badBeacon, f.badErr = -1, nil
		}
		if fw.record {
			f.inner = append(f.inner, innerBeacon{off: q, done: s.Done, predicted: true, count: g.count, err: err})
		}
		fw.written += uint64(g.count)
		return g.size, beacon.Intact, nil
	}
	if fw.record {
		ib := innerBeacon{off: q, b: b, done: s.Done, size: n, written: fw.written}
		if id != nil {
			ib.id = &streamID{id.key, id.shard}
		}
		f.inner = append(f.inner, ib)
		if int(b.Remaining) == s.Remaining {
			f.agree++
		} else {
			if f.mismatch >= 0 {
				// A second beacon disagrees: the size field is what is
				// wrong. Stop before gathering more.
				return 0, beacon.BadRemaining, errInnerStop
			}
			f.mismatch = len(f.inner) - 1
		}
	}
	fw.written += uint64(len(b.Markers))
	return n, beacon.Intact, nil
}

// damaged makes the frameResult of a frame the Demuxer could not read.
func (w *walker) damaged(f *frameResult, df *beacon.Frame) frameResult {
	fw := &w.fw
	switch {
	case df.Damage == beacon.Short && fw.short:
		f.status, f.err = frameShort, fmt.Errorf("the file ends inside the beacon at offset %d that splices it", df.At)
		return w.shortOrBroken(*f)
	case df.Damage == beacon.Short, df.Damage == beacon.BadHeader && df.Start+int64(df.HeadLen) > w.size:
		// A header the file ends inside is torn, whatever its bytes.
		f.status = frameShort
		if df.Size == 0 {
			f.err = fmt.Errorf("the file ends inside its header")
		} else {
			f.err = fmt.Errorf("its frame needs %d bytes, the file has %d of them", df.Size, df.Have)
		}
		return w.shortOrBroken(*f)
	case df.Damage == beacon.BadHeader:
		f.status, f.err = frameBroken, fmt.Errorf("bad message header: %w", df.Err)
	case fw.guessed:
		f.status = frameAmbiguous
	case df.Damage == beacon.BadBeacon:
		f.status, f.err = frameBroken, fmt.Errorf("the beacon at offset %d that splices it is unreadable", df.At)
	case df.Damage == beacon.BadRemaining:
		f.status, f.err = frameBroken, w.mismatchErr(f)
	case df.Damage == beacon.BadTerminator:
		return w.decode(*f, df.Err)
	default:
		f.status, f.err = frameBroken, df.Err
	}
	return *f
}

// shortOrBroken decides a frame the file ends inside: torn, unless a beacon
// already disagreed with its size, which then is what is wrong.
func (w *walker) shortOrBroken(f frameResult) frameResult {
	if f.mismatch >= 0 {
		f.status, f.err = frameBroken, w.mismatchErr(&f)
	}
	return f
}

func (w *walker) mismatchErr(f *frameResult) error {
	ib := &f.inner[f.mismatch]
	return fmt.Errorf("its size field makes the frame %d bytes, so %d should remain at the beacon at offset %d, which says %d",
		f.total, f.total-ib.done, ib.off, ib.b.Remaining)
}

// decode decides a frame whose bytes read, with err the error of its
// payload checksum or of its terminator.
func (w *walker) decode(f frameResult, err error) frameResult {
	var ce *format.ChecksumError
	switch {
	case err == nil:
		f.status = frameOK
	case errors.As(err, &ce) && (f.mismatch < 0 || f.agree > 0):
		// The frame is intact but its payload: a beacon that disagrees
		// with its size while another agrees is the damaged one.
		f.status, f.err = frameChecksum, err
	case errors.As(err, &ce):
		f.status, f.err = frameBroken, w.mismatchErr(&f)
	case f.mismatch >= 0:
		f.status, f.err = frameBroken, fmt.Errorf("%w; %w", w.mismatchErr(&f), err)
	case errors.Is(err, format.ErrTerminator):
		f.status, f.err = frameBroken, fmt.Errorf("no 0x0D after the frame its size field makes %d bytes long", f.total)
	default:
		f.status, f.err = frameBroken, err
	}
	return f
}

// resize retries a frame that does not read well with the sizes the
// writer's rules give the readable beacons inside it, in case damage to a
// marker count or key length made one read at a wrong size.
func (w *walker) resize(p int64, written uint64, force map[int64]guess, f *frameResult) (frameResult, bool) {
	if !w.rotation || len(force) >= maxGuessDepth {
		return frameResult{}, false
	}
	type try struct {
		off int64
		g   guess
	}
	var tries []try
	for _, ib := range f.inner {
		if ib.predicted {
			continue
		}
		for _, g := range w.guessBeacon(nil, ib.written, ib.id, f.keyLen) {
			if g.size != ib.size {
				tries = append(tries, try{ib.off, g})
			}
		}
	}
	var fallback map[int64]guess
	for _, t := range tries {
		if w.tries--; w.tries < 0 {
			break
		}
		m := maps.Clone(force)
		if m == nil {
			m = make(map[int64]guess)
		}
		m[t.off] = t.g
		r := w.readFrameWith(p, written, m)
		if r.status == frameOK {
			return r, true
		}
		if r.status == frameChecksum && fallback == nil {
			fallback = m
		}
	}
	if fallback != nil {
		return w.readFrameWith(p, written, fallback), true
	}
	if len(tries) > 0 {
		*f = w.frame(p, written, force) // again, as the tries reused the buffers
	}
	return frameResult{}, false
}

// guessBeacon appends the sizes the writer's rules allow for an unreadable
// beacon inside the frame of a message of stream id (nil when the beacon
// cuts the key or shard, of which only the key length is known): the
// stream is counted before the beacon, as one more stream when new.
func (w *walker) guessBeacon(dst []guess, written uint64, id *streamID, keyLen int) []guess {
	if id != nil {
		ids := w.st.selection(w.ids[:0], written, w.per, id)
		return append(dst, guess{int64(beaconSize(ids)), len(ids)})
	}
	lens := make([]int, len(w.st.sorted), len(w.st.sorted)+1)
	for i, s := range w.st.sorted {
		lens[i] = len(s.id.key)
	}
	add := func(lens []int) {
		n := len(lens)
		k := min(w.per, n)
		if k <= 0 {
			dst = append(dst, guess{7, 0})
		} else {
			size := 7
			start := int(written % uint64(n))
			for i := range k {
				size += 1 + lens[(start+i)%n] + 24 + 2
			}
			dst = append(dst, guess{int64(size), k})
		}
	}
	if len(lens) > 0 {
		add(lens) // a stream written before
	}
	for i := 0; i <= len(lens); i++ {
		add(slices.Insert(slices.Clone(lens), i, keyLen)) // a new stream, at each place it may sort
	}
	slices.SortFunc(dst, func(a, b guess) int {
		if a.size != b.size {
			return int(a.size - b.size)
		}
		return a.count - b.count
	})
	return slices.Compact(dst)
}
