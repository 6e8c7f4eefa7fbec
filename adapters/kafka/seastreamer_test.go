package kafka_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/seastream/ss/adapters/kafka"
	"github.com/seastream/ss/internal/syncbuf"
	"github.com/seastream/ss/streamer"
)

// seastreamerEnv names SeaStreamer's own Kafka client program
// (testdata/seastreamer: sea-streamer-kafka on librdkafka), which
// scripts/seastreamer.sh builds.
const seastreamerEnv = "SS_SEASTREAMER_KAFKA"

// seastreamerGroupBound bounds a test of a group with SeaStreamer members:
// librdkafka's members learn of a rebalance at their next heartbeat (every
// 3 s), and the tests go through several.
const seastreamerGroupBound = 3 * time.Minute

// seastreamerKafka returns the SeaStreamer program and the real broker, or
// skips: the program needs a real broker, not kfake.
func seastreamerKafka(t *testing.T) (bin, brokers string) {
	t.Helper()
	bin = os.Getenv(seastreamerEnv)
	if bin == "" {
		t.Skip("set " + seastreamerEnv + " to SeaStreamer's Kafka program (bash scripts/seastreamer.sh install; eval \"$(bash scripts/seastreamer.sh env)\") to run groups mixed with real SeaStreamer members")
	}
	if !realBroker() {
		t.Skip("set " + brokersEnv + " to a real broker (bash scripts/kafka.sh start) to run groups mixed with real SeaStreamer members")
	}
	return bin, os.Getenv(brokersEnv)
}

// delivery is a message as a member received it.
type delivery struct {
	shard   streamer.ShardID
	seq     streamer.SeqNo
	payload string
}

// seastreamerMember is a SeaStreamer LoadBalanced consumer in a child
// process (`sskafka consume`), recording what it prints.
type seastreamerMember struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stderr syncbuf.Buffer
	read   chan struct{} // closed once its output is read to the end

	mu       sync.Mutex
	got      []delivery
	assigned string // its last `assigned` line: "0,3" or "-"
	bad      string // a line it should not have printed

	stopOnce sync.Once
	exitErr  error
}

// startSeaStreamer starts a SeaStreamer member of group reading k; the
// test's end stops it.
func startSeaStreamer(t *testing.T, ctx context.Context, bin, brokers string, k streamer.StreamKey, group string) *seastreamerMember {
	t.Helper()
	m := &seastreamerMember{read: make(chan struct{})}
	m.cmd = exec.CommandContext(ctx, bin, "consume", brokers, string(k), group)
	m.cmd.Stderr = &m.stderr
	var err error
	if m.stdin, err = m.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	out, err := m.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := m.cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", bin, err)
	}
	go func() {
		defer close(m.read)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			m.line(sc.Text())
		}
	}()
	t.Cleanup(func() {
		if err := m.stop(); err != nil {
			t.Errorf("SeaStreamer member: %v", err)
		}
	})
	return m
}

// line records one line of the member's output.
func (m *seastreamerMember) line(s string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if a, ok := strings.CutPrefix(s, "assigned "); ok {
		m.assigned = a
		return
	}
	f := strings.SplitN(s, " ", 3)
	if len(f) == 3 {
		shard, err1 := strconv.ParseUint(f[0], 10, 64)
		seq, err2 := strconv.ParseUint(f[1], 10, 64)
		if err1 == nil && err2 == nil {
			m.got = append(m.got, delivery{streamer.ShardID(shard), streamer.SeqNo(seq), f[2]})
			return
		}
	}
	if m.bad == "" {
		m.bad = s
	}
}

// stop closes the member's standard input, which makes it leave the group
// (librdkafka commits what it printed), and waits for it to exit.
func (m *seastreamerMember) stop() error {
	m.stopOnce.Do(func() {
		m.stdin.Close()
		<-m.read // the process exits, or the test's ctx kills it
		if err := m.cmd.Wait(); err != nil {
			m.exitErr = fmt.Errorf("%v; its stderr: %s", err, m.stderr.String())
		}
		if m.bad != "" {
			m.exitErr = errors.Join(m.exitErr, fmt.Errorf("printed %q", m.bad))
		}
	})
	return m.exitErr
}

func (m *seastreamerMember) deliveries() []delivery {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]delivery(nil), m.got...)
}

func (m *seastreamerMember) assignment() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.assigned
}

func (m *groupMember) deliveries() []delivery {
	m.mu.Lock()
	defer m.mu.Unlock()
	d := make([]delivery, len(m.got))
	for i, h := range m.got {
		d[i] = delivery{h.Shard, h.Seq, m.msgs[i]}
	}
	return d
}

// describeGroup describes group through cl.
func describeGroup(ctx context.Context, cl *kgo.Client, group string) (kmsg.DescribeGroupsResponseGroup, error) {
	req := kmsg.NewPtrDescribeGroupsRequest()
	req.Groups = []string{group}
	resp, err := req.RequestWith(ctx, cl)
	if err == nil && len(resp.Groups) != 1 {
		err = fmt.Errorf("%d groups described", len(resp.Groups))
	}
	if err != nil {
		return kmsg.DescribeGroupsResponseGroup{}, fmt.Errorf("DescribeGroups %q: %w", group, err)
	}
	return resp.Groups[0], nil
}

// settled reports whether group is stable with n members that each own a
// partition, parts in all (not yet while its coordinator is not ready).
func settled(ctx context.Context, cl *kgo.Client, group string, n, parts int) bool {
	g, err := describeGroup(ctx, cl, group)
	if err != nil || g.State != "Stable" || len(g.Members) != n {
		return false
	}
	total := 0
	for _, m := range g.Members {
		var a kmsg.ConsumerMemberAssignment
		if err := a.ReadFrom(m.MemberAssignment); err != nil {
			return false
		}
		owned := 0
		for _, tp := range a.Topics {
			owned += len(tp.Partitions)
		}
		if owned == 0 {
			return false
		}
		total += owned
	}
	return total == parts
}

// TestSeaStreamerGroup runs a LoadBalanced group of two real SeaStreamer
// consumers (librdkafka, with SeaStreamer's defaults) and two of ours (the
// default balancers) on a topic of six partitions: the group forms and uses
// range, every member gets partitions and messages, and every message is
// delivered exactly once across the group, in order within its partition,
// at the offset it was written to, also while first a SeaStreamer member and
// then one of ours leave mid-stream. A SeaStreamer member leaves by closing
// its consumer, which commits what it printed (librdkafka's auto commit, of
// the offsets the program stores after printing: with SeaStreamer's default,
// stored as librdkafka hands a message out, a leaving member lost one
// message in about one run of ten, see testdata/seastreamer); ours commits
// what Next returned before Close; the members that stay commit on every
// revocation (librdkafka's auto commit on revoke, ours onRevoked).
func TestSeaStreamerGroup(t *testing.T) {
	bin, brokers := seastreamerKafka(t)
	ctx, cancel := context.WithTimeout(context.Background(), seastreamerGroupBound)
	t.Cleanup(cancel)
	const parts, perPhase, window = 6, 3000, 300

	uri := "kafka://" + brokers + "?partitions=" + strconv.Itoa(parts)
	s := open(t, uri)
	k := topic(t, "seastreamer")
	group := string(topic(t, "g"))
	var conn *kafka.Conn
	if !s.As(&conn) {
		t.Fatal("Streamer.As(**kafka.Conn) = false")
	}
	if n, err := conn.Shards(ctx, k); err != nil || n != parts { // creates the topic
		t.Fatalf("Shards: %d, %v", n, err)
	}
	p, err := s.NewProducer(ctx, k)
	if err != nil {
		t.Fatal(err)
	}
	admin, err := kgo.NewClient(kgo.SeedBrokers(strings.Split(brokers, ",")...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(admin.Close)

	changed := make(chan struct{}, 1) // joinGroup's; waitFor polls
	rust := []*seastreamerMember{
		startSeaStreamer(t, ctx, bin, brokers, k, group),
		startSeaStreamer(t, ctx, bin, brokers, k, group),
	}
	ours := []*groupMember{
		joinGroup(t, ctx, uri, k, group, changed),
		joinGroup(t, ctx, uri, k, group, changed),
	}
	defer ours[0].stop()
	defer ours[1].stop()
	members := func() [][]delivery {
		return [][]delivery{rust[0].deliveries(), rust[1].deliveries(), ours[0].deliveries(), ours[1].deliveries()}
	}
	names := []string{"SeaStreamer 1", "SeaStreamer 2", "ours 1", "ours 2"}
	// distinct counts the messages received at least once, and all every
	// delivery.
	distinct := func() (n, all int) {
		seen := make(map[string]bool)
		for _, d := range members() {
			all += len(d)
			for _, m := range d {
				seen[m.payload] = true
			}
		}
		return len(seen), all
	}

	t.Cleanup(func() { // what each member had, for a failure's diagnosis
		if !t.Failed() {
			return
		}
		who := map[string][]string{}
		for i, d := range members() {
			t.Logf("%s: %d deliveries", names[i], len(d))
			for _, m := range d {
				who[m.payload] = append(who[m.payload], fmt.Sprintf("%s@%d/%d", names[i], m.shard, m.seq))
			}
		}
		var missing, twice []string
		for i := range 3 * perPhase {
			switch w := who["m"+strconv.Itoa(i)]; {
			case len(w) == 0 && len(missing) < 30:
				missing = append(missing, "m"+strconv.Itoa(i))
			case len(w) > 1 && len(twice) < 30:
				twice = append(twice, fmt.Sprintf("m%d %v", i, w))
			}
		}
		t.Logf("missing (first 30): %v", missing)
		t.Logf("delivered more than once (first 30): %v", twice)
		t.Logf("SeaStreamer members own %s and %s; ours %v and %v", rust[0].assignment(), rust[1].assignment(), ours[0].kc.Partitions(), ours[1].kc.Partitions())
		g, err := describeGroup(context.Background(), admin, group)
		t.Logf("group: %s, protocol %s, %d members (%v)", g.State, g.Protocol, len(g.Members), err)
	})
	waitFor(ctx, t, "four members in a stable group, each owning partitions", func() bool {
		return settled(ctx, admin, group, 4, parts)
	})
	if g, err := describeGroup(ctx, admin, group); err != nil || g.Protocol != "range" {
		t.Errorf("the group uses %q (%v), want range", g.Protocol, err)
	}

	// produce sends m<from>..m<to-1>, m<i> to partition i%parts, keeping
	// at most window messages ahead of the group; done reports the end.
	produce := func(from, to int) (done <-chan error) {
		ch := make(chan error, 1)
		go func() {
			for i := from; i < to; i++ {
				if _, err := p.Send(ctx, fmt.Appendf(nil, "m%d", i), streamer.WithShard(streamer.ShardID(i%parts))); err != nil {
					ch <- err
					return
				}
				if i%60 == 59 || i == to-1 {
					if err := p.Flush(ctx); err != nil {
						ch <- err
						return
					}
					for {
						if n, _ := distinct(); n >= i+1-window {
							break
						}
						select {
						case <-ctx.Done():
							ch <- ctx.Err()
							return
						case <-time.After(5 * time.Millisecond): // re-check the members' counts
						}
					}
				}
			}
			ch <- nil
		}()
		return ch
	}
	received := func(n int) func() bool {
		return func() bool { d, _ := distinct(); return d >= n }
	}

	// Phase 1: the four members.
	if err := <-produce(0, perPhase); err != nil {
		t.Fatal(err)
	}
	waitFor(ctx, t, "the first phase's messages", received(perPhase))
	for i, d := range members() {
		if len(d) == 0 {
			t.Errorf("%s received none of the first %d messages", names[i], perPhase)
		}
	}

	// Phase 2: a SeaStreamer member leaves while messages flow.
	done := produce(perPhase, 2*perPhase)
	waitFor(ctx, t, "a third of the second phase", received(perPhase+perPhase/3))
	if err := rust[1].stop(); err != nil {
		t.Fatalf("SeaStreamer member 2 leaving: %v", err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	waitFor(ctx, t, "the second phase's messages", received(2*perPhase))

	// Phase 3: one of ours leaves while messages flow.
	done = produce(2*perPhase, 3*perPhase)
	waitFor(ctx, t, "a third of the third phase", received(2*perPhase+perPhase/3))
	ours[1].stop()
	if err := ours[1].c.Commit(ctx); err != nil {
		t.Fatalf("Commit of the member leaving: %v", err)
	}
	if err := ours[1].c.Close(ctx); err != nil {
		t.Fatalf("Close of the member leaving: %v", err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	waitFor(ctx, t, "every message", received(3*perPhase))
	// A message delivered again would come before the partition's later
	// messages, all received by now: the counts are final.
	ours[0].stop()
	if err := rust[0].stop(); err != nil {
		t.Errorf("SeaStreamer member 1: %v", err)
	}

	const total = 3 * perPhase
	count := make([]int, total)
	for mi, d := range members() {
		last := map[streamer.ShardID]streamer.SeqNo{}
		var phase [3]int
		for _, m := range d {
			i, err := strconv.Atoi(strings.TrimPrefix(m.payload, "m"))
			if err != nil || i < 0 || i >= total || m.payload != "m"+strconv.Itoa(i) {
				t.Fatalf("%s received %q, not a payload sent", names[mi], m.payload)
			}
			if m.shard != streamer.ShardID(i%parts) || m.seq != streamer.SeqNo(i/parts) {
				t.Errorf("%s received %s at partition %d offset %d, want %d/%d", names[mi], m.payload, m.shard, m.seq, i%parts, i/parts)
			}
			if prev, ok := last[m.shard]; ok && m.seq <= prev {
				t.Errorf("%s: partition %d out of order: offset %d after %d", names[mi], m.shard, m.seq, prev)
			}
			last[m.shard] = m.seq
			count[i]++
			phase[i/perPhase]++
		}
		t.Logf("%s received %d, %d and %d messages in the three phases", names[mi], phase[0], phase[1], phase[2])
	}
	for i, c := range count {
		if c != 1 {
			t.Errorf("m%d delivered %d times", i, c)
		}
	}
}

// TestSeaStreamerGroupBalancerMismatch: a member of ours offering only
// cooperative-sticky cannot join a group of SeaStreamer members (range,
// roundrobin): Next reports ErrBalancerMismatch, wrapping the broker's
// INCONSISTENT_GROUP_PROTOCOL, within a bound instead of hanging, and the
// SeaStreamer member keeps every partition and goes on receiving.
func TestSeaStreamerGroupBalancerMismatch(t *testing.T) {
	bin, brokers := seastreamerKafka(t)
	ctx, cancel := context.WithTimeout(context.Background(), seastreamerGroupBound)
	t.Cleanup(cancel)
	const parts = 6

	uri := "kafka://" + brokers + "?partitions=" + strconv.Itoa(parts)
	s := open(t, uri)
	k := topic(t, "seastreamer-mismatch")
	group := string(topic(t, "g"))
	var conn *kafka.Conn
	if !s.As(&conn) {
		t.Fatal("Streamer.As(**kafka.Conn) = false")
	}
	if n, err := conn.Shards(ctx, k); err != nil || n != parts {
		t.Fatalf("Shards: %d, %v", n, err)
	}

	r := startSeaStreamer(t, ctx, bin, brokers, k, group)
	const all = "0,1,2,3,4,5"
	waitFor(ctx, t, "the SeaStreamer member to own every partition", func() bool { return r.assignment() == all })

	c, err := open(t, uri+"&balancer=cooperative-sticky").NewConsumer(ctx, []streamer.StreamKey{k},
		streamer.WithMode(streamer.LoadBalanced), streamer.WithGroup(group), streamer.WithAutoStreamReset(streamer.ResetEarliest))
	if err != nil {
		t.Fatal(err)
	}
	nctx, ncancel := context.WithTimeout(ctx, 30*time.Second)
	defer ncancel()
	_, err = c.Next(nctx)
	if !errors.Is(err, kafka.ErrBalancerMismatch) || !errors.Is(err, kerr.InconsistentGroupProtocol) {
		t.Fatalf("Next of a cooperative-sticky member in a group of SeaStreamer members = %v, want ErrBalancerMismatch wrapping INCONSISTENT_GROUP_PROTOCOL", err)
	}
	for _, want := range []string{"balancer=", "cooperative-sticky", group} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if err := c.Close(ctx); err != nil && !errors.Is(err, streamer.ErrClosed) {
		t.Logf("Close of the refused member: %v", err)
	}

	p, err := s.NewProducer(ctx, k)
	if err != nil {
		t.Fatal(err)
	}
	for i := range parts {
		send(t, ctx, p, k, "after"+strconv.Itoa(i), streamer.WithShard(streamer.ShardID(i)))
	}
	waitFor(ctx, t, "the SeaStreamer member to receive a message on every partition", func() bool {
		return len(r.deliveries()) == parts
	})
	if a := r.assignment(); a != all {
		t.Errorf("the SeaStreamer member owns %s, want %s", a, all)
	}
}
