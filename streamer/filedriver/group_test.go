package filedriver

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/seastream/ss/internal/testkit"
	"github.com/seastream/ss/streamer/driver"
)

func lb(group string) driver.ConsumerOptions {
	return driver.ConsumerOptions{Mode: driver.LoadBalanced, Group: group, AutoStreamReset: driver.ResetEarliest}
}

// waitWaiters waits until n Next calls wait in the group of c.
func waitWaiters(t *testing.T, ctx context.Context, c driver.Consumer, n int) {
	t.Helper()
	g := c.(*consumer).member
	for {
		g.mu.Lock()
		got := len(g.waiters)
		g.mu.Unlock()
		if got == n {
			return
		}
		if ctx.Err() != nil {
			t.Fatalf("%d Next calls wait in the group, want %d", got, n)
		}
		runtimeGosched()
	}
}

func TestGroupRoundRobin(t *testing.T) {
	ctx := testkit.Context(t)
	path := tempFile(t)
	c1 := open(t, path, "create&group_mode=round-robin")
	c2 := open(t, path, "group_mode=round-robin") // another Conn of the same process joins the same group
	members := []driver.Consumer{newCons(t, c1, lb("g"), "s"), newCons(t, c2, lb("g"), "s"), newCons(t, c1, lb("g"), "s")}
	other := newCons(t, c1, lb("h"), "s") // another group gets everything
	p := newProducer(t, c1)

	// Every member waits in Next: they are served in turn, and each goes
	// to the back of the line after its message.
	got := make([]chan string, len(members))
	for i, m := range members {
		got[i] = make(chan string, 10)
		go func() {
			defer close(got[i])
			for {
				msg, err := m.Next(ctx)
				if err != nil {
					return
				}
				got[i] <- string(msg.Payload)
				if len(got[i]) == 3 {
					return
				}
			}
		}()
		waitWaiters(t, ctx, members[0], i+1) // a fixed order of arrival
	}
	for i := range 9 {
		send(t, ctx, p, driver.Header{StreamKey: "s"}, fmt.Sprintf("m%d", i))
		// The next message once it is received and the member served is
		// back in line.
		for received := 0; received < i+1; {
			received = 0
			for _, ch := range got {
				received += len(ch)
			}
			if ctx.Err() != nil {
				t.Fatalf("message %d not received", i)
			}
			runtimeGosched()
		}
		waitWaiters(t, ctx, members[0], min(3, 8-i))
	}
	for i := range members {
		var recv []string
		for s := range got[i] {
			recv = append(recv, s)
		}
		if want := []string{fmt.Sprintf("m%d", i), fmt.Sprintf("m%d", i+3), fmt.Sprintf("m%d", i+6)}; !slices.Equal(recv, want) {
			t.Errorf("member %d got %q, want %q", i, recv, want)
		}
	}
	if got := payloads(t, ctx, other, 9); !slices.Equal(got, seq("m", 0, 9)) {
		t.Fatalf("the only member of another group got %q", got)
	}
	if err := members[0].Commit(ctx); err != nil {
		t.Fatalf("Commit on a LoadBalanced member: %v", err)
	}
}

func TestGroupMismatch(t *testing.T) {
	c := open(t, tempFile(t), "create&group_mode=round-robin")
	newCons(t, c, lb("g"), "s")
	opts := lb("g")
	opts.Replay = true
	_, err := c.NewConsumer(testkit.Context(t), []driver.StreamKey{"s"}, opts)
	if !errors.Is(err, ErrGroupMismatch) || !errors.Is(err, driver.ErrInvalidOption) {
		t.Fatalf("joining with another replay option: %v", err)
	}
	_, err = c.NewConsumer(testkit.Context(t), []driver.StreamKey{"s"}, driver.ConsumerOptions{Mode: driver.LoadBalanced})
	wantErr(t, err, driver.ErrConsumerGroupNotSet)
	_, err = c.NewConsumer(testkit.Context(t), []driver.StreamKey{"s"}, driver.ConsumerOptions{Group: "g"})
	wantErr(t, err, driver.ErrConsumerGroupIsSet)
}

// TestGroupSlowMember checks that a member that does not read takes
// nothing and stalls no one, and that the group's read-ahead is bounded.
func TestGroupSlowMember(t *testing.T) {
	ctx := testkit.Context(t)
	c := open(t, tempFile(t), "create&group_mode=round-robin")
	slowOpts := lb("g")
	slowOpts.Prefetch = 5
	slow := newCons(t, c, slowOpts, "s") // first member: its prefetch bounds the group
	fast := newCons(t, c, lb("g"), "s")
	const n = 100
	sendN(t, ctx, newProducer(t, c), "s", "m", n)
	if got := payloads(t, ctx, fast, n); !slices.Equal(got, seq("m", 0, n)) {
		t.Fatalf("fast member got %q", got)
	}
	if err := slow.Close(ctx); err != nil {
		t.Fatal(err)
	}

	// With no member reading, the group reads 5 ahead and stops.
	sendN(t, ctx, newProducer(t, c), "s", "n", 50)
	g := fast.(*consumer).member
	for {
		g.mu.Lock()
		queued := len(g.ahead)
		g.mu.Unlock()
		if queued == 5 {
			break
		}
		if queued > 5 || ctx.Err() != nil {
			t.Fatalf("the group read %d messages ahead, prefetch is 5", queued)
		}
		runtimeGosched()
	}
	if got := payloads(t, ctx, fast, 50); !slices.Equal(got, seq("n", 0, 50)) {
		t.Fatalf("fast member got %q", got)
	}
}

// TestGroupJoinLeave runs members that join and leave while messages flow
// and checks that every message is received exactly once.
func TestGroupJoinLeave(t *testing.T) {
	ctx := testkit.Context(t)
	path := tempFile(t)
	c := open(t, path, "create&group_mode=round-robin")
	p := newProducer(t, c)

	var mu sync.Mutex
	seen := map[string]int{}
	total := 0
	allDone := make(chan struct{})
	const n = 3000
	record := func(m driver.Message) {
		mu.Lock()
		defer mu.Unlock()
		seen[string(m.Payload)]++
		total++
		if total == n {
			close(allDone)
		}
	}
	// run reads with cons until stop is closed (then it closes cons) or
	// the consumer is closed.
	var wg sync.WaitGroup
	run := func(cons driver.Consumer, stop <-chan struct{}, limit int) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rctx, cancel := context.WithCancel(ctx)
			defer cancel()
			go func() {
				select {
				case <-stop:
					cancel()
				case <-rctx.Done():
				}
			}()
			for i := 0; limit < 0 || i < limit; i++ {
				m, err := cons.Next(rctx)
				if err != nil {
					if !errors.Is(err, context.Canceled) && !errors.Is(err, driver.ErrClosed) {
						t.Errorf("Next: %v", err)
					}
					break
				}
				record(m)
			}
			if err := cons.Close(context.Background()); err != nil && !errors.Is(err, driver.ErrClosed) {
				t.Errorf("Close: %v", err)
			}
		}()
	}
	stopAll := make(chan struct{})
	join := func(prefetch int) driver.Consumer {
		opts := lb("g")
		opts.Prefetch = prefetch
		cons, err := c.NewConsumer(ctx, []driver.StreamKey{"s"}, opts)
		if err != nil {
			t.Fatal(err)
		}
		return cons
	}
	// A stable member, and members that leave after a few messages with
	// more waiting in their channels.
	run(join(50), stopAll, -1)
	for i := range 6 {
		run(join(20+i), stopAll, 100+37*i)
	}
	for i := range n {
		if _, err := p.Send(ctx, driver.Header{StreamKey: "s"}, fmt.Appendf(nil, "m%d", i)); err != nil {
			t.Fatal(err)
		}
		if i%500 == 250 {
			run(join(10), stopAll, 200) // join midway
		}
	}
	if err := p.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case <-allDone:
	case <-ctx.Done():
		mu.Lock()
		t.Errorf("received %d of %d messages", total, n)
		mu.Unlock()
	}
	close(stopAll)
	wg.Wait()
	for i := range n {
		if k := fmt.Sprintf("m%d", i); seen[k] != 1 {
			t.Errorf("%s received %d times", k, seen[k])
		}
	}
	groups.Lock()
	left := len(groups.m)
	groups.Unlock()
	if left != 0 {
		t.Errorf("%d groups still registered after every member left", left)
	}
}

func TestGroupSeekDetaches(t *testing.T) {
	ctx := testkit.Context(t)
	c := open(t, tempFile(t), "create&group_mode=round-robin")
	a := newCons(t, c, lb("g"), "s")
	b := newCons(t, c, lb("g"), "s")
	p := newProducer(t, c)
	sendN(t, ctx, p, "s", "m", 4)
	if got := payloads(t, ctx, a, 1); !slices.Equal(got, []string{"m0"}) {
		t.Fatalf("a got %q", got)
	}
	// Rewind takes a out of the group: it reads alone from the beginning,
	// and b has the group to itself.
	if err := a.Rewind(ctx, driver.SeqBeginning()); err != nil {
		t.Fatal(err)
	}
	if got := payloads(t, ctx, a, 4); !slices.Equal(got, seq("m", 0, 4)) {
		t.Fatalf("a after Rewind got %q", got)
	}
	sendN(t, ctx, p, "s", "n", 2)
	if got := payloads(t, ctx, a, 2); !slices.Equal(got, seq("n", 0, 2)) {
		t.Fatalf("detached a got %q", got)
	}
	if got := payloads(t, ctx, b, 5); !slices.Equal(got, []string{"m1", "m2", "m3", "n0", "n1"}) {
		t.Fatalf("b, alone in the group, got %q", got)
	}
}

// TestGroupSwitchWhileWaiting checks that a Next waiting in the group when
// its consumer seeks goes on reading alone.
func TestGroupSwitchWhileWaiting(t *testing.T) {
	ctx := testkit.Context(t)
	c := open(t, tempFile(t), "create&group_mode=round-robin")
	p := newProducer(t, c)
	sendN(t, ctx, p, "s", "old", 2)
	a := newCons(t, c, driver.ConsumerOptions{Mode: driver.LoadBalanced, Group: "g"}, "s") // latest: it waits for new messages
	got := make(chan string, 1)
	go func() {
		m, err := a.Next(ctx)
		if err != nil {
			got <- err.Error()
			return
		}
		got <- string(m.Payload)
	}()
	waitWaiters(t, ctx, a, 1)
	if err := a.Rewind(ctx, driver.SeqBeginning()); err != nil {
		t.Fatal(err)
	}
	if s := <-got; s != "old0" {
		t.Fatalf("the waiting Next got %q after Rewind, want old0", s)
	}
}

func TestGroupReplayEnds(t *testing.T) {
	ctx := testkit.Context(t)
	c := open(t, tempFile(t), "create&group_mode=round-robin")
	sendN(t, ctx, newProducer(t, c), "s", "m", 6)
	opts := lb("g")
	opts.Replay = true
	a := newCons(t, c, opts, "s")
	b := newCons(t, c, opts, "s")
	var got []string
	for _, cons := range []driver.Consumer{a, b} {
		for {
			m, err := cons.Next(ctx)
			if errors.Is(err, driver.ErrStreamEnded) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, string(m.Payload))
		}
	}
	slices.Sort(got)
	if !slices.Equal(got, seq("m", 0, 6)) {
		t.Fatalf("the group's replay delivered %q", got)
	}
}
