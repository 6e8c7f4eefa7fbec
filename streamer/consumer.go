package streamer

import (
	"context"
	"errors"
	"iter"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/seastream/ss/streamer/driver"
)

// Consumer receives messages (SeaStreamer's Consumer). It is safe for
// concurrent use: several goroutines may call Next, and each message goes to
// one of them; Close unblocks them all.
type Consumer struct {
	s       *Streamer
	dc      driver.Consumer
	streams []StreamKey
	mode    ConsumerMode
	hooks   *hookSet // nil without hooks

	next       turn          // one Next at a time reaches the driver, unless concurrent
	concurrent bool          // the driver's Next may be called concurrently (driver.ConcurrentNext)
	ctrlSem    chan struct{} // one of Seek/Rewind/Assign/Unassign/Commit at a time

	closeOnce sync.Once
	done      chan struct{} // closed by Close
	closed    atomic.Bool   // set by Close before done is closed: cheaper to test on every Next
}

func newConsumer(s *Streamer, dc driver.Consumer, streams []StreamKey, mode ConsumerMode) *Consumer {
	_, concurrent := dc.(driver.ConcurrentNext)
	return &Consumer{
		s: s, dc: dc, streams: streams, mode: mode, concurrent: concurrent, hooks: s.hooks,
		next:    turn{wake: make(chan struct{}, 1)},
		ctrlSem: make(chan struct{}, 1),
		done:    make(chan struct{}),
	}
}

// Streams returns the stream keys the consumer subscribed to.
func (c *Consumer) Streams() []StreamKey { return slices.Clone(c.streams) }

// Mode returns the consumer's mode.
func (c *Consumer) Mode() ConsumerMode { return c.mode }

// As sets target to the driver's native consumer type, if the driver
// exposes one, and reports whether it did.
func (c *Consumer) As(target any) bool {
	a, ok := c.dc.(driver.Aser)
	return ok && target != nil && a.As(target)
}

func (c *Consumer) isClosed() bool { return c.closed.Load() }

// acquire takes sem, honouring ctx and Close.
func (c *Consumer) acquire(ctx context.Context, sem chan struct{}) error {
	if c.isClosed() {
		return ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	select {
	case sem <- struct{}{}: // free, the common case: no need to watch ctx and Close
	default:
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		case <-c.done:
			return ErrClosed
		}
	}
	if c.isClosed() {
		<-sem
		return ErrClosed
	}
	return nil
}

// Next returns the next message. It blocks until there is one, or returns
// ctx's error when ctx ends, ErrStreamEnded when the stream has ended (an
// end-of-stream message, the end of a replay), or ErrClosed once the
// consumer is closed. A cancelled Next loses no message: the next call gets
// it. Messages of one (stream, shard) come in order. The payload is
// read-only and never changes once returned (see Message).
func (c *Consumer) Next(ctx context.Context) (Message, error) {
	m, err := c.nextMessage(ctx)
	if c.hooks != nil {
		c.observe(ctx, m, err)
	}
	return m, err
}

func (c *Consumer) observe(ctx context.Context, m Message, err error) {
	if err != nil {
		c.hooks.onError(ctx, OpNext, "", err)
		return
	}
	if len(c.hooks.consume) == 0 {
		return
	}
	ev := ConsumeEvent{Header: m.Header, Bytes: len(m.Payload)}
	if !m.Timestamp.IsZero() {
		ev.Delay = time.Since(m.Timestamp)
	}
	for _, h := range c.hooks.consume {
		h.OnConsume(ev)
	}
}

func (c *Consumer) nextMessage(ctx context.Context) (Message, error) {
	if c.concurrent {
		if c.isClosed() {
			return Message{}, ErrClosed
		}
		if err := ctx.Err(); err != nil {
			return Message{}, err
		}
		return c.dc.Next(ctx)
	}
	if err := c.next.take(ctx, c.done); err != nil {
		return Message{}, err
	}
	defer c.next.release()
	if c.isClosed() {
		return Message{}, ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return Message{}, err
	}
	return c.dc.Next(ctx)
}

// turn lets one caller at a time through, like a 1-slot semaphore that
// honours ctx and Close, but costing one TryLock and one atomic load when
// nobody waits: Next is on the hot path of every consumer.
type turn struct {
	mu      sync.Mutex
	waiters atomic.Int32
	wake    chan struct{} // 1-buffered: a release tells a waiter to retry
}

func (t *turn) take(ctx context.Context, done <-chan struct{}) error {
	if t.mu.TryLock() {
		return nil
	}
	t.waiters.Add(1)
	defer t.waiters.Add(-1)
	for {
		// Retried after registering as a waiter, so that a release that
		// did not see this waiter has already unlocked.
		if t.mu.TryLock() {
			return nil
		}
		select {
		case <-t.wake:
		case <-ctx.Done():
			return ctx.Err()
		case <-done:
			return ErrClosed
		}
	}
}

func (t *turn) release() {
	t.mu.Unlock()
	if t.waiters.Load() > 0 {
		select {
		case t.wake <- struct{}{}:
		default: // a token is already there for some waiter
		}
	}
}

// Messages returns an iterator over the consumer's messages, for range
// loops. It calls Next until an error: ErrStreamEnded ends the loop quietly;
// any other error (ctx's included) is yielded once, then the loop ends.
//
//	for msg, err := range consumer.Messages(ctx) {
//		if err != nil {
//			return err
//		}
//		...
//	}
func (c *Consumer) Messages(ctx context.Context) iter.Seq2[Message, error] {
	return func(yield func(Message, error) bool) {
		for {
			m, err := c.Next(ctx)
			if err != nil {
				if !errors.Is(err, ErrStreamEnded) {
					yield(Message{}, err)
				}
				return
			}
			if !yield(m, nil) {
				return
			}
		}
	}
}

// Seek moves every assigned (stream, shard) to the first message with a
// timestamp later than t: the next Next returns it. Backends without
// time-based seeking return ErrUnsupported.
func (c *Consumer) Seek(ctx context.Context, t time.Time) error {
	if err := c.acquire(ctx, c.ctrlSem); err != nil {
		return err
	}
	defer func() { <-c.ctrlSem }()
	return c.dc.Seek(ctx, t)
}

// Rewind moves every assigned (stream, shard) to pos: SeqBeginning(),
// SeqEnd() or SeqAt(n).
func (c *Consumer) Rewind(ctx context.Context, pos SeqPos) error {
	if pos.Kind > driver.SeqPosAt {
		return invalidOption("seq_pos", pos.String(), "use SeqBeginning, SeqEnd or SeqAt")
	}
	if err := c.acquire(ctx, c.ctrlSem); err != nil {
		return err
	}
	defer func() { <-c.ctrlSem }()
	return c.dc.Rewind(ctx, pos)
}

// Assign adds (stream, shard) to what the consumer reads; without any
// assignment it reads every shard of its streams. The change takes effect at
// the next Seek or Rewind. The stream must be one the consumer subscribed to
// (ErrStreamKeyNotFound).
func (c *Consumer) Assign(stream StreamKey, shard ShardID) error {
	if err := c.checkStream(stream); err != nil {
		return err
	}
	if err := c.acquire(context.Background(), c.ctrlSem); err != nil {
		return err
	}
	defer func() { <-c.ctrlSem }()
	return c.dc.Assign(stream, shard)
}

// Unassign removes (stream, shard): ErrConsumerNotAssigned if it is not
// assigned, ErrStreamKeyEmpty if nothing would be left.
func (c *Consumer) Unassign(stream StreamKey, shard ShardID) error {
	if err := c.checkStream(stream); err != nil {
		return err
	}
	if err := c.acquire(context.Background(), c.ctrlSem); err != nil {
		return err
	}
	defer func() { <-c.ctrlSem }()
	return c.dc.Unassign(stream, shard)
}

func (c *Consumer) checkStream(stream StreamKey) error {
	if err := driver.ValidateStreamKey(string(stream)); err != nil {
		return err
	}
	if !slices.Contains(c.streams, stream) && !slices.Contains(c.streams, Wildcard) {
		return ErrStreamKeyNotFound
	}
	return nil
}

// Commit records that every message Next has returned so far is processed:
// a Resumable consumer restarted with the same group resumes after them, and
// a LoadBalanced group will not hand them out again. It returns
// ErrCommitNotAllowed on a RealTime consumer.
func (c *Consumer) Commit(ctx context.Context) error {
	if c.mode == RealTime {
		return ErrCommitNotAllowed
	}
	if err := c.acquire(ctx, c.ctrlSem); err != nil {
		return err
	}
	defer func() { <-c.ctrlSem }()
	if c.hooks == nil {
		return c.dc.Commit(ctx)
	}
	start := time.Now()
	err := c.dc.Commit(ctx)
	ev := CommitEvent{Streams: c.streams, Latency: time.Since(start), Err: err}
	for _, h := range c.hooks.commit {
		h.OnCommit(ev)
	}
	if err != nil {
		c.hooks.onError(ctx, OpCommit, "", err)
	}
	return err
}

// Close releases the consumer and waits for its background work to stop. A
// blocked Next returns ErrClosed, as does every later call (Close included).
// Close does not commit.
func (c *Consumer) Close(ctx context.Context) error {
	err := c.shutdown(ctx)
	c.s.forgetConsumer(c)
	return err
}

func (c *Consumer) shutdown(ctx context.Context) error {
	err := ErrClosed
	c.closeOnce.Do(func() {
		c.closed.Store(true)
		close(c.done)
		err = c.dc.Close(ctx)
	})
	return err
}
