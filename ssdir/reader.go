package ssdir

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/seastream/ss/format"
	"github.com/seastream/ss/ssfile"
)

// Reader reads the messages of a stream directory in write order, segment
// after segment. It is not safe for concurrent use, except Close, which may
// be called at any time to stop a blocked Next.
type Reader struct {
	dir string
	cfg readerConfig

	cur    *ssfile.Reader
	curN   uint64 // 0: no segment open yet
	sealed bool   // the segment after cur exists: cur is read to its end
	follow bool   // cur was opened to follow (Live, LiveReplay): it waits at its end
	seeds  map[uint64]State
	list   []uint64  // segment numbers, as of listed (see numbers)
	listed time.Time // the directory's modification time then
	start  uint64    // a segment Open found being created: the first Next waits for it

	drain   context.Context // done already: reads what is there without waiting
	watcher *fsnotify.Watcher
	closing chan struct{}
	once    sync.Once
	mu      sync.Mutex
	closed  bool
}

// Position is where a Reader is: a segment and an offset in it.
type Position struct {
	Segment uint64
	Offset  int64
}

// Open opens the stream directory dir for reading.
func Open(dir string, opts ...ReaderOption) (*Reader, error) {
	cfg := readerConfig{poll: DefaultPollInterval, logger: slog.New(slog.DiscardHandler)}
	for _, o := range opts {
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("ssdir: %w", err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("%w: %s", ErrNotDir, dir)
	}
	drain, cancel := context.WithCancel(context.Background())
	cancel()
	r := &Reader{dir: dir, cfg: cfg, drain: drain, closing: make(chan struct{}), seeds: map[uint64]State{}}
	if cfg.mode != ssfile.Replay {
		if r.watcher, err = fsnotify.NewWatcher(); err == nil {
			err = r.watcher.Add(dir)
		}
		if err != nil {
			cfg.logger.Warn("ssdir: no change notifications, polling only", "dir", dir, "err", err)
			if r.watcher != nil {
				r.watcher.Close()
				r.watcher = nil
			}
		}
	}
	segs, err := Segments(dir)
	if err != nil {
		r.Close()
		return nil, err
	}
	if len(segs) > 0 {
		n, mode := segs[0].Number, ssfile.LiveReplay
		if cfg.mode == ssfile.Live {
			n, mode = segs[len(segs)-1].Number, ssfile.Live
		}
		err := r.openSegment(n, mode)
		if errors.Is(err, format.ErrShortInput) {
			r.start, err = n, nil // being created
		}
		if err != nil {
			r.Close()
			return nil, err
		}
	}
	return r, nil
}

// openSegment opens segment n; mode is how to read it when it is the last.
func (r *Reader) openSegment(n uint64, mode ssfile.Mode) error {
	sealed := r.exists(n + 1)
	opts := append([]ssfile.ReaderOption(nil), r.cfg.fileOpts...)
	follow := false
	switch {
	case r.cfg.mode == ssfile.Replay || sealed && mode != ssfile.Live:
		opts = append(opts, ssfile.WithMode(ssfile.Replay))
	default:
		follow = true
		opts = append(opts, ssfile.WithMode(mode), ssfile.WithPollInterval(r.cfg.poll))
	}
	f, err := ssfile.Open(segmentPath(r.dir, n), opts...)
	if err != nil {
		return err
	}
	if r.cur != nil {
		r.cur.Close()
	}
	r.cur, r.curN, r.sealed, r.follow = f, n, sealed, follow
	return nil
}

func (r *Reader) exists(n uint64) bool {
	_, err := os.Stat(segmentPath(r.dir, n))
	return err == nil
}

// Next returns the next message. In Replay mode it returns io.EOF after the
// last message of the last segment; in the live modes it waits for one,
// going on into each new segment, until ctx is done. Errors of a segment's
// ssfile.Reader (ErrCorrupt, ErrTornTail) come as they are, naming the
// segment's path.
func (r *Reader) Next(ctx context.Context) (ssfile.Message, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for {
		if r.closed {
			return ssfile.Message{}, ErrClosed
		}
		if r.cur == nil {
			if err := r.first(ctx); err != nil {
				return ssfile.Message{}, err
			}
			continue
		}
		if r.sealed || !r.follow {
			m, err := r.cur.Next(r.drain) // Replay, or a follower told the segment ended
			if err == nil {
				return m, nil
			}
			ended := errors.Is(err, io.EOF) || r.follow && errors.Is(err, context.Canceled) ||
				r.sealed && errors.Is(err, ssfile.ErrRemoved) // retention deleted it, read to its end
			if !ended {
				return m, err
			}
			if !r.exists(r.curN+1) && !r.sealed {
				return m, io.EOF // Replay, at the end of the last segment
			}
			if err := r.advance(ctx); err != nil {
				return ssfile.Message{}, err
			}
			continue
		}
		// The last segment, followed: what is there first, without waiting.
		m, err := r.cur.Next(r.drain)
		if err == nil {
			return m, nil
		}
		if errors.Is(err, ssfile.ErrRemoved) {
			// Retention deleted it under a reader that was behind: it
			// deletes only sealed segments, and this one is read to its
			// end (the open file stays readable).
			r.sealed = true
			continue
		}
		if !errors.Is(err, context.Canceled) {
			return m, err
		}
		if r.exists(r.curN + 1) {
			// The writer rolled over: it wrote nothing to this segment
			// after the next one existed, so reading it to the end
			// before moving on misses nothing.
			r.sealed = true
			continue
		}
		if err := ctx.Err(); err != nil {
			return ssfile.Message{}, err // nothing there, and no waiting: a done ctx asks what is there
		}
		if m, err, ok := r.waitLast(ctx); ok {
			return m, err
		}
	}
}

// waitLast waits in the last segment for a message or for the next segment
// to appear (ok false: look again).
func (r *Reader) waitLast(ctx context.Context) (ssfile.Message, error, bool) {
	wctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		r.watchFor(wctx, cancel, func() bool { return r.exists(r.curN + 1) })
	}()
	m, err := r.cur.Next(wctx)
	cancel(nil)
	<-watched
	if err == nil {
		return m, nil, true
	}
	if ctx.Err() != nil {
		return ssfile.Message{}, ctx.Err(), true
	}
	switch cause := context.Cause(wctx); {
	case errors.Is(cause, errNextSegment):
		return ssfile.Message{}, nil, false
	case errors.Is(cause, ErrClosed) || r.isClosing():
		return ssfile.Message{}, ErrClosed, true
	case errors.Is(err, ssfile.ErrRemoved):
		r.sealed = true // deleted by retention: sealed, and read to its end
		return ssfile.Message{}, nil, false
	}
	return m, err, true
}

var errNextSegment = errors.New("ssdir: next segment")

// watchFor cancels wait with errNextSegment once appeared reports true
// (the segment after the current one is there): it asks on a change of the
// directory, and at the poll interval.
func (r *Reader) watchFor(wait context.Context, cancel context.CancelCauseFunc, appeared func() bool) {
	var events chan fsnotify.Event
	if r.watcher != nil {
		events = r.watcher.Events
	}
	t := time.NewTimer(r.cfg.poll)
	defer t.Stop()
	for {
		if appeared() {
			cancel(errNextSegment)
			return
		}
		select {
		case <-wait.Done():
			return
		case <-r.closing:
			cancel(ErrClosed)
			return
		case _, ok := <-events:
			if !ok {
				events = nil
			}
		case <-t.C:
			t.Reset(r.cfg.poll)
		}
	}
}

func (r *Reader) isClosing() bool {
	select {
	case <-r.closing:
		return true
	default:
		return false
	}
}

// first opens the first segment of a directory that had none when opened.
func (r *Reader) first(ctx context.Context) error {
	if r.start != 0 {
		r.curN, r.start = r.start-1, 0
		return r.advance(ctx)
	}
	for {
		segs, err := Segments(r.dir)
		if err != nil {
			return err
		}
		if len(segs) > 0 {
			r.curN = segs[0].Number - 1
			return r.advance(ctx)
		}
		if r.cfg.mode == ssfile.Replay {
			return io.EOF
		}
		wctx, cancel := context.WithCancelCause(ctx)
		r.watchFor(wctx, cancel, func() bool { segs, err := Segments(r.dir); return err != nil || len(segs) > 0 })
		err = context.Cause(wctx)
		cancel(nil)
		if !errors.Is(err, errNextSegment) {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return err
		}
	}
}

// advance moves to the segment after the current one, which exists or
// existed. A segment is created with its header (a rollover, or Append
// starting a directory): a follower that finds it shorter than a header
// waits for the rest.
func (r *Reader) advance(ctx context.Context) error {
	next := r.curN + 1
	for retried := false; ; {
		err := r.openSegment(next, ssfile.LiveReplay)
		if !errors.Is(err, format.ErrShortInput) {
			if errors.Is(err, fs.ErrNotExist) {
				return r.deleted(next, err)
			}
			return err
		}
		if r.exists(next + 1) {
			if !retried {
				// The writer may have written the header, filled the
				// segment and rolled over since the open: open it again.
				retried = true
				continue
			}
			return err // a header cut short, not a segment being created: only the last one can be
		}
		if r.cfg.mode == ssfile.Replay {
			return io.EOF // the last segment, being created
		}
		wctx, cancel := context.WithCancelCause(ctx)
		r.watchFor(wctx, cancel, func() bool { return r.headerDone(next) })
		cause := context.Cause(wctx)
		cancel(nil)
		if !errors.Is(cause, errNextSegment) {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return cause
		}
	}
}

// headerDone reports whether segment n holds a whole header, or is gone.
func (r *Reader) headerDone(n uint64) bool {
	fi, err := os.Stat(segmentPath(r.dir, n))
	return err != nil || fi.Size() >= format.HeaderSize
}

// deleted handles a next segment that is not there: deleted by retention
// (an older one is left), or not there at all.
func (r *Reader) deleted(next uint64, err error) error {
	segs, lerr := Segments(r.dir)
	if lerr != nil {
		return lerr
	}
	if len(segs) == 0 || segs[0].Number <= next {
		return err
	}
	if !r.cfg.skipDeleted {
		return fmt.Errorf("%w: segment %d of %s (the oldest left is %d)", ErrSegmentDeleted, next, r.dir, segs[0].Number)
	}
	r.cfg.logger.Warn("ssdir: skipping segments deleted by retention", "dir", r.dir, "from", next, "to", segs[0].Number-1)
	return r.openSegment(segs[0].Number, ssfile.LiveReplay)
}

// Position returns where the next message starts.
func (r *Reader) Position() Position {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cur == nil {
		return Position{}
	}
	return Position{Segment: r.curN, Offset: r.cur.Offset()}
}

// SetPosition moves to p, a Position returned before (of a message start).
// A segment deleted since gives an error matching ErrSegmentDeleted.
func (r *Reader) SetPosition(p Position) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return ErrClosed
	}
	if err := r.openSegment(p.Segment, ssfile.LiveReplay); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("%w: segment %d of %s", ErrSegmentDeleted, p.Segment, r.dir)
		}
		return err
	}
	return r.cur.SetOffset(p.Offset)
}

// Close closes the Reader; a Next blocked in another goroutine returns
// ErrClosed.
func (r *Reader) Close() error {
	r.once.Do(func() { close(r.closing) }) // stops a Next waiting: see watchFor
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
	if r.cur != nil {
		r.cur.Close()
	}
	if r.watcher != nil {
		r.watcher.Close()
		r.watcher = nil
	}
	return nil
}
