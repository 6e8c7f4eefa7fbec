package stdio

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/seastream/ss/streamer/driver"
)

// item is a queued message with its dispatch number: messages are numbered
// from 1 in the order the input dispatches them.
type item struct {
	m driver.Message
	n uint64
}

// consumer is a driver.Consumer fed by its input's dispatches through a
// queue. The queue itself is not bounded; instead the reading goroutine
// waits before reading another line while every consumer of the input has
// at least its prefetch (ConsumerOptions.Prefetch, default 1000) queued. So
// a pipeline gets backpressure (a slow process holds back the one writing to
// it), and a consumer that reads nothing does not stall the others reading
// the same input: it queues what they read.
//
// Members of a group each have their own queue, filled round-robin. When a
// member leaves, what was queued for it becomes the group's orphans: a member
// takes an orphan when that keeps its own order (the orphan was dispatched
// after the last message it returned), so a member joining later takes them
// all. Nothing the group received is lost, and no member sees its messages
// out of order.
type consumer struct {
	in       *input
	streams  []driver.StreamKey
	group    string
	loopback bool
	prefetch int
	notify   chan struct{} // capacity 1: a message was queued or the stream ended
	closed   chan struct{} // closed with mu held
	once     sync.Once

	// Guarded by in.mu.
	assigned map[driver.StreamShard]struct{}

	mu     sync.Mutex // guards the fields below; taken after in.mu
	queue  []item
	head   int    // queue[head:] are pending
	lastN  uint64 // dispatch number of the last message returned
	ended  bool   // the stream ended: Next returns endErr once queue is empty
	endErr error  // nil at the end of the input, else why reading failed
}

// accepts reports whether a message of ss is for c (broadcasts aside).
// Called with in.mu held.
func (c *consumer) accepts(ss driver.StreamShard) bool {
	if !c.subscribed(ss.Stream) {
		return false
	}
	if len(c.assigned) == 0 {
		return true
	}
	_, ok := c.assigned[ss]
	return ok
}

func (c *consumer) subscribed(k driver.StreamKey) bool {
	return slices.Contains(c.streams, k) || slices.Contains(c.streams, driver.Wildcard)
}

// push queues a message for c.
func (c *consumer) push(it item) {
	c.mu.Lock()
	c.queue = append(c.queue, it)
	c.mu.Unlock()
	c.wake()
}

func (c *consumer) wake() {
	select {
	case c.notify <- struct{}{}:
	default:
	}
}

// end ends c's stream after what is queued.
func (c *consumer) end(err error) {
	c.mu.Lock()
	c.ended, c.endErr = true, err
	c.mu.Unlock()
	c.wake()
}

// pending returns the number of queued messages.
func (c *consumer) pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.queue) - c.head
}

// takeQueue removes and returns what is queued.
func (c *consumer) takeQueue() []item {
	c.mu.Lock()
	defer c.mu.Unlock()
	q := c.queue[c.head:]
	c.queue, c.head = nil, 0
	return q
}

func (c *consumer) isClosed() bool {
	select {
	case <-c.closed:
		return true
	default:
		return false
	}
}

// Next implements driver.Consumer.
func (c *consumer) Next(ctx context.Context) (driver.Message, error) {
	for {
		m, ok, err := c.take()
		if ok {
			c.in.roomMade()
			return m, nil
		}
		if err != nil {
			return driver.Message{}, err
		}
		select {
		case <-c.notify:
		case <-c.closed:
			return driver.Message{}, driver.ErrClosed
		case <-ctx.Done():
			return driver.Message{}, ctx.Err()
		}
	}
}

// take returns the next message if there is one, or the error that ends
// the stream, or neither (then wait for c.notify).
func (c *consumer) take() (driver.Message, bool, error) {
	var orphans []item
	if c.group != "" {
		c.in.mu.Lock()
		defer c.in.mu.Unlock()
		orphans = c.in.orphans[c.group]
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.isClosed() {
		return driver.Message{}, false, driver.ErrClosed
	}
	// The first orphan this member may take without going back in order.
	oi := -1
	for i, it := range orphans {
		if it.n > c.lastN && (it.m.StreamKey == Broadcast || c.accepts(it.m.StreamShard())) {
			oi = i
			break
		}
	}
	own := c.head < len(c.queue)
	switch {
	case oi >= 0 && (!own || orphans[oi].n < c.queue[c.head].n):
		it := orphans[oi]
		c.in.orphans[c.group] = slices.Delete(orphans, oi, oi+1)
		c.lastN = it.n
		return it.m, true, nil
	case own:
		it := c.queue[c.head]
		c.queue[c.head] = item{}
		c.head++
		if c.head == len(c.queue) {
			c.queue, c.head = c.queue[:0], 0
		} else if c.head >= 1024 && c.head*2 >= len(c.queue) {
			c.queue, c.head = slices.Clone(c.queue[c.head:]), 0
		}
		c.lastN = it.n
		return it.m, true, nil
	case c.ended && c.endErr != nil:
		return driver.Message{}, false, c.endErr
	case c.ended:
		return driver.Message{}, false, fmt.Errorf("%w: end of the stdio input", driver.ErrStreamEnded)
	}
	return driver.Message{}, false, nil
}

// Seek implements driver.Consumer: stdio cannot seek.
func (c *consumer) Seek(ctx context.Context, t time.Time) error {
	if c.isClosed() {
		return driver.ErrClosed
	}
	return fmt.Errorf("%w: seek on stdio (it is real-time only)", driver.ErrUnsupported)
}

// Rewind implements driver.Consumer: stdio cannot rewind.
func (c *consumer) Rewind(ctx context.Context, pos driver.SeqPos) error {
	if c.isClosed() {
		return driver.ErrClosed
	}
	return fmt.Errorf("%w: rewind on stdio (it is real-time only)", driver.ErrUnsupported)
}

// Assign implements driver.Consumer. On stdio it takes effect at once: from
// the next line read, c only receives the (stream, shard)s assigned.
func (c *consumer) Assign(stream driver.StreamKey, shard driver.ShardID) error {
	if c.isClosed() {
		return driver.ErrClosed
	}
	if !c.subscribed(stream) {
		return fmt.Errorf("%w: %q", driver.ErrStreamKeyNotFound, stream)
	}
	c.in.mu.Lock()
	defer c.in.mu.Unlock()
	if c.assigned == nil {
		c.assigned = make(map[driver.StreamShard]struct{})
	}
	c.assigned[driver.StreamShard{Stream: stream, Shard: shard}] = struct{}{}
	return nil
}

// Unassign implements driver.Consumer.
func (c *consumer) Unassign(stream driver.StreamKey, shard driver.ShardID) error {
	if c.isClosed() {
		return driver.ErrClosed
	}
	if !c.subscribed(stream) {
		return fmt.Errorf("%w: %q", driver.ErrStreamKeyNotFound, stream)
	}
	ss := driver.StreamShard{Stream: stream, Shard: shard}
	c.in.mu.Lock()
	defer c.in.mu.Unlock()
	if _, ok := c.assigned[ss]; !ok {
		return fmt.Errorf("%w: %s", driver.ErrConsumerNotAssigned, ss)
	}
	if len(c.assigned) == 1 {
		return fmt.Errorf("%w: %s is the consumer's last assignment", driver.ErrStreamKeyEmpty, ss)
	}
	delete(c.assigned, ss)
	return nil
}

// Commit implements driver.Consumer: stdio stores no position, so there is
// nothing to commit.
func (c *consumer) Commit(ctx context.Context) error {
	if c.isClosed() {
		return driver.ErrClosed
	}
	return nil
}

// Close implements driver.Consumer. What is queued for a member of a group
// becomes the group's (see consumer); otherwise it is dropped.
func (c *consumer) Close(ctx context.Context) error {
	err := driver.ErrClosed
	c.once.Do(func() {
		c.mu.Lock()
		close(c.closed)
		c.mu.Unlock()
		c.in.removeConsumer(c)
		err = nil
	})
	return err
}
