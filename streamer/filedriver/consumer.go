package filedriver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/seastream/ss/format"
	"github.com/seastream/ss/ssfile"
	"github.com/seastream/ss/streamer/driver"
)

// item is what a reading goroutine hands to a consumer: a message, or the
// end of the stream (err).
type item struct {
	msg  driver.Message
	at   int64  // offset of msg's frame
	next int64  // offset after msg
	err  error  // driver.ErrStreamEnded or a read error; msg is empty
	gen  uint64 // the consumer's generation when it was read
}

// consumer is a driver.Consumer. It reads either alone (solo: RealTime,
// Resumable, or a LoadBalanced member after Seek or Rewind), its messages
// arriving in batches through a queue of about prefetch items, so that a
// slow consumer applies backpressure to its reader; or as a member of a
// group, taking messages from the group's shared queue.
type consumer struct {
	conn    *conn
	streams []driver.StreamKey
	mode    driver.ConsumerMode
	replay  bool
	log     *slog.Logger
	queue   *prefetch // its hand is guarded by mu
	closed  chan struct{}
	stats   stats

	mu       sync.Mutex // guards the fields below; Next takes it briefly
	isClosed bool
	gen      uint64        // bumped by Seek and Rewind: older items are dropped
	solo     *solo         // reading alone
	member   *group        // reading as a member of this group
	switched chan struct{} // closed when it leaves its group for Seek or Rewind
	held     []*group      // groups it was a member of: their mapping holds its payloads
	assigned map[driver.StreamShard]bool
	endErr   error // returned by every Next of generation endGen
	endGen   uint64
	pos      position                        // what Commit stores; see recent
	changed  map[driver.StreamShard]struct{} // in pos.seqs since the last Commit
	recent   recentSeq                       // the last message's seq, not yet in pos.seqs
	reset    bool                            // pos.seqs was cleared since the last Commit
	store    *offsetStore                    // Resumable only
	lease    *lease                          // Resumable only: the group is this consumer's
	pairs    *pairGroup                      // LoadBalanced across processes: the member
	header   format.Header                   // of the file, for the offsets
}

// stats lets tests watch the reading goroutine.
type stats struct {
	matched atomic.Int64 // messages handed to the queue
	blocked atomic.Bool  // waiting because the queue is full
}

func newConsumer(ctx context.Context, cn *conn, streams []driver.StreamKey, opts driver.ConsumerOptions) (*consumer, error) {
	for _, x := range opts.Extra {
		return nil, extraError(x, driver.ScopeConsumer) // a file option belongs to Open
	}
	if len(streams) == 0 {
		return nil, driver.ErrStreamKeyEmpty
	}
	switch opts.Mode {
	case driver.RealTime:
		if opts.Group != "" {
			return nil, driver.ErrConsumerGroupIsSet
		}
	case driver.Resumable:
	case driver.LoadBalanced:
		if opts.Group == "" {
			return nil, driver.ErrConsumerGroupNotSet
		}
	default:
		return nil, &driver.OptionError{Scheme: Scheme, Name: "mode", Value: opts.Mode.String(), Reason: "use RealTime, Resumable or LoadBalanced", Err: driver.ErrInvalidOption}
	}
	if opts.Replay && opts.AutoStreamReset != driver.ResetEarliest {
		return nil, &driver.OptionError{Scheme: Scheme, Name: "replay", Value: "true", Reason: "a replay starts at the earliest message: use ResetEarliest", Err: driver.ErrInvalidOption}
	}
	prefetch := opts.Prefetch
	if prefetch < 0 {
		return nil, &driver.OptionError{Scheme: Scheme, Name: "prefetch", Value: fmt.Sprint(prefetch), Reason: "must not be negative", Err: driver.ErrInvalidOption}
	}
	if prefetch == 0 {
		prefetch = cn.cfg.prefetch
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c := &consumer{
		conn:     cn,
		streams:  slices.Clone(streams),
		mode:     opts.Mode,
		replay:   opts.Replay,
		log:      cn.cfg.logger,
		queue:    newPrefetch(prefetch),
		closed:   make(chan struct{}),
		assigned: make(map[driver.StreamShard]bool),
		pos:      position{seqs: make(map[driver.StreamShard]driver.SeqNo)},
		changed:  make(map[driver.StreamShard]struct{}),
	}
	if opts.Mode == driver.LoadBalanced && !cn.cfg.roundRobin {
		if opts.Replay {
			return nil, &driver.OptionError{Scheme: Scheme, Name: "replay", Value: "true", Reason: "a LoadBalanced group shared across processes follows the file; a replay group is one of this process (group_mode=round-robin)", Err: driver.ErrInvalidOption}
		}
		if err := c.joinPairs(opts); err != nil {
			return nil, err
		}
		return c, nil
	}
	if opts.Mode == driver.LoadBalanced {
		g, err := joinGroup(cn.cfg, opts, c, prefetch)
		if err != nil {
			return nil, err
		}
		c.member = g
		c.switched = make(chan struct{})
		c.held = append(c.held, g)
		return c, nil
	}

	mode := ssfile.Live
	switch {
	case opts.Replay:
		mode = ssfile.Replay
	case opts.AutoStreamReset == driver.ResetEarliest:
		mode = ssfile.LiveReplay
	}
	f := newFilter(c.streams, nil)
	var resume position
	var resumed bool
	if opts.Mode == driver.Resumable {
		group := opts.Group
		if group == "" {
			group = DefaultGroup()
		}
		c.store = &offsetStore{path: OffsetsPath(cn.cfg.path, group), group: group, compactMin: 1 << 20}
		l, err := takeLease(cn.cfg.path, group, c.store.path)
		if err != nil {
			return nil, err
		}
		c.lease = l
		if mode == ssfile.Live {
			mode = ssfile.LiveReplay // Live would first scan to the end
		}
	}
	src, err := openSource(&cn.cfg, mode)
	if err != nil {
		c.lease.release()
		return nil, err
	}
	h := src.header()
	c.header = h
	if c.store != nil {
		resume, resumed, err = c.store.load(h)
		if err != nil {
			src.close()
			c.lease.release()
			return nil, err
		}
		if resumed && src.d != nil && c.unknownSegment(src, &resume) {
			resumed = false // another directory at this path: start over
		}
		if err == nil {
			switch {
			case resumed:
				err = c.resume(src, f, &resume)
			case opts.AutoStreamReset == driver.ResetLatest:
				err = src.seekEnd()
			}
		}
		if err != nil {
			src.close()
			c.store.close()
			c.lease.release()
			return nil, err
		}
	}
	c.pos = position{offset: src.pos, last: src.prev, seqs: make(map[driver.StreamShard]driver.SeqNo)}
	if resumed {
		c.pos = resume.clone()
	}
	c.solo = startSolo(src, f, c.queue, c.gen, &c.stats, nil)
	return c, nil
}

// Next returns the next message: from the group for a member, else the next
// item of the current generation. With the archive envelope, its payload is
// decoded into Payload, Key and Attrs.
func (c *consumer) Next(ctx context.Context) (driver.Message, error) {
	m, err := c.next(ctx)
	if err != nil || c.conn.cfg.envelope == EnvelopeNone {
		return m, err
	}
	return c.open(m)
}

func (c *consumer) next(ctx context.Context) (driver.Message, error) {
	for {
		c.mu.Lock()
		if c.isClosed {
			c.mu.Unlock()
			return driver.Message{}, driver.ErrClosed
		}
		if c.endErr != nil && c.endGen == c.gen {
			err := c.endErr
			c.mu.Unlock()
			return driver.Message{}, err
		}
		g, switched := c.member, c.switched
		if g == nil {
			if it, ok := c.queue.take(); ok {
				m, ok, err := c.handOut(it)
				c.mu.Unlock()
				if ok {
					return m, err
				}
				continue
			}
		}
		c.mu.Unlock()
		if err := ctx.Err(); err != nil {
			return driver.Message{}, err
		}

		if g != nil {
			it, err := g.next(ctx, c.closed, switched)
			if err == errSwitched {
				continue
			}
			if err != nil {
				return driver.Message{}, err
			}
			return it.msg, nil
		}

		select {
		case b := <-c.queue.out:
			c.mu.Lock()
			c.queue.receive(b) // read before a Seek or Rewind, its items are dropped
			c.mu.Unlock()
		case <-c.closed:
			return driver.Message{}, driver.ErrClosed
		case <-ctx.Done():
			return driver.Message{}, ctx.Err()
		}
	}
}

// handOut returns it, unless it is to be dropped (ok false): it was read
// before a Seek or Rewind, or it is of a pair the member gave up. Its
// caller holds mu.
func (c *consumer) handOut(it item) (m driver.Message, ok bool, err error) {
	if it.gen != c.gen {
		return driver.Message{}, false, nil // read before a Seek or Rewind
	}
	if it.err != nil {
		c.endErr, c.endGen = it.err, c.gen
		return driver.Message{}, true, it.err
	}
	if c.pairs != nil && !c.pairs.handOut(&it) {
		return driver.Message{}, false, nil // a pair given up, or returned before a rebalance
	}
	c.pos.offset = it.next
	c.pos.last = frameID{at: it.at, key: string(it.msg.StreamKey), shard: uint64(it.msg.Shard), seq: uint64(it.msg.Seq)}
	if ss := it.msg.StreamShard(); !c.recent.set || ss != c.recent.ss {
		c.settle()
		c.recent = recentSeq{ss: ss, set: true}
	}
	c.recent.seq = it.msg.Seq
	return it.msg, true, nil
}

// recentSeq is the (stream, shard) of the last message Next returned and its
// sequence number, kept out of the consumer's maps while messages of the
// same (stream, shard) follow: a comparison per message instead of two map
// assignments. settle writes it back before the maps are read.
type recentSeq struct {
	ss  driver.StreamShard
	seq driver.SeqNo
	set bool
}

// settle writes recent into pos.seqs and changed. Its caller holds mu, and
// calls it before reading either map.
func (c *consumer) settle() {
	if c.recent.set {
		c.pos.seqs[c.recent.ss] = c.recent.seq
		c.changed[c.recent.ss] = struct{}{}
		c.recent.set = false
	}
}

// Seek moves every assigned (stream, shard) to its first message with a
// timestamp after t. A LoadBalanced member leaves its group and reads alone
// from then on, as SeaStreamer's file consumers do.
func (c *consumer) Seek(ctx context.Context, t time.Time) error {
	return c.reposition(ctx, func(src *source, f *filter) error { return src.seekTime(f, t) })
}

// Rewind moves every assigned (stream, shard) to pos; see Seek for groups.
func (c *consumer) Rewind(ctx context.Context, pos driver.SeqPos) error {
	if pos.Kind > driver.SeqPosAt {
		return &driver.OptionError{Scheme: Scheme, Name: "SeqPos", Value: pos.String(), Reason: "use SeqBeginning, SeqEnd or SeqAt", Err: driver.ErrInvalidOption}
	}
	return c.reposition(ctx, func(src *source, f *filter) error { return src.rewindTo(f, pos) })
}

func (c *consumer) reposition(ctx context.Context, move func(*source, *filter) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := c.leavePairs(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.isClosed {
		return driver.ErrClosed
	}
	var src *source
	if g := c.member; g != nil {
		mode := ssfile.LiveReplay
		if g.replay {
			mode = ssfile.Replay
		}
		var err error
		if src, err = openSource(&c.conn.cfg, mode); err != nil {
			return err
		}
		g.leave()
		c.member = nil
		close(c.switched)
	} else {
		c.solo.stop()
		src = c.solo.src
	}
	c.gen++
	c.drain()
	f := newFilter(c.streams, c.assigned)
	err := move(src, f)
	if err != nil {
		err = &driver.BackendError{Backend: Scheme, Op: "seek", Err: err}
	}
	c.pos = position{offset: src.pos, last: src.prev, seqs: make(map[driver.StreamShard]driver.SeqNo)}
	c.recent = recentSeq{} // of the position left
	c.reset = true
	clear(c.changed)
	if f.from != nil {
		c.pos.from = &startCond{byTime: f.from.byTime, ts: f.from.ts, seq: f.from.seq}
	}
	c.endErr = nil
	c.solo = startSolo(src, f, c.queue, c.gen, &c.stats, nil)
	return err
}

// drain drops what the queue holds. Its caller holds mu.
func (c *consumer) drain() { c.queue.drain() }

func (c *consumer) subscribes(stream driver.StreamKey) bool {
	return slices.Contains(c.streams, stream) || slices.Contains(c.streams, driver.Wildcard)
}

// Assign adds (stream, shard) to the shards read from the next Seek or
// Rewind on. With no assignment, every shard of the subscribed streams is
// read; with some, exactly the assigned ones.
func (c *consumer) Assign(stream driver.StreamKey, shard driver.ShardID) error {
	if !c.subscribes(stream) {
		return driver.ErrStreamKeyNotFound
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.isClosed {
		return driver.ErrClosed
	}
	c.assigned[driver.StreamShard{Stream: stream, Shard: shard}] = true
	return nil
}

// Unassign removes an assigned (stream, shard); the last one cannot be
// removed (driver.ErrStreamKeyEmpty).
func (c *consumer) Unassign(stream driver.StreamKey, shard driver.ShardID) error {
	if !c.subscribes(stream) {
		return driver.ErrStreamKeyNotFound
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.isClosed {
		return driver.ErrClosed
	}
	ss := driver.StreamShard{Stream: stream, Shard: shard}
	if !c.assigned[ss] {
		return driver.ErrConsumerNotAssigned
	}
	if len(c.assigned) == 1 {
		return driver.ErrStreamKeyEmpty
	}
	delete(c.assigned, ss)
	return nil
}

// Commit stores a Resumable consumer's position crash-safely beside the
// file. For a LoadBalanced consumer it does nothing: its group lives in this
// process, and a message returned by Next is never handed out again.
func (c *consumer) Commit(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	closed := c.isClosed
	c.mu.Unlock()
	switch {
	case closed:
		return driver.ErrClosed
	case c.mode == driver.RealTime:
		return driver.ErrCommitNotAllowed
	case c.mode == driver.LoadBalanced:
		c.mu.Lock()
		g := c.pairs
		c.mu.Unlock()
		if g == nil {
			return nil
		}
		return g.commit()
	}
	// The store's lock is held from taking the changes to writing them, so
	// that concurrent commits are written in the order they were taken.
	c.store.mu.Lock()
	defer c.store.mu.Unlock()
	c.mu.Lock()
	if c.isClosed {
		c.mu.Unlock()
		return driver.ErrClosed
	}
	// Only what changed since the last commit is copied, and written.
	c.settle()
	p := position{offset: c.pos.offset, last: c.pos.last, from: c.pos.from}
	if s := c.conn.cfg.settled(p.offset); s != p.offset {
		p.offset, p.last = s, frameID{} // the start of a segment needs no check
	}
	var delta []streamPos
	full := c.reset
	if full {
		p.seqs = maps.Clone(c.pos.seqs)
	} else {
		delta = make([]streamPos, 0, len(c.changed))
		for ss := range c.changed {
			delta = append(delta, streamPos{Key: string(ss.Stream), Shard: uint64(ss.Shard), Seq: uint64(c.pos.seqs[ss])})
		}
	}
	c.reset = false
	clear(c.changed)
	c.mu.Unlock()
	err := c.store.commit(ctx, &p, delta)
	if err != nil {
		c.mu.Lock()
		c.reset = true // write everything next time
		c.mu.Unlock()
	}
	return err
}

// Close stops the consumer's reading goroutine, or leaves its group, and
// waits for that to finish.
func (c *consumer) Close(ctx context.Context) error {
	leaveErr := c.leavePairs()
	c.mu.Lock()
	if c.isClosed {
		c.mu.Unlock()
		return driver.ErrClosed
	}
	c.isClosed = true
	close(c.closed)
	var err error
	if g := c.member; g != nil {
		g.leave()
		c.member = nil
	} else if c.solo != nil {
		c.solo.stop()
		err = c.solo.src.close()
	}
	held := c.held
	c.held = nil
	c.mu.Unlock()
	if c.store != nil {
		c.store.mu.Lock()
		c.store.close()
		c.store.mu.Unlock()
		c.lease.release()
	}
	for _, g := range held {
		g.release()
	}
	c.conn.forget(c)
	if err != nil {
		return &driver.BackendError{Backend: Scheme, Op: "close", Err: err}
	}
	return leaveErr
}

// solo is a goroutine reading a source for one consumer.
type solo struct {
	src    *source
	pairs  *pairGroup // a member of a pair group hands on only the pairs it holds
	cancel context.CancelFunc
	done   chan struct{}
}

func startSolo(src *source, f *filter, q *prefetch, gen uint64, st *stats, pairs *pairGroup) *solo {
	ctx, cancel := context.WithCancel(context.Background())
	s := &solo{src: src, pairs: pairs, cancel: cancel, done: make(chan struct{})}
	go s.run(ctx, f, &filler{p: q, st: st}, gen, st)
	return s
}

func (s *solo) stop() {
	s.cancel()
	<-s.done
}

func (s *solo) run(ctx context.Context, f *filter, out *filler, gen uint64, st *stats) {
	defer close(s.done)
	for {
		// With items read, look only at what the file holds: they are
		// handed on before the reader waits for more.
		rctx := ctx
		if out.pending() {
			rctx = done
		}
		m, next, err := s.src.next(rctx)
		if err != nil {
			if rctx == done && ctx.Err() == nil && errors.Is(err, context.Canceled) {
				if !out.flush(ctx) {
					return
				}
				continue
			}
			if ctx.Err() != nil || errors.Is(err, ssfile.ErrClosed) {
				return
			}
			if out.add(ctx, item{err: readError(err), gen: gen}) {
				out.flush(ctx)
			}
			return
		}
		if m.IsEndOfStream() {
			if out.add(ctx, item{err: driver.ErrStreamEnded, gen: gen}) {
				out.flush(ctx)
			}
			return
		}
		if !f.match(&m) {
			continue
		}
		if s.pairs != nil && !s.pairs.admit(pairOf(&m), m.Offset) {
			continue
		}
		st.matched.Add(1)
		it := out.slot()
		s.src.messageTo(&it.msg, &m)
		it.at, it.next, it.gen = m.Offset, next, gen
		if !out.added(ctx) {
			return
		}
	}
}
