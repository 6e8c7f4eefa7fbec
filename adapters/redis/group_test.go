package redis

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"

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
