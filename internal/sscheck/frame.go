package sscheck

import (
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"slices"

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
		return w.shortOrBroken(f, w.buf)
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
// to use for some.
func (w *walker) frame(p int64, written uint64, force map[int64]guess) frameResult {
	f := frameResult{mismatch: -1, badBeacon: -1, inner: w.inner[:0]}
	keyLen := int(w.data[p])
	f.keyLen = keyLen
	if keyLen > format.MaxStreamKeyLen {
		f.status, f.err = frameBroken, fmt.Errorf("stream key length %d is more than %d", keyLen, format.MaxStreamKeyLen)
		return f
	}
	headLen := 1 + keyLen + 24 + 4
	room := w.iv - p%w.iv

	// The common case: no beacon inside the frame.
	if int64(headLen) <= room && p+int64(headLen) <= w.size {
		n, err := format.DecodeMessageHeader(w.data[p:p+int64(headLen)], &f.raw)
		if err != nil {
			f.status, f.err = frameBroken, fmt.Errorf("bad message header: %w", err)
			return f
		}
		f.total = n + 4 + int(binary.BigEndian.Uint32(w.data[p+int64(n):])) + 3
		if int64(f.total) <= room {
			if p+int64(f.total) > w.size {
				f.status, f.err = frameShort, fmt.Errorf("its frame needs %d bytes, the file has %d", f.total, w.size-p)
				return f
			}
			f.end = p + int64(f.total)
			return w.decode(f, w.data[p:f.end])
		}
	}

	// Gather the frame across the beacons that splice it.
	buf := w.buf[:0]
	// A frame that the file cannot hold, beacons or not, is torn (or its
	// size field damaged): its payload is counted, not copied, which for
	// a large message cut by a crash was most of the scan's time and
	// memory. The beacons inside are read all the same.
	skipped := 0
	got := func() int { return len(buf) + skipped }
	q := p
	want, total := headLen, -1
	var id *streamID
	var idv streamID
	for {
		for got() < want {
			if got() > 0 && w.isBoundary(q) {
				if id == nil && got() >= 1+keyLen+8 && format.ValidStreamKey(buf[1:1+keyLen]) {
					idv = streamID{string(buf[1 : 1+keyLen]), binary.BigEndian.Uint64(buf[1+keyLen:])}
					id = &idv
				}
				b, n, err := w.beaconAt(q)
				if g, ok := force[q]; ok && err == nil {
					// It reads, but a damaged count or key length may
					// make it read at a wrong size: use the rules' size.
					err = fmt.Errorf("it reads as %d bytes, not the %d the writer's rules give it", n, g.size)
				}
				if err == errShort && !w.rotation {
					f.status, f.err = frameShort, fmt.Errorf("the file ends inside the beacon at offset %d that splices it", q)
					return w.shortOrBroken(f, buf)
				}
				if err != nil {
					// Unreadable, or reading past the end of the file: a
					// torn tail, or damage to its marker count.
					g, ok := force[q]
					if !ok {
						f.badBeacon, f.badErr = q, err
						if !w.rotation {
							f.status, f.err = frameBroken, fmt.Errorf("the beacon at offset %d that splices it is unreadable", q)
							w.buf = buf
							return f
						}
						f.guesses = w.guessBeacon(f.guesses[:0], written, id, keyLen)
						if len(f.guesses) != 1 {
							f.status = frameAmbiguous
							w.buf = buf
							return f
						}
						g = f.guesses[0]
						f.badBeacon, f.badErr = -1, nil
					}
					f.inner = append(f.inner, innerBeacon{off: q, done: got(), predicted: true, count: g.count, err: err})
					written += uint64(g.count)
					q += g.size
					continue
				}
				ib := innerBeacon{off: q, b: b, done: got(), size: n, written: written}
				if id != nil {
					ib.id = &streamID{id.key, id.shard}
				}
				f.inner = append(f.inner, ib)
				if total >= 0 && int(b.Remaining) == total-got() {
					f.agree++
				}
				if total >= 0 && int(b.Remaining) != total-got() {
					if f.mismatch >= 0 {
						// A second beacon disagrees: the size field is
						// what is wrong. Stop before gathering more.
						f.status, f.err = frameBroken, w.mismatchErr(&f)
						w.buf = buf
						return f
					}
					f.mismatch = len(f.inner) - 1
				}
				written += uint64(len(b.Markers))
				q += n
			}
			chunk := min(int64(want-got()), w.iv-q%w.iv)
			if q+chunk > w.size {
				f.status = frameShort
				if total < 0 {
					f.err = fmt.Errorf("the file ends inside its header")
				} else {
					f.err = fmt.Errorf("its frame needs %d bytes, the file has %d of them", total, got()+int(w.size-q))
				}
				return w.shortOrBroken(f, buf)
			}
			if skipped > 0 || total >= 0 && p+int64(total) > w.size {
				skipped += int(chunk)
			} else {
				buf = append(buf, w.data[q:q+chunk]...)
			}
			q += chunk
		}
		if total >= 0 {
			break
		}
		n, err := format.DecodeMessageHeader(buf, &f.raw)
		if err != nil {
			w.buf = buf
			f.status, f.err = frameBroken, fmt.Errorf("bad message header: %w", err)
			return f
		}
		total = n + 4 + int(binary.BigEndian.Uint32(buf[n:])) + 3
		f.total = total
		for i, ib := range f.inner {
			switch {
			case ib.predicted:
			case int(ib.b.Remaining) == total-ib.done:
				f.agree++
			case f.mismatch < 0:
				f.mismatch = i
			}
		}
		want = total
	}
	w.buf = buf
	f.end = q
	return w.decode(f, buf)
}

// shortOrBroken decides a frame the file ends inside: torn, unless a beacon
// already disagreed with its size, which then is what is wrong.
func (w *walker) shortOrBroken(f frameResult, buf []byte) frameResult {
	w.buf = buf
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

// decode checks the gathered frame.
func (w *walker) decode(f frameResult, frame []byte) frameResult {
	var err error
	f.raw, _, err = format.DecodeMessage(frame)
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
