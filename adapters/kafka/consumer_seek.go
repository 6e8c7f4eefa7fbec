package kafka

// Seek and Rewind: moving the consumer's partitions to new offsets.

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/seastream/ss/streamer/driver"
)

// Seek implements driver.Consumer: each partition moves to its first
// message with a timestamp later than t (in milliseconds), or to its end.
func (k *Consumer) Seek(ctx context.Context, t time.Time) error {
	var ms int64 // Kafka timestamps are not negative
	if !t.Before(time.UnixMilli(0)) {
		ms = t.UnixMilli() + 1
	}
	return k.reposition(ctx, func(ctx context.Context, parts map[string][]int32) (map[string]map[int32]int64, error) {
		return k.conn.listOffsets(ctx, parts, ms)
	})
}

// Rewind implements driver.Consumer.
func (k *Consumer) Rewind(ctx context.Context, pos driver.SeqPos) error {
	return k.reposition(ctx, func(ctx context.Context, parts map[string][]int32) (map[string]map[int32]int64, error) {
		switch pos.Kind {
		case driver.SeqPosBeginning:
			return k.conn.listOffsets(ctx, parts, listEarliest)
		case driver.SeqPosEnd:
			return k.conn.listOffsets(ctx, parts, listLatest)
		}
		n := int64(math.MaxInt64)
		if pos.Seq < math.MaxInt64 {
			n = int64(pos.Seq)
		}
		out := make(map[string]map[int32]int64, len(parts))
		for t, ps := range parts {
			out[t] = make(map[int32]int64, len(ps))
			for _, p := range ps {
				out[t][p] = n
			}
		}
		return out, nil
	})
}

// reposition moves the consumer's partitions to the offsets resolve gives:
// the assigned ones (LoadBalanced: those the group gave it), or every
// partition of its topics. Prefetched records are dropped. RealTime and
// Resumable consumers get a new client reading exactly those partitions
// (topics that do not exist yet are read from their start once created).
func (k *Consumer) reposition(ctx context.Context, resolve func(context.Context, map[string][]int32) (map[string]map[int32]int64, error)) error {
	k.mu.Lock()
	if k.closed {
		k.mu.Unlock()
		return driver.ErrClosed
	}
	reconf := make(chan struct{})
	k.reconf = reconf
	polling := k.polling
	if k.pollCancel != nil {
		k.pollCancel()
	}
	k.dropBatch(true)
	assigned := slices.Clone(k.assigned)
	k.mu.Unlock()
	defer func() {
		k.mu.Lock()
		k.reconf = nil
		close(reconf)
		k.mu.Unlock()
	}()
	if polling != nil {
		<-polling // the poll returns at once: its ctx was cancelled
	}
	reqCtx, cancel := k.opCtx(ctx)
	defer cancel()

	if k.mode == driver.LoadBalanced {
		return k.repositionGroup(reqCtx, resolve)
	}

	// Which partitions, of which topics.
	topics := k.topics
	if k.wildcard {
		topics = nil
	}
	md, err := k.conn.metadata(reqCtx, topics)
	if err != nil {
		return k.closedOr(err)
	}
	parts := make(map[string][]int32)
	var missing []string                           // topics to read whole once they exist
	var waiting = make(map[string]map[int32]int64) // assigned partitions of missing topics
	if len(assigned) > 0 {
		for _, a := range assigned {
			t, p := string(a.Stream), int32(a.Shard)
			ti, ok := md[t]
			if !ok {
				if waiting[t] == nil {
					waiting[t] = make(map[int32]int64)
				}
				waiting[t][p] = -1
				continue
			}
			if !slices.Contains(ti.partitions, p) {
				return fmt.Errorf("%w: topic %q has %d partitions, shard %d was assigned", ErrNoSuchPartition, t, len(ti.partitions), a.Shard)
			}
			parts[t] = append(parts[t], p)
		}
	} else {
		for t, ti := range md {
			parts[t] = ti.partitions
		}
		for _, t := range k.topics {
			if _, ok := md[t]; !ok {
				missing = append(missing, t)
			}
		}
	}
	offsets, err := resolve(reqCtx, parts)
	if err != nil {
		return k.closedOr(err)
	}
	for t, ps := range waiting {
		offsets[t] = ps
	}
	for t, ti := range md {
		k.mu.Lock()
		k.ids[t] = ti.id
		k.mu.Unlock()
	}
	cl, err := k.newDirectClient(offsets, missing, false)
	if err != nil {
		return err
	}
	k.mu.Lock()
	if k.closed {
		k.mu.Unlock()
		cl.Close()
		return driver.ErrClosed
	}
	old := k.cl
	k.cl = cl
	k.dropBatch(true)
	k.moveStarts(offsets)
	if k.replay {
		k.pending = pendingParts(k.replayEnd, offsets)
	}
	k.mu.Unlock()
	old.Close()
	return nil
}

// repositionGroup moves the partitions a LoadBalanced consumer owns.
func (k *Consumer) repositionGroup(ctx context.Context, resolve func(context.Context, map[string][]int32) (map[string]map[int32]int64, error)) error {
	k.mu.Lock()
	parts := make(map[string][]int32)
	for t, ps := range k.owned {
		for p := range ps {
			parts[t] = append(parts[t], p)
		}
	}
	cl := k.cl
	k.mu.Unlock()
	if len(parts) == 0 {
		return nil
	}
	offsets, err := resolve(ctx, parts)
	if err != nil {
		return k.closedOr(err)
	}
	set := make(map[string]map[int32]kgo.EpochOffset, len(offsets))
	for t, ps := range offsets {
		set[t] = make(map[int32]kgo.EpochOffset, len(ps))
		for p, o := range ps {
			set[t][p] = kgo.EpochOffset{Epoch: -1, Offset: o}
		}
	}
	cl.SetOffsets(set)
	k.mu.Lock()
	k.dropBatch(true)
	k.moveStarts(offsets)
	k.mu.Unlock()
	return nil
}
