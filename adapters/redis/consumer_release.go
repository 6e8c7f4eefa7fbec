package redis

// Leaving a group on Close: a LoadBalanced consumer hands back the entries
// it read ahead, and a generated name is removed from the group.

import (
	"context"
	"log/slog"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

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
