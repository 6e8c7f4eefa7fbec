package streamer

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/seastream/ss/streamer/driver"
)

// Hook is a value given to WithHooks that is called when something happens
// in a Streamer. Hook itself has no methods: wherever something can be
// observed, the Streamer checks which of the hook interfaces below (HookProduce,
// HookConsume, HookCommit, HookFlush, HookError, and the backends'
// HookFsync and HookRollover) each hook implements, once, when it is opened,
// and calls it for those only. A program implements the ones it cares about;
// new interfaces can be added without breaking it.
//
// Hooks are called synchronously, from the goroutine doing the work (except
// HookProduce, see there), so they must be fast and safe for concurrent use;
// a hook that needs time should hand the event to a goroutine of its own.
// Events are passed by value and never retained by the Streamer; a hook may
// keep them.
type Hook any

// HookProduce is called once for each message sent, once its outcome is known:
// stored (Err nil, Header as the receipt gives it, with its sequence number
// and timestamp) or failed. Latency runs from the send to the moment the
// Streamer saw the outcome.
//
// A Streamer with a HookProduce starts one goroutine per Producer that watches
// the receipts in the order sent; End (or the Streamer's Close) waits for it
// to report every message. It does not allocate per message.
type HookProduce interface {
	OnProduce(ProduceEvent)
}

// ProduceEvent describes one message sent.
type ProduceEvent struct {
	Header  Header        // where it went; Seq and Timestamp set if stored
	Bytes   int           // payload size
	Latency time.Duration // from Send to the outcome
	Err     error         // why it was not stored, or nil
}

// HookConsume is called for each message Next returns.
type HookConsume interface {
	OnConsume(ConsumeEvent)
}

// ConsumeEvent describes one message received.
type ConsumeEvent struct {
	Header Header
	Bytes  int // payload size
	// Delay is the time from the message's timestamp to its delivery by
	// Next: end-to-end latency for a live stream, age for a replay.
	Delay time.Duration
}

// HookCommit is called after each Consumer.Commit that reached the backend.
type HookCommit interface {
	OnCommit(CommitEvent)
}

// CommitEvent describes one commit.
type CommitEvent struct {
	Streams []StreamKey // the consumer's streams; shared, do not modify
	Latency time.Duration
	Err     error
}

// HookFlush is called after each Producer.Flush that reached the backend.
type HookFlush interface {
	OnFlush(FlushEvent)
}

// FlushEvent describes one flush.
type FlushEvent struct {
	Stream  StreamKey // the producer's own stream, "" if it has none
	Latency time.Duration
	Err     error
}

// HookError is called for every error a backend returns from Send, Next,
// Commit or Flush, and for every message that failed to be stored (when a
// HookProduce is set too, which watches the receipts). It is not called for
// the ends of normal life: ErrStreamEnded, ErrClosed, ErrProducerEnded, and
// the caller's own context ending.
type HookError interface {
	OnError(ErrorEvent)
}

// ErrorEvent describes one error.
type ErrorEvent struct {
	Op     Op        // what failed
	Stream StreamKey // the stream concerned, "" if unknown or several
	Err    error
}

// Op names the operation an ErrorEvent is about.
type Op uint8

// Values of Op.
const (
	OpSend    Op = iota + 1 // Send or SendTo returned an error
	OpReceipt               // a message sent could not be stored
	OpNext                  // Next
	OpCommit                // Commit
	OpFlush                 // Flush
)

func (o Op) String() string {
	switch o {
	case OpSend:
		return "send"
	case OpReceipt:
		return "receipt"
	case OpNext:
		return "next"
	case OpCommit:
		return "commit"
	case OpFlush:
		return "flush"
	}
	return fmt.Sprintf("Op(%d)", uint8(o))
}

// Hooks that backends call; see package driver.
type (
	HookFsync     = driver.HookFsync
	HookRollover  = driver.HookRollover
	FsyncEvent    = driver.FsyncEvent
	RolloverEvent = driver.RolloverEvent
)

// WithHooks adds hooks to the Streamer (see Hook); they observe all its
// producers and consumers. Open fails with ErrInvalidOption for a nil hook or
// one that implements none of the hook interfaces. Without hooks, the
// Streamer does no extra work: not even a clock read per message.
func WithHooks(hooks ...Hook) Option {
	return connectFunc(func(c *driver.ConnectOptions) {
		for _, h := range hooks {
			c.Hooks = append(c.Hooks, h)
		}
	})
}

// hookSet holds the hooks sorted by interface, so that the hot paths test
// one slice instead of asserting types per message. A nil *hookSet means no
// portable-layer hook.
type hookSet struct {
	produce []HookProduce
	consume []HookConsume
	commit  []HookCommit
	flush   []HookFlush
	errs    []HookError
}

func newHookSet(hooks []any) (*hookSet, error) {
	var hs hookSet
	found := false
	for i, h := range hooks {
		known := false
		if v, ok := h.(HookProduce); ok {
			hs.produce, known = append(hs.produce, v), true
		}
		if v, ok := h.(HookConsume); ok {
			hs.consume, known = append(hs.consume, v), true
		}
		if v, ok := h.(HookCommit); ok {
			hs.commit, known = append(hs.commit, v), true
		}
		if v, ok := h.(HookFlush); ok {
			hs.flush, known = append(hs.flush, v), true
		}
		if v, ok := h.(HookError); ok {
			hs.errs, known = append(hs.errs, v), true
		}
		if known {
			found = true
			continue
		}
		_, fsync := h.(HookFsync)
		_, roll := h.(HookRollover)
		if !fsync && !roll {
			return nil, invalidOption("hooks", fmt.Sprintf("hook %d (%T)", i, h),
				"a hook must implement at least one of the Hook interfaces (HookProduce, HookConsume, ...)")
		}
	}
	if !found {
		return nil, nil
	}
	return &hs, nil
}

// onError reports err unless it is a normal end or the caller's ctx ending.
func (hs *hookSet) onError(ctx context.Context, op Op, stream StreamKey, err error) {
	if len(hs.errs) == 0 || errors.Is(err, ErrStreamEnded) || errors.Is(err, ErrClosed) || errors.Is(err, ErrProducerEnded) {
		return
	}
	if ctx != nil && ctx.Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
		return
	}
	for _, h := range hs.errs {
		h.OnError(ErrorEvent{Op: op, Stream: stream, Err: err})
	}
}

// maxWatched bounds the receipts a Producer's watcher holds: beyond it Send
// waits (backpressure) for the hooks to catch up, so that slow hooks cannot
// grow memory without limit.
const maxWatched = 1 << 13

// receiptWatcher reports each message of a Producer to the HookProduce hooks
// once its receipt resolves. Send appends to a queue that one goroutine
// drains in order; the queue's two slices are swapped and reused, so that
// watching allocates nothing per message once they have grown.
type receiptWatcher struct {
	hs    *hookSet
	slots chan struct{} // a token per queued receipt, at most maxWatched

	mu    sync.Mutex
	queue []inflight // appended by Send
	spare []inflight // the slice the goroutine last drained, for reuse

	wake   chan struct{} // 1-buffered: the queue is not empty
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{} // closed when the goroutine returns
}

type inflight struct {
	pending driver.Pending
	header  Header
	bytes   int
	sent    time.Time
}

func newReceiptWatcher(hs *hookSet) *receiptWatcher {
	ctx, cancel := context.WithCancel(context.Background())
	w := &receiptWatcher{hs: hs, slots: make(chan struct{}, maxWatched),
		wake: make(chan struct{}, 1), ctx: ctx, cancel: cancel, done: make(chan struct{})}
	go w.run()
	return w
}

// reserve takes a slot for one receipt, waiting while the queue is full,
// until ctx is done.
func (w *receiptWatcher) reserve(ctx context.Context) error {
	select {
	case w.slots <- struct{}{}:
		return nil
	default:
	}
	select {
	case w.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// unreserve gives back a slot reserve took for a Send that failed.
func (w *receiptWatcher) unreserve() { <-w.slots }

// add queues a receipt; its slot is taken.
func (w *receiptWatcher) add(p driver.Pending, h Header, bytes int, sent time.Time) {
	w.mu.Lock()
	w.queue = append(w.queue, inflight{pending: p, header: h, bytes: bytes, sent: sent})
	first := len(w.queue) == 1
	w.mu.Unlock()
	if first { // else the goroutine has yet to take the queue: no need to wake it
		select {
		case w.wake <- struct{}{}:
		default:
		}
	}
}

// stop makes the goroutine report what is queued and return, and waits for
// it. Receipts still unresolved are reported with ErrProducerEnded: the
// driver has ended, so they never will be.
func (w *receiptWatcher) stop() {
	w.cancel()
	<-w.done
}

func (w *receiptWatcher) run() {
	defer close(w.done)
	for {
		w.mu.Lock()
		batch := w.queue
		w.queue, w.spare = w.spare[:0], nil
		w.mu.Unlock()
		if len(batch) == 0 {
			select {
			case <-w.wake:
			case <-w.ctx.Done():
				w.mu.Lock()
				empty := len(w.queue) == 0
				w.mu.Unlock()
				if empty {
					return
				}
			}
		}
		for i := range batch {
			f := &batch[i]
			h, err := f.pending.Wait(w.ctx)
			if err != nil && w.ctx.Err() != nil && errors.Is(err, context.Canceled) {
				err = ErrProducerEnded
			}
			if err == nil {
				f.header = h
			}
			ev := ProduceEvent{Header: f.header, Bytes: f.bytes, Latency: time.Since(f.sent), Err: err}
			for _, hk := range w.hs.produce {
				hk.OnProduce(ev)
			}
			if err != nil && !errors.Is(err, ErrProducerEnded) {
				w.hs.onError(nil, OpReceipt, f.header.StreamKey, err)
			}
			*f = inflight{} // drop the Pending for the garbage collector
			<-w.slots
		}
		w.mu.Lock()
		if w.spare == nil {
			w.spare = batch[:0]
		}
		w.mu.Unlock()
	}
}
