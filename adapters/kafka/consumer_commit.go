package kafka

// Commits: Commit, CommitAsync, auto-commit, and the final commit of Close.

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/seastream/ss/streamer/driver"
)

// Commit implements driver.Consumer: it commits, for each partition, the
// offset after the last message Next returned, and returns once the broker
// has stored it.
func (k *Consumer) Commit(ctx context.Context) error {
	offsets, err := k.toCommit()
	if err != nil {
		return err
	}
	return k.commit(ctx, offsets)
}

// CommitAsync starts committing what Next has returned so far and returns at
// once; onDone, if not nil, is called with the outcome from another
// goroutine. Close waits for commits in flight.
func (k *Consumer) CommitAsync(ctx context.Context, onDone func(error)) {
	offsets, err := k.toCommit()
	if err == nil {
		k.mu.Lock()
		if k.closed {
			err = driver.ErrClosed
		} else {
			k.wg.Add(1)
		}
		k.mu.Unlock()
	}
	if err != nil {
		if onDone != nil {
			onDone(err)
		}
		return
	}
	go func() {
		defer k.wg.Done()
		err := k.commit(ctx, offsets)
		if onDone != nil {
			onDone(err)
		}
	}()
}

// toCommit snapshots the offsets to commit.
func (k *Consumer) toCommit() (map[string]map[int32]kgo.EpochOffset, error) {
	if k.mode == driver.RealTime {
		return nil, driver.ErrCommitNotAllowed
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.closed {
		return nil, driver.ErrClosed
	}
	k.settle()
	out := make(map[string]map[int32]kgo.EpochOffset, len(k.returned))
	for t, ps := range k.returned {
		for p, o := range ps {
			if k.owned != nil && !k.owned[t][p] {
				continue
			}
			if out[t] == nil {
				out[t] = make(map[int32]kgo.EpochOffset, len(ps))
			}
			out[t][p] = o
		}
	}
	return out, nil
}

func (k *Consumer) commit(ctx context.Context, offsets map[string]map[int32]kgo.EpochOffset) error {
	if len(offsets) == 0 {
		return nil
	}
	ctx, cancel := k.opCtx(ctx)
	defer cancel()
	k.mu.Lock()
	cl := k.cl
	k.mu.Unlock()
	if k.mode == driver.LoadBalanced {
		return k.closedOr(commitGroup(ctx, cl, offsets))
	}
	plain := make(map[string]map[int32]int64, len(offsets))
	var unknown []string
	k.mu.Lock()
	ids := make(map[string][16]byte, len(offsets))
	for t, ps := range offsets {
		plain[t] = make(map[int32]int64, len(ps))
		for p, o := range ps {
			plain[t][p] = o.Offset
		}
		if id, ok := k.ids[t]; ok {
			ids[t] = id
		} else {
			unknown = append(unknown, t)
		}
	}
	k.mu.Unlock()
	if len(unknown) > 0 {
		md, err := k.conn.metadata(ctx, unknown)
		if err != nil {
			return k.closedOr(err)
		}
		k.mu.Lock()
		for t, ti := range md {
			ids[t], k.ids[t] = ti.id, ti.id
		}
		k.mu.Unlock()
	}
	return k.closedOr(k.conn.commitSimple(ctx, k.group, plain, ids))
}

// commitGroup commits offsets as a member of the client's group.
func commitGroup(ctx context.Context, cl *kgo.Client, offsets map[string]map[int32]kgo.EpochOffset) error {
	var failed error
	cl.CommitOffsetsSync(ctx, offsets, func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, err error) {
		if err != nil {
			failed = wrapErr("commit", err)
			return
		}
		for _, t := range resp.Topics {
			for _, p := range t.Partitions {
				if err := kerr.ErrorForCode(p.ErrorCode); err != nil && failed == nil {
					failed = fmt.Errorf("%w: topic %q partition %d: %w", ErrGroupCommit, t.Topic, p.Partition,
						&driver.BackendError{Backend: scheme, Op: "commit", Err: err})
				}
			}
		}
	})
	return failed
}

// autoCommit commits every interval until Close (WithAutoCommit).
func (k *Consumer) autoCommit(interval time.Duration) {
	defer k.wg.Done()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-k.closeCh:
			return
		case <-t.C:
		}
		offsets, err := k.toCommit()
		if err != nil {
			return
		}
		if err := k.commit(context.Background(), offsets); err != nil && !errors.Is(err, driver.ErrClosed) {
			k.conn.log.Warn("kafka: auto commit failed", "group", k.group, "err", err)
		}
	}
}

func (k *Consumer) commitFinal(ctx context.Context, offsets map[string]map[int32]kgo.EpochOffset) error {
	plain := make(map[string]map[int32]int64, len(offsets))
	for t, ps := range offsets {
		plain[t] = make(map[int32]int64, len(ps))
		for p, o := range ps {
			plain[t][p] = o.Offset
		}
	}
	k.mu.Lock()
	ids := maps.Clone(k.ids)
	k.mu.Unlock()
	return k.conn.commitSimple(ctx, k.group, plain, ids)
}
