package redis

import (
	"context"
	"fmt"
	"maps"
	"sort"
	"strconv"
	"sync"

	goredis "github.com/redis/go-redis/v9"
	"github.com/seastream/ss/streamer/driver"
)

// Shards of a stream live in separate Redis keys, as in SeaStreamer:
//
//	shard 0   "<stream>:0" from a producer that shards (WithShardCount(n > 1)),
//	          else "<stream>" (WithShardZeroSuffix overrides)
//	shard N   "<stream>:N"  (N in decimal, no leading zeros)
//
// A valid stream key has no ':', so these names never collide with another
// stream's. Consumers find a stream's shards with SCAN (TYPE stream); they
// read "<stream>:0" as shard 0 when "<stream>" does not exist, and refuse
// a stream that has both (ErrShardConflict).
//
// In a Redis Cluster the names stay the same (no hash tags: SeaStreamer
// reads and writes these names): each key hashes to a slot of its own, so
// a stream's shards spread over the masters, and no command names two keys
// (fetch_read.go reads them one command per key).

// shardKey returns the Redis key a producer writes (stream, shard) to.
func shardKey(stream driver.StreamKey, shard driver.ShardID, zeroSuffix bool) string {
	if shard == 0 && !zeroSuffix {
		return string(stream)
	}
	return string(stream) + ":" + strconv.FormatUint(uint64(shard), 10)
}

// parseShardSuffix parses the N of "<stream>:N": canonical decimal only.
func parseShardSuffix(s string) (driver.ShardID, bool) {
	if s == "" || len(s) > 20 || (len(s) > 1 && s[0] == '0') {
		return 0, false
	}
	n, err := parseDecimal(s)
	if err != nil {
		return 0, false
	}
	return driver.ShardID(n), true
}

// discoverShards returns the Redis key of every existing shard of stream.
// In a cluster, SCAN runs on every master (each holds the keys of its
// slots).
func discoverShards(ctx context.Context, c goredis.UniversalClient, stream driver.StreamKey) (map[driver.ShardID]string, error) {
	shards := make(map[driver.ShardID]string)
	prefix := string(stream) + ":"
	var scanErr error
	if cc, ok := c.(*goredis.ClusterClient); ok {
		var mu sync.Mutex
		scanErr = cc.ForEachMaster(ctx, func(ctx context.Context, node *goredis.Client) error {
			found := make(map[driver.ShardID]string)
			if err := scanShards(ctx, node, prefix, found); err != nil {
				return err
			}
			mu.Lock()
			maps.Copy(shards, found)
			mu.Unlock()
			return nil
		})
	} else {
		scanErr = scanShards(ctx, c, prefix, shards)
	}
	if scanErr != nil {
		return nil, backendErr("discover shards", scanErr)
	}
	typ, err := c.Type(ctx, string(stream)).Result()
	if err != nil {
		return nil, backendErr("discover shards", err)
	}
	switch typ {
	case "none":
	case "stream":
		if _, both := shards[0]; both {
			return nil, fmt.Errorf("%w: keys %q and %q", ErrShardConflict, stream, shards[0])
		}
		shards[0] = string(stream)
	default:
		return nil, backendErr("discover shards", fmt.Errorf("key %q holds a %s, not a stream", stream, typ))
	}
	return shards, nil
}

// scanShards adds to shards the keys "<prefix>N" of streams that the node
// of c holds.
func scanShards(ctx context.Context, c goredis.Cmdable, prefix string, shards map[driver.ShardID]string) error {
	var cursor uint64
	for {
		// Stream keys hold only [A-Za-z0-9._-], none of which is special
		// in a SCAN pattern.
		keys, next, err := c.ScanType(ctx, cursor, prefix+"*", 1000, "stream").Result()
		if err != nil {
			return err
		}
		for _, k := range keys {
			if n, ok := parseShardSuffix(k[len(prefix):]); ok {
				shards[n] = k
			}
		}
		if next == 0 {
			return nil
		}
		cursor = next
	}
}

// sortedShards returns the shard ids of m in increasing order.
func sortedShards(m map[driver.ShardID]string) []driver.ShardID {
	ids := make([]driver.ShardID, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	return ids
}
