package streamertest

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/seastream/ss/streamer"
)

// collector gathers what the members of a group receive.
type collector struct {
	mu        sync.Mutex
	seen      map[string]int // payload -> member
	dups      []string
	perMember []int
	lastIndex []int // per member, for the order check
	disorder  []string
	changed   chan struct{}
}

func newCollector(members int) *collector {
	c := &collector{seen: map[string]int{}, changed: make(chan struct{})}
	c.grow(members)
	return c
}

func (c *collector) grow(members int) {
	for len(c.perMember) < members {
		c.perMember = append(c.perMember, 0)
		c.lastIndex = append(c.lastIndex, -1)
	}
}

func (c *collector) add(member int, payload string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if prev, dup := c.seen[payload]; dup {
		c.dups = append(c.dups, fmt.Sprintf("%q to member %d and %d", payload, prev, member))
	} else {
		c.seen[payload] = member
		c.perMember[member]++
	}
	// Payloads are "g<index>"; one member must see increasing indexes.
	if i, err := strconv.Atoi(strings.TrimPrefix(payload, "g")); err == nil {
		if i <= c.lastIndex[member] {
			c.disorder = append(c.disorder, fmt.Sprintf("member %d got g%d after g%d", member, i, c.lastIndex[member]))
		}
		c.lastIndex[member] = i
	}
	close(c.changed)
	c.changed = make(chan struct{})
}

// waitFor waits until n distinct messages were received.
func (c *collector) waitFor(e *env, n int) {
	e.t.Helper()
	for {
		c.mu.Lock()
		got, ch := len(c.seen), c.changed
		c.mu.Unlock()
		if got >= n {
			return
		}
		select {
		case <-ch:
		case <-e.ctx.Done():
			e.t.Fatalf("timed out: the group received %d of %d messages", got, n)
		}
	}
}

func (c *collector) check(e *env, prefix string, n int) {
	e.t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, d := range c.dups {
		e.t.Errorf("message delivered twice in a LoadBalanced group: %s", d)
	}
	for _, d := range c.disorder {
		e.t.Errorf("order broken within one member: %s", d)
	}
	for i := range n {
		if _, ok := c.seen[fmt.Sprintf("%s%d", prefix, i)]; !ok {
			e.t.Errorf("message %s%d never delivered to the group", prefix, i)
		}
	}
	if len(c.seen) != n {
		e.t.Errorf("group received %d distinct messages, want %d", len(c.seen), n)
	}
}

// member runs one group member, feeding the collector until stopped.
type member struct {
	c      *streamer.Consumer
	cancel context.CancelFunc
	done   chan struct{}
}

func startMember(e *env, base *streamer.Streamer, col *collector, idx int, key streamer.StreamKey, group string) *member {
	e.t.Helper()
	c := e.consumer(e.another(base), []streamer.StreamKey{key}, streamer.WithMode(streamer.LoadBalanced), streamer.WithGroup(group))
	ctx, cancel := context.WithCancel(e.ctx)
	m := &member{c: c, cancel: cancel, done: make(chan struct{})}
	col.mu.Lock()
	col.grow(idx + 1)
	col.mu.Unlock()
	go func() {
		defer close(m.done)
		for {
			msg, err := c.Next(ctx)
			if err != nil {
				if ctx.Err() == nil {
					e.t.Errorf("group member %d: Next: %v", idx, err)
				}
				return
			}
			col.add(idx, string(msg.Payload))
		}
	}()
	return m
}

func (m *member) stop() {
	m.cancel()
	<-m.done
}

func testGroupShare(t *testing.T, h Harness) {
	h.needs(t, h.Caps.Groups, "Groups")
	e := newEnv(t, h)
	k := e.key(0)
	group := "group-" + e.salt
	base := e.open()
	col := newCollector(3)
	var members []*member
	for i := range 3 {
		members = append(members, startMember(e, base, col, i, k, group))
	}
	p := e.producer(e.another(base), k)
	const n = 300
	for i := range n {
		e.send(p, k, fmt.Appendf(nil, "g%d", i))
		if h.Caps.GroupsSharePerMessage {
			// One at a time: a backend that gives each message to the
			// member waiting longest shares them only among members
			// waiting, and a member whose goroutine a loaded machine has
			// not run yet would otherwise find the others took them all.
			col.waitFor(e, i+1)
		}
	}
	col.waitFor(e, n)
	for _, m := range members {
		m.stop()
	}
	col.check(e, "g", n)
	if h.Caps.GroupsSharePerMessage {
		for i, got := range col.perMember {
			if got == 0 {
				t.Errorf("group member %d received nothing of %d messages; members should share them", i, n)
			}
		}
	}
}

func testGroupJoinLeave(t *testing.T, h Harness) {
	h.needs(t, h.Caps.Groups, "Groups")
	e := newEnv(t, h)
	k := e.key(0)
	group := "group-" + e.salt
	base := e.open()
	col := newCollector(2)
	a := startMember(e, base, col, 0, k, group)
	b := startMember(e, base, col, 1, k, group)
	p := e.producer(e.another(base), k)
	const half = 100
	for i := range half {
		e.send(p, k, fmt.Appendf(nil, "g%d", i))
	}
	col.waitFor(e, half/2)

	// Member a leaves: it stops reading, commits what it processed, closes.
	a.stop()
	if err := a.c.Commit(e.ctx); err != nil {
		t.Fatalf("leaving member: Commit: %v", err)
	}
	if err := a.c.Close(e.ctx); err != nil {
		t.Fatalf("leaving member: Close: %v", err)
	}
	// Member c joins while b keeps reading.
	c := startMember(e, base, col, 2, k, group)
	for i := half; i < 2*half; i++ {
		e.send(p, k, fmt.Appendf(nil, "g%d", i))
	}
	col.waitFor(e, 2*half)
	b.stop()
	c.stop()
	col.check(e, "g", 2*half)
}

func testResume(t *testing.T, h Harness) {
	h.needs(t, h.Caps.Resume, "Resume")
	e := newEnv(t, h)
	k := e.key(0)
	group := "resume-" + e.salt
	resumable := []streamer.ConsumerOption{streamer.WithMode(streamer.Resumable), streamer.WithGroup(group)}
	expect := func(c *streamer.Consumer, from, to int, what string) {
		t.Helper()
		for i, m := range e.nextN(c, to-from, what) {
			if want := fmt.Sprintf("m%d", from+i); string(m.Payload) != want {
				t.Fatalf("%s: got %q, want %q", what, m.Payload, want)
			}
		}
	}
	restart := func(ss ...*streamer.Streamer) {
		t.Helper()
		for _, s := range ss {
			if err := s.Close(e.ctx); err != nil {
				t.Fatalf("Streamer.Close before restart: %v", err)
			}
		}
		if h.Restart != nil {
			h.Restart(t, e.uri)
		}
	}

	s1 := e.open()
	c1 := e.consumer(s1, []streamer.StreamKey{k}, resumable...)
	p1 := e.producer(s1, k)
	for i := range 10 {
		e.send(p1, k, fmt.Appendf(nil, "m%d", i))
	}
	expect(c1, 0, 4, "first run")
	if err := c1.Commit(e.ctx); err != nil {
		t.Fatalf("Commit: %v", err)
	}
	expect(c1, 4, 6, "first run, after the commit")
	restart(s1)

	s2 := e.open()
	c2 := e.consumer(s2, []streamer.StreamKey{k}, resumable...)
	expect(c2, 4, 10, "second run: resumes after the last commit (uncommitted messages again)")
	if err := c2.Commit(e.ctx); err != nil {
		t.Fatalf("Commit: %v", err)
	}
	p2 := e.producer(s2, k)
	for i := 10; i < 15; i++ {
		e.send(p2, k, fmt.Appendf(nil, "m%d", i))
	}
	expect(c2, 10, 15, "second run, new messages")
	if err := c2.Commit(e.ctx); err != nil {
		t.Fatalf("Commit: %v", err)
	}
	restart(s2)

	s3 := e.open()
	c3 := e.consumer(s3, []streamer.StreamKey{k}, resumable...)
	p3 := e.producer(s3, k)
	e.send(p3, k, []byte("m15"))
	expect(c3, 15, 16, "third run: only the message after the last commit")

	if h.Caps.Earliest {
		other := e.consumer(s3, []streamer.StreamKey{k}, streamer.WithMode(streamer.Resumable), streamer.WithGroup(group+"-other"))
		expect(other, 0, 16, "another group: its own position, from the earliest")
	}
}
