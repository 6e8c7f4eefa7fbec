package ssfile

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/seastream/ss/beacon"
	"github.com/seastream/ss/format"
	"github.com/seastream/ss/internal/fmap"
	"github.com/seastream/ss/internal/mapguard"
	"github.com/seastream/ss/internal/regfile"
)

// Mode is how a Reader reads a file.
type Mode int

const (
	// Replay reads the file as it is and ends with io.EOF.
	Replay Mode = iota
	// Live starts at the end of the file and follows it as it grows.
	Live
	// LiveReplay starts at the beginning and follows the file as it grows.
	LiveReplay
)

func (m Mode) String() string {
	switch m {
	case Replay:
		return "replay"
	case Live:
		return "live"
	case LiveReplay:
		return "live-replay"
	}
	return fmt.Sprintf("Mode(%d)", int(m))
}

// ReaderOption configures a Reader: an argument of Open. Only this package
// makes them; WithLogger's is also an Option.
type ReaderOption interface {
	applyReader(*readerConfig) error
}

// readerOption is a ReaderOption that only a Reader takes.
type readerOption func(*readerConfig) error

func (o readerOption) applyReader(c *readerConfig) error { return o(c) }

type readerConfig struct {
	mode        Mode
	poll        time.Duration
	logger      *slog.Logger
	ownPayloads bool
	pass        func(h *format.MessageHeader, offset int64) bool
}

// WithPassOver makes Next pass over the messages for which pass reports
// true, given the message's header and offset, without verifying their
// payload checksum or copying them (WithOwnPayloads): a reader that wants
// some streams of a busy file pays for the messages it returns. Seek and
// the Reader's other methods are not affected.
func WithPassOver(pass func(h *format.MessageHeader, offset int64) bool) ReaderOption {
	return readerOption(func(c *readerConfig) error { c.pass = pass; return nil })
}

// WithMode sets the reading mode (default Replay).
func WithMode(m Mode) ReaderOption {
	return readerOption(func(c *readerConfig) error {
		if m < Replay || m > LiveReplay {
			return fmt.Errorf("%w: unknown mode %d", ErrInvalidOption, int(m))
		}
		c.mode = m
		return nil
	})
}

// WithPollInterval sets how often a following Reader checks the file when no
// change notification arrives (default 100ms): the fallback for file systems
// without inotify, and how fast removal or replacement is noticed.
func WithPollInterval(d time.Duration) ReaderOption {
	return readerOption(func(c *readerConfig) error {
		if d <= 0 {
			return fmt.Errorf("%w: poll interval %v is not positive", ErrInvalidOption, d)
		}
		c.poll = d
		return nil
	})
}

// Pages more than releaseKeep behind the read position are handed back to
// the kernel, releaseChunk at a time, so that reading a large file holds
// constant memory. The data stays valid: touching it again reads it back
// from the page cache.
const (
	releaseChunk = 32 << 20
	releaseKeep  = 1 << 20
)

func (r *Reader) releaseBehind() {
	if r.mapping == nil {
		return
	}
	fmap.Release(r.mapping, r.released, r.sc.pos-releaseKeep)
	r.released = r.sc.pos - releaseKeep
}

// mapChunk is the granularity of the mapping. The mapping may extend past the
// end of the file; only bytes below the known size are ever touched.
const mapChunk = 64 << 20

// Reader reads messages from a .ss file. It is not safe for concurrent use,
// except Close, which may be called at any time to stop a blocked Next.
type Reader struct {
	f       *os.File
	path    string
	cfg     readerConfig
	header  format.Header
	sc      *scanner
	mapping []byte
	old     [][]byte // earlier, smaller mappings: payloads may point into them
	size    int64

	pending  *Message // found by Seek, returned by the next Next
	released int64    // pages of the mapping below this were released
	torn     bool     // the torn tail was reported
	id       identity // to notice the file recreated in place
	replaced error    // set once it was: every later Next returns it
	copier   payloadCopier

	watcher *fsnotify.Watcher
	timer   *time.Timer
	closing chan struct{}
	mu      sync.Mutex // held by Next, Seek, ... and by Close
	closed  bool
	once    sync.Once
}

// Open maps the file at path for reading.
func Open(path string, opts ...ReaderOption) (*Reader, error) {
	cfg := readerConfig{poll: DefaultPollInterval, logger: slog.New(slog.DiscardHandler)}
	for _, o := range opts {
		if err := o.applyReader(&cfg); err != nil {
			return nil, err
		}
	}
	f, err := regfile.Open(path, os.O_RDONLY, 0)
	if err != nil {
		return nil, fmt.Errorf("ssfile: open: %w", err)
	}
	r, err := newReader(f, path, cfg)
	if err != nil {
		f.Close()
		return nil, err
	}
	return r, nil
}

func newReader(f *os.File, path string, cfg readerConfig) (*Reader, error) {
	head := make([]byte, format.HeaderSize)
	n, err := f.ReadAt(head, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("ssfile: open: %w", err)
	}
	// The size after the header: a file being created may get its header
	// between the two, and a size taken before would map none of it.
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("ssfile: open: %w", err)
	}
	h, err := format.DecodeHeader(head[:n])
	if errors.Is(err, format.ErrShortInput) {
		return nil, fmt.Errorf("ssfile: open %s: the file is shorter than a .ss header (%d bytes): %w", path, n, err)
	}
	if err != nil {
		return nil, fmt.Errorf("ssfile: open %s: %w", path, err)
	}
	if fi.Size() < format.HeaderSize {
		// Cut below its header between the read and the stat: what the
		// identity checks compare with is gone.
		return nil, &OffsetError{Path: path, Offset: fi.Size(), Err: ErrTruncated}
	}
	r := &Reader{f: f, path: path, cfg: cfg, header: h, closing: make(chan struct{})}
	copy(r.id.head[:], head)
	r.sc = newScanner(path, nil, h)
	if err := r.grow(fi.Size()); err != nil {
		return nil, err
	}
	if cfg.mode != Replay {
		if r.watcher, err = fsnotify.NewWatcher(); err == nil {
			err = r.watcher.Add(path)
		}
		if err != nil {
			cfg.logger.Warn("ssfile: no change notifications, polling only", "path", path, "err", err)
			if r.watcher != nil {
				r.watcher.Close()
				r.watcher = nil
			}
		}
		r.timer = time.NewTimer(cfg.poll)
	}
	if cfg.mode == Live {
		if err := r.seekEnd(); err != nil {
			r.release()
			return nil, err
		}
	}
	return r, nil
}

// NewBytesReader reads a .ss file held in memory, in Replay mode.
func NewBytesReader(data []byte) (*Reader, error) {
	h, err := format.DecodeHeader(data)
	if err != nil {
		return nil, fmt.Errorf("ssfile: %w", err)
	}
	r := &Reader{header: h, closing: make(chan struct{}), size: int64(len(data))}
	r.sc = newScanner("", data, h)
	return r, nil
}

// Header returns the file header.
func (r *Reader) Header() format.Header { return r.header }

// Size returns the file size the Reader knows of.
func (r *Reader) Size() int64 { return r.size }

// grow makes the first size bytes of the file readable.
func (r *Reader) grow(size int64) error {
	if size > int64(len(r.mapping)) {
		// Grow geometrically, so that following a large file makes few
		// mappings.
		n := max((size+mapChunk-1)/mapChunk*mapChunk, 2*int64(len(r.mapping)))
		m, err := fmap.Map(r.f, n)
		if err != nil {
			return fmt.Errorf("ssfile: %w", err)
		}
		if r.mapping != nil {
			// Payloads may point into the old mapping: keep it, but
			// hand its pages back; they are read again if touched.
			fmap.Release(r.mapping, 0, r.size)
			r.old = append(r.old, r.mapping)
		}
		r.mapping = m
	}
	r.size = size
	r.sc.data = r.mapping[:size]
	return nil
}

// Next returns the next message. In Replay mode it returns io.EOF at the end
// of the file, after an error matching ErrTornTail if the file ends inside a
// message. In the live modes it waits for the file to grow, until ctx is done.
// A damaged message gives an error matching ErrCorrupt; calling Next again
// returns it again.
func (r *Reader) Next(ctx context.Context) (m Message, err error) {
	r.mu.Lock()
	// One deferred call unlocks and guards the whole of Next (see guard):
	// a guard of its own per message would cost a closure, a call and a
	// second defer more, a tenth of reading a small message.
	defer r.endNext(mapguard.Enter(), &m, &err)
	if r.closed {
		return Message{}, ErrClosed
	}
	if r.replaced != nil {
		return Message{}, r.replaced
	}
	if m := r.pending; m != nil {
		r.pending = nil
		return *m, nil
	}
	for {
		err := r.step(&m)
		if err == nil || errors.Is(err, errPassed) {
			if r.sc.pos-r.released >= releaseChunk+releaseKeep {
				r.releaseBehind()
			}
			if err == nil {
				return m, nil
			}
			continue
		}
		if !errors.Is(err, errShort) {
			return Message{}, err
		}
		if r.cfg.mode == Replay {
			if err := r.checkSame(); err != nil {
				return Message{}, err
			}
			if r.torn || r.sc.atEnd() {
				return Message{}, io.EOF
			}
			r.torn = true
			return Message{}, &OffsetError{Path: r.path, Offset: r.sc.pos, Err: ErrTornTail}
		}
		if err := r.wait(ctx); err != nil {
			return Message{}, err
		}
	}
}

// endNext ends Next: it unlocks, and turns a memory fault of reading the
// mapping into ErrTruncated, as guard does.
func (r *Reader) endNext(old bool, m *Message, err *error) {
	mapguard.Exit(old)
	r.mu.Unlock()
	if p := recover(); p != nil {
		*m, *err = Message{}, mapguard.Fault(p, ErrTruncated)
	}
}

// step decodes the next message into m and takes it (see take), or passes
// over one. It runs under guard (Next's endNext).
func (r *Reader) step(m *Message) error {
	at := r.sc.pos
	if err := r.sc.nextPassing(m, r.cfg.pass); err != nil {
		if r.f != nil && !errors.Is(err, errShort) && !errors.Is(err, errPassed) && !r.id.holds(r.sc.data) {
			// Damage, or another file's bytes: say which.
			return r.replacedAt(at)
		}
		return err
	}
	return r.take(m, at)
}

// Messages returns an iterator over the messages from the current position.
// It stops after the first error, which it yields; io.EOF ends it quietly.
func (r *Reader) Messages(ctx context.Context) iter.Seq2[Message, error] {
	return func(yield func(Message, error) bool) {
		for {
			m, err := r.Next(ctx)
			if errors.Is(err, io.EOF) {
				return
			}
			if !yield(m, err) || err != nil {
				return
			}
		}
	}
}

// wait blocks until the file grows, or fails if it shrank, was removed or
// replaced.
func (r *Reader) wait(ctx context.Context) error {
	if r.f == nil {
		return io.EOF
	}
	var events chan fsnotify.Event
	var errs chan error
	if r.watcher != nil {
		events, errs = r.watcher.Events, r.watcher.Errors
	}
	checkPath := false
	for {
		size, err := fileSize(r.f)
		if err != nil {
			return fmt.Errorf("ssfile: %s: %w", r.path, err)
		}
		if size < r.sc.pos {
			return &OffsetError{Path: r.path, Offset: size, Err: ErrTruncated}
		}
		if size < r.size {
			// Only bytes not read yet were cut away: a writer's
			// recovery removing a torn frame, or its failed write
			// rolled back. What was read is still there.
			r.size = size
			r.sc.data = r.mapping[:size]
			r.id.forgetTailFrom(size)
			r.torn = false
		}
		if err := r.checkIdentity(); err != nil {
			return err
		}
		if size > r.size {
			return r.grow(size)
		}
		if checkPath {
			if err := r.checkPath(); err != nil {
				return err
			}
			checkPath = false
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-r.closing:
			return ErrClosed
		case ev, ok := <-events:
			if !ok {
				events = nil
			}
			checkPath = ev.Op&(fsnotify.Remove|fsnotify.Rename|fsnotify.Chmod) != 0
		case err, ok := <-errs:
			if !ok {
				errs = nil
			} else {
				r.cfg.logger.Warn("ssfile: change notification error", "path", r.path, "err", err)
			}
		case <-r.timer.C:
			r.timer.Reset(r.cfg.poll)
			checkPath = true
		}
	}
}

// take makes m, just decoded from at, ready to hand out: its payload copied
// if WithOwnPayloads, and the file checked to be the one opened. The check
// comes after decoding and copying: a file recreated in place is written
// from the start, so if the bytes before the message are still the old
// file's, so were the message's. It runs under guard.
func (r *Reader) take(m *Message, at int64) error {
	if r.f == nil {
		return nil
	}
	if r.cfg.ownPayloads && !r.sc.gathered { // a spliced message's payload is its own already
		m.Payload = r.copier.copy(m.Payload)
	}
	if !r.id.holds(r.sc.data) {
		r.sc.pos = at
		return r.replacedAt(at)
	}
	r.id.remember(r.sc.data, r.sc.pos)
	return nil
}

// checkSame fails if the file is now shorter than the read position or is
// another file recreated in place. A Replay calls it at the end of the data.
func (r *Reader) checkSame() error {
	if r.f == nil {
		return nil
	}
	size, err := fileSize(r.f)
	if err != nil {
		return fmt.Errorf("ssfile: %s: %w", r.path, err)
	}
	if size < r.sc.pos {
		return &OffsetError{Path: r.path, Offset: size, Err: ErrTruncated}
	}
	return r.checkIdentity()
}

// checkIdentity fails with ErrReplaced if the known bytes of the file no
// longer hold the header and last bytes read (see identity).
func (r *Reader) checkIdentity() error {
	var same bool
	if err := guard(func() error { same = r.id.holds(r.sc.data); return nil }); err != nil {
		return &OffsetError{Path: r.path, Offset: r.sc.pos, Err: err}
	}
	if !same {
		return r.replacedAt(r.sc.pos)
	}
	return nil
}

// replacedAt records and returns that the file was recreated in place.
func (r *Reader) replacedAt(off int64) error {
	r.replaced = &OffsetError{Path: r.path, Offset: off, Err: fmt.Errorf("%w (recreated in place: its header or the last bytes read changed)", ErrReplaced)}
	r.cfg.logger.Warn("ssfile: the file followed was recreated in place", "path", r.path, "offset", off)
	return r.replaced
}

// checkPath reports whether the path still names the file being read.
func (r *Reader) checkPath() error {
	fi, err := os.Stat(r.path)
	if errors.Is(err, os.ErrNotExist) {
		return &OffsetError{Path: r.path, Offset: r.size, Err: ErrRemoved}
	}
	if err != nil {
		return fmt.Errorf("ssfile: %s: %w", r.path, err)
	}
	mine, err := r.f.Stat()
	if err != nil {
		return fmt.Errorf("ssfile: %s: %w", r.path, err)
	}
	if !os.SameFile(fi, mine) {
		return &OffsetError{Path: r.path, Offset: r.size, Err: ErrReplaced}
	}
	return nil
}

// Offset returns where the next message starts (or the beacon before it).
func (r *Reader) Offset() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.pending != nil {
		return r.pending.Offset
	}
	return r.sc.pos
}

// SetOffset moves to off, which must be an offset a Message or Offset gave
// for this file. A wrong offset shows as a damaged message on the next read.
func (r *Reader) SetOffset(off int64) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return ErrClosed
	}
	if off < format.HeaderSize {
		return fmt.Errorf("ssfile: offset %d is inside the file header", off)
	}
	r.pending = nil
	r.torn = false
	r.sc.pos = off
	return nil
}

// Count and Beacon make the Reader a beacon.Source.

// Count returns the number of beacons in the known part of the file.
func (r *Reader) Count() int { return r.sc.layout.Count(r.size) }

// Beacon decodes beacon n (1 ≤ n ≤ Count).
func (r *Reader) Beacon(n int) (*format.Beacon, error) {
	if n < 1 || n > r.Count() {
		return nil, fmt.Errorf("ssfile: no beacon %d (the file has %d)", n, r.Count())
	}
	var b format.Beacon
	off := r.sc.layout.Offset(n)
	err := guard(func() (err error) {
		b, _, err = format.DecodeBeacon(r.sc.data[off:])
		return err
	})
	if errors.Is(err, format.ErrShortInput) {
		return &format.Beacon{}, nil // the last beacon is still being written
	}
	if err != nil {
		return nil, corrupt(r.path, off, fmt.Errorf("beacon %d: %w", n, err))
	}
	return &b, nil
}

// Target is what Seek looks for: the first message of one (stream key, shard)
// with a sequence number at or above SeqNo, or, with ByTime, a timestamp
// after Timestamp.
type Target struct {
	StreamKey string
	ShardID   uint64
	SeqNo     uint64
	Timestamp uint64 // milliseconds
	ByTime    bool
}

// SeqNoTarget is the first message of (key, shard) with a sequence number ≥ seq.
func SeqNoTarget(key string, shard, seq uint64) Target {
	return Target{StreamKey: key, ShardID: shard, SeqNo: seq}
}

// TimeTarget is the first message of (key, shard) with a timestamp after t.
func TimeTarget(key string, shard uint64, t time.Time) Target {
	ms := t.UnixMilli()
	if ms < 0 {
		ms = -1
	}
	return Target{StreamKey: key, ShardID: shard, Timestamp: uint64(ms), ByTime: true}
}

func (t Target) matches(m *Message) bool {
	return m.StreamKey == t.StreamKey && t.matchesFields(m.ShardID, m.SeqNo, m.Timestamp)
}

func (t Target) matchesFields(shard, seq, ts uint64) bool {
	if shard != t.ShardID {
		return false
	}
	if t.ByTime {
		return int64(ts) > int64(t.Timestamp)
	}
	return seq >= t.SeqNo
}

// Seek moves to the first message matching t, which the next Next returns;
// the messages of other streams before it are skipped. It searches the
// beacons, then scans from the closest one. When no message matches it
// returns an error matching ErrNotFound and the position does not change.
func (r *Reader) Seek(t Target) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return ErrClosed
	}
	judge := beacon.BySeqNo(t.StreamKey, t.ShardID, t.SeqNo)
	if t.ByTime {
		judge = beacon.ByTimestamp(t.StreamKey, t.ShardID, t.Timestamp)
		if int64(t.Timestamp) < 0 {
			judge = func(*format.Beacon) beacon.Judgement { return beacon.AtOrAfter }
		}
	}
	n, err := beacon.Search(r, judge)
	if err != nil {
		return err
	}
	saved := r.sc.pos
	err = guard(func() error {
		if err := r.sc.seekBeacon(n); err != nil {
			return err
		}
		if err := r.sc.scanTo(t); err != nil {
			return err
		}
		// The message found is read again, verified, to be handed out.
		at := r.sc.pos
		m, err := r.sc.next()
		if err != nil {
			return err
		}
		if err := r.take(&m, at); err != nil {
			return err
		}
		r.pending = &m
		return nil
	})
	if err != nil {
		r.sc.pos = saved
		if errors.Is(err, errShort) {
			return fmt.Errorf("%w: %s shard %d", ErrNotFound, t.StreamKey, t.ShardID)
		}
		return err
	}
	r.torn = false
	return nil
}

// RewindToBeacon moves to the first message after beacon n (counted from
// the start of the file, not a sequence number); 0 is the beginning of the
// file. Past the last beacon it moves to the end.
func (r *Reader) RewindToBeacon(n int) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return ErrClosed
	}
	r.pending = nil
	r.torn = false
	if n > r.Count() {
		return r.seekEnd()
	}
	return guard(func() error { return r.sc.seekBeacon(max(n, 0)) })
}

// SeekEnd moves past the last complete message.
func (r *Reader) SeekEnd() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return ErrClosed
	}
	r.pending = nil
	return r.seekEnd()
}

func (r *Reader) seekEnd() error {
	return guard(func() error {
		// Start from the last beacon that leads to a message boundary.
		for n := r.Count(); ; n-- {
			if err := r.sc.seekBeacon(n); err == nil || n == 0 {
				break
			}
		}
		for {
			if _, err := r.sc.skip(); err != nil {
				if errors.Is(err, errShort) {
					return nil
				}
				return err
			}
		}
	})
}

// Close unmaps and closes the file, and stops following it. A Next blocked
// in another goroutine returns ErrClosed. Payloads read from the Reader must
// not be used after Close.
func (r *Reader) Close() error {
	r.once.Do(func() { close(r.closing) })
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return ErrClosed
	}
	r.closed = true
	return r.release()
}

func (r *Reader) release() error {
	var errs []error
	if r.watcher != nil {
		errs = append(errs, r.watcher.Close())
	}
	if r.timer != nil {
		r.timer.Stop()
	}
	for _, m := range append(r.old, r.mapping) {
		errs = append(errs, fmap.Unmap(m))
	}
	r.old, r.mapping, r.sc.data = nil, nil, nil
	if r.f != nil {
		errs = append(errs, r.f.Close())
	}
	return errors.Join(errs...)
}
