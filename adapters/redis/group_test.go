package redis

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/seastream/ss/streamer/driver"
)

// groupCollector gathers what the members of a group receive.
type groupCollector struct {
	mu      sync.Mutex
	seen    map[string]int
	dups    []string
	per     map[int]int
	last    map[int]int
	order   []string
	changed chan struct{}
}

func newGroupCollector() *groupCollector {
	return &groupCollector{seen: map[string]int{}, per: map[int]int{}, last: map[int]int{}, changed: make(chan struct{})}
}

func (g *groupCollector) add(member int, payload string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if prev, dup := g.seen[payload]; dup {
		g.dups = append(g.dups, fmt.Sprintf("%s to %d and %d", payload, prev, member))
	} else {
		g.seen[payload] = member
		g.per[member]++
	}
	if i, err := strconv.Atoi(strings.TrimPrefix(payload, "g")); err == nil {
		if last, ok := g.last[member]; ok && i <= last {
			g.order = append(g.order, fmt.Sprintf("member %d: g%d after g%d", member, i, last))
		}
		g.last[member] = i
	}
	close(g.changed)
	g.changed = make(chan struct{})
}

func (g *groupCollector) waitFor(e *env, n int) {
	e.t.Helper()
	for {
		g.mu.Lock()
		got, ch := len(g.seen), g.changed
		g.mu.Unlock()
		if got >= n {
			return
		}
		select {
		case <-ch:
		case <-e.ctx.Done():
			if e.dump != nil {
				e.dump()
			}
			e.t.Fatalf("timed out: the group received %d of %d", got, n)
		}
	}
}

func (g *groupCollector) check(t *testing.T, n int) {
	t.Helper()
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, d := range g.dups {
		t.Errorf("delivered twice: %s", d)
	}
	for _, o := range g.order {
		t.Errorf("out of order: %s", o)
	}
	for i := range n {
		if _, ok := g.seen["g"+strconv.Itoa(i)]; !ok {
			t.Errorf("g%d never delivered", i)
		}
	}
}

type groupMember struct {
	c      *Consumer
	cancel context.CancelFunc
	done   chan struct{}
}

func (e *env) member(g *groupCollector, idx int, k driver.StreamKey, opts driver.ConsumerOptions) *groupMember {
	e.t.Helper()
	c := e.consumer([]driver.StreamKey{k}, opts)
	ctx, cancel := context.WithCancel(e.ctx)
	m := &groupMember{c: c, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(m.done)
		for {
			msg, err := c.Next(ctx)
			if err != nil {
				if ctx.Err() == nil {
					e.t.Errorf("member %d: %v", idx, err)
				}
				return
			}
			g.add(idx, string(msg.Payload))
		}
	}()
	return m
}

func (m *groupMember) stop() {
	m.cancel()
	<-m.done
}

func lb(group string, extra ...any) driver.ConsumerOptions {
	return driver.ConsumerOptions{Mode: driver.LoadBalanced, Group: group, Extra: extra}
}

// Members share a stream message by message; one leaves, another joins:
// nothing is lost or delivered twice, and each member gets its messages in
// order (the leaver's unread messages go to the newcomer).
func TestLoadBalancedJoinLeave(t *testing.T) {
	e := newEnv(t, "discover_interval=50ms")
	k := e.key("s")
	g := newGroupCollector()
	a := e.member(g, 0, k, lb("g"))
	b := e.member(g, 1, k, lb("g"))
	p := e.producer(driver.ProducerOptions{})
	for i := range 100 {
		if _, err := p.Send(e.ctx, driver.Header{StreamKey: k}, []byte("g"+strconv.Itoa(i))); err != nil {
			t.Fatal(err)
		}
	}
	e.dump = func() {
		ents, err := e.client.XPendingExt(context.Background(), &goredis.XPendingExtArgs{Stream: string(k), Group: "g", Start: "-", End: "+", Count: 100}).Result()
		t.Logf("pending: %v %v", ents, err)
		t.Logf("a=%s b=%s", a.c.name, b.c.name)
	}
	g.waitFor(e, 50)
	a.stop()
	if err := a.c.Commit(e.ctx); err != nil {
		t.Fatal(err)
	}
	if err := a.c.Close(e.ctx); err != nil {
		t.Fatal(err)
	}
	c := e.member(g, 2, k, lb("g"))
	for i := 100; i < 200; i++ {
		if _, err := p.Send(e.ctx, driver.Header{StreamKey: k}, []byte("g"+strconv.Itoa(i))); err != nil {
			t.Fatal(err)
		}
	}
	g.waitFor(e, 200)
	b.stop()
	c.stop()
	g.check(t, 200)
}

func (e *env) pendingIDs(k driver.StreamKey, group string) map[string]string {
	e.t.Helper()
	ents, err := e.client.XPendingExt(e.ctx, &goredis.XPendingExtArgs{Stream: string(k), Group: group, Start: "-", End: "+", Count: 10000}).Result()
	if err != nil {
		e.t.Fatalf("XPENDING: %v", err)
	}
	m := make(map[string]string, len(ents))
	for _, x := range ents {
		m[x.ID] = x.Consumer
	}
	return m
}

// A Resumable consumer resumes after what it committed; what it returned
// but did not commit comes again (at least once), and so does what it read
// ahead.
func TestResumableRestart(t *testing.T) {
	e := newEnv(t, "ack=disabled")
	k := e.key("s")
	p := e.producer(driver.ProducerOptions{})
	opts := driver.ConsumerOptions{Mode: driver.Resumable, AutoStreamReset: driver.ResetEarliest}
	c := e.consumer([]driver.StreamKey{k}, opts)
	if c.Group() != driver.HostID()+":r" || c.Name() != c.Group() {
		t.Fatalf("default group %q, name %q; want the host's", c.Group(), c.Name())
	}
	sendN(e, p, driver.Header{StreamKey: k}, "m", 10)
	wantPayloads(t, e.nextN(c, 4), "m", 0, 4)
	if err := c.Commit(e.ctx); err != nil {
		t.Fatal(err)
	}
	wantPayloads(t, e.nextN(c, 2), "m", 4, 2)
	if err := c.Close(e.ctx); err != nil {
		t.Fatal(err)
	}
	c2 := e.consumer([]driver.StreamKey{k}, opts)
	wantPayloads(t, e.nextN(c2, 6), "m", 4, 6)
	if err := c2.Commit(e.ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(e.pendingIDs(k, c2.Group())); n != 0 {
		t.Fatalf("%d entries still pending after Commit", n)
	}
	if err := c2.Close(e.ctx); err != nil {
		t.Fatal(err)
	}
	// A group given by the user, starting at the end (ResetLatest).
	sendN(e, p, driver.Header{StreamKey: k}, "x", 1)
	c3 := e.consumer([]driver.StreamKey{k}, driver.ConsumerOptions{Mode: driver.Resumable, Group: "mine"})
	sendN(e, p, driver.Header{StreamKey: k}, "n", 2)
	wantPayloads(t, e.nextN(c3, 2), "n", 0, 2)
}

func TestAckModes(t *testing.T) {
	srv := newServer(t)
	read := func(t *testing.T, e *env, k driver.StreamKey, mode AckMode) (*Consumer, []driver.Message) {
		c := e.consumer([]driver.StreamKey{k}, lb("g", WithAckMode(mode), WithCommitDelay(30*time.Millisecond), WithCommitInterval(10*time.Millisecond)))
		p := e.producer(driver.ProducerOptions{})
		sendN(e, p, driver.Header{StreamKey: k}, "m", 5)
		return c, e.nextN(c, 5)
	}
	t.Run("immediate", func(t *testing.T) {
		e := srv.env(t, "")
		k := e.key("s")
		c, _ := read(t, e, k, AckImmediate)
		if n := len(e.pendingIDs(k, "g")); n != 0 {
			t.Fatalf("%d pending with NOACK reads", n)
		}
		if err := c.Commit(e.ctx); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("delayed", func(t *testing.T) {
		e := srv.env(t, "")
		k := e.key("s")
		read(t, e, k, AckDelayed)
		e.eventually("every message is acknowledged", func() bool { return len(e.pendingIDs(k, "g")) == 0 })
	})
	t.Run("rolling", func(t *testing.T) {
		e := srv.env(t, "")
		k := e.key("s")
		c, ms := read(t, e, k, AckRolling)
		for _, i := range []int{1, 3} {
			if err := c.Ack(ms[i].Header); err != nil {
				t.Fatal(err)
			}
		}
		gone := func(i int) bool { _, ok := e.pendingIDs(k, "g")[IDFromSeqNo(ms[i].Seq).String()]; return !ok }
		e.eventually("the acknowledged messages are committed", func() bool { return gone(1) && gone(3) })
		for _, i := range []int{0, 2, 4} {
			if gone(i) {
				t.Fatalf("message %d committed without Ack", i)
			}
		}
		if err := c.Commit(e.ctx); err != nil {
			t.Fatal(err)
		}
		if n := len(e.pendingIDs(k, "g")); n != 0 {
			t.Fatalf("%d pending after Commit", n)
		}
	})
	t.Run("disabled", func(t *testing.T) {
		e := srv.env(t, "")
		k := e.key("s")
		c, ms := read(t, e, k, AckDisabled)
		if err := c.Ack(ms[0].Header); err != nil {
			t.Fatal(err)
		}
		if n := len(e.pendingIDs(k, "g")); n != 5 {
			t.Fatalf("%d pending, want 5 before CommitAcked", n)
		}
		if err := c.CommitAcked(e.ctx); err != nil {
			t.Fatal(err)
		}
		pend := e.pendingIDs(k, "g")
		if _, ok := pend[IDFromSeqNo(ms[0].Seq).String()]; ok || len(pend) != 4 {
			t.Fatalf("after CommitAcked: %v", pend)
		}
		if err := c.Commit(e.ctx); err != nil {
			t.Fatal(err)
		}
		if n := len(e.pendingIDs(k, "g")); n != 0 {
			t.Fatalf("%d pending after Commit", n)
		}
	})
	t.Run("realtime", func(t *testing.T) {
		e := srv.env(t, "")
		c := e.consumer([]driver.StreamKey{e.key("s")}, driver.ConsumerOptions{})
		if err := c.Ack(driver.Header{}); err == nil {
			t.Fatal("Ack on a RealTime consumer")
		}
	})
}

// The messages a dead member left pending are claimed by a live one, under
// the live one's name (SeaStreamer passes the dead one's to XAUTOCLAIM,
// which hands them back to the dead consumer).
func TestAutoClaimDeadMember(t *testing.T) {
	srv := newServer(t)
	srv.needReal(t, "miniredis reports no idle time for consumers that only used XREADGROUP")
	e := srv.env(t, "ack=disabled")
	k := e.key("s")
	p := e.producer(driver.ProducerOptions{})
	dead := e.consumer([]driver.StreamKey{k}, driver.ConsumerOptions{Mode: driver.LoadBalanced, Group: "g", ConsumerID: "dead"})
	sendN(e, p, driver.Header{StreamKey: k}, "m", 5)
	wantPayloads(t, e.nextN(dead, 5), "m", 0, 5)
	if err := dead.Close(e.ctx); err != nil { // returned, never acknowledged
		t.Fatal(err)
	}
	live := e.consumer([]driver.StreamKey{k}, driver.ConsumerOptions{Mode: driver.LoadBalanced, Group: "g", ConsumerID: "live",
		Extra: []any{WithAutoClaim(20*time.Millisecond, 200*time.Millisecond), WithHeartbeat(50 * time.Millisecond)}})
	got := e.nextN(live, 5)
	wantPayloads(t, got, "m", 0, 5)
	for id, owner := range e.pendingIDs(k, "g") {
		if owner != "live" {
			t.Fatalf("entry %s is owned by %q after the claim, want live", id, owner)
		}
	}
	if err := live.Commit(e.ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(e.pendingIDs(k, "g")); n != 0 {
		t.Fatalf("%d pending after Commit", n)
	}
}

// By default a group consumer creates a missing stream; with mkstream=false
// it waits for it, and reads it from its first entry.
func TestMissingStreamForGroup(t *testing.T) {
	e := newEnv(t, "")
	k1 := e.key("made")
	e.consumer([]driver.StreamKey{k1}, lb("g"))
	if n, _ := e.client.Exists(e.ctx, string(k1)).Result(); n != 1 {
		t.Fatal("the stream was not created")
	}
	k2 := e.key("waited")
	c := e.consumer([]driver.StreamKey{k2}, lb("g", WithMkStream(false)))
	if n, _ := e.client.Exists(e.ctx, string(k2)).Result(); n != 0 {
		t.Fatal("the stream was created with mkstream=false")
	}
	p := e.producer(driver.ProducerOptions{})
	sendN(e, p, driver.Header{StreamKey: k2}, "m", 3)
	wantPayloads(t, e.nextN(c, 3), "m", 0, 3)
}

// Seek detaches a group consumer: it then reads the stream itself.
func TestGroupSeekDetaches(t *testing.T) {
	e := newEnv(t, "")
	k := e.key("s")
	p := e.producer(driver.ProducerOptions{})
	other := e.consumer([]driver.StreamKey{k}, lb("g"))
	c := e.consumer([]driver.StreamKey{k}, lb("g"))
	sendN(e, p, driver.Header{StreamKey: k}, "m", 20)
	if err := c.Rewind(e.ctx, driver.SeqBeginning()); err != nil {
		t.Fatal(err)
	}
	wantPayloads(t, e.nextN(c, 20), "m", 0, 20)
	_ = other
}

// A group deleted while its consumer reads is created again where the
// consumer was: it goes on with the new messages only.
func TestGroupDeletedMeanwhile(t *testing.T) {
	e := newEnv(t, "")
	k := e.key("s")
	p := e.producer(driver.ProducerOptions{})
	c := e.consumer([]driver.StreamKey{k}, lb("g", WithAckMode(AckImmediate)))
	sendN(e, p, driver.Header{StreamKey: k}, "a", 3)
	wantPayloads(t, e.nextN(c, 3), "a", 0, 3)
	if err := e.client.XGroupDestroy(e.ctx, string(k), "g").Err(); err != nil {
		t.Fatal(err)
	}
	sendN(e, p, driver.Header{StreamKey: k}, "b", 3)
	wantPayloads(t, e.nextN(c, 3), "b", 0, 3)
}
