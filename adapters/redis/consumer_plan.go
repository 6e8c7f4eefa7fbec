package redis

// Plans: which shards a consumer reads and where it starts in each, the
// groups it reads them in, and what the fetcher is told to read.

import (
	"context"
	"errors"

	goredis "github.com/redis/go-redis/v9"
	"github.com/seastream/ss/streamer/driver"
)

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
