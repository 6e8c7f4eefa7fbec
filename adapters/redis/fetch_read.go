package redis

// The fetcher's reads of several keys at once: one command on one server,
// one command per key in a cluster.

import (
	"context"
	"errors"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// xread reads the keys of streams (keys, then as many ids, as XREAD takes
// them): XREADGROUP in the consumer's group if grouped, else XREAD; block < 0
// does not block. It returns the keys that have entries, in any order; an
// empty result is not an error.
//
// On one server that is one command. A Redis Cluster refuses a command whose
// keys lie in different slots (CROSSSLOT), and every shard key of a stream
// hashes to a slot of its own (see keys.go): in a cluster, xread sends one
// command per key, first all of them without BLOCK in one pipeline (the
// cluster client sends each node its part, in parallel); only when none has
// an entry, and block >= 0, one blocking command per key in parallel, each on
// a connection of its own, waiting for all of them. A failed command does not
// discard the entries the others returned (a group read has delivered
// them): xread returns those with the first error, which the caller reports
// only when there are none.
func (k *Consumer) xread(ctx context.Context, client goredis.UniversalClient, grouped bool, streams []string, block time.Duration, noAck bool) ([]goredis.XStream, error) {
	n := len(streams) / 2
	one := func(ctx context.Context, c goredis.Cmdable, streams []string, block time.Duration) *goredis.XStreamSliceCmd {
		if grouped {
			return c.XReadGroup(ctx, &goredis.XReadGroupArgs{
				Group: k.group, Consumer: k.name, Streams: streams,
				Count: int64(k.cfg.readCount), Block: block, NoAck: noAck,
			})
		}
		return c.XRead(ctx, &goredis.XReadArgs{Streams: streams, Count: int64(k.cfg.readCount), Block: block})
	}
	if !k.conn.Cluster() || n <= 1 {
		res, err := one(ctx, client, streams, block).Result()
		if errors.Is(err, goredis.Nil) {
			err = nil
		}
		return res, err
	}
	pair := func(i int) []string { return []string{streams[i], streams[n+i]} }
	cmds := make([]*goredis.XStreamSliceCmd, n)
	pipe := client.Pipeline()
	for i := range n {
		cmds[i] = one(ctx, pipe, pair(i), -1)
	}
	_, _ = pipe.Exec(ctx)
	res, err := gather(cmds)
	if len(res) > 0 || block < 0 {
		return res, err
	}
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { cmds[i] = one(ctx, client, pair(i), block) })
	}
	wg.Wait()
	return gather(cmds)
}

// gather merges the replies of xread's commands.
func gather(cmds []*goredis.XStreamSliceCmd) ([]goredis.XStream, error) {
	var out []goredis.XStream
	var first error
	for _, c := range cmds {
		res, err := c.Result()
		if err != nil && !errors.Is(err, goredis.Nil) && first == nil {
			first = err
		}
		out = append(out, res...)
	}
	return out, first
}
