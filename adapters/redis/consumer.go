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

	mu      sync.Mutex
	plan    *plan                         // for the fetcher to adopt
	reading map[driver.StreamShard]string // what the fetcher reads, and the keys
	ends    map[driver.StreamShard]ID     // Replay: the last entry at creation
	// explicit holds the shards of streams narrowed by Assign or Unassign
	// (pending the next Seek or Rewind); a stream absent from it is read
	// whole, new shards included.
	explicit map[driver.StreamKey]map[driver.ShardID]bool

	fmu     sync.Mutex
	fcond   *sync.Cond // on fmu: inBlock changed
	fclient *goredis.Client
	fid     atomic.Int64 // CLIENT ID of fclient's connection; 0 if unknown
	inBlock bool         // the fetcher is in (or about to send) a blocking read

	lag lagState // positions for Lag
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
	done    bool   // Replay reached end
	warned  bool   // about entries without the payload field
	release string // XAUTOCLAIM cursor of pickReleased
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
	if opts.Mode == driver.LoadBalanced && cfg.claimInterval > 0 && cfg.claimIdle <= cfg.heartbeat {
		// A live member blocked in a read looks idle for up to a heartbeat.
		return nil, invalid("claim_idle", cfg.claimIdle.String(), "must exceed the heartbeat ("+cfg.heartbeat.String()+"), or live members look dead")
	}
	prefetch := opts.Prefetch
	if prefetch < 0 {
		return nil, invalid("prefetch", strconv.Itoa(prefetch), "must not be negative")
	}
	if prefetch > 0 {
		cfg.readCount = min(cfg.readCount, prefetch)
	} else {
		prefetch = 4 * cfg.readCount
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
		explicit: make(map[driver.StreamKey]map[driver.ShardID]bool),
	}
	switch opts.Mode {
	case driver.Resumable:
		k.group = opts.Group
		if k.group == "" {
			k.group = driver.HostID() + ":r"
		}
		k.name = opts.ConsumerID
		if k.name == "" {
			k.name = k.group
		}
	case driver.LoadBalanced:
		k.group = opts.Group
		if k.group == "" {
			k.group = driver.HostID() + ":s" // SeaStreamer's default
		}
		k.name = opts.ConsumerID
		if k.name == "" {
			k.name, k.ownName = uniqueName(), true
		}
	}
	k.fcond = sync.NewCond(&k.fmu)
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
	k.lag.reset(st.gen)
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

// targetShards lists what the consumer reads: for a stream narrowed by
// Assign or Unassign, its chosen shards; for the others, every shard found
// (shard 0 if none).
func (k *Consumer) targetShards(ctx context.Context, client goredis.UniversalClient) ([]*shardState, error) {
	k.mu.Lock()
	explicit := cloneExplicit(k.explicit)
	k.mu.Unlock()
	var out []*shardState
	for _, stream := range k.streams {
		found, err := discoverShards(ctx, client, stream)
		if err != nil {
			return nil, err
		}
		if set, ok := explicit[stream]; ok {
			for id := range set {
				if _, ok := found[id]; !ok {
					found[id] = shardKey(stream, id, false)
				}
			}
			for id := range found {
				if !set[id] {
					delete(found, id)
				}
			}
		} else if len(found) == 0 {
			found[0] = string(stream)
		}
		for _, id := range sortedShards(found) {
			out = append(out, &shardState{ss: driver.StreamShard{Stream: stream, Shard: id}, key: found[id]})
		}
	}
	if len(out) == 0 {
		return nil, driver.ErrStreamKeyEmpty
	}
	return out, nil
}

func cloneExplicit(m map[driver.StreamKey]map[driver.ShardID]bool) map[driver.StreamKey]map[driver.ShardID]bool {
	c := make(map[driver.StreamKey]map[driver.ShardID]bool, len(m))
	for k, set := range m {
		c[k] = make(map[driver.ShardID]bool, len(set))
		for id := range set {
			c[k][id] = true
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
	k.lag.add(shards, k.group != "")
}

// uniqueName names a LoadBalanced consumer: host, process and a random part.
func uniqueName() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return driver.HostID() + ":" + strconv.Itoa(os.Getpid()) + ":" + hex.EncodeToString(b[:])
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
				m := b.msgs[i]
				k.lag.returned(b.gen, m.Header.StreamShard(), IDFromSeqNo(m.Header.Seq))
				return m, nil
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
	gen := k.gen.Add(1)
	k.lag.reset(gen) // before the fetcher can adopt the plan
	k.plan = &plan{gen: gen, shards: shards, detached: true}
	k.mu.Unlock()
	k.setReading(shards)
	k.interrupt()
	select {
	case k.wake <- struct{}{}:
	default:
	}
	return nil
}

// Assign implements driver.Consumer: the first Assign on a stream narrows
// it to the assigned shards; it takes effect at the next Seek or Rewind.
func (k *Consumer) Assign(stream driver.StreamKey, shard driver.ShardID) error {
	if k.closed.Load() {
		return driver.ErrClosed
	}
	if !slices.Contains(k.streams, stream) {
		return driver.ErrStreamKeyNotFound
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	set := k.explicit[stream]
	if set == nil {
		set = make(map[driver.ShardID]bool)
		k.explicit[stream] = set
	}
	set[shard] = true
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
	k.mu.Lock()
	defer k.mu.Unlock()
	// effective returns the shards stream is (to be) read from.
	effective := func(s driver.StreamKey) map[driver.ShardID]bool {
		if set, ok := k.explicit[s]; ok {
			return set
		}
		set := make(map[driver.ShardID]bool)
		for ss := range k.reading {
			if ss.Stream == s {
				set[ss.Shard] = true
			}
		}
		return set
	}
	cur := effective(stream)
	if !cur[shard] {
		return driver.ErrConsumerNotAssigned
	}
	left := len(cur) > 1
	for _, s := range k.streams {
		left = left || (s != stream && len(effective(s)) > 0)
	}
	if !left {
		return driver.ErrStreamKeyEmpty
	}
	set := make(map[driver.ShardID]bool, len(cur))
	for id := range cur {
		if id != shard {
			set[id] = true
		}
	}
	k.explicit[stream] = set
	return nil
}

// Commit implements driver.Consumer: it acknowledges (XACK) every message
// Next has returned so far that is not acknowledged yet. With AckImmediate
// there is nothing to do.
func (k *Consumer) Commit(ctx context.Context) error {
	if ok, err := k.acking(); !ok {
		return err
	}
	return k.acks.commit(ctx, true)
}

// acking reports whether acknowledgements apply to this consumer, or why
// Commit, Ack and CommitAcked may not be called (no error: nothing to do).
func (k *Consumer) acking() (bool, error) {
	if k.closed.Load() {
		return false, driver.ErrClosed
	}
	if k.group == "" {
		return false, driver.ErrCommitNotAllowed
	}
	return k.acks != nil, nil
}

// Ack marks the message with header h as processed; AckRolling sends the
// acknowledgement within CommitInterval, AckDisabled at the next CommitAcked
// or Commit (AckDelayed at its next round, without waiting CommitDelay).
// Reach it through streamer.Consumer.As:
//
//	var rc *redis.Consumer
//	if c.As(&rc) { err = rc.Ack(msg.Header) }
func (k *Consumer) Ack(h driver.Header) error {
	if ok, err := k.acking(); !ok {
		return err
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
	if ok, err := k.acking(); !ok {
		return err
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
	var err error
	if k.mode == driver.LoadBalanced {
		err = k.release(ctx)
	}
	if k.ownName {
		k.forget(ctx)
	}
	return err
}

// releaseIdle is the idle time given to released entries: about 31 years,
// which no live or dead member's entry reaches otherwise. Members look for
// entries idle half that long every heartbeat.
const releaseIdle = 1_000_000_000_000 * time.Millisecond

// release hands back to the group the entries it delivered to this
// LoadBalanced consumer that Next never returned (read ahead, or lost with
// an interrupted read): those pending under the consumer's name that the
// acker does not hold as returned. It marks them idle for releaseIdle
// (XCLAIM ... IDLE), and the other members take them at their next
// heartbeat.
func (k *Consumer) release(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, k.cfg.timeout)
	defer cancel()
	returned := make(map[ackRef]bool)
	if k.acks != nil {
		k.acks.mu.Lock()
		for _, e := range k.acks.ret {
			returned[e.ref] = true
		}
		for _, r := range k.acks.acked {
			returned[r] = true
		}
		k.acks.mu.Unlock()
	}
	k.mu.Lock()
	keys := make([]string, 0, len(k.reading))
	for _, key := range k.reading {
		keys = append(keys, key)
	}
	k.mu.Unlock()
	const page = 1000
	total := 0
	pipe := k.conn.client.Pipeline()
	for _, key := range keys {
		var ids []any
		start := "-"
		for {
			ents, err := k.conn.client.XPendingExt(ctx, &goredis.XPendingExtArgs{
				Stream: key, Group: k.group, Start: start, End: "+", Count: page, Consumer: k.name,
			}).Result()
			if err != nil {
				if isRedisErr(err, "NOGROUP") {
					break
				}
				return backendErr("release unread messages to the group", err)
			}
			var last ID
			for _, e := range ents {
				id, err := ParseID(e.ID)
				if err != nil {
					continue
				}
				last = id
				if !returned[ackRef{key: key, id: id}] {
					ids = append(ids, e.ID)
				}
			}
			if len(ents) < page {
				break
			}
			start = last.next().String()
		}
		total += len(ids)
		for len(ids) > 0 {
			n := min(len(ids), page)
			args := append([]any{"xclaim", key, k.group, k.name, 0}, ids[:n]...)
			args = append(args, "idle", releaseIdle.Milliseconds(), "justid")
			pipe.Do(ctx, args...)
			ids = ids[n:]
		}
	}
	if total == 0 {
		return nil
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return backendErr("release unread messages to the group", err)
	}
	k.log.Debug("released unread messages to the group", slog.Int("messages", total))
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
// the consumer is closed. It has one connection, whose CLIENT ID interrupt
// uses.
func (k *Consumer) fetchClient() *goredis.Client {
	k.fmu.Lock()
	defer k.fmu.Unlock()
	if k.closed.Load() {
		return nil
	}
	if k.fclient == nil {
		k.fid.Store(0)
		k.fclient = goredis.NewClient(k.conn.clientOpts(func(o *goredis.Options) {
			o.PoolSize = 1
			user := o.OnConnect
			o.OnConnect = func(ctx context.Context, cn *goredis.Conn) error {
				if user != nil {
					if err := user(ctx, cn); err != nil {
						return err
					}
				}
				id, err := cn.ClientID(ctx).Result()
				if err != nil {
					id = 0 // not supported (miniredis): interrupt closes the client
				}
				k.fid.Store(id)
				return nil
			}
		}))
	}
	return k.fclient
}

func (k *Consumer) closeFetchClient() {
	k.fmu.Lock()
	defer k.fmu.Unlock()
	if k.fclient != nil {
		_ = k.fclient.Close()
		k.fclient = nil
	}
}

// blocking marks the start of a blocking read for plan gen; it reports
// false, and the read must not be sent, if the consumer closed or got a new
// plan meanwhile. unblocked marks its end.
func (k *Consumer) blocking(gen uint64) bool {
	k.fmu.Lock()
	defer k.fmu.Unlock()
	if k.closed.Load() || k.gen.Load() != gen {
		return false
	}
	k.inBlock = true
	return true
}

func (k *Consumer) unblocked() {
	k.fmu.Lock()
	k.inBlock = false
	k.fcond.Broadcast()
	k.fmu.Unlock()
}

// shortBlock bounds blocking reads on servers without CLIENT UNBLOCK, where
// interrupt waits for them to end.
const shortBlock = 100 * time.Millisecond

// blockTime is how long the next blocking read may wait on the server.
func (k *Consumer) blockTime() time.Duration {
	if k.fid.Load() == 0 {
		return min(k.cfg.heartbeat, shortBlock)
	}
	return k.cfg.heartbeat
}

// interrupt ends the fetcher's blocking read, if any, after Close or a new
// plan. It uses CLIENT UNBLOCK, which makes the read return normally, so
// that a group's entries served just then reach the fetcher (to be released
// or dropped as stale) instead of being lost with the connection. Servers
// without CLIENT UNBLOCK get reads of at most shortBlock, and interrupt waits
// for the current one to end: dropping the connection could strand entries
// (and miniredis would even serve the abandoned read later).
func (k *Consumer) interrupt() {
	deadline := time.Now().Add(k.cfg.timeout)
	for {
		k.fmu.Lock()
		if k.fclient == nil || !k.inBlock {
			k.fmu.Unlock()
			return
		}
		id := k.fid.Load()
		if id == 0 {
			for k.inBlock {
				k.fcond.Wait()
			}
			k.fmu.Unlock()
			return
		}
		if time.Now().After(deadline) {
			_ = k.fclient.Close()
			k.fclient = nil
			k.fmu.Unlock()
			return
		}
		k.fmu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), k.cfg.timeout)
		n, err := k.conn.client.ClientUnblock(ctx, id).Result()
		cancel()
		if err != nil {
			k.fid.Store(0) // wait for the read to end instead
			continue
		}
		if n == 1 {
			return
		}
		// The read has not reached the server yet: try again shortly.
		time.Sleep(time.Millisecond)
	}
}
