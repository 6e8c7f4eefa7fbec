package redis

// Repositioning: Seek and Rewind give the fetcher a new plan; Assign and
// Unassign narrow the shards the next one reads.

import (
	"context"
	"slices"
	"time"

	"github.com/seastream/ss/streamer/driver"
)

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
