package kafka_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/seastream/ss/adapters/kafka"
	"github.com/seastream/ss/internal/testkit"
	"github.com/seastream/ss/streamer"
)

// TestRebalanceBetweenPollAndHandout holds a LoadBalanced member just after
// a poll of franz-go returned records and before Next installed them, while
// a second member joins: the eager rebalance that follows (range) takes
// every partition away and gives some back at once. Had it run in that
// moment, the member would install the polled records after the revocation
// and hand them out, and its new session would fetch them again from the
// committed offset: the same messages twice. The rebalance must wait for
// Next (BlockRebalanceOnPoll); every message is received once.
func TestRebalanceBetweenPollAndHandout(t *testing.T) {
	ctx := testkit.Context(t)
	brokers := newBrokers(t, 2)
	uri := "kafka://" + brokers + "?partitions=2&balancer=range"
	k := topic(t, "pollrebalance")
	group := string(topic(t, "g"))
	p, err := open(t, uri).NewProducer(ctx, k)
	if err != nil {
		t.Fatal(err)
	}
	const n = 400
	produce := func(from, to int) {
		for i := from; i < to; i++ {
			if _, err := p.SendTo(ctx, k, fmt.Appendf(nil, "m%03d", i), streamer.WithShard(streamer.ShardID(i%2))); err != nil {
				t.Fatal(err)
			}
		}
		if err := p.Flush(ctx); err != nil {
			t.Fatal(err)
		}
	}
	produce(0, n/2)

	changed := make(chan struct{}, 1)
	a := joinGroup(t, ctx, uri, k, group, changed)
	defer a.stop()
	for a.count() < n/2 { // A owns both partitions and has handed out all there is
		select {
		case <-changed:
		case <-ctx.Done():
			t.Fatal("A did not receive the first half")
		}
	}
	var (
		once    sync.Once
		ended   = make(chan string, 1) // why A's hold ended
		held    = make(chan string, 2) // the reasons, as they come
		joined  = make(chan *groupMember, 1)
		blocked = func() { held <- "the rebalance waited for Next" }
		revoked = func() { held <- "revoked while Next held a poll" }
	)
	kafka.SetTestHooks(a.kc, func() {
		once.Do(func() {
			go func() { joined <- joinGroup(t, ctx, uri, k, group, changed) }()
			select {
			case why := <-held:
				ended <- why
			case <-ctx.Done():
			}
		})
	}, blocked, revoked)
	produce(n/2, n) // A's next poll returns some of these: the hold
	var b *groupMember
	select {
	case b = <-joined:
	case <-ctx.Done():
		t.Fatal("B did not join")
	}
	defer b.stop()
	// Every message once, then a last one on each partition: a message
	// received twice comes before the last of its partition (the group
	// hands each partition out in order), so once both are in, all are.
	received := func() map[string]int {
		seen := map[string]int{}
		for _, m := range []*groupMember{a, b} {
			m.mu.Lock()
			for _, s := range m.msgs {
				seen[s]++
			}
			m.mu.Unlock()
		}
		return seen
	}
	wait := func(what string, done func(map[string]int) bool) {
		t.Helper()
		deadline := time.After(time.Minute)
		for !done(received()) {
			select {
			case <-changed:
			case <-time.After(50 * time.Millisecond): // commits and rebalances move without messages
			case <-deadline:
				t.Fatalf("waiting for %s: received %d + %d", what, a.count(), b.count())
			}
		}
	}
	var why string
	select {
	case why = <-ended:
	case <-ctx.Done():
		t.Fatal("A's hold did not end")
	}
	if why != "the rebalance waited for Next" {
		t.Errorf("A's hold after a poll ended with %q: a revocation ran before Next installed the poll's records, which it may then hand out a second time", why)
	}
	wait("every message", func(s map[string]int) bool { return len(s) >= n })
	for shard := range 2 {
		if _, err := p.SendTo(ctx, k, fmt.Appendf(nil, "last%d", shard), streamer.WithShard(streamer.ShardID(shard))); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	wait("the last message of each partition", func(s map[string]int) bool { return s["last0"] > 0 && s["last1"] > 0 })
	seen := received()
	dup := 0
	for s, c := range seen {
		if c > 1 {
			dup++
			t.Errorf("%s received %d times", s, c)
		}
	}
	if len(seen) != n+2 || dup > 0 {
		t.Fatalf("%d distinct of %d messages, %d received more than once (A %d, B %d)", len(seen), n, dup, a.count(), b.count())
	}
}
