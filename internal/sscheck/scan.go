package sscheck

import (
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/seastream/ss/format"
)

// Message is a valid message found by a scan.
type Message struct {
	format.MessageHeader
	// Payload aliases the file's bytes or a scratch buffer: it is valid only
	// until the visitor returns.
	Payload []byte
	// Checksum is the payload's CRC16, verified.
	Checksum uint16
	// Offset is where the message frame starts.
	Offset int64
}

// Visitor receives what a scan finds, in file order. Either function may be
// nil. An error from one stops the scan, which returns it.
type Visitor struct {
	Message func(*Message) error
	Problem func(*Problem) error
	// Note receives what is not a problem but worth telling, such as
	// SeaStreamer reopening the file (NoteReopen).
	Note func(*Note) error
}

// Option changes what a scan checks.
type Option func(*config)

type config struct {
	strict bool
}

// Strict adds the order checks that hold for files whose writers number
// each (stream key, shard) consecutively and stamp messages with a clock
// that does not go back, as SeaStreamer's producers and package streamer
// do: each sequence number is exactly one above the previous one of its
// stream (after bytes were lost, only above it), and timestamps never go
// back. They report ErrOrder, and lose nothing. Without it, any order is
// sound: SeaStreamer's MessageSink writes any shard, sequence number and
// timestamp, sequence numbers going back included, and relays that keep
// Kafka offsets leave gaps.
func Strict() Option { return func(c *config) { c.strict = true } }

// Summary is what a scan found.
type Summary struct {
	Header format.Header
	Size   int64
	// Messages is the number of valid messages.
	Messages int64
	// Beacons is the number of beacon positions the file reaches.
	Beacons int64
	// Streams is the number of (stream key, shard) pairs seen.
	Streams int
	// Problems is the number of problems reported.
	Problems int64
	// LostMessages counts the messages known to be lost: those whose payload
	// fails its checksum. Messages in byte ranges lost to damaged frames are
	// not counted, as their number cannot be known.
	LostMessages int64
	// LostBytes is the total size of the byte ranges lost.
	LostBytes int64
	// Notes is the number of notes (see Note).
	Notes int64
	// SeqBack counts the messages whose sequence number does not go up
	// within their (stream key, shard): a problem only with Strict, as
	// SeaStreamer's MessageSink writes any sequence number.
	SeqBack int64
}

// Scan checks the .ss file held in data and reports, in file order, every
// valid message and every problem: each payload against its checksum, the
// structure of every frame and beacon (a beacon at each multiple of the
// interval the data reaches, its count of remaining bytes), and each beacon
// marker against the messages before it (the running checksum of the
// stream's message checksums, the maximum sequence number and timestamp,
// and which streams the writer's round-robin puts in the beacon), and, with
// Strict, the order of each stream's sequence numbers (see ErrOrder).
//
// A file SeaStreamer closed and reopened to append has markers that start
// again at the reopen: they rotate over only the streams written since, and
// each stream's running checksum starts from a seed (see reopen.go). The
// scan recognises exactly that, from the message where every marker after
// it agrees with such a writer, and reports it as a Note (NoteReopen), not
// a problem; likewise, after it, markers that carry the whole file's state
// again, as ssfile's Append writes (NoteContinued).
//
// Damage does not stop it. A payload that fails its checksum loses that
// message only. A frame that cannot be read (or that the file seems to end
// inside, or whose checksum fails where what follows does not read either)
// loses its own bytes only when the messages after it can be found: the
// scan resumes at the first offset after it from which frames that read
// well lead, one after another, to the next beacon (agreeing with its count
// of remaining bytes) or to the end of the file. Otherwise it loses the
// bytes up to the next readable beacon, where the scan resumes after the
// message that beacon splices (whose length the beacon gives). A damaged
// beacon is stepped over when the writer's rules give its size and what
// follows reads well, and otherwise loses its interval. A file that ends
// inside a message loses that message.
//
// After bytes are lost, each stream's state is taken from its next marker
// instead of being checked against it. The order checks go on across lost
// bytes, as lost messages do not make sequence numbers or timestamps go
// back; but the next sequence number of each stream need only be above the
// previous one (messages may have been lost in between), until a message or
// a marker of the stream gives it again. So lost bytes do not show again as
// order problems.
//
// A damaged header is reported (ErrHeader) and read as the rest of it and
// the file confirm: one part of it may be damaged (the magic bytes and
// version, the file name length, the padding and final 0x0D, or the beacon
// interval). A name length or beacon interval one bit away from what is
// stored is taken when the beacons stand where it places them and the file
// then reads soundly; the header as stored when nothing says otherwise.
//
// Scan fails only when the header cannot be read (an error matching
// ErrHeader): the file is shorter than a header, or the header as stored
// does not read (bad magic bytes or version, a name length over
// format.MaxFileNameLen, an interval under format.MinBeaconInterval) and no
// reading of it with one damaged part is confirmed by beacons where its
// interval places them or by the file reading soundly; or with an error a
// visitor returns.
func Scan(data []byte, v Visitor, opts ...Option) (Summary, error) {
	return scanWith(data, v, nil, opts)
}

// scanWith is Scan with release, when not nil, called from time to time with a
// range of data the scan is done with.
func scanWith(data []byte, v Visitor, release func(lo, hi int64), opts []Option) (Summary, error) {
	h, headerProblems, err := readHeader(data, release)
	if err != nil {
		return Summary{Size: int64(len(data))}, err
	}
	return scanAfter(data, h, headerProblems, v, release, opts)
}

// scanAfter is scanWith after the header was read as h, with its problems.
func scanAfter(data []byte, h format.Header, headerProblems []*Problem, v Visitor, release func(lo, hi int64), opts []Option) (Summary, error) {
	var cfg config
	for _, o := range opts {
		o(&cfg)
	}
	w := newWalker(data, h, v, release, cfg)
	for _, p := range headerProblems {
		w.problem(p)
	}
	w.run()
	w.sum.Streams = len(w.st.sorted)
	w.sum.Beacons = max(0, (w.size-1)/w.iv)
	return w.sum, w.stop
}

// newWalker returns a walker ready to scan data after the header h.
func newWalker(data []byte, h format.Header, v Visitor, release func(lo, hi int64), cfg config) *walker {
	w := &walker{
		data:     data,
		size:     int64(len(data)),
		iv:       int64(h.BeaconInterval),
		per:      format.MarkersPerBeacon(h.BeaconInterval),
		v:        v,
		cfg:      cfg,
		rotation: true,
		release:  release,
		pending:  -1,
		firstOff: -1,
		globalOK: true,
	}
	w.recoverBudget = 4*w.size + 1<<20
	w.sum.Header, w.sum.Size = h, w.size
	return w
}

// walker is the state of a scan.
type walker struct {
	data []byte
	size int64
	iv   int64 // beacon interval
	per  int   // markers per beacon
	v    Visitor
	cfg  config
	sum  Summary
	stop error

	release  func(lo, hi int64)
	released int64 // data below this was released

	st       streams
	lossy    bool   // bytes were lost: new streams may have had messages in them
	rotation bool   // written is the writer's count of markers so far
	written  uint64 // markers in the beacons so far

	tries int     // readings of the current frame left, see maxTries
	last  *stream // the stream of the last message, to find it again cheaply
	buf   []byte  // a frame split by beacons, gathered
	inner []innerBeacon
	ids   []streamID
	msg   Message

	// What the search for a writer that reopened the file keeps (see
	// reopen.go): the messages since the last beacon (recentFull: not all
	// of them, or one was damaged), the reopened writer's state, an empty
	// beacon waiting for the next one to tell whether a reopen wrote it,
	// and scratch.
	recent                []seen
	recentFull            bool
	sess                  *session
	sessions              int
	pending               int64
	pendingWant, pendingN int
	globalOK              bool  // the streams' g* fields hold
	firstOff              int64 // the first message's offset, -1 before it
	epoch                 int
	mks                   []*stream
	cands                 []cand
	amb                   *ambiguity
	log                   []logEntry
	snap                  []savedState

	// Bytes read by recover so far, and its allowance: a few times the
	// file's size, so that the whole scan stays linear in it however the
	// damage falls (see recover).
	recoverWork, recoverBudget int64
}

var errShort = format.ErrShortInput

// A scan of a mapped file releases the pages it is done with every
// releaseStep bytes, keeping the last releaseLag, so that the memory it
// holds does not grow with the file.
const (
	releaseStep = 32 << 20
	releaseLag  = 1 << 20
)

func (w *walker) isBoundary(p int64) bool { return p > 0 && p%w.iv == 0 }

func (w *walker) problem(p *Problem) {
	if w.stop != nil {
		return
	}
	w.sum.Problems++
	w.sum.LostBytes += p.Lost()
	if p.Message != nil {
		w.sum.LostMessages++
	}
	if w.v.Problem != nil {
		w.stop = w.v.Problem(p)
	}
}

func (w *walker) report(kind error, off, end int64, f string, args ...any) {
	w.problem(&Problem{Offset: off, End: end, Err: fmt.Errorf("%w: "+f, append([]any{kind}, args...)...)})
}

func (w *walker) run() {
	p := int64(format.HeaderSize)
	for p < w.size && w.stop == nil {
		if w.release != nil && p-w.released >= releaseStep+releaseLag {
			w.release(w.released, p-releaseLag)
			w.released = p - releaseLag
		}
		if w.isBoundary(p) {
			p = w.boundary(p)
		} else {
			p = w.message(p)
		}
	}
	if w.stop == nil && p == w.size && w.isBoundary(p) {
		w.report(ErrTornTail, p, p, "the file ends where a beacon belongs, without it")
	}
	w.finish()
}

// beaconAt decodes the beacon at p: errShort when the file ends inside it.
func (w *walker) beaconAt(p int64) (format.Beacon, int64, error) {
	b, n, err := format.DecodeBeacon(w.data[p:])
	if errors.Is(err, format.ErrShortInput) {
		return b, 0, errShort
	}
	return b, int64(n), err
}

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

// message handles the message frame at p and returns where the next thing
// starts.
func (w *walker) message(p int64) int64 {
	f := w.readFrame(p, w.written)
	switch f.status {
	case frameOK:
		w.apply(p, &f)
		return f.end
	case frameChecksum:
		// A damaged size field may also give a frame whose payload fails
		// its checksum, when a 0x0D happens to stand where it makes the
		// frame end (the end of a later message, say). Unless the beacons
		// inside agree with the size, the messages after it tell: they
		// start where the frame ends after a damaged payload.
		if f.agree == 0 || f.mismatch >= 0 {
			end := f.end
			q, ok := w.recover(p, false)
			if ok && q != end {
				w.recovered(p, q, fmt.Errorf("its payload fails its checksum, and the messages after it start at offset %d, not where its size field ends it (%d)", q, end))
				return q
			}
			f = w.readFrame(p, w.written) // again, as the search reused the buffers
		}
		w.apply(p, &f)
		return f.end
	case frameShort:
		// A damaged size field may make a frame seem to run past the end of
		// the file, with whole messages after it.
		if q, ok := w.recover(p, true); ok {
			w.recovered(p, q, fmt.Errorf("it seems incomplete (%v), but whole messages follow it", f.err))
			return q
		}
		w.report(ErrTornTail, p, w.size, "the message at offset %d is incomplete: %v", p, f.err)
		return w.size
	}
	if q, ok := w.recover(p, false); ok {
		w.recovered(p, q, f.err)
		return q
	}
	q, anchor := w.resync(p)
	w.report(ErrFrame, p, q, "%v; %s", f.err, w.resyncNote(q, anchor))
	for _, ib := range f.inner {
		if ib.predicted {
			w.report(ErrBeacon, ib.off, ib.off, "the beacon is unreadable (%v)", ib.err)
		}
	}
	if f.badBeacon >= 0 {
		w.report(ErrBeacon, f.badBeacon, f.badBeacon, "the beacon is unreadable (%v)", f.badErr)
	}
	return q
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
	b := (start/w.iv + 1) * w.iv
next:
	for b < w.size {
		bc, n, err := w.beaconAt(b)
		if err == errShort {
			break
		}
		if err != nil {
			b += w.iv
			continue
		}
		anchor := b
		adopt := [][]format.Marker{bc.Markers}
		q, rem := b+n, int64(bc.Remaining)
		for {
			room := w.iv - q%w.iv
			if rem <= room {
				q += rem
				break
			}
			q += room
			rem -= room
			if q >= w.size {
				return w.size, -1
			}
			bc2, n2, err := w.beaconAt(q)
			switch {
			case err == errShort:
				return w.size, -1
			case err != nil:
				b = q + w.iv
				continue next
			case int64(bc2.Remaining) != rem:
				b = q // a broken chain: start again from this beacon
				continue next
			}
			adopt = append(adopt, bc2.Markers)
			q += n2
		}
		if q > w.size {
			return w.size, -1
		}
		for _, ms := range adopt {
			for i := range ms {
				m := &ms[i]
				s := w.st.lookup(m.StreamKey, m.ShardID)
				if s == nil {
					s = w.st.add(streamID{m.StreamKey, m.ShardID}, true)
				}
				s.adopt(m)
			}
		}
		return q, anchor
	}
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
// The work stays linear: past its first frame, a chain's fate depends only
// on where it is, so each frame start reached is followed once per search
// (memo); and the bytes read by every search of the scan are counted
// against an allowance of a few times the file's size, past which the scan
// resynchronises at beacons as it did before recover existed.
func (w *walker) recover(p int64, torn bool) (int64, bool) {
	b := (p/w.iv + 1) * w.iv
	limit := min(b, w.size)
	bRem, bOK := int64(-1), false
	if b < w.size {
		if bc, _, err := w.beaconAt(b); err == nil {
			bRem, bOK = int64(bc.Remaining), true
		}
	}
	memo := make(map[int64]bool)
	for q := p + 1; q <= limit; q++ {
		if w.recoverWork > w.recoverBudget {
			return 0, false
		}
		w.recoverWork++
		if w.chainFrom(q, b, bRem, bOK, torn, memo) {
			return q, true
		}
	}
	return 0, false
}

// chainFrom reports whether frames that read well lead from q to b or the
// end of the file (see recover). bRem is the count of remaining bytes of
// the beacon at b when bOK (it is readable).
func (w *walker) chainFrom(q, b, bRem int64, bOK, torn bool, memo map[int64]bool) bool {
	var path []int64 // the frame starts after the first, whose fate is this chain's
	ok := w.chain(q, b, bRem, bOK, torn, memo, &path)
	for _, x := range path {
		memo[x] = ok
	}
	return ok
}

func (w *walker) chain(q, b, bRem int64, bOK, torn bool, memo map[int64]bool, path *[]int64) bool {
	for first := true; ; first = false {
		if !first {
			if ok, seen := memo[q]; seen {
				return ok
			}
			*path = append(*path, q)
		}
		switch {
		case q == w.size:
			return !first || !torn
		case q == b:
			return bOK && bRem == 0
		}
		if first && !w.mayStart(q, b, bRem, bOK) {
			return false
		}
		f := w.frame(q, w.written, nil)
		w.recoverWork += max(f.end-q, int64(1+f.keyLen))
		if f.status != frameOK && (first || f.status != frameChecksum) || f.mismatch >= 0 {
			return false
		}
		for _, ib := range f.inner {
			if ib.predicted {
				return false
			}
		}
		if f.end > b {
			return true // it crosses b, which agrees with its size
		}
		q = f.end
	}
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
