package kafka

// Which partitions a RealTime or Resumable consumer reads and from where:
// its start (committed offsets, or the reset position), its direct client,
// and Assign and Unassign.

import (
	"context"
	"fmt"
	"math"
	"slices"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/seastream/ss/streamer/driver"
)

// startDirect works out where a RealTime or Resumable consumer starts and
// returns its client. Topics that exist start at their committed offsets
// (Resumable), else at their end (ResetLatest, resolved now, so that every
// message sent after NewConsumer returns is read) or at their start. Topics
// that do not exist yet are read from their first message once created.
func (k *Consumer) startDirect(ctx context.Context) (*kgo.Client, error) {
	var md map[string]topicInfo
	var err error
	if k.wildcard {
		md, err = k.conn.metadata(ctx, nil)
	} else {
		md, err = k.conn.metadata(ctx, k.topics)
	}
	if err != nil {
		return nil, err
	}
	for t, ti := range md {
		k.ids[t] = ti.id
	}
	var committed map[string]map[int32]int64
	if k.mode == driver.Resumable {
		if committed, err = k.conn.fetchCommitted(ctx, k.group, md); err != nil {
			return nil, err
		}
	}
	var ends map[string]map[int32]int64
	if k.replay || k.reset == driver.ResetLatest {
		if ends, err = k.conn.listOffsets(ctx, partsOf(md), listLatest); err != nil {
			return nil, err
		}
	}
	exact := make(map[string]map[int32]int64) // topics read from exact offsets
	var whole []string                        // topics read whole from their start
	for _, t := range k.topics {
		ti, ok := md[t]
		switch {
		case !ok:
			whole = append(whole, t)
		case len(committed[t]) > 0 || k.reset == driver.ResetLatest:
			exact[t] = make(map[int32]int64, len(ti.partitions))
			for _, p := range ti.partitions {
				if o, ok := committed[t][p]; ok {
					exact[t][p] = o
				} else if k.reset == driver.ResetLatest {
					exact[t][p] = ends[t][p]
				} else {
					exact[t][p] = -1 // the start
				}
			}
		default:
			whole = append(whole, t)
		}
	}
	if k.replay {
		starts, err := k.conn.listOffsets(ctx, partsOf(md), listEarliest)
		if err != nil {
			return nil, err
		}
		for t, ps := range exact {
			for p, o := range ps {
				if o >= 0 {
					starts[t][p] = o
				}
			}
		}
		k.replayEnd = ends
		k.pending = pendingParts(ends, starts)
	}
	k.starts = exact
	return k.newDirectClient(exact, whole, k.wildcard)
}

// partsOf returns the partitions of the topics of md.
func partsOf(md map[string]topicInfo) map[string][]int32 {
	out := make(map[string][]int32, len(md))
	for t, ti := range md {
		out[t] = ti.partitions
	}
	return out
}

// pendingParts returns the partitions whose start is before their end.
func pendingParts(ends, starts map[string]map[int32]int64) map[string]map[int32]int64 {
	out := make(map[string]map[int32]int64)
	for t, ps := range ends {
		for p, end := range ps {
			start, ok := starts[t][p]
			if !ok || start >= end {
				continue
			}
			if out[t] == nil {
				out[t] = make(map[int32]int64)
			}
			out[t][p] = end
		}
	}
	return out
}

// newDirectClient returns a client reading the partitions of exact from
// their offsets (-1: the start) and the topics of whole from their start;
// with regex, every topic but Kafka's internal ones from their start.
func (k *Consumer) newDirectClient(exact map[string]map[int32]int64, whole []string, regex bool) (*kgo.Client, error) {
	opts := []kgo.Opt{
		kgo.ConsumeStartOffset(kgo.NewOffset().AtStart()),
		kgo.MetadataMinAge(consumerMetadataMinAge),
	}
	if regex {
		// New topics only show in a metadata refresh: refresh often.
		opts = append(opts, kgo.ConsumeRegex(), kgo.ConsumeTopics(wildcardTopic.String()),
			kgo.MetadataMaxAge(wildcardMetadataMaxAge))
	} else {
		if len(whole) > 0 {
			opts = append(opts, kgo.ConsumeTopics(whole...))
		}
		if len(exact) > 0 {
			m := make(map[string]map[int32]kgo.Offset, len(exact))
			for t, ps := range exact {
				m[t] = make(map[int32]kgo.Offset, len(ps))
				for p, o := range ps {
					if o < 0 {
						m[t][p] = kgo.NewOffset().AtStart()
					} else {
						m[t][p] = kgo.NewOffset().At(o)
					}
				}
			}
			opts = append(opts, kgo.ConsumePartitions(m))
		}
	}
	cl, err := k.conn.newClient(k.s, opts...)
	if err != nil {
		return nil, wrapErr("new consumer", err)
	}
	return cl, nil
}

// Partitions returns, for a LoadBalanced consumer, the partitions the group
// currently gives it; for other modes, the partitions chosen with Assign
// (none: every partition of the subscribed topics).
func (k *Consumer) Partitions() []driver.StreamShard {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.mode != driver.LoadBalanced {
		return slices.Clone(k.assigned)
	}
	var out []driver.StreamShard
	for t, ps := range k.owned {
		for p := range ps {
			out = append(out, driver.StreamShard{Stream: driver.StreamKey(t), Shard: driver.ShardID(p)})
		}
	}
	slices.SortFunc(out, func(a, b driver.StreamShard) int {
		if a.Stream != b.Stream {
			if a.Stream < b.Stream {
				return -1
			}
			return 1
		}
		return int(a.Shard) - int(b.Shard)
	})
	return out
}

// Assign implements driver.Consumer. LoadBalanced consumers get their
// partitions from the group: Assign returns ErrUnsupported for them.
func (k *Consumer) Assign(stream driver.StreamKey, shard driver.ShardID) error {
	if err := k.checkAssign(stream, shard); err != nil {
		return err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.closed {
		return driver.ErrClosed
	}
	ss := driver.StreamShard{Stream: stream, Shard: shard}
	if !slices.Contains(k.assigned, ss) {
		k.assigned = append(k.assigned, ss)
	}
	return nil
}

// Unassign implements driver.Consumer.
func (k *Consumer) Unassign(stream driver.StreamKey, shard driver.ShardID) error {
	if err := k.checkAssign(stream, shard); err != nil {
		return err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.closed {
		return driver.ErrClosed
	}
	i := slices.Index(k.assigned, driver.StreamShard{Stream: stream, Shard: shard})
	switch {
	case i < 0:
		return driver.ErrConsumerNotAssigned
	case len(k.assigned) == 1:
		return driver.ErrStreamKeyEmpty
	}
	k.assigned = slices.Delete(k.assigned, i, i+1)
	return nil
}

func (k *Consumer) checkAssign(stream driver.StreamKey, shard driver.ShardID) error {
	if k.mode == driver.LoadBalanced {
		return fmt.Errorf("%w: Assign and Unassign on a LoadBalanced kafka:// consumer (the group assigns partitions)", driver.ErrUnsupported)
	}
	if !k.wildcard && !slices.Contains(k.topics, string(stream)) {
		return driver.ErrStreamKeyNotFound
	}
	if shard > math.MaxInt32 {
		return fmt.Errorf("%w: shard %d (Kafka partitions are 32-bit)", ErrNoSuchPartition, shard)
	}
	return nil
}
