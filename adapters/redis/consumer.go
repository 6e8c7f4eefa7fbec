package redis

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/seastream/ss/streamer/driver"
)

// Consumer reads Redis streams. A goroutine (the fetcher) reads ahead with
// XREAD or XREADGROUP on the consumer's own go-redis client and hands pages
// to Next through a bounded channel; group consumers in AckDelayed and
// AckRolling modes have a second goroutine sending acknowledgements. Close
// stops both (closing the fetcher's client interrupts a blocking read).
//
// Modes:
//
//   - RealTime: XREAD from the position AutoStreamReset gives: the last
//     entry when the consumer is created (ResetLatest) or the beginning
//     (ResetEarliest). With Replay, it stops at the entries present then.
//   - Resumable: XREADGROUP in a group named after the host ("<host>:r",
//     host from $HOST_ID or the host name) unless a group is given, as a
//     consumer of the same name, so that a restarted consumer first reads
//     back what it had received but not acknowledged, then new entries.
//   - LoadBalanced: XREADGROUP in the given group, as a uniquely named
//     consumer unless ConsumerID is set: members share the entries of every
//     shard first come, first served; dead members' entries are claimed
//     (see WithAutoClaim).
//
// A group is created when missing, at the last entry (ResetLatest) or the
// first (ResetEarliest); a stream that does not exist yet is waited for,
// or created (WithMkStream).
//
// Seek and Rewind detach a group consumer from its group, as in SeaStreamer:
// it then reads from the new position like a RealTime consumer, and Commit
// still acknowledges what it had received from the group.
type Consumer struct {
	conn    *Conn
	cfg     config
	mode    driver.ConsumerMode
	group   string
	name    string
	ownName bool // the name was generated: remove it from the group on Close
	streams []driver.StreamKey
	reset   driver.StreamReset
	replay  bool
	log     *slog.Logger
	acks    *acker // nil unless messages are acknowledged

	out    chan *rbatch
	done   chan struct{} // closed by Close
	wake   chan struct{} // a new plan is waiting
	closed atomic.Bool
	gen    atomic.Uint64
	wg     sync.WaitGroup

	// Next's state.
	cur    *rbatch
	curIdx int

	mu       sync.Mutex
	plan     *plan                         // for the fetcher to adopt
	reading  map[driver.StreamShard]string // what the fetcher reads, and the keys
	ends     map[driver.StreamShard]ID     // Replay: the last entry at creation
	assigned map[driver.StreamShard]bool   // Assign, pending the next Seek/Rewind
	excluded map[driver.StreamShard]bool   // Unassign, pending the next Seek/Rewind

	fmu     sync.Mutex
	fclient *goredis.Client
}

var (
	_ driver.Consumer = (*Consumer)(nil)
	_ driver.Aser     = (*Consumer)(nil)
)

// rbatch is a page of messages handed from the fetcher to Next.
type rbatch struct {
	gen  uint64
	msgs []driver.Message
	errs []itemErr // in place of some messages, by index
	acks []ackRef  // parallel to msgs when messages are acknowledged
	err  error     // the read failed
	end  bool      // Replay reached the end
}

type itemErr struct {
	idx int
	err error
}

// plan is a new read state for the fetcher (from NewConsumer, Seek, Rewind).
type plan struct {
	gen      uint64
	shards   []*shardState
	detached bool
}

// shardState is the fetcher's state for one (stream, shard).
type shardState struct {
	ss      driver.StreamShard
	key     string
	last    ID   // exclusive position of XREAD, or of reading back the PEL
	ready   bool // the group exists on key
	start   ID   // where to create the group
	pending bool // reading back our pending entries
	end     ID   // Replay bound
	hasEnd  bool
	done    bool // Replay reached end
	warned  bool // about entries without the payload field
}

// NewConsumer implements driver.Conn. opts.Extra may hold consumer Options.
func (c *Conn) NewConsumer(ctx context.Context, streams []driver.StreamKey, opts driver.ConsumerOptions) (driver.Consumer, error) {
	if c.closed.Load() {
		return nil, driver.ErrClosed
	}
	if slices.Contains(streams, driver.Wildcard) {
		return nil, fmt.Errorf("%w: the wildcard stream on redis: name the streams", driver.ErrUnsupported)
	}
	if opts.Replay && opts.Mode != driver.RealTime {
		return nil, fmt.Errorf("%w: replay of a %s consumer on redis: use a RealTime consumer", driver.ErrUnsupported, opts.Mode)
	}
	if opts.Mode > driver.LoadBalanced {
		return nil, invalid("mode", opts.Mode.String(), "use RealTime, Resumable or LoadBalanced")
	}
	cfg := c.cfg
	if err := cfg.applyExtra(opts.Extra, scopeConsumer, "NewConsumer"); err != nil {
		return nil, err
	}
	if cfg.readCount == 0 {
		cfg.readCount = DefaultReadCount
		if opts.Mode == driver.LoadBalanced {
			cfg.readCount = DefaultGroupReadCount
		}
	}
	prefetch := opts.Prefetch
	if prefetch < 0 {
		return nil, invalid("prefetch", strconv.Itoa(prefetch), "must not be negative")
	}
	if prefetch > 0 {
		cfg.readCount = min(cfg.readCount, prefetch)
	} else {
		prefetch = 2 * cfg.readCount
	}
	k := &Consumer{
		conn:     c,
		cfg:      cfg,
		mode:     opts.Mode,
		streams:  slices.Clone(streams),
		reset:    opts.AutoStreamReset,
		replay:   opts.Replay,
		out:      make(chan *rbatch, max(1, prefetch/cfg.readCount)),
		done:     make(chan struct{}),
		wake:     make(chan struct{}, 1),
		reading:  make(map[driver.StreamShard]string),
		assigned: make(map[driver.StreamShard]bool),
		excluded: make(map[driver.StreamShard]bool),
	}
	switch opts.Mode {
	case driver.Resumable:
		k.group = opts.Group
		if k.group == "" {
			k.group = hostID() + ":r"
		}
		k.name = opts.ConsumerID
		if k.name == "" {
			k.name = k.group
		}
	case driver.LoadBalanced:
		k.group = opts.Group
		k.name = opts.ConsumerID
		if k.name == "" {
			k.name, k.ownName = uniqueName(), true
		}
	}
	if k.group != "" && cfg.ack != AckImmediate {
		k.acks = &acker{k: k}
	}
	k.log = c.log.With("consumer", k.name, "group", k.group, "mode", opts.Mode.String())

	ictx, cancel := context.WithTimeout(ctx, cfg.timeout)
	defer cancel()
	st, err := k.initialPlan(ictx)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, err
	}
	k.plan = st
	k.gen.Store(st.gen)
	k.setReading(st.shards)

	goroutines := 1
	if k.acks != nil && (cfg.ack == AckDelayed || cfg.ack == AckRolling) {
		goroutines++
	}
	k.wg.Add(goroutines)
	c.wg.Add(goroutines)
	go k.fetch()
	if goroutines == 2 {
		go k.acks.run()
	}
	return k, nil
}

// initialPlan finds the shards and where to start in each.
func (k *Consumer) initialPlan(ctx context.Context) (*plan, error) {
	shards, err := k.targetShards(ctx, k.conn.client)
	if err != nil {
		return nil, err
	}
	tops, err := k.tops(ctx, shards)
	if err != nil {
		return nil, err
	}
	if k.replay {
		k.ends = make(map[driver.StreamShard]ID, len(shards))
	}
	for i, s := range shards {
		top, exists := tops[i].id, tops[i].exists
		if k.replay {
			if exists {
				k.ends[s.ss] = top
				s.end, s.hasEnd = top, true
			} else {
				s.done = true
			}
		}
		if k.reset == driver.ResetLatest {
			s.last = top // 0-0 when empty or missing: everything is new
		}
		if k.group == "" {
			continue
		}
		// The group starts where a RealTime consumer would; the consumer
		// first reads back its own pending entries, from the beginning.
		s.start, s.pending, s.last = s.last, true, ID{}
		if err := k.createGroup(ctx, k.conn.client, s); err != nil {
			return nil, err
		}
	}
	return &plan{gen: 1, shards: shards}, nil
}

// targetShards lists what the consumer reads: every shard found of its
// streams, plus assigned ones, minus unassigned ones; a stream without any
// key is read as shard 0.
func (k *Consumer) targetShards(ctx context.Context, client goredis.UniversalClient) ([]*shardState, error) {
	k.mu.Lock()
	assigned, excluded := cloneSet(k.assigned), cloneSet(k.excluded)
	k.mu.Unlock()
	var out []*shardState
	for _, stream := range k.streams {
		found, err := discoverShards(ctx, client, stream)
		if err != nil {
			return nil, err
		}
		if len(found) == 0 {
			found[0] = string(stream)
		}
		for ss := range assigned {
			if _, ok := found[ss.Shard]; !ok && ss.Stream == stream {
				found[ss.Shard] = shardKey(stream, ss.Shard, false)
			}
		}
		for _, id := range sortedShards(found) {
			ss := driver.StreamShard{Stream: stream, Shard: id}
			if !excluded[ss] {
				out = append(out, &shardState{ss: ss, key: found[id]})
			}
		}
	}
	if len(out) == 0 {
		return nil, driver.ErrStreamKeyEmpty
	}
	return out, nil
}

func cloneSet(m map[driver.StreamShard]bool) map[driver.StreamShard]bool {
	c := make(map[driver.StreamShard]bool, len(m))
	for k, v := range m {
		if v {
			c[k] = true
		}
	}
	return c
}

type top struct {
	id     ID
	exists bool
}

// tops returns the last entry of each shard (XREVRANGE key + - COUNT 1).
func (k *Consumer) tops(ctx context.Context, shards []*shardState) ([]top, error) {
	pipe := k.conn.client.Pipeline()
	cmds := make([]*goredis.XMessageSliceCmd, len(shards))
	for i, s := range shards {
		cmds[i] = pipe.XRevRangeN(ctx, s.key, "+", "-", 1)
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, goredis.Nil) {
		return nil, backendErr("find the last entries", err)
	}
	out := make([]top, len(shards))
	for i, cmd := range cmds {
		msgs, err := cmd.Result()
		if err != nil {
			return nil, backendErr("find the last entries", err)
		}
		if len(msgs) == 1 {
			id, err := ParseID(msgs[0].ID)
			if err != nil {
				return nil, err
			}
			out[i] = top{id: id, exists: true}
		}
	}
	return out, nil
}

// createGroup makes sure s's key has the group; a missing stream leaves s
// not ready (unless mkstream), to be retried by the fetcher.
func (k *Consumer) createGroup(ctx context.Context, client goredis.UniversalClient, s *shardState) error {
	var err error
	if k.cfg.mkStream {
		err = client.XGroupCreateMkStream(ctx, s.key, k.group, s.start.String()).Err()
	} else {
		err = client.XGroupCreate(ctx, s.key, k.group, s.start.String()).Err()
	}
	switch {
	case err == nil, isRedisErr(err, "BUSYGROUP"):
		s.ready = true
		return nil
	case !k.cfg.mkStream && isRedisErr(err, "ERR The XGROUP subcommand requires the key to exist"):
		return nil
	}
	return backendErr("create group "+k.group+" on "+s.key, err)
}

func (k *Consumer) setReading(shards []*shardState) {
	m := make(map[driver.StreamShard]string, len(shards))
	for _, s := range shards {
		m[s.ss] = s.key
	}
	k.mu.Lock()
	k.reading = m
	k.mu.Unlock()
}

// hostID names this host for Resumable groups, as SeaStreamer: $HOST_ID,
// else the host name.
func hostID() string {
	if h := os.Getenv("HOST_ID"); h != "" {
		return h
	}
	if h, err := os.Hostname(); err == nil && h != "" {
		return h
	}
	return "localhost"
}

// uniqueName names a LoadBalanced consumer: host, process and a random part.
func uniqueName() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hostID() + ":" + strconv.Itoa(os.Getpid()) + ":" + hex.EncodeToString(b[:])
}

// Group returns the consumer group, "" for a RealTime consumer.
func (k *Consumer) Group() string { return k.group }

// Name returns the consumer's name within its group.
func (k *Consumer) Name() string { return k.name }

// As sets *target (a **goredis.Client or **Consumer) to the shared client
// or to k. Through As, users of package streamer reach Ack and CommitAcked.
func (k *Consumer) As(target any) bool {
	switch t := target.(type) {
	case **goredis.Client:
		*t = k.conn.client
	case **Consumer:
		*t = k
	default:
		return false
	}
	return true
}

// Next implements driver.Consumer.
func (k *Consumer) Next(ctx context.Context) (driver.Message, error) {
	if k.closed.Load() {
		return driver.Message{}, driver.ErrClosed
	}
	for {
		gen := k.gen.Load()
		if b := k.cur; b != nil && b.gen == gen {
			if k.curIdx < len(b.msgs) {
				i := k.curIdx
				k.curIdx++
				if b.acks != nil {
					k.acks.returned(b.acks[i])
				}
				if len(b.errs) > 0 && b.errs[0].idx == i {
					err := b.errs[0].err
					b.errs = b.errs[1:]
					return driver.Message{}, err
				}
				return b.msgs[i], nil
			}
			if b.end {
				return driver.Message{}, driver.ErrStreamEnded
			}
		}
		k.cur = nil
		select {
		case b := <-k.out:
			if b.gen != k.gen.Load() {
				continue
			}
			if b.err != nil {
				return driver.Message{}, b.err
			}
			k.cur, k.curIdx = b, 0
		case <-k.done:
			return driver.Message{}, driver.ErrClosed
		case <-ctx.Done():
			return driver.Message{}, ctx.Err()
		}
	}
}

// Seek implements driver.Consumer: every assigned shard moves to the first
// entry with a timestamp later than t.
func (k *Consumer) Seek(ctx context.Context, t time.Time) error {
	pos := afterTime(t)
	return k.reposition(ctx, false, func(*shardState, top) ID { return pos })
}

// Rewind implements driver.Consumer. SeqAt(n) moves to the first entry
// whose id is at least IDFromSeqNo(n).
func (k *Consumer) Rewind(ctx context.Context, pos driver.SeqPos) error {
	switch pos.Kind {
	case driver.SeqPosBeginning:
		return k.reposition(ctx, false, func(*shardState, top) ID { return ID{} })
	case driver.SeqPosEnd:
		return k.reposition(ctx, true, func(_ *shardState, t top) ID { return t.id })
	case driver.SeqPosAt:
		id := IDFromSeqNo(pos.Seq).prev()
		return k.reposition(ctx, false, func(*shardState, top) ID { return id })
	}
	return invalid("seq_pos", pos.String(), "use SeqBeginning, SeqEnd or SeqAt")
}

func (k *Consumer) reposition(ctx context.Context, needTops bool, at func(*shardState, top) ID) error {
	if k.closed.Load() {
		return driver.ErrClosed
	}
	ctx, cancel := context.WithTimeout(ctx, k.cfg.timeout)
	defer cancel()
	shards, err := k.targetShards(ctx, k.conn.client)
	if err != nil {
		return err
	}
	tops := make([]top, len(shards))
	if needTops {
		if tops, err = k.tops(ctx, shards); err != nil {
			return err
		}
	}
	for i, s := range shards {
		s.last = at(s, tops[i])
		if k.replay {
			s.end, s.hasEnd = k.ends[s.ss]
			s.done = !s.hasEnd || s.last.Compare(s.end) >= 0
		}
	}
	k.mu.Lock()
	if k.closed.Load() {
		k.mu.Unlock()
		return driver.ErrClosed
	}
	k.plan = &plan{gen: k.gen.Add(1), shards: shards, detached: true}
	k.mu.Unlock()
	k.setReading(shards)
	k.interrupt()
	select {
	case k.wake <- struct{}{}:
	default:
	}
	return nil
}

// Assign implements driver.Consumer; it takes effect at the next Seek or
// Rewind.
func (k *Consumer) Assign(stream driver.StreamKey, shard driver.ShardID) error {
	if k.closed.Load() {
		return driver.ErrClosed
	}
	if !slices.Contains(k.streams, stream) {
		return driver.ErrStreamKeyNotFound
	}
	ss := driver.StreamShard{Stream: stream, Shard: shard}
	k.mu.Lock()
	defer k.mu.Unlock()
	k.assigned[ss] = true
	delete(k.excluded, ss)
	return nil
}

// Unassign implements driver.Consumer; it takes effect at the next Seek or
// Rewind.
func (k *Consumer) Unassign(stream driver.StreamKey, shard driver.ShardID) error {
	if k.closed.Load() {
		return driver.ErrClosed
	}
	if !slices.Contains(k.streams, stream) {
		return driver.ErrStreamKeyNotFound
	}
	ss := driver.StreamShard{Stream: stream, Shard: shard}
	k.mu.Lock()
	defer k.mu.Unlock()
	in := func(x driver.StreamShard) bool {
		_, reading := k.reading[x]
		return (reading || k.assigned[x]) && !k.excluded[x]
	}
	if !in(ss) {
		return driver.ErrConsumerNotAssigned
	}
	left := false
	for x := range k.reading {
		left = left || (x != ss && in(x))
	}
	for x := range k.assigned {
		left = left || (x != ss && in(x))
	}
	if !left {
		return driver.ErrStreamKeyEmpty
	}
	k.excluded[ss] = true
	delete(k.assigned, ss)
	return nil
}

// Commit implements driver.Consumer: it acknowledges (XACK) every message
// Next has returned so far that is not acknowledged yet. With AckImmediate
// there is nothing to do.
func (k *Consumer) Commit(ctx context.Context) error {
	if k.closed.Load() {
		return driver.ErrClosed
	}
	if k.group == "" {
		return driver.ErrCommitNotAllowed
	}
	if k.acks == nil {
		return nil
	}
	return k.acks.commit(ctx, true)
}

// Ack marks the message with header h as processed; AckRolling sends the
// acknowledgement within CommitInterval, AckDisabled at the next CommitAcked
// or Commit (AckDelayed at its next round, without waiting CommitDelay).
// Reach it through streamer.Consumer.As:
//
//	var rc *redis.Consumer
//	if c.As(&rc) { err = rc.Ack(msg.Header) }
func (k *Consumer) Ack(h driver.Header) error {
	if k.closed.Load() {
		return driver.ErrClosed
	}
	if k.group == "" {
		return driver.ErrCommitNotAllowed
	}
	if k.acks == nil {
		return nil
	}
	k.mu.Lock()
	key, ok := k.reading[h.StreamShard()]
	k.mu.Unlock()
	if !ok {
		key = shardKey(h.StreamKey, h.Shard, false)
	}
	k.acks.ack(ackRef{key: key, id: IDFromSeqNo(h.Seq)})
	return nil
}

// CommitAcked sends the acknowledgements of the messages marked with Ack
// (SeaStreamer's commit), leaving the others pending.
func (k *Consumer) CommitAcked(ctx context.Context) error {
	if k.closed.Load() {
		return driver.ErrClosed
	}
	if k.group == "" {
		return driver.ErrCommitNotAllowed
	}
	if k.acks == nil {
		return nil
	}
	return k.acks.commit(ctx, false)
}

// Close implements driver.Consumer. It stops the goroutines, sends the
// acknowledgements that are due in AckDelayed and AckRolling modes (not
// the others: Close does not commit), and removes a generated consumer name
// with nothing pending from its group.
func (k *Consumer) Close(ctx context.Context) error {
	if k.closed.Swap(true) {
		return driver.ErrClosed
	}
	k.mu.Lock() // orders with reposition
	close(k.done)
	k.mu.Unlock()
	k.interrupt()
	k.wg.Wait()
	if k.ownName {
		k.forget(ctx)
	}
	return nil
}

// forget removes the consumer's name from its group on every shard where
// it has nothing pending.
func (k *Consumer) forget(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, k.cfg.timeout)
	defer cancel()
	k.mu.Lock()
	keys := make([]string, 0, len(k.reading))
	for _, key := range k.reading {
		keys = append(keys, key)
	}
	k.mu.Unlock()
	for _, key := range keys {
		pend, err := k.conn.client.XPendingExt(ctx, &goredis.XPendingExtArgs{
			Stream: key, Group: k.group, Start: "-", End: "+", Count: 1, Consumer: k.name,
		}).Result()
		if err != nil || len(pend) > 0 {
			continue
		}
		if err := k.conn.client.XGroupDelConsumer(ctx, key, k.group, k.name).Err(); err != nil {
			k.log.Debug("cannot remove the consumer from its group", slog.String("key", key), slog.Any("error", err))
		}
	}
}

// fetchClient returns the fetcher's client, making one if needed; nil once
// the consumer is closed.
func (k *Consumer) fetchClient() *goredis.Client {
	k.fmu.Lock()
	defer k.fmu.Unlock()
	if k.closed.Load() {
		return nil
	}
	if k.fclient == nil {
		k.fclient = goredis.NewClient(k.conn.clientOpts(func(o *goredis.Options) { o.PoolSize = 2 }))
	}
	return k.fclient
}

// interrupt closes the fetcher's client, which ends a blocking read at
// once; the fetcher makes a new client if it goes on.
func (k *Consumer) interrupt() {
	k.fmu.Lock()
	defer k.fmu.Unlock()
	if k.fclient != nil {
		_ = k.fclient.Close()
		k.fclient = nil
	}
}
