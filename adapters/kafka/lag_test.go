package kafka_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/seastream/ss/internal/testkit"
	"github.com/seastream/ss/streamer"
)

// lagTopic sends 6 messages to partition 0 and 4 to partition 1 of a new
// 2-partition topic and returns the Streamer and the topic.
func lagTopic(t *testing.T, ctx context.Context) (*streamer.Streamer, streamer.StreamKey) {
	t.Helper()
	s := open(t, "kafka://"+newBrokers(t, 2)+"?partitions=2")
	k := topic(t, "lag")
	p, err := s.NewProducer(ctx, k)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		shard := streamer.ShardID(0)
		if i >= 6 {
			shard = 1
		}
		send(t, ctx, p, k, fmt.Sprintf("m%d", i), streamer.WithShard(shard))
	}
	return s, k
}

// lagTotals is how many messages lagTopic put in each partition.
var lagTotals = map[streamer.ShardID]uint64{0: 6, 1: 4}

// lags returns c's lag per partition of k, failing on other entries.
func lags(t *testing.T, ctx context.Context, c *streamer.Consumer, k streamer.StreamKey) map[streamer.ShardID]uint64 {
	t.Helper()
	ls, err := c.Lag(ctx)
	if err != nil {
		t.Fatalf("Lag: %v", err)
	}
	out := make(map[streamer.ShardID]uint64)
	for _, l := range ls {
		if l.Stream != k {
			t.Fatalf("Lag: entry for stream %q, want only %q", l.Stream, k)
		}
		if _, dup := out[l.Shard]; dup {
			t.Fatalf("Lag: two entries for shard %d", l.Shard)
		}
		out[l.Shard] = l.Messages
	}
	if len(out) != len(lagTotals) {
		t.Fatalf("Lag: %v, want one entry per partition of %v", out, lagTotals)
	}
	return out
}

// TestLag: a consumer's lag per partition is what is stored after the last
// message it received (everything before its first Next), 0 once it read
// everything; a new Resumable consumer's counts from its group's commit.
func TestLag(t *testing.T) {
	ctx := testkit.Context(t)
	s, k := lagTopic(t, ctx)
	group := string(topic(t, "lag-group"))
	c, err := s.NewConsumer(ctx, []streamer.StreamKey{k}, streamer.WithMode(streamer.Resumable),
		streamer.WithGroup(group), streamer.WithAutoStreamReset(streamer.ResetEarliest))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	if got := lags(t, ctx, c, k); got[0] != 6 || got[1] != 4 {
		t.Fatalf("Lag before Next: %v, want %v", got, lagTotals)
	}
	read := map[streamer.ShardID]uint64{}
	for range 3 {
		read[next(t, ctx, c).Header.Shard]++
	}
	got := lags(t, ctx, c, k)
	for sh, total := range lagTotals {
		if got[sh] != total-read[sh] {
			t.Fatalf("Lag after 3 messages (%v per partition): %v, want %d for partition %d", read, got, total-read[sh], sh)
		}
	}
	if err := c.Commit(ctx); err != nil {
		t.Fatal(err)
	}

	// A new consumer of the group starts from the commit.
	c2, err := s.NewConsumer(ctx, []streamer.StreamKey{k}, streamer.WithMode(streamer.Resumable),
		streamer.WithGroup(group), streamer.WithAutoStreamReset(streamer.ResetEarliest))
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close(ctx)
	if got2 := lags(t, ctx, c2, k); got2[0] != got[0] || got2[1] != got[1] {
		t.Fatalf("Lag of a new consumer after the commit: %v, want %v", got2, got)
	}

	for range 7 {
		next(t, ctx, c)
	}
	if got := lags(t, ctx, c, k); got[0] != 0 || got[1] != 0 {
		t.Fatalf("Lag after reading everything: %v, want 0 per partition", got)
	}

	// Rewind moves the position Lag counts from.
	if err := c.Rewind(ctx, streamer.SeqBeginning()); err != nil {
		t.Fatal(err)
	}
	if got := lags(t, ctx, c, k); got[0] != 6 || got[1] != 4 {
		t.Fatalf("Lag after Rewind to the beginning: %v, want %v", got, lagTotals)
	}
}

// TestLagConcurrentNext: Lag called while Next hands out messages (run it
// with -race) never reports more than is stored nor goes up, and ends at 0.
func TestLagConcurrentNext(t *testing.T) {
	ctx := testkit.Context(t)
	s, k := lagTopic(t, ctx)
	c, err := s.NewConsumer(ctx, []streamer.StreamKey{k}, streamer.WithAutoStreamReset(streamer.ResetEarliest))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	stop := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		prev := map[streamer.ShardID]uint64{0: 6, 1: 4}
		for {
			select {
			case <-stop:
				done <- nil
				return
			default:
			}
			ls, err := c.Lag(ctx)
			if err != nil {
				done <- err
				return
			}
			for _, l := range ls {
				if l.Messages > prev[l.Shard] {
					done <- fmt.Errorf("partition %d: lag %d after %d", l.Shard, l.Messages, prev[l.Shard])
					return
				}
				prev[l.Shard] = l.Messages
			}
		}
	}()
	for range 10 {
		next(t, ctx, c)
	}
	close(stop)
	if err := <-done; err != nil {
		t.Fatalf("concurrent Lag: %v", err)
	}
	if got := lags(t, ctx, c, k); got[0] != 0 || got[1] != 0 {
		t.Fatalf("Lag after reading everything: %v, want 0 per partition", got)
	}
}

// TestLagLoadBalanced: a group member's lag covers the partitions the group
// gave it.
func TestLagLoadBalanced(t *testing.T) {
	ctx := testkit.Context(t)
	s, k := lagTopic(t, ctx)
	c, err := s.NewConsumer(ctx, []streamer.StreamKey{k}, streamer.WithMode(streamer.LoadBalanced),
		streamer.WithGroup(string(topic(t, "lag-lb"))), streamer.WithAutoStreamReset(streamer.ResetEarliest))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	read := map[streamer.ShardID]uint64{}
	for range 3 {
		read[next(t, ctx, c).Header.Shard]++
	}
	got := lags(t, ctx, c, k) // the only member owns both partitions
	for sh, total := range lagTotals {
		if got[sh] != total-read[sh] {
			t.Fatalf("Lag after 3 messages (%v per partition): %v, want %d for partition %d", read, got, total-read[sh], sh)
		}
	}
}

// TestLagAssigned: with Assign, Lag covers the assigned partitions only; one
// of a topic that does not exist yet has lag 0.
func TestLagAssigned(t *testing.T) {
	ctx := testkit.Context(t)
	s, k := lagTopic(t, ctx)
	missing := topic(t, "lag-missing")
	c, err := s.NewConsumer(ctx, []streamer.StreamKey{k, missing}, streamer.WithAutoStreamReset(streamer.ResetEarliest))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	for _, a := range []streamer.StreamShard{{Stream: k, Shard: 1}, {Stream: missing, Shard: 0}} {
		if err := c.Assign(a.Stream, a.Shard); err != nil {
			t.Fatalf("Assign(%v): %v", a, err)
		}
	}
	ls, err := c.Lag(ctx)
	if err != nil {
		t.Fatalf("Lag: %v", err)
	}
	got := make(map[streamer.StreamShard]uint64)
	for _, l := range ls {
		got[streamer.StreamShard{Stream: l.Stream, Shard: l.Shard}] = l.Messages
	}
	want := map[streamer.StreamShard]uint64{{Stream: k, Shard: 1}: 4, {Stream: missing, Shard: 0}: 0}
	if len(got) != len(want) || got[streamer.StreamShard{Stream: k, Shard: 1}] != 4 {
		t.Fatalf("Lag: %v, want %v", got, want)
	}
	if _, ok := got[streamer.StreamShard{Stream: missing, Shard: 0}]; !ok {
		t.Fatalf("Lag: %v, want %v", got, want)
	}
}
