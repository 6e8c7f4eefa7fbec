package kafka

import (
	"context"
	"slices"

	"github.com/seastream/ss/streamer/driver"
)

// Lag implements driver.Lagger: for each partition the consumer reads (a
// LoadBalanced consumer: those the group gives it; others: those chosen
// with Assign, else every partition of its topics that exists), the
// partition's end offset (high watermark) minus the offset of the next
// message the consumer would return, never below 0.
//
// That next offset is the one after the last message Next returned from
// the partition. Before Next returned any (or after a Seek or Rewind moved
// the partition, until Next returns from it again), it is where the
// consumer starts: the offset it was moved to; for a RealTime or Resumable
// consumer, its start as resolved at creation (a Resumable consumer's
// committed offset, the end for ResetLatest) or else the log start offset;
// for a LoadBalanced consumer, the group's committed offset, or else the log
// start (ResetEarliest) or the end (ResetLatest, so lag 0). Messages deleted
// by retention are not counted, and with compaction or transactions the
// count is in offsets, which may exceed the messages left to read.
//
// An assigned partition that does not exist (yet) has lag 0. Lag may be
// called concurrently with Next; it asks the brokers for metadata, end
// offsets and, where needed, log start or committed offsets.
func (k *Consumer) Lag(ctx context.Context) ([]driver.Lag, error) {
	k.mu.Lock()
	if k.closed {
		k.mu.Unlock()
		return nil, driver.ErrClosed
	}
	k.settle()
	parts := make(map[string][]int32)
	switch {
	case k.mode == driver.LoadBalanced:
		for t, ps := range k.owned {
			for p := range ps {
				parts[t] = append(parts[t], p)
			}
		}
	case len(k.assigned) > 0:
		for _, a := range k.assigned {
			parts[string(a.Stream)] = append(parts[string(a.Stream)], int32(a.Shard))
		}
	default:
		parts = nil // every partition of the topics, from metadata
	}
	// Snapshot of the next offsets known now; -1: the log start; absent:
	// resolved below.
	next := make(map[string]map[int32]int64)
	set := func(t string, p int32, o int64) {
		if next[t] == nil {
			next[t] = make(map[int32]int64)
		}
		next[t][p] = o
	}
	for t, ps := range k.returned {
		for p, o := range ps {
			if !k.moved[t][p] {
				set(t, p, o.Offset)
			}
		}
	}
	for t, ps := range k.starts {
		for p, o := range ps {
			if _, ok := next[t][p]; !ok {
				set(t, p, o)
			}
		}
	}
	k.mu.Unlock()

	reqCtx, cancel := k.opCtx(ctx)
	defer cancel()
	topics := k.topics
	if k.wildcard {
		topics = nil
	}
	md, err := k.conn.metadata(reqCtx, topics)
	if err != nil {
		return nil, k.closedOr(err)
	}
	var absent []driver.Lag // assigned partitions that do not exist (yet): nothing stored
	if parts == nil {
		parts = partsOf(md)
	} else {
		for t, ps := range parts {
			kept := ps[:0]
			for _, p := range ps {
				if slices.Contains(md[t].partitions, p) {
					kept = append(kept, p)
				} else {
					absent = append(absent, driver.Lag{Stream: driver.StreamKey(t), Shard: driver.ShardID(p)})
				}
			}
			if len(kept) == 0 {
				delete(parts, t)
			} else {
				parts[t] = kept
			}
		}
	}
	ends, err := k.conn.listOffsets(reqCtx, parts, listLatest)
	if err != nil {
		return nil, k.closedOr(err)
	}

	// Partitions with no position yet: the group's commit (LoadBalanced),
	// else the reset policy.
	unknown := make(map[string]topicInfo)
	for t, ps := range parts {
		for _, p := range ps {
			if _, ok := next[t][p]; !ok {
				ti := unknown[t]
				ti.partitions = append(ti.partitions, p)
				unknown[t] = ti
			}
		}
	}
	if k.mode == driver.LoadBalanced && len(unknown) > 0 {
		committed, err := k.conn.fetchCommitted(reqCtx, k.group, unknown)
		if err != nil {
			return nil, k.closedOr(err)
		}
		for t, ps := range committed {
			for p, o := range ps {
				set(t, p, o)
			}
		}
	}
	var fromStart map[string][]int32
	for t, ps := range parts {
		for _, p := range ps {
			o, ok := next[t][p]
			if !ok && k.mode == driver.LoadBalanced && k.reset == driver.ResetLatest {
				set(t, p, ends[t][p])
				continue
			}
			if !ok || o < 0 {
				if fromStart == nil {
					fromStart = make(map[string][]int32)
				}
				fromStart[t] = append(fromStart[t], p)
			}
		}
	}
	starts, err := k.conn.listOffsets(reqCtx, fromStart, listEarliest)
	if err != nil {
		return nil, k.closedOr(err)
	}
	for t, ps := range starts {
		for p, o := range ps {
			set(t, p, o)
		}
	}

	out := absent
	for t, ps := range parts {
		for _, p := range ps {
			var n uint64
			if end, pos := ends[t][p], next[t][p]; end > pos {
				n = uint64(end - pos)
			}
			out = append(out, driver.Lag{Stream: driver.StreamKey(t), Shard: driver.ShardID(p), Messages: n})
		}
	}
	return out, nil
}

// moveStarts, with mu held, records that Seek or Rewind moved partitions to
// offsets (-1: the log start), for Lag until Next returns from them.
func (k *Consumer) moveStarts(offsets map[string]map[int32]int64) {
	k.starts = offsets
	k.moved = make(map[string]map[int32]bool, len(offsets))
	for t, ps := range offsets {
		k.moved[t] = make(map[int32]bool, len(ps))
		for p := range ps {
			k.moved[t][p] = true
		}
	}
}
