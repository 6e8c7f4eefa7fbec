package redis

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/seastream/ss/streamer/driver"
)

// fstate is the fetcher's own state.
type fstate struct {
	gen          uint64
	shards       []*shardState
	byKey        map[string]*shardState
	detached     bool
	endSent      bool
	nextDiscover time.Time
	nextClaim    time.Time
	nextRelease  time.Time
}

// waitMissing is how often a group consumer checks for streams it waits for.
const waitMissing = 100 * time.Millisecond

// fetch is the fetcher goroutine: it reads pages and hands them to Next.
func (k *Consumer) fetch() {
	defer k.conn.wg.Done()
	defer k.wg.Done()
	defer k.closeFetchClient()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-k.done:
		case <-ctx.Done():
		}
		cancel()
	}()
	var st fstate
	var backoff time.Duration
	var failingSince time.Time
	// fail reports err through Next, then waits before the next attempt.
	// Connection failures are retried quietly (with a warning in the log)
	// until they have lasted the request timeout, so that a server restart
	// does not end the caller's loop; errors from the server are reported
	// at once.
	fail := func(err error) {
		now := time.Now()
		if failingSince.IsZero() {
			failingSince = now
		}
		var server goredis.Error
		if !errors.As(err, &server) && now.Sub(failingSince) < k.cfg.timeout {
			k.log.Warn("cannot read; retrying", slog.Any("error", err))
		} else if !k.push(&st, &rbatch{gen: st.gen, err: err}) {
			return
		}
		backoff = min(max(2*backoff, 50*time.Millisecond), 5*time.Second)
		k.sleep(backoff)
	}
	for !k.closed.Load() {
		k.adopt(&st)
		client := k.fetchClient()
		if client == nil {
			return
		}
		if st.allDone() {
			if !st.endSent {
				st.endSent = k.push(&st, &rbatch{gen: st.gen, end: true})
				continue
			}
			select {
			case <-k.wake:
			case <-k.done:
			}
			continue
		}
		grouped := k.group != "" && !st.detached
		now := time.Now()
		if k.cfg.discoverInterval > 0 && now.After(st.nextDiscover) {
			st.nextDiscover = now.Add(k.cfg.discoverInterval)
			k.rediscover(ctx, client, &st, grouped)
		}
		if grouped {
			ready, err := k.ensureGroups(ctx, client, &st)
			if err != nil {
				if !k.interrupted(&st) {
					fail(err)
				}
				continue
			}
			if ready == 0 {
				k.sleep(min(waitMissing, k.cfg.heartbeat))
				continue
			}
			// Claimed entries join this consumer's pending list: claim only
			// once it has been read back, or they would come twice.
			settled := !st.readingBack()
			if settled && k.mode == driver.LoadBalanced && k.cfg.claimInterval > 0 && now.After(st.nextClaim) {
				st.nextClaim = now.Add(k.cfg.claimInterval)
				b, err := k.claim(ctx, client, &st)
				if err != nil {
					if !k.interrupted(&st) {
						fail(err)
					}
					continue
				}
				if len(b.msgs) > 0 {
					k.orderFields(ctx, client, b)
					k.push(&st, b)
					continue
				}
			}
			if settled && k.mode == driver.LoadBalanced && now.After(st.nextRelease) {
				st.nextRelease = now.Add(k.cfg.heartbeat)
				b, err := k.pickReleased(ctx, client, &st)
				if err != nil {
					if !k.interrupted(&st) {
						fail(err)
					}
					continue
				}
				if len(b.msgs) > 0 {
					k.orderFields(ctx, client, b)
					k.push(&st, b)
					continue
				}
			}
		}
		b, err := k.read(ctx, client, &st, grouped)
		if err != nil {
			if k.interrupted(&st) {
				continue
			}
			if isRedisErr(err, "NOGROUP") {
				// The group or the stream was deleted: create it again
				// where we were, once the stream exists.
				for _, s := range st.shards {
					s.ready, s.start = false, s.last
				}
				continue
			}
			fail(backendErr("read", err))
			continue
		}
		backoff, failingSince = 0, time.Time{}
		if len(b.msgs) > 0 {
			k.orderFields(ctx, client, b)
			k.push(&st, b)
		}
	}
}

// interrupted reports whether a failed call was cut short by Close or Seek.
func (k *Consumer) interrupted(st *fstate) bool {
	return k.closed.Load() || k.gen.Load() != st.gen
}

// adopt takes a new plan, if any.
func (k *Consumer) adopt(st *fstate) {
	k.mu.Lock()
	p := k.plan
	k.plan = nil
	k.mu.Unlock()
	if p == nil {
		return
	}
	st.gen, st.shards, st.detached, st.endSent = p.gen, p.shards, p.detached || st.detached, false
	st.byKey = make(map[string]*shardState, len(p.shards))
	for _, s := range p.shards {
		st.byKey[s.key] = s
	}
	st.nextDiscover = time.Now().Add(k.cfg.discoverInterval)
}

// readingBack reports whether a group consumer still reads back its
// pending entries on some shard.
func (st *fstate) readingBack() bool {
	for _, s := range st.shards {
		if s.ready && s.pending {
			return true
		}
	}
	return false
}

func (st *fstate) allDone() bool {
	for _, s := range st.shards {
		if !s.done {
			return false
		}
	}
	return true
}

// push hands b to Next; it gives up (false) when the consumer closes or
// the batch became stale through Seek or Rewind.
func (k *Consumer) push(st *fstate, b *rbatch) bool {
	for {
		select {
		case k.out <- b:
			return true
		case <-k.done:
			return false
		case <-k.wake:
			if k.gen.Load() != b.gen {
				return false
			}
		}
	}
}

// sleep waits d, or less if the consumer closes or gets a new plan; it
// reports whether it waited without closing.
func (k *Consumer) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-k.wake:
		// adopt reads the plan itself; the signal is not needed again.
	case <-k.done:
		return false
	}
	return true
}

// ensureGroups creates the group on shards that lack it and returns how
// many shards are ready.
func (k *Consumer) ensureGroups(ctx context.Context, client goredis.UniversalClient, st *fstate) (int, error) {
	ready := 0
	for _, s := range st.shards {
		if !s.ready {
			if err := k.createGroup(ctx, client, s); err != nil {
				return 0, err
			}
		}
		if s.ready {
			ready++
		}
	}
	return ready, nil
}

// rediscover looks for shards that appeared since the consumer started.
func (k *Consumer) rediscover(ctx context.Context, client goredis.UniversalClient, st *fstate, grouped bool) {
	k.mu.Lock()
	explicit := cloneExplicit(k.explicit)
	k.mu.Unlock()
	changed := false
	for _, stream := range k.streams {
		found, err := discoverShards(ctx, client, stream)
		if err != nil {
			if !k.interrupted(st) {
				k.log.Warn("cannot look for new shards", slog.String("stream", string(stream)), slog.Any("error", err))
			}
			return
		}
		for _, id := range sortedShards(found) {
			ss, key := driver.StreamShard{Stream: stream, Shard: id}, found[id]
			if set, narrowed := explicit[stream]; narrowed && !set[id] {
				continue
			}
			var s *shardState
			for _, x := range st.shards {
				if x.ss == ss {
					s = x
				}
			}
			switch {
			case s != nil && s.key == key:
				continue
			case s != nil:
				// Shard 0 moved between "<stream>" and "<stream>:0": the
				// key we read did not exist, so start the new one afresh.
				delete(st.byKey, s.key)
				*s = shardState{ss: ss, key: key, pending: grouped}
			case k.replay:
				// A replay covers the shards present at the start.
				continue
			default:
				s = &shardState{ss: ss, key: key, pending: grouped}
				st.shards = append(st.shards, s)
				k.log.Debug("new shard", slog.String("key", key))
			}
			st.byKey[key] = s
			changed = true
		}
	}
	if changed {
		k.setReading(st.shards)
	}
}

// read reads one page: a group consumer's own pending entries first, then
// new ones; a RealTime (or detached) consumer from its positions.
func (k *Consumer) read(ctx context.Context, client goredis.UniversalClient, st *fstate, grouped bool) (*rbatch, error) {
	b := &rbatch{gen: st.gen}
	track := grouped && k.acks != nil
	var streams []string
	if grouped {
		var hist []*shardState
		for _, s := range st.shards {
			if s.ready && s.pending {
				hist = append(hist, s)
				streams = append(streams, s.key)
			}
		}
		if len(hist) > 0 {
			for _, s := range hist {
				streams = append(streams, s.last.String())
			}
			res, err := k.xread(ctx, client, true, streams, -1, false)
			if err != nil && len(res) == 0 {
				return nil, err
			}
			k.partial(err)
			got := make(map[string]bool, len(res))
			for _, xs := range res {
				if s := st.byKey[xs.Stream]; s != nil && len(xs.Messages) > 0 {
					got[s.key] = true
					k.appendMessages(b, s, xs.Messages, track, false)
				}
			}
			for _, s := range hist {
				// After a partial failure (a cluster's per-key reads), a
				// key without entries may be one whose read failed.
				if !got[s.key] && err == nil {
					s.pending = false
				}
			}
			return b, nil
		}
		var n int
		for _, s := range st.shards {
			if s.ready {
				streams = append(streams, s.key)
				n++
			}
		}
		for range n {
			streams = append(streams, ">")
		}
		if !k.blocking(st.gen) {
			return b, nil
		}
		res, err := k.xread(ctx, client, true, streams, k.blockTime(), k.cfg.ack == AckImmediate)
		k.unblocked()
		if err != nil && len(res) == 0 {
			return nil, err
		}
		k.partial(err)
		for _, xs := range res {
			if s := st.byKey[xs.Stream]; s != nil {
				k.appendMessages(b, s, xs.Messages, track, false)
			}
		}
		return b, nil
	}

	var active []*shardState
	for _, s := range st.shards {
		if !s.done {
			active = append(active, s)
			streams = append(streams, s.key)
		}
	}
	for _, s := range active {
		streams = append(streams, s.last.String())
	}
	block := k.blockTime()
	if k.replay {
		block = -1 // the entries to replay are there already
	}
	if block >= 0 && !k.blocking(st.gen) {
		return b, nil
	}
	res, err := k.xread(ctx, client, false, streams, block, false)
	k.unblocked()
	if err != nil && len(res) == 0 {
		return nil, err
	}
	k.partial(err)
	got := make(map[string]bool, len(res))
	for _, xs := range res {
		if s := st.byKey[xs.Stream]; s != nil && len(xs.Messages) > 0 {
			got[s.key] = true
			k.appendMessages(b, s, xs.Messages, false, false)
		}
	}
	if k.replay && err == nil {
		for _, s := range active {
			if !got[s.key] {
				s.done = true // what was left to replay has been deleted
			}
		}
	}
	return b, nil
}

// partial logs the failure of some of a cluster's per-key reads whose other
// keys returned entries (handed out first; the failed keys are read again).
func (k *Consumer) partial(err error) {
	if err != nil {
		k.log.Warn("cannot read some keys; retrying", slog.Any("error", err))
	}
}

// appendMessages converts entries of shard s into messages of b, whose
// payloads are the entries' own (ownBytes). claimed entries do not move s's
// position.
func (k *Consumer) appendMessages(b *rbatch, s *shardState, msgs []goredis.XMessage, track, claimed bool) {
	if b.msgs == nil {
		b.msgs = k.takeSpare()
	}
	b.msgs = slices.Grow(b.msgs, len(msgs))
	if track {
		b.acks = slices.Grow(b.acks, len(msgs))
	}
	for i := range msgs {
		m := &msgs[i]
		id, err := ParseID(m.ID)
		if err != nil {
			var ie *IDError
			if errors.As(err, &ie) {
				ie.Stream, ie.Shard = s.ss.Stream, s.ss.Shard
			}
			b.errs = append(b.errs, itemErr{idx: len(b.msgs), err: err})
			b.msgs = append(b.msgs, driver.Message{})
			if track {
				b.acks = append(b.acks, ackRef{})
			}
			continue
		}
		if !claimed {
			if s.hasEnd && id.Compare(s.end) > 0 {
				s.done = true
				return
			}
			if id.Compare(s.last) > 0 {
				s.last = id
			}
		}
		ref := ackRef{key: s.key, id: id}
		v, ok := m.Values[k.cfg.field].(string)
		if !ok {
			// Not a message of ours (or an entry deleted while pending).
			if !s.warned {
				s.warned = true
				k.log.Warn("skipping entries without the payload field", slog.String("key", s.key), slog.String("field", k.cfg.field), slog.String("id", m.ID))
			}
			if track {
				k.acks.returned(ref)
			}
		} else if seq, err := id.SeqNo(); err != nil {
			b.errs = append(b.errs, itemErr{idx: len(b.msgs), err: &IDError{Stream: s.ss.Stream, Shard: s.ss.Shard, ID: m.ID, Err: ErrIDRange}})
			b.msgs = append(b.msgs, driver.Message{})
			if track {
				b.acks = append(b.acks, ref)
			}
		} else {
			if len(m.Values) > 1 {
				b.order = append(b.order, fieldsRef{idx: len(b.msgs), key: s.key, id: m.ID})
			}
			b.msgs = append(b.msgs, driver.Message{
				Header:  driver.Header{StreamKey: s.ss.Stream, Shard: s.ss.Shard, Seq: seq, Timestamp: id.Time()},
				Payload: ownBytes(v),
				Attrs:   k.attrs(m.Values),
			})
			if track {
				b.acks = append(b.acks, ref)
			}
		}
		if s.hasEnd && !claimed && id.Compare(s.end) >= 0 {
			s.done = true
			return
		}
	}
}

// attrs returns the fields of an entry other than the payload's, as a
// message's attributes, ordered by name; nil for an entry of the payload's
// field alone (what SeaStreamer writes), which so costs nothing. They are
// always given rather than behind an option: a consumer that wants only the
// payload ignores them, SeaStreamer's own entries have none, and an archive
// (?envelope=v1) keeps them. go-redis reads an entry's fields into a map,
// which loses their order on the server and repeated names: orderFields
// reads them again as a list before the batch goes out; the name order
// here is what is left if that fails.
func (k *Consumer) attrs(values map[string]any) []driver.Attr {
	if len(values) <= 1 {
		return nil
	}
	out := make([]driver.Attr, 0, len(values)-1)
	for name, v := range values {
		if name == k.cfg.field {
			continue
		}
		sv, _ := v.(string)
		out = append(out, driver.Attr{Name: name, Value: ownBytes(sv)})
	}
	slices.SortFunc(out, func(a, b driver.Attr) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// orderFields gives the messages of b.order their attributes in the order
// of the entries' fields on the server, repeated names included: one XRANGE
// per entry, in one pipeline, read as plain lists (go-redis's XMessage is a
// map). Only entries with fields besides the payload's pay for it. If it
// fails (with a warning), or an entry is gone meanwhile, the attributes
// stay in name order.
func (k *Consumer) orderFields(ctx context.Context, client goredis.UniversalClient, b *rbatch) {
	if len(b.order) == 0 {
		return
	}
	cmds := make([]*goredis.SliceCmd, len(b.order))
	pipe := client.Pipeline()
	for i, r := range b.order {
		cmds[i] = goredis.NewSliceCmd(ctx, "xrange", r.key, r.id, r.id)
		_ = pipe.Process(ctx, cmds[i])
	}
	if _, err := pipe.Exec(ctx); err != nil {
		if ctx.Err() != nil {
			return // closing
		}
		k.log.Warn("cannot read the order of entries' fields; their attributes are in name order", slog.Any("error", err))
		return
	}
	for i, r := range b.order {
		if attrs, ok := k.listFields(cmds[i].Val()); ok {
			b.msgs[r.idx].Attrs = attrs
		}
	}
	b.order = b.order[:0]
}

// listFields reads the reply of XRANGE for one entry, [[id, [f1, v1, ...]]],
// into the attributes of its fields other than the payload's.
func (k *Consumer) listFields(reply []any) ([]driver.Attr, bool) {
	if len(reply) != 1 {
		return nil, false
	}
	e, ok := reply[0].([]any)
	if !ok || len(e) < 2 {
		return nil, false
	}
	fs, ok := e[1].([]any)
	if !ok || len(fs)%2 != 0 {
		return nil, false
	}
	var out []driver.Attr
	for j := 0; j < len(fs); j += 2 {
		name, ok1 := fs[j].(string)
		value, ok2 := fs[j+1].(string)
		if !ok1 || !ok2 {
			return nil, false
		}
		if name == k.cfg.field {
			continue
		}
		out = append(out, driver.Attr{Name: name, Value: ownBytes(value)})
	}
	return out, true
}

// claim takes over entries left pending by dead members of the group: on
// each shard where another consumer with pending entries has been idle for
// claimIdle, XAUTOCLAIM gives this consumer (by its own name) every entry
// idle that long.
func (k *Consumer) claim(ctx context.Context, client goredis.UniversalClient, st *fstate) (*rbatch, error) {
	b := &rbatch{gen: st.gen}
	for _, s := range st.shards {
		if !s.ready {
			continue
		}
		members, err := client.XInfoConsumers(ctx, s.key, k.group).Result()
		if err != nil {
			return nil, backendErr("list the group's consumers", err)
		}
		var dead []string
		for _, m := range members {
			if m.Name != k.name && m.Pending > 0 && m.Idle >= k.cfg.claimIdle {
				dead = append(dead, m.Name)
			}
		}
		if len(dead) == 0 {
			continue
		}
		before := len(b.msgs)
		start := "0-0"
		for len(b.msgs)-before < 100*k.cfg.readCount {
			msgs, next, err := client.XAutoClaim(ctx, &goredis.XAutoClaimArgs{
				Stream: s.key, Group: k.group, Consumer: k.name,
				MinIdle: k.cfg.claimIdle, Start: start, Count: int64(k.cfg.readCount),
			}).Result()
			if err != nil {
				return nil, backendErr("claim", err)
			}
			k.appendMessages(b, s, msgs, k.acks != nil, true)
			if next == "0-0" || next == "" {
				break
			}
			start = next
		}
		if n := len(b.msgs) - before; n > 0 {
			k.log.Info("claimed the pending messages of idle consumers", slog.String("key", s.key), slog.Int("messages", n), slog.Any("from", dead))
		}
	}
	return b, nil
}

// pickReleased claims entries that members released when they closed (see
// Consumer.release). To keep each member's messages in order, a member takes
// only released entries newer than what it received from the shard (a new
// member takes them all), unless they have waited longer than claimIdle.
func (k *Consumer) pickReleased(ctx context.Context, client goredis.UniversalClient, st *fstate) (*rbatch, error) {
	b := &rbatch{gen: st.gen}
	for _, s := range st.shards {
		if !s.ready {
			continue
		}
		// Take every eligible entry now: once this consumer reads newer
		// ones, the rest are no longer eligible.
		start, before := "-", len(b.msgs)
		for page := 0; page < 100; page++ {
			ents, err := client.XPendingExt(ctx, &goredis.XPendingExtArgs{
				Stream: s.key, Group: k.group, Idle: releaseIdle / 2, Start: start, End: "+", Count: int64(k.cfg.readCount),
			}).Result()
			if err != nil {
				return nil, backendErr("look for released messages", err)
			}
			var ids []string
			var last ID
			for _, e := range ents {
				id, err := ParseID(e.ID)
				if err != nil {
					continue
				}
				last = id
				if id.Compare(s.last) > 0 || e.Idle >= releaseIdle+k.cfg.claimIdle {
					ids = append(ids, e.ID)
				}
			}
			if len(ids) > 0 {
				msgs, err := client.XClaim(ctx, &goredis.XClaimArgs{
					Stream: s.key, Group: k.group, Consumer: k.name, MinIdle: releaseIdle / 2, Messages: ids,
				}).Result()
				if err != nil {
					return nil, backendErr("claim released messages", err)
				}
				k.appendMessages(b, s, msgs, k.acks != nil, false)
			}
			if len(ents) < k.cfg.readCount {
				break
			}
			start = last.next().String()
		}
		if n := len(b.msgs) - before; n > 0 {
			k.log.Debug("took released messages", slog.String("key", s.key), slog.Int("messages", n))
		}
	}
	return b, nil
}
