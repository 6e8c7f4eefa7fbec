package kafka_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/cespare/xxhash/v2"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/seastream/ss/adapters/kafka"
	"github.com/seastream/ss/internal/testkit"
	"github.com/seastream/ss/streamer"
)

// uri4 returns a URI whose producers create missing topics with 4
// partitions.
func uri4(t *testing.T) string { return "kafka://" + newBrokers(t, 1) + "?partitions=4" }

func send(t *testing.T, ctx context.Context, p *streamer.Producer, k streamer.StreamKey, payload string, opts ...streamer.SendOption) streamer.Header {
	t.Helper()
	r, err := p.SendTo(ctx, k, []byte(payload), opts...)
	if err != nil {
		t.Fatalf("SendTo(%q): %v", k, err)
	}
	h, err := r.Wait(ctx)
	if err != nil {
		t.Fatalf("receipt of %q: %v", payload, err)
	}
	return h
}

func next(t *testing.T, ctx context.Context, c *streamer.Consumer) streamer.Message {
	t.Helper()
	m, err := c.Next(ctx)
	if err != nil {
		t.Fatalf("Next: %v", err)
	}
	return m.Clone()
}

// TestHeadersRoundTrip checks that what a consumer receives is exactly what
// the receipts said: topic, partition, offset and the explicit timestamp.
func TestHeadersRoundTrip(t *testing.T) {
	ctx := testkit.Context(t)
	s := open(t, uri4(t))
	k := topic(t, "headers")
	p, err := s.NewProducer(ctx, k)
	if err != nil {
		t.Fatal(err)
	}
	base := time.Date(2023, 6, 5, 13, 55, 53, 1_000_000, time.UTC)
	var sent []streamer.Header
	for i := range 12 {
		ts := base.Add(time.Duration(i) * time.Second)
		h := send(t, ctx, p, k, fmt.Sprintf("h%d", i), streamer.WithShard(streamer.ShardID(i%4)), streamer.WithTimestamp(ts))
		if h.StreamKey != k || h.Shard != streamer.ShardID(i%4) || !h.Timestamp.Equal(ts) || h.Timestamp.Location() != time.UTC {
			t.Fatalf("receipt %d: %s, want shard %d at %v UTC", i, h, i%4, ts)
		}
		sent = append(sent, h)
	}
	c, err := s.NewConsumer(ctx, []streamer.StreamKey{k}, streamer.WithAutoStreamReset(streamer.ResetEarliest))
	if err != nil {
		t.Fatal(err)
	}
	got := map[streamer.MessageID]streamer.Message{}
	for range sent {
		m := next(t, ctx, c)
		got[m.ID()] = m
	}
	for i, h := range sent {
		m, ok := got[h.ID()]
		if !ok {
			t.Fatalf("message %v of receipt %d not received", h.ID(), i)
		}
		if m.Header != h || string(m.Payload) != fmt.Sprintf("h%d", i) {
			t.Fatalf("received %s %q, receipt %s h%d", m.Header, m.Payload, h, i)
		}
	}
}

// TestShardsAssignRouting covers what the conformance suite cannot on
// Kafka (its Shards case uses shard 1<<40): sending to each partition,
// reading chosen partitions, and routing by key over the partition count.
func TestShardsAssignRouting(t *testing.T) {
	ctx := testkit.Context(t)
	s := open(t, uri4(t))
	k := topic(t, "shards")
	p, err := s.NewProducer(ctx, k)
	if err != nil {
		t.Fatal(err)
	}
	c, err := s.NewConsumer(ctx, []streamer.StreamKey{k}, streamer.WithAutoStreamReset(streamer.ResetEarliest))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		for sh := range streamer.ShardID(4) {
			send(t, ctx, p, k, fmt.Sprintf("%d|%d", sh, i), streamer.WithShard(sh))
		}
	}
	count := map[streamer.ShardID]int{}
	for range 20 {
		m := next(t, ctx, c)
		if want := fmt.Sprintf("%d|%d", m.Shard, count[m.Shard]); string(m.Payload) != want {
			t.Fatalf("shard %d: got %q, want %q", m.Shard, m.Payload, want)
		}
		count[m.Shard]++
	}

	// A shard beyond the partitions fails in its receipt; one beyond 32 bits at once.
	r, err := p.Send(ctx, []byte("x"), streamer.WithShard(9))
	if err == nil {
		_, err = r.Wait(ctx)
	}
	if err == nil {
		t.Fatal("send to partition 9 of a 4-partition topic succeeded")
	}
	if _, err := p.Send(ctx, []byte("x"), streamer.WithShard(1<<40)); !errors.Is(err, kafka.ErrNoSuchPartition) {
		t.Fatalf("send to shard 1<<40 = %v, want ErrNoSuchPartition", err)
	}

	// Assign narrows, Unassign keeps at least one.
	if err := c.Unassign(k, 1); !errors.Is(err, streamer.ErrConsumerNotAssigned) {
		t.Fatalf("Unassign of an unassigned shard = %v", err)
	}
	if err := c.Assign(k, 2); err != nil {
		t.Fatal(err)
	}
	if err := c.Assign(k, 3); err != nil {
		t.Fatal(err)
	}
	if err := c.Rewind(ctx, streamer.SeqBeginning()); err != nil {
		t.Fatal(err)
	}
	count = map[streamer.ShardID]int{}
	for range 10 {
		m := next(t, ctx, c)
		if m.Shard != 2 && m.Shard != 3 {
			t.Fatalf("consumer assigned shards 2 and 3 got %s", m.Header)
		}
		count[m.Shard]++
	}
	if count[2] != 5 || count[3] != 5 {
		t.Fatalf("per shard: %v, want 5 each of shards 2 and 3", count)
	}
	if err := c.Unassign(k, 2); err != nil {
		t.Fatal(err)
	}
	if err := c.Unassign(k, 3); !errors.Is(err, streamer.ErrStreamKeyEmpty) {
		t.Fatalf("Unassign of the last shard = %v, want ErrStreamKeyEmpty", err)
	}
	if err := c.Rewind(ctx, streamer.SeqAt(3)); err != nil {
		t.Fatal(err)
	}
	for i := 3; i < 5; i++ {
		if m := next(t, ctx, c); m.Shard != 3 || string(m.Payload) != fmt.Sprintf("3|%d", i) {
			t.Fatalf("after Rewind(SeqAt(3)) on shard 3: got %s %q", m.Header, m.Payload)
		}
	}
	if err := c.Assign(k, 7); err != nil {
		t.Fatal(err)
	}
	if err := c.Rewind(ctx, streamer.SeqBeginning()); !errors.Is(err, kafka.ErrNoSuchPartition) {
		t.Fatalf("Rewind with partition 7 of 4 assigned = %v, want ErrNoSuchPartition", err)
	}

	// Routing by key uses the partition count the Conn reports.
	rp, err := s.NewProducer(ctx, k)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"alice", "bob", "carol", "dave"} {
		h := send(t, ctx, rp, k, key, streamer.WithRoutingKey([]byte(key)))
		if want := streamer.ShardID(xxhash.Sum64String(key) % 4); h.Shard != want {
			t.Fatalf("key %s went to shard %d, want %d", key, h.Shard, want)
		}
	}
}

// TestTopicCreation checks that the partitions option creates topics and
// that a missing topic without it is reported.
func TestTopicCreation(t *testing.T) {
	ctx := testkit.Context(t)
	brokers := newBrokers(t, 1)
	s := open(t, "kafka://"+brokers+"?partitions=3")
	var conn *kafka.Conn
	if !s.As(&conn) {
		t.Fatal("Streamer.As(**kafka.Conn) = false")
	}
	k := topic(t, "create")
	p, err := s.NewProducer(ctx, k, streamer.WithShardCount(0))
	if err != nil {
		t.Fatal(err)
	}
	if n, err := conn.Shards(ctx, k); err != nil || n != 3 {
		t.Fatalf("Shards of a topic created with partitions=3: %d, %v", n, err)
	}
	send(t, ctx, p, k, "on partition 2", streamer.WithShard(2))

	if realBroker() {
		return // the broker may create topics on its own (auto.create.topics.enable)
	}
	s2 := open(t, "kafka://"+brokers)
	var conn2 *kafka.Conn
	s2.As(&conn2)
	if _, err := conn2.Shards(ctx, topic(t, "missing")); !errors.Is(err, streamer.ErrStreamKeyNotFound) {
		t.Fatalf("Shards of a missing topic = %v, want ErrStreamKeyNotFound", err)
	}
}

// TestLoadBalancedPartitions checks that a group splits partitions between
// its members and gives all of them to the one left, losing and repeating
// nothing.
func TestLoadBalancedPartitions(t *testing.T) {
	ctx := testkit.Context(t)
	uri := uri4(t)
	k := topic(t, "group")
	group := string(topic(t, "g"))
	ps := open(t, uri)
	p, err := ps.NewProducer(ctx, k)
	if err != nil {
		t.Fatal(err)
	}
	send(t, ctx, p, k, "create", streamer.WithShard(3)) // the topic exists before the members join

	var mu sync.Mutex
	seen := map[string]int{}
	changed := make(chan struct{}, 1)
	member := func(i int) (*streamer.Consumer, *kafka.Consumer, func()) {
		c, err := open(t, uri).NewConsumer(ctx, []streamer.StreamKey{k}, streamer.WithMode(streamer.LoadBalanced),
			streamer.WithGroup(group), streamer.WithAutoStreamReset(streamer.ResetEarliest))
		if err != nil {
			t.Fatal(err)
		}
		var kc *kafka.Consumer
		if !c.As(&kc) || kc.Group() != group {
			t.Fatal("Consumer.As(**kafka.Consumer) failed")
		}
		mctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() {
			defer close(done)
			for {
				m, err := c.Next(mctx)
				if err != nil {
					return
				}
				mu.Lock()
				seen[string(m.Payload)]++
				mu.Unlock()
				select {
				case changed <- struct{}{}:
				default:
				}
			}
		}()
		return c, kc, func() { cancel(); <-done }
	}
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
	a, ka, stopA := member(0)
	_, kb, stopB := member(1)
	waitUntil("two members with two partitions each", func() bool {
		return len(ka.Partitions()) == 2 && len(kb.Partitions()) == 2
	})
	if both := append(ka.Partitions(), kb.Partitions()...); len(both) != 4 {
		t.Fatalf("partitions of the members: %v and %v", ka.Partitions(), kb.Partitions())
	}
	const n = 200
	for i := range n {
		if _, err := p.SendTo(ctx, k, fmt.Appendf(nil, "m%d", i), streamer.WithShard(streamer.ShardID(i%4))); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	count := func() int { mu.Lock(); defer mu.Unlock(); return len(seen) }
	waitUntil("the first half", func() bool { return count() >= n/2 })
	stopA()
	if err := a.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := a.Close(ctx); err != nil {
		t.Fatal(err)
	}
	waitUntil("the remaining member to own all 4 partitions", func() bool { return len(kb.Partitions()) == 4 })
	for i := n; i < 2*n; i++ {
		if _, err := p.SendTo(ctx, k, fmt.Appendf(nil, "m%d", i), streamer.WithShard(streamer.ShardID(i%4))); err != nil {
			t.Fatal(err)
		}
	}
	waitUntil("every message", func() bool { return count() >= 2*n+1 })
	stopB()
	mu.Lock()
	defer mu.Unlock()
	for i := range 2 * n {
		if c := seen[fmt.Sprintf("m%d", i)]; c != 1 {
			t.Errorf("m%d received %d times", i, c)
		}
	}
}

// TestResumableCommit covers Commit, CommitAsync, the default per-host group
// and WithAutoCommit's commit on Close.
func TestResumableCommit(t *testing.T) {
	ctx := testkit.Context(t)
	uri := "kafka://" + newBrokers(t, 1)
	k := topic(t, "resume")
	s := open(t, uri)
	p, err := s.NewProducer(ctx, k)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		send(t, ctx, p, k, fmt.Sprintf("r%d", i))
	}
	group := string(topic(t, "rg"))
	resumable := func(opts ...streamer.ConsumerOption) (*streamer.Consumer, *kafka.Consumer) {
		opts = append([]streamer.ConsumerOption{streamer.WithMode(streamer.Resumable), streamer.WithAutoStreamReset(streamer.ResetEarliest)}, opts...)
		c, err := s.NewConsumer(ctx, []streamer.StreamKey{k}, opts...)
		if err != nil {
			t.Fatal(err)
		}
		var kc *kafka.Consumer
		c.As(&kc)
		return c, kc
	}
	expect := func(c *streamer.Consumer, from, to int) {
		t.Helper()
		for i := from; i < to; i++ {
			if m := next(t, ctx, c); string(m.Payload) != fmt.Sprintf("r%d", i) {
				t.Fatalf("got %q, want r%d", m.Payload, i)
			}
		}
	}

	c, kc := resumable(streamer.WithGroup(group))
	expect(c, 0, 3)
	done := make(chan error, 1)
	kc.CommitAsync(ctx, func(err error) { done <- err })
	if err := <-done; err != nil {
		t.Fatalf("CommitAsync: %v", err)
	}
	expect(c, 3, 5)
	if err := c.Close(ctx); err != nil {
		t.Fatal(err)
	}
	c, _ = resumable(streamer.WithGroup(group))
	expect(c, 3, 6) // after the async commit
	_ = c.Close(ctx)

	// WithAutoCommit commits on Close what Next returned.
	c, _ = resumable(streamer.WithGroup(group), kafka.WithAutoCommit(time.Hour))
	expect(c, 3, 8)
	if err := c.Close(ctx); err != nil {
		t.Fatal(err)
	}
	c, _ = resumable(streamer.WithGroup(group))
	expect(c, 8, 10)
	_ = c.Close(ctx)

	// Without a group: SeaStreamer's per-host group.
	c, kc = resumable()
	if want := kafka.HostID() + "r"; kc.Group() != want {
		t.Fatalf("default group %q, want %q", kc.Group(), want)
	}
	expect(c, 0, 2)
	if err := c.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	_ = c.Close(ctx)
	c, _ = resumable()
	expect(c, 2, 3)
}

// TestCommitAfterPolls checks that Commit covers every message Next
// returned, also those of earlier polls: from partitions absent from the
// last poll, and before a poll that returned nothing.
func TestCommitAfterPolls(t *testing.T) {
	ctx := testkit.Context(t)
	s := open(t, uri4(t))
	k := topic(t, "polls")
	p, err := s.NewProducer(ctx, k)
	if err != nil {
		t.Fatal(err)
	}
	group := string(topic(t, "pg"))
	resumable := func() *streamer.Consumer {
		c, err := s.NewConsumer(ctx, []streamer.StreamKey{k}, streamer.WithMode(streamer.Resumable),
			streamer.WithGroup(group), streamer.WithAutoStreamReset(streamer.ResetEarliest))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	c := resumable()
	send(t, ctx, p, k, "a0", streamer.WithShard(0))
	send(t, ctx, p, k, "a1", streamer.WithShard(0))
	for _, want := range []string{"a0", "a1"} {
		if m := next(t, ctx, c); string(m.Payload) != want {
			t.Fatalf("got %q, want %q", m.Payload, want)
		}
	}
	// A poll that returns nothing, then one with only partition 1.
	short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	_, err = c.Next(short)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Next with nothing to read: %v", err)
	}
	send(t, ctx, p, k, "b0", streamer.WithShard(1))
	if m := next(t, ctx, c); string(m.Payload) != "b0" {
		t.Fatalf("got %q, want b0", m.Payload)
	}
	if err := c.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	_ = c.Close(ctx)
	send(t, ctx, p, k, "c0", streamer.WithShard(0))
	send(t, ctx, p, k, "c1", streamer.WithShard(1))
	c = resumable()
	got := map[string]bool{}
	for range 2 {
		got[string(next(t, ctx, c).Payload)] = true
	}
	if !got["c0"] || !got["c1"] {
		t.Fatalf("resumed with %v, want c0 and c1 (nothing returned before the commit)", got)
	}
	_ = c.Close(ctx)
}

// TestReplayPartitions checks that a replay over several partitions, some
// empty, ends once each was read to its end, ignoring later messages.
func TestReplayPartitions(t *testing.T) {
	ctx := testkit.Context(t)
	s := open(t, uri4(t))
	k := topic(t, "replay")
	p, err := s.NewProducer(ctx, k)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	for i := range 9 {
		sh := streamer.ShardID(i % 2 * 2) // partitions 0 and 2; 1 and 3 stay empty
		payload := fmt.Sprintf("%d|%d", sh, i)
		send(t, ctx, p, k, payload, streamer.WithShard(sh))
		want[payload] = true
	}
	c, err := s.NewConsumer(ctx, []streamer.StreamKey{k, topic(t, "never")}, streamer.WithAutoStreamReset(streamer.ResetEarliest), streamer.WithReplay())
	if err != nil {
		t.Fatal(err)
	}
	send(t, ctx, p, k, "late", streamer.WithShard(1))
	send(t, ctx, p, k, "late", streamer.WithShard(2))
	for m, err := range c.Messages(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		if !want[string(m.Payload)] {
			t.Fatalf("replay returned %s %q", m.Header, m.Payload)
		}
		delete(want, string(m.Payload))
	}
	if len(want) != 0 {
		t.Fatalf("replay ended without %v", want)
	}
	// Rewinding a replay replays again.
	if err := c.Rewind(ctx, streamer.SeqAt(3)); err != nil {
		t.Fatal(err)
	}
	var got []string
	for m, err := range c.Messages(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, string(m.Payload))
	}
	slices.Sort(got)
	if fmt.Sprint(got) != "[0|6 0|8 2|7]" {
		t.Fatalf("replay from offset 3 of each partition: %q", got)
	}
}

// TestCompression round-trips payloads through each codec.
func TestCompression(t *testing.T) {
	ctx := testkit.Context(t)
	brokers := newBrokers(t, 1)
	payload := bytes.Repeat([]byte("compressible "), 1000)
	for _, codec := range []string{"none", "gzip", "snappy", "lz4", "zstd"} {
		t.Run(codec, func(t *testing.T) {
			s := open(t, "kafka://"+brokers+"?compression="+codec+"&linger=1ms")
			k := topic(t, codec)
			c, err := s.NewConsumer(ctx, []streamer.StreamKey{k}, streamer.WithAutoStreamReset(streamer.ResetEarliest))
			if err != nil {
				t.Fatal(err)
			}
			p, err := s.NewProducer(ctx, k)
			if err != nil {
				t.Fatal(err)
			}
			for i := range 5 {
				if _, err := p.Send(ctx, append(fmt.Appendf(nil, "%d:", i), payload...)); err != nil {
					t.Fatal(err)
				}
			}
			if err := p.Flush(ctx); err != nil {
				t.Fatal(err)
			}
			for i := range 5 {
				m := next(t, ctx, c)
				if !bytes.Equal(m.Payload, append(fmt.Appendf(nil, "%d:", i), payload...)) {
					t.Fatalf("message %d differs after %s compression", i, codec)
				}
			}
		})
	}
}

// TestClientOptionsAndAs checks that WithClientOptions reaches the
// franz-go clients and that As exposes them.
func TestClientOptionsAndAs(t *testing.T) {
	ctx := testkit.Context(t)
	s := open(t, "kafka://"+newBrokers(t, 1), kafka.WithClientOptions(kgo.ClientID("from-open")))
	var cl *kgo.Client
	if !s.As(&cl) || cl.OptValue(kgo.ClientID) != "from-open" {
		t.Fatalf("Streamer client id: %v", cl.OptValue(kgo.ClientID))
	}
	p, err := s.NewProducer(ctx, topic(t, "as"), kafka.WithClientOptions(kgo.ProducerBatchMaxBytes(123456)))
	if err != nil {
		t.Fatal(err)
	}
	var pcl *kgo.Client
	if !p.As(&pcl) || pcl.OptValue(kgo.ClientID) != "from-open" || pcl.OptValue(kgo.ProducerBatchMaxBytes) != int32(123456) {
		t.Fatalf("producer client options: %v, %v", pcl.OptValue(kgo.ClientID), pcl.OptValue(kgo.ProducerBatchMaxBytes))
	}
	c, err := s.NewConsumer(ctx, []streamer.StreamKey{topic(t, "as")}, kafka.WithClientOptions(kgo.FetchMaxWait(time.Second)))
	if err != nil {
		t.Fatal(err)
	}
	var ccl *kgo.Client
	if !c.As(&ccl) || ccl.OptValue(kgo.FetchMaxWait) != time.Second {
		t.Fatalf("consumer client FetchMaxWait: %v", ccl.OptValue(kgo.FetchMaxWait))
	}
}

// contextHook gives every produced record a Context of its own, as tracing
// hooks do (kotel derives one with a span).
type contextHook struct{ n int }

type hookKey struct{}

func (h *contextHook) OnProduceRecordBuffered(r *kgo.Record) {
	h.n++
	r.Context = context.WithValue(context.Background(), hookKey{}, h.n)
}

// TestProducerHooks: with hooks that replace each record's Context, every
// receipt still resolves with its record's offset.
func TestProducerHooks(t *testing.T) {
	ctx := testkit.Context(t)
	hook := &contextHook{}
	s := open(t, "kafka://"+newBrokers(t, 1), kafka.WithClientOptions(kgo.WithHooks(hook)))
	key := topic(t, "hooks")
	p, err := s.NewProducer(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	var receipts []streamer.Receipt
	for i := range 20 {
		r, err := p.Send(ctx, fmt.Appendf(nil, "m%d", i))
		if err != nil {
			t.Fatal(err)
		}
		receipts = append(receipts, r)
	}
	first, err := receipts[0].Wait(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range receipts {
		h, err := r.Wait(ctx)
		if err != nil || h.StreamKey != key || h.Seq != first.Seq+streamer.SeqNo(i) {
			t.Fatalf("receipt %d: %v, %v", i, h, err)
		}
	}
	if hook.n != 20 {
		t.Fatalf("the hook saw %d records, want 20", hook.n)
	}
}

// TestRewindWhileNextBlocks checks that a Rewind issued while another
// goroutine is blocked in Next takes effect for that Next, and that a
// LoadBalanced consumer rewinds the partitions the group gave it.
func TestRewindWhileNextBlocks(t *testing.T) {
	ctx := testkit.Context(t)
	s := open(t, "kafka://"+newBrokers(t, 1))
	k := topic(t, "rewind")
	p, err := s.NewProducer(ctx, k)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		send(t, ctx, p, k, fmt.Sprintf("w%d", i))
	}
	for _, mode := range []streamer.ConsumerMode{streamer.RealTime, streamer.LoadBalanced} {
		t.Run(mode.String(), func(t *testing.T) {
			opts := []streamer.ConsumerOption{streamer.WithMode(mode), streamer.WithAutoStreamReset(streamer.ResetEarliest)}
			if mode == streamer.LoadBalanced {
				opts = append(opts, streamer.WithGroup(string(topic(t, "g"))))
			}
			c, err := s.NewConsumer(ctx, []streamer.StreamKey{k}, opts...)
			if err != nil {
				t.Fatal(err)
			}
			for i := range 5 {
				if m := next(t, ctx, c); string(m.Payload) != fmt.Sprintf("w%d", i) {
					t.Fatalf("got %q", m.Payload)
				}
			}
			got := make(chan string, 1)
			go func() {
				m, err := c.Next(ctx)
				if err != nil {
					got <- err.Error()
					return
				}
				got <- string(m.Payload)
			}()
			if err := c.Rewind(ctx, streamer.SeqAt(2)); err != nil {
				t.Fatal(err)
			}
			if m := <-got; m != "w2" {
				t.Fatalf("Next blocked across Rewind(SeqAt(2)) returned %q, want w2", m)
			}
			if m := next(t, ctx, c); string(m.Payload) != "w3" {
				t.Fatalf("then %q, want w3", m.Payload)
			}
		})
	}
}
