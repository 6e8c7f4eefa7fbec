package sscheck

import (
	"errors"
	"fmt"

	"github.com/seastream/ss/beacon"
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
	seed   *State // From: the state the file goes on from
}

func newConfig(opts []Option) config {
	var cfg config
	for _, o := range opts {
		o(&cfg)
	}
	return cfg
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
	// End is the state a file going on from this one starts from (see
	// From): each stream's state as the writer of the whole file records it
	// (after the state the scan went on from, if any), and the markers the
	// beacons carried. It is nil when bytes were lost, as it is not known
	// then.
	End *State
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
	cfg := newConfig(opts)
	h, headerProblems, err := readHeader(data, release, cfg)
	if err != nil {
		return Summary{Size: int64(len(data))}, err
	}
	return scanAfter(data, h, headerProblems, v, release, cfg)
}

// scanAfter is scanWith after the header was read as h, with its problems.
func scanAfter(data []byte, h format.Header, headerProblems []*Problem, v Visitor, release func(lo, hi int64), cfg config) (Summary, error) {
	w := newWalker(data, h, v, release, cfg)
	for _, p := range headerProblems {
		w.problem(p)
	}
	w.run()
	w.sum.Streams = len(w.st.sorted)
	w.sum.End = w.endState()
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
	w.dm = beacon.Demuxer{Layout: beacon.Layout{Interval: w.iv}, Inner: w.spliceBeacon}
	w.recoverBudget = 4*w.size + 1<<20
	w.sum.Header, w.sum.Size = h, w.size
	if cfg.seed != nil {
		w.seedStreams(cfg.seed)
	}
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

	tries   int     // readings of the current frame left, see maxTries
	last    *stream // the stream of the last message, to find it again cheaply
	buf     []byte  // a frame split by beacons, gathered
	dm      beacon.Demuxer
	df      beacon.Frame       // the frame dm reads
	fw      frameWalk          // what spliceBeacon knows of it
	cur     frameResult        // the frame being read
	chains  beacon.ChainSearch // recover\'s search
	visited []int64            // the beacons resync passed
	inner   []innerBeacon
	ids     []streamID
	msg     Message

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

// beaconAt decodes the beacon at p: errShort when the file ends inside it.
func (w *walker) beaconAt(p int64) (format.Beacon, int64, error) {
	b, n, err := format.DecodeBeacon(w.data[p:])
	if errors.Is(err, format.ErrShortInput) {
		return b, 0, errShort
	}
	return b, int64(n), err
}
