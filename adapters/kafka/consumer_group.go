package kafka

// The group session of a LoadBalanced consumer: its client, and the
// partitions the group assigns, revokes or loses.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/seastream/ss/streamer/driver"
)

// newGroupClient returns the client of a LoadBalanced consumer.
func (k *Consumer) newGroupClient() (*kgo.Client, error) {
	start := kgo.NewOffset().AtEnd()
	if k.reset == driver.ResetEarliest {
		start = kgo.NewOffset().AtStart()
	}
	opts := []kgo.Opt{
		kgo.ConsumerGroup(k.group),
		kgo.ConsumeTopics(k.topics...),
		kgo.ConsumeStartOffset(start),
		kgo.MetadataMinAge(consumerMetadataMinAge),
		kgo.DisableAutoCommit(),
		kgo.OnPartitionsAssigned(k.onAssigned),
		kgo.OnPartitionsRevoked(k.onRevoked),
		kgo.OnPartitionsLost(k.onLost),
		// A rebalance waits from the moment a poll returns until Next
		// has installed what it brought (see Next): revoked in between,
		// and given back at once as an eager rebalance does, a partition's
		// records would be installed after the revocation's note was
		// taken, and handed out again by the new session, which fetches
		// them from the committed offset. The wait is that short: Next
		// allows the rebalance before it hands anything out.
		kgo.BlockRebalanceOnPoll(),
		kgo.OnPartitionsCallbackBlocked(k.onBlocked),
	}
	opts = append(opts, kgo.Balancers(k.balancers().kgo()...))
	if k.s.sessionTimeout > 0 {
		opts = append(opts, kgo.SessionTimeout(k.s.sessionTimeout))
	}
	cl, err := k.conn.newClient(k.s, opts...)
	if err != nil {
		return nil, wrapErr("new consumer", err)
	}
	return cl, nil
}

// balancers returns the balancers the consumer offers its group.
func (k *Consumer) balancers() balancerList {
	if len(k.s.balancers) == 0 {
		return defaultBalancers
	}
	return k.s.balancers
}

// onBlocked runs when a rebalance waits for Next to install a poll's records.
func (k *Consumer) onBlocked(context.Context, *kgo.Client) {
	k.hook(func(h *testHooks) func() { return h.blocked })
}

func (k *Consumer) onAssigned(_ context.Context, _ *kgo.Client, assigned map[string][]int32) {
	k.mu.Lock()
	defer k.mu.Unlock()
	for t, ps := range assigned {
		if k.owned[t] == nil {
			k.owned[t] = make(map[int32]bool)
		}
		for _, p := range ps {
			k.owned[t][p] = true
		}
	}
}

// onRevoked runs when the group takes partitions away (rebalance, or
// leaving the group on Close): it drops what was fetched from them and, except
// on Close, commits what Next returned from them, so that their next owner
// does not receive those messages again.
func (k *Consumer) onRevoked(ctx context.Context, cl *kgo.Client, revoked map[string][]int32) {
	defer k.hook(func(h *testHooks) func() { return h.revoked })
	offsets, closing := k.disown(revoked)
	if closing || len(offsets) == 0 {
		return
	}
	if err := commitGroup(ctx, cl, offsets); err != nil {
		k.conn.log.Warn("kafka: commit of revoked partitions failed; their next owner may receive messages again",
			"group", k.group, "err", err)
	}
}

func (k *Consumer) onLost(_ context.Context, _ *kgo.Client, lost map[string][]int32) {
	k.disown(lost)
}

// disown forgets partitions no longer owned, dropping their buffered
// records, and returns the offsets returned from them.
func (k *Consumer) disown(parts map[string][]int32) (map[string]map[int32]kgo.EpochOffset, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.dropBatch(false) // Next keeps the records of partitions still owned
	offsets := make(map[string]map[int32]kgo.EpochOffset)
	for t, ps := range parts {
		k.noteRevoked(t, ps)
		for _, p := range ps {
			delete(k.owned[t], p)
			delete(k.starts[t], p)
			delete(k.moved[t], p)
			if o, ok := k.returned[t][p]; ok {
				if offsets[t] == nil {
					offsets[t] = make(map[int32]kgo.EpochOffset)
				}
				offsets[t][p] = o
				delete(k.returned[t], p)
			}
		}
	}
	return offsets, k.closed
}

// noteRevoked notes, with mu held, partitions of t taken away. The records
// of them left in Next's batch belong to the session that ended: Next drops
// them even if the group gives the partitions back before it looks (an
// eager rebalance revokes every partition and reassigns much of them to the
// same members), since the new session fetches them again from the
// committed offsets. install forgets these notes with the batch.
func (k *Consumer) noteRevoked(t string, ps []int32) {
	if k.revoked == nil {
		k.revoked = make(map[string]map[int32]bool)
	}
	if k.revoked[t] == nil {
		k.revoked[t] = make(map[int32]bool, len(ps))
	}
	for _, p := range ps {
		k.revoked[t][p] = true
	}
}
