package streamer_test

// An in-memory driver used only by this package's tests, to exercise the
// portable layer and the conformance suite without a real backend.

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/seastream/ss/streamer/driver"
)

type memDriver struct {
	mu      sync.Mutex
	brokers map[string]*memBroker
}

func (d *memDriver) Open(ctx context.Context, u *driver.URI, opts driver.ConnectOptions) (driver.Conn, error) {
	if err := u.CheckOptions(); err != nil {
		return nil, err
	}
	for _, x := range opts.Extra {
		return nil, driver.UnknownExtraError("mem", x)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.brokers == nil {
		d.brokers = map[string]*memBroker{}
	}
	b := d.brokers[u.Addr]
	if b == nil {
		b = &memBroker{
			logs:    map[driver.StreamShard][]driver.Message{},
			notify:  make(chan struct{}),
			commits: map[string]map[driver.StreamShard]int{},
			groups:  map[string]*memCursor{},
		}
		d.brokers[u.Addr] = b
	}
	return &memConn{b: b}, nil
}

type memBroker struct {
	mu      sync.Mutex
	logs    map[driver.StreamShard][]driver.Message
	order   []driver.StreamShard // in creation order
	notify  chan struct{}        // closed and replaced on every append
	commits map[string]map[driver.StreamShard]int
	groups  map[string]*memCursor // LoadBalanced groups share a cursor
}

// memCursor is a read position per (stream, shard); a (stream, shard)
// without an entry starts at base (or 0 if it did not exist then).
type memCursor struct {
	pos  map[driver.StreamShard]int
	base map[driver.StreamShard]int
}

func (b *memBroker) newCursor(reset driver.StreamReset, committed map[driver.StreamShard]int) *memCursor {
	c := &memCursor{pos: map[driver.StreamShard]int{}, base: map[driver.StreamShard]int{}}
	for ss, log := range b.logs {
		if reset == driver.ResetLatest {
			c.base[ss] = len(log)
		}
	}
	for ss, n := range committed {
		c.base[ss] = n
	}
	return c
}

func (c *memCursor) get(ss driver.StreamShard) int {
	if p, ok := c.pos[ss]; ok {
		return p
	}
	return c.base[ss]
}

type memConn struct{ b *memBroker }

func (c *memConn) NewProducer(ctx context.Context, stream driver.StreamKey, opts driver.ProducerOptions) (driver.Producer, error) {
	for _, x := range opts.Extra {
		return nil, driver.UnknownExtraError("mem", x)
	}
	return &memProducer{b: c.b, verbatim: opts.Verbatim}, nil
}

func (c *memConn) NewConsumer(ctx context.Context, streams []driver.StreamKey, opts driver.ConsumerOptions) (driver.Consumer, error) {
	for _, x := range opts.Extra {
		return nil, driver.UnknownExtraError("mem", x)
	}
	b := c.b
	b.mu.Lock()
	defer b.mu.Unlock()
	mc := &memConsumer{b: b, streams: streams, opts: opts, closed: make(chan struct{}),
		delivered: map[driver.StreamShard]int{}}
	switch opts.Mode {
	case driver.LoadBalanced:
		if opts.Group == "" {
			return nil, driver.ErrConsumerGroupNotSet // no default group
		}
		if slices.Contains(streams, driver.Wildcard) {
			return nil, fmt.Errorf("%w: wildcard in a group", driver.ErrUnsupported)
		}
		g := b.groups[opts.Group]
		if g == nil {
			g = b.newCursor(opts.AutoStreamReset, nil)
			b.groups[opts.Group] = g
		}
		mc.cur = g
	case driver.Resumable:
		mc.cur = b.newCursor(opts.AutoStreamReset, b.commits[mc.groupName()])
	default:
		mc.cur = b.newCursor(opts.AutoStreamReset, nil)
	}
	if opts.Replay {
		mc.replayEnd = map[driver.StreamShard]int{}
		for ss, log := range b.logs {
			mc.replayEnd[ss] = len(log)
		}
	}
	return mc, nil
}

func (c *memConn) Close(ctx context.Context) error { return nil }

type memProducer struct {
	b        *memBroker
	verbatim bool
}

func (p *memProducer) Send(ctx context.Context, h driver.Header, payload []byte) (driver.Pending, error) {
	b := p.b
	b.mu.Lock()
	defer b.mu.Unlock()
	ss := h.StreamShard()
	log, ok := b.logs[ss]
	if !ok {
		b.order = append(b.order, ss)
	}
	if !p.verbatim {
		h.Seq = 1
		if len(log) > 0 {
			h.Seq = log[len(log)-1].Seq + 1
		}
		if h.Timestamp.IsZero() {
			h.Timestamp = time.Now()
		}
	}
	h.Timestamp = h.Timestamp.Truncate(time.Millisecond).UTC()
	b.logs[ss] = append(log, driver.Message{Header: h, Payload: slices.Clone(payload)})
	close(b.notify)
	b.notify = make(chan struct{})
	return driver.Resolved(h, nil), nil
}

func (p *memProducer) Flush(ctx context.Context) error { return nil }
func (p *memProducer) End(ctx context.Context) error   { return nil }

type memConsumer struct {
	b         *memBroker
	streams   []driver.StreamKey
	opts      driver.ConsumerOptions
	cur       *memCursor
	replayEnd map[driver.StreamShard]int
	pending   map[driver.StreamShard]bool // Assign/Unassign not yet applied
	active    map[driver.StreamShard]bool // nil: every shard
	delivered map[driver.StreamShard]int
	rr        int

	closeOnce sync.Once
	closed    chan struct{}
}

func (c *memConsumer) groupName() string {
	if c.opts.Group == "" {
		return "default"
	}
	return c.opts.Group
}

// targets lists the (stream, shard)s to read; b.mu is held.
func (c *memConsumer) targets() []driver.StreamShard {
	var out []driver.StreamShard
	for _, ss := range c.b.order {
		if !slices.Contains(c.streams, ss.Stream) && !slices.Contains(c.streams, driver.Wildcard) {
			continue
		}
		if c.active != nil && !c.active[ss] {
			continue
		}
		out = append(out, ss)
	}
	return out
}

func (c *memConsumer) Next(ctx context.Context) (driver.Message, error) {
	b := c.b
	for {
		b.mu.Lock()
		select {
		case <-c.closed:
			b.mu.Unlock()
			return driver.Message{}, driver.ErrClosed
		default:
		}
		list := c.targets()
		ended := c.replayEnd != nil
		for i := range list {
			ss := list[(c.rr+i)%len(list)]
			pos, limit := c.cur.get(ss), len(b.logs[ss])
			if c.replayEnd != nil {
				limit = min(limit, c.replayEnd[ss])
			}
			if pos < limit {
				c.rr += i + 1
				c.cur.pos[ss] = pos + 1
				c.delivered[ss] = pos + 1
				m := b.logs[ss][pos]
				b.mu.Unlock()
				return m, nil
			}
		}
		ch := b.notify
		b.mu.Unlock()
		if ended {
			return driver.Message{}, driver.ErrStreamEnded
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return driver.Message{}, ctx.Err()
		case <-c.closed:
			return driver.Message{}, driver.ErrClosed
		}
	}
}

func (c *memConsumer) move(find func(log []driver.Message) int) error {
	if c.opts.Mode == driver.LoadBalanced {
		return fmt.Errorf("%w: seeking a group member", driver.ErrUnsupported)
	}
	c.b.mu.Lock()
	defer c.b.mu.Unlock()
	if c.pending != nil {
		c.active = c.pending
		c.pending = nil
	}
	for _, ss := range c.targets() {
		c.cur.pos[ss] = find(c.b.logs[ss])
	}
	return nil
}

func (c *memConsumer) Seek(ctx context.Context, t time.Time) error {
	return c.move(func(log []driver.Message) int {
		i, _ := slices.BinarySearchFunc(log, t, func(m driver.Message, t time.Time) int {
			if m.Timestamp.After(t) {
				return 1
			}
			return -1
		})
		return i
	})
}

func (c *memConsumer) Rewind(ctx context.Context, pos driver.SeqPos) error {
	return c.move(func(log []driver.Message) int {
		switch pos.Kind {
		case driver.SeqPosEnd:
			return len(log)
		case driver.SeqPosAt:
			return slices.IndexFunc(append(log[:len(log):len(log)], driver.Message{Header: driver.Header{Seq: ^driver.SeqNo(0)}}),
				func(m driver.Message) bool { return m.Seq >= pos.Seq })
		}
		return 0
	})
}

func (c *memConsumer) Assign(stream driver.StreamKey, shard driver.ShardID) error {
	c.b.mu.Lock()
	defer c.b.mu.Unlock()
	if c.pending == nil {
		c.pending = map[driver.StreamShard]bool{}
		for ss := range c.active {
			c.pending[ss] = true
		}
	}
	c.pending[driver.StreamShard{Stream: stream, Shard: shard}] = true
	return nil
}

func (c *memConsumer) Unassign(stream driver.StreamKey, shard driver.ShardID) error {
	c.b.mu.Lock()
	defer c.b.mu.Unlock()
	set := c.pending
	if set == nil {
		set = c.active
	}
	ss := driver.StreamShard{Stream: stream, Shard: shard}
	if !set[ss] {
		return driver.ErrConsumerNotAssigned
	}
	if len(set) == 1 {
		return driver.ErrStreamKeyEmpty
	}
	c.pending = map[driver.StreamShard]bool{}
	for k := range set {
		if k != ss {
			c.pending[k] = true
		}
	}
	return nil
}

func (c *memConsumer) Commit(ctx context.Context) error {
	if c.opts.Mode != driver.Resumable {
		return nil
	}
	c.b.mu.Lock()
	defer c.b.mu.Unlock()
	m := c.b.commits[c.groupName()]
	if m == nil {
		m = map[driver.StreamShard]int{}
		c.b.commits[c.groupName()] = m
	}
	for ss, n := range c.delivered {
		m[ss] = n
	}
	return nil
}

func (c *memConsumer) Close(ctx context.Context) error {
	c.closeOnce.Do(func() { close(c.closed) })
	return nil
}
