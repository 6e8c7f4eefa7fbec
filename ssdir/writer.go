package ssdir

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/seastream/ss/beacon"
	"github.com/seastream/ss/format"
	"github.com/seastream/ss/internal/regfile"
	"github.com/seastream/ss/ssfile"
)

// Writer appends messages to a stream directory, rolling over to new
// segments and deleting old ones by retention. It is safe for concurrent
// use.
type Writer struct {
	dir  string
	cfg  config
	lock *os.File

	mu      sync.Mutex
	cur     *ssfile.Writer // nil after a failed rollover: the next write tries again
	curN    uint64
	started time.Time // the current segment's start
	filled  bool      // the current segment holds a message
	// until is how many more frame bytes the segment takes before its
	// size can have reached the segment size: a frame adds at least its own
	// length, so until then no write asks the segment its size.
	until   int64
	state   State // the state the next segment goes on from, when cur is nil
	err     error // latched: a rollover that could not close the segment
	closed  bool
	sealing *sealing // the segment before cur being closed, in the background

	// settled: the segments below it are sealed and the seeds up to it
	// written; retention deletes only those (a segment being sealed would
	// get its successor's seed after its deletion, or none).
	settled atomic.Uint64

	ret *retainer
}

// Append opens the stream directory dir for writing, creating it when it
// does not exist. A directory left by a crash is recovered (see the package
// documentation). It fails with ErrLocked while another Writer has it open.
func Append(dir string, opts ...Option) (*Writer, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	if fi, err := os.Stat(dir); err == nil && !fi.IsDir() {
		return nil, fmt.Errorf("%w: %s", ErrNotDir, dir)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("ssdir: %w", err)
	}
	lock, err := regfile.OpenLocked(filepath.Join(dir, lockName), os.O_RDWR|os.O_CREATE, 0o644, ErrLocked)
	if err != nil {
		return nil, err
	}
	w := &Writer{dir: dir, cfg: cfg, lock: lock}
	if err := w.open(); err != nil {
		lock.Close()
		return nil, err
	}
	w.ret = startRetainer(w)
	return w, nil
}

// open cleans what a crash left and opens the last segment.
func (w *Writer) open() error {
	entries, err := os.ReadDir(w.dir)
	if err != nil {
		return fmt.Errorf("ssdir: %w", err)
	}
	var first, last uint64
	seeds := map[uint64]bool{}
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") && strings.HasSuffix(name, tmpExt) {
			os.Remove(filepath.Join(w.dir, name)) // a seed being written
			continue
		}
		n, ext, ok := parseName(name)
		switch {
		case !ok:
		case ext == segmentExt:
			last = max(last, n)
			if first == 0 || n < first {
				first = n
			}
		default:
			seeds[n] = true
		}
	}
	for n := range seeds {
		// Above the last segment: written by a rollover that did not get
		// to create its segment. Below the first: left by a deletion cut
		// short, or by a sealing that ended after retention deleted its
		// segment.
		if n > last || n < first {
			if err := os.Remove(seedPath(w.dir, n)); err != nil {
				return fmt.Errorf("ssdir: %w", err)
			}
		}
	}
	if last == 0 {
		return w.create(1, State{})
	}
	st, rebuilt, err := seedOf(w.dir, last)
	if err != nil {
		return err
	}
	if rebuilt {
		w.cfg.logger.Warn("ssdir: rebuilt a missing seed", "segment", segmentPath(w.dir, last))
		if err := writeSeed(w.dir, last, st, true); err != nil {
			return err
		}
	}
	path := segmentPath(w.dir, last)
	f, err := ssfile.Append(path, w.fileOptions(st)...)
	if err != nil {
		return fmt.Errorf("ssdir: %w", err)
	}
	w.cur, w.curN = f, last
	w.settled.Store(last)
	w.started = time.UnixMilli(int64(f.Header().CreatedAt))
	w.filled, w.until = w.holdsMessage(f, st), 0
	return nil
}

// holdsMessage reports whether the segment has a message of its own: its
// state differs from the one it went on from.
func (w *Writer) holdsMessage(f *ssfile.Writer, st State) bool {
	streams := f.Streams()
	if len(streams) != len(st.Streams) {
		return true
	}
	for i, s := range streams {
		if s != st.Streams[i] {
			return true
		}
	}
	return false
}

func (w *Writer) fileOptions(st State) []ssfile.Option {
	opts := append([]ssfile.Option{ssfile.WithDurability(w.cfg.durability)}, w.cfg.fileOpts...)
	return append(opts, ssfile.WithState(st))
}

// create writes the seed of segment n and creates it, then syncs the
// directory so that both names last: for the first segment of a directory.
func (w *Writer) create(n uint64, st State) error {
	if err := writeSeed(w.dir, n, st, true); err != nil {
		return err
	}
	if err := w.createSegment(n, st); err != nil {
		return err
	}
	if err := syncDir(w.dir); err != nil {
		return err
	}
	w.settled.Store(n)
	return nil
}

// createSegment creates segment n going on from st and makes it current.
func (w *Writer) createSegment(n uint64, st State) error {
	path := segmentPath(w.dir, n)
	now := w.cfg.now()
	opts := append(w.fileOptions(st), ssfile.WithCreatedAt(now), ssfile.WithFileName(filepath.Base(path)))
	f, err := ssfile.Create(path, opts...)
	if err != nil {
		os.Remove(path)
		return fmt.Errorf("ssdir: creating segment: %w", err)
	}
	w.cur, w.curN, w.started, w.filled, w.until = f, n, now, false, 0
	return nil
}

// sealing is the end of a rollover, done in the background so that the
// write that rolls over does not wait for disks: closing the segment before
// (its fdatasync), writing the new segment's seed and syncing the directory.
// Until the seed is written, Append would rebuild it from the segment
// before, which is complete: its messages were flushed before the new
// segment was created.
//
// Rollovers do not wait for the sealing of the one before either: each
// sealing waits for the one before it, so that seeds and directory syncs
// come in order, and Sync and Close wait for the last.
type sealing struct {
	done chan struct{}
	err  error
}

func (w *Writer) seal(old *ssfile.Writer, next uint64, st State, prev *sealing) *sealing {
	s := &sealing{done: make(chan struct{})}
	go func() {
		defer close(s.done)
		if prev != nil {
			if <-prev.done; prev.err != nil {
				old.Close()
				s.err = prev.err
				return
			}
		}
		closeSegment := old.CloseUnsynced
		if w.cfg.synced() {
			closeSegment = old.Close
		}
		if err := closeSegment(); err != nil {
			s.err = fmt.Errorf("ssdir: closing segment %s after a rollover: %w (messages after its last Sync may be lost: reopen the directory with Append)", old.Path(), err)
			return
		}
		if next == 0 {
			return // the next segment is not there: create writes its seed
		}
		if err := writeSeed(w.dir, next, st, w.cfg.synced()); err != nil {
			s.err = err
			return
		}
		if w.cfg.synced() {
			s.err = syncDir(w.dir)
		}
		w.settled.Store(next)
		w.ret.kick()
	}()
	return s
}

// waitSealed waits for the rollover under way to end, and latches its
// failure.
func (w *Writer) waitSealed() error {
	s := w.sealing
	if s == nil {
		return nil
	}
	<-s.done
	w.sealing = nil
	if s.err != nil && w.err == nil {
		w.err = s.err
	}
	return w.err
}

// Write appends one message, rolling over first when the segment is full
// or old enough. As with ssfile.Writer, the message is buffered: Flush and
// Sync say when it is in the file and on stable storage.
func (w *Writer) Write(h format.MessageHeader, payload []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.usable(); err != nil {
		return err
	}
	if w.cur == nil || w.full() {
		if err := w.roll(); err != nil {
			return err
		}
	}
	if err := w.cur.Write(h, payload); err != nil {
		return err
	}
	w.filled = true
	w.until -= int64(format.MessageSize(len(h.StreamKey), len(payload)))
	return nil
}

func (w *Writer) usable() error {
	if w.closed {
		return ErrClosed
	}
	if s := w.sealing; s != nil {
		select {
		case <-s.done:
			return w.waitSealed()
		default:
		}
	}
	return w.err
}

func (w *Writer) full() bool {
	if !w.filled {
		return false
	}
	if w.until <= 0 {
		size := w.cur.Size()
		if size >= w.cfg.segmentSize {
			return true
		}
		w.until = w.cfg.segmentSize - size
	}
	return w.cfg.segmentAge > 0 && w.cfg.now().Sub(w.started) >= w.cfg.segmentAge
}

// roll starts the next segment: the current one is flushed (so that a
// reader that sees the next segment knows this one is complete), the next
// is created, and the rest (see sealing) goes on in the background. A
// failure to create the next (a full disk) leaves no current segment, and
// the next Write tries again; a failure to flush is latched, as the end of
// the segment is then unknown.
func (w *Writer) roll() error {
	if w.cur != nil {
		if err := w.cur.Flush(); err != nil {
			w.err = fmt.Errorf("ssdir: flushing segment %s for a rollover: %w (reopen the directory with Append to go on)", w.cur.Path(), err)
			return w.err
		}
		st := w.cur.State()
		old := w.cur
		w.cur, w.state = nil, st
		w.curN++
		if err := w.createSegment(w.curN, st); err != nil {
			// The segment before is complete; close it now and try
			// creating this one again at the next write.
			w.sealing = w.seal(old, 0, st, w.sealing)
			w.cfg.logger.Warn("ssdir: could not start a new segment; the next write tries again", "dir", w.dir, "err", err)
			return err
		}
		w.sealing = w.seal(old, w.curN, st, w.sealing)
	} else if err := w.waitSealed(); err != nil {
		return err
	} else if err := w.create(w.curN, w.state); err != nil {
		w.cfg.logger.Warn("ssdir: could not start a new segment; the next write tries again", "dir", w.dir, "err", err)
		return err
	}
	w.cfg.logger.Info("ssdir: rolled over", "segment", segmentPath(w.dir, w.curN))
	return nil
}

// Flush hands every message written so far to the operating system.
func (w *Writer) Flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.usable(); err != nil {
		return err
	}
	if w.cur == nil {
		return nil // closed at the last rollover: flushed and synced
	}
	return w.cur.Flush()
}

// Sync flushes and puts every message written so far on stable storage.
func (w *Writer) Sync() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.usable(); err != nil {
		return err
	}
	if err := w.waitSealed(); err != nil {
		return err
	}
	if w.cur == nil {
		return nil
	}
	return w.cur.Sync()
}

// Stream returns the state of one stream across the directory: its highest
// sequence number and timestamp and its running checksum.
func (w *Writer) Stream(key string, shard uint64) (beacon.StreamState, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.cur == nil {
		return w.state.Stream(key, shard)
	}
	return w.cur.Stream(key, shard)
}

// Streams returns every stream of the directory and its state.
func (w *Writer) Streams() []beacon.Stream {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.cur == nil {
		return append([]beacon.Stream(nil), w.state.Streams...)
	}
	return w.cur.Streams()
}

// Segment returns the segment being written.
func (w *Writer) Segment() Segment {
	w.mu.Lock()
	defer w.mu.Unlock()
	s := Segment{Number: w.curN, Path: segmentPath(w.dir, w.curN)}
	if w.cur != nil {
		s.Size = w.cur.Size()
	}
	return s
}

// Dir returns the directory.
func (w *Writer) Dir() string { return w.dir }

// Close flushes, syncs and closes the segment being written, waits for a
// retention pass under way, and releases the directory.
func (w *Writer) Close() error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return ErrClosed
	}
	w.waitSealed()
	w.closed = true
	err := w.err
	if w.cur != nil {
		if cerr := w.cur.Close(); err == nil {
			err = cerr
		}
	}
	w.mu.Unlock()
	w.ret.stop()
	if cerr := w.lock.Close(); err == nil {
		err = cerr
	}
	return err
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("ssdir: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, os.ErrInvalid) {
		return fmt.Errorf("ssdir: syncing %s: %w", dir, err)
	}
	return nil
}
