package kafka_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/seastream/ss/adapters/kafka"
	"github.com/seastream/ss/internal/testkit"
	"github.com/seastream/ss/streamer"
)

// groupMember is a LoadBalanced consumer reading in a goroutine, recording
// what it receives in order.
type groupMember struct {
	c    *streamer.Consumer
	kc   *kafka.Consumer
	stop func()

	mu   sync.Mutex
	got  []streamer.Header
	msgs []string
}

func (m *groupMember) count() int { m.mu.Lock(); defer m.mu.Unlock(); return len(m.got) }

func joinGroup(t *testing.T, ctx context.Context, uri string, k streamer.StreamKey, group string, changed chan<- struct{}) *groupMember {
	t.Helper()
	c, err := open(t, uri).NewConsumer(ctx, []streamer.StreamKey{k}, streamer.WithMode(streamer.LoadBalanced),
		streamer.WithGroup(group), streamer.WithAutoStreamReset(streamer.ResetEarliest))
	if err != nil {
		t.Fatal(err)
	}
	m := &groupMember{c: c}
	if !c.As(&m.kc) {
		t.Fatal("Consumer.As(**kafka.Consumer) failed")
	}
	mctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			msg, err := c.Next(mctx)
			if err != nil {
				if mctx.Err() == nil {
					t.Errorf("Next: %v", err)
				}
				return
			}
			m.mu.Lock()
			m.got = append(m.got, msg.Header)
			m.msgs = append(m.msgs, string(msg.Payload))
			m.mu.Unlock()
			select {
			case changed <- struct{}{}:
			default:
			}
		}
	}()
	m.stop = func() { cancel(); <-done }
	return m
}

// groupProtocol returns the balancer the broker chose for group.
func groupProtocol(ctx context.Context, t *testing.T, brokers, group string) string {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(strings.Split(brokers, ",")...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	req := kmsg.NewPtrDescribeGroupsRequest()
	req.Groups = []string{group}
	resp, err := req.RequestWith(ctx, cl)
	if err != nil || len(resp.Groups) != 1 {
		t.Fatalf("DescribeGroups: %v %+v", err, resp)
	}
	return resp.Groups[0].Protocol
}

// TestMixedBalancerGroup checks that members offering different balancer
// lists share a group and, through the rebalances of eager balancing while
// messages flow, receive every message once and each partition in order.
//
// One member offers range, the other roundrobin,range. The second is a
// stand-in for a SeaStreamer consumer, whose librdkafka offers
// "range,roundrobin" by default: no real SeaStreamer (Rust) consumer runs
// here (TestSeaStreamerGroup runs them). Both are this package's consumers; what is tested is that lists
// sharing range make one group that uses range, as the default
// (range,roundrobin) does with SeaStreamer's members.
func TestMixedBalancerGroup(t *testing.T) {
	ctx := testkit.Context(t)
	brokers := newBrokers(t, 4)
	uri := "kafka://" + brokers + "?partitions=4"
	k := topic(t, "mixed")
	group := string(topic(t, "g"))
	p, err := open(t, uri).NewProducer(ctx, k)
	if err != nil {
		t.Fatal(err)
	}
	send(t, ctx, p, k, "create", streamer.WithShard(3)) // the topic exists before the members join

	changed := make(chan struct{}, 1)
	waitUntil := func(what string, cond func() bool) {
		t.Helper()
		for !cond() {
			select {
			case <-changed:
			case <-time.After(50 * time.Millisecond): // re-check conditions that change without messages
			case <-ctx.Done():
				t.Fatalf("timed out waiting for %s", what)
			}
		}
	}

	a := joinGroup(t, ctx, uri+"&balancer=range", k, group, changed)
	defer a.stop()
	var joined atomic.Pointer[groupMember] // the second member, once it exists
	received := func() int {
		r := a.count()
		if m := joined.Load(); m != nil {
			r += m.count()
		}
		return r
	}

	// The producer sends until both members have received messages after
	// the second joined, so messages flow through the rebalance; it keeps
	// at most window messages ahead of the members.
	const window = 500
	stop := make(chan struct{})
	waitBacklog := func(i int) bool { // false once told to stop
		for received() < i-window {
			select {
			case <-stop:
				return false
			case <-ctx.Done():
				return false
			case <-time.After(5 * time.Millisecond): // re-check the members' counts
			}
		}
		return true
	}
	var n int // messages sent, once sent has reported
	sent := make(chan error, 1)
	go func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				n = i
				sent <- p.Flush(ctx)
				return
			default:
			}
			if _, err := p.SendTo(ctx, k, fmt.Appendf(nil, "m%d", i), streamer.WithShard(streamer.ShardID(i%4))); err != nil {
				n = i
				sent <- err
				return
			}
			if i%50 == 49 {
				if err := p.Flush(ctx); err != nil {
					n = i + 1
					sent <- err
					return
				}
				if !waitBacklog(i) {
					n = i + 1
					sent <- p.Flush(ctx)
					return
				}
			}
		}
	}()
	stopped := false
	stopSending := func() error {
		if stopped {
			return nil
		}
		stopped = true
		close(stop)
		return <-sent
	}
	defer stopSending()

	waitUntil("the first member to read", func() bool { return a.count() > 100 })
	b := joinGroup(t, ctx, uri+"&balancer=roundrobin,range", k, group, changed)
	defer b.stop()
	joined.Store(b)
	waitUntil("two members with two partitions each", func() bool {
		return len(a.kc.Partitions()) == 2 && len(b.kc.Partitions()) == 2
	})
	if got := groupProtocol(ctx, t, brokers, group); got != "range" {
		t.Errorf("the group uses %q, want range, the balancer both offer", got)
	}
	fromA := a.count()
	waitUntil("both members to read after the rebalance", func() bool {
		return b.count() > 100 && a.count() > fromA+100
	})
	if err := stopSending(); err != nil {
		t.Fatal(err)
	}
	waitUntil("every message", func() bool { return a.count()+b.count() >= n+1 })
	a.stop()
	b.stop()

	seen := map[string]int{}
	for _, m := range []*groupMember{a, b} {
		last := map[streamer.ShardID]streamer.SeqNo{}
		for i, h := range m.got {
			if prev, ok := last[h.Shard]; ok && h.Seq <= prev {
				t.Errorf("partition %d out of order: offset %d after %d", h.Shard, h.Seq, prev)
			}
			last[h.Shard] = h.Seq
			seen[m.msgs[i]]++
		}
	}
	t.Logf("%d messages: %d to the range member, %d to the roundrobin,range one", n, a.count(), b.count())
	for i := range n {
		if c := seen[fmt.Sprintf("m%d", i)]; c != 1 {
			t.Errorf("m%d received %d times", i, c)
		}
	}
}

// TestBalancerMismatch checks that a member offering range cannot join a
// group whose member offers only cooperative-sticky (franz-go's default, and
// this package's before range,roundrobin): the broker refuses it with
// INCONSISTENT_GROUP_PROTOCOL, and Next says so as ErrBalancerMismatch,
// naming the balancer option, while the first member keeps every partition.
func TestBalancerMismatch(t *testing.T) {
	ctx := testkit.Context(t)
	uri := uri4(t)
	k := topic(t, "mismatch")
	group := string(topic(t, "g"))
	p, err := open(t, uri).NewProducer(ctx, k)
	if err != nil {
		t.Fatal(err)
	}
	send(t, ctx, p, k, "create", streamer.WithShard(3))

	changed := make(chan struct{}, 1)
	a := joinGroup(t, ctx, uri+"&balancer=cooperative-sticky", k, group, changed)
	defer a.stop()
	for len(a.kc.Partitions()) != 4 {
		select {
		case <-changed:
		case <-time.After(50 * time.Millisecond):
		case <-ctx.Done():
			t.Fatal("timed out waiting for the first member to own every partition")
		}
	}

	b, err := open(t, uri).NewConsumer(ctx, []streamer.StreamKey{k}, streamer.WithMode(streamer.LoadBalanced),
		streamer.WithGroup(group), streamer.WithAutoStreamReset(streamer.ResetEarliest), kafka.WithBalancer(kafka.BalancerRange))
	if err != nil {
		t.Fatal(err)
	}
	nctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	_, err = b.Next(nctx)
	if !errors.Is(err, kafka.ErrBalancerMismatch) || !errors.Is(err, kerr.InconsistentGroupProtocol) {
		t.Fatalf("Next of a range member in a cooperative-sticky group = %v, want ErrBalancerMismatch wrapping INCONSISTENT_GROUP_PROTOCOL", err)
	}
	for _, want := range []string{"WithBalancer", "balancer=", "offers range", group} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if ps := a.kc.Partitions(); len(ps) != 4 {
		t.Errorf("the first member owns %v, want all 4 partitions", ps)
	}
	if err := b.Close(ctx); err != nil && !errors.Is(err, streamer.ErrClosed) {
		t.Logf("Close of the refused member: %v", err)
	}
}
