package filedriver

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/seastream/ss/streamer/driver"
)

func lb(group string) driver.ConsumerOptions {
	return driver.ConsumerOptions{Mode: driver.LoadBalanced, Group: group, AutoStreamReset: driver.ResetEarliest}
}

func TestGroupRoundRobin(t *testing.T) {
	ctx := testCtx(t)
	path := tempFile(t)
	c1 := open(t, path, "create")
	c2 := open(t, path, "") // another Conn of the same process joins the same group
	a := newCons(t, c1, lb("g"), "s")
	b := newCons(t, c2, lb("g"), "s")
	other := newCons(t, c1, lb("h"), "s") // another group gets everything
	sendN(t, ctx, newProducer(t, c1), "s", "m", 10)
	if got := payloads(t, ctx, a, 5); !slices.Equal(got, []string{"m0", "m2", "m4", "m6", "m8"}) {
		t.Fatalf("first member got %q", got)
	}
	if got := payloads(t, ctx, b, 5); !slices.Equal(got, []string{"m1", "m3", "m5", "m7", "m9"}) {
		t.Fatalf("second member got %q", got)
	}
	if got := payloads(t, ctx, other, 10); !slices.Equal(got, seq("m", 0, 10)) {
		t.Fatalf("the only member of another group got %q", got)
	}
	if err := a.Commit(ctx); err != nil {
		t.Fatalf("Commit on a LoadBalanced member: %v", err)
	}
}

func TestGroupMismatch(t *testing.T) {
	c := open(t, tempFile(t), "create")
	newCons(t, c, lb("g"), "s")
	opts := lb("g")
	opts.Replay = true
	_, err := c.NewConsumer(testCtx(t), []driver.StreamKey{"s"}, opts)
	if !errors.Is(err, ErrGroupMismatch) || !errors.Is(err, driver.ErrInvalidOption) {
		t.Fatalf("joining with another replay option: %v", err)
	}
	_, err = c.NewConsumer(testCtx(t), []driver.StreamKey{"s"}, driver.ConsumerOptions{Mode: driver.LoadBalanced})
	wantErr(t, err, driver.ErrConsumerGroupNotSet)
	_, err = c.NewConsumer(testCtx(t), []driver.StreamKey{"s"}, driver.ConsumerOptions{Group: "g"})
	wantErr(t, err, driver.ErrConsumerGroupIsSet)
}

// TestGroupLeaveHandsBack checks that a member closing with messages in its
// prefetch channel hands them to the others, and that a slow member does not
// stall the group.
func TestGroupLeaveHandsBack(t *testing.T) {
	ctx := testCtx(t)
	c := open(t, tempFile(t), "create")
	slowOpts := lb("g")
	slowOpts.Prefetch = 5
	slow, err := c.NewConsumer(ctx, []driver.StreamKey{"s"}, slowOpts)
	if err != nil {
		t.Fatal(err)
	}
	fast := newCons(t, c, lb("g"), "s")
	const n = 100
	sendN(t, ctx, newProducer(t, c), "s", "m", n)
	// The slow member never reads: it holds 5 messages, the fast one gets
	// every other.
	got := payloads(t, ctx, fast, n-5)
	held := []string{"m0", "m2", "m4", "m6", "m8"}
	want := slices.DeleteFunc(seq("m", 0, n), func(s string) bool { return slices.Contains(held, s) })
	if !slices.Equal(got, want) {
		t.Fatalf("fast member got %q", got)
	}
	if err := slow.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if got := payloads(t, ctx, fast, 5); !slices.Equal(got, held) {
		t.Fatalf("after the slow member left, got %q, want its %q", got, held)
	}
}

// TestGroupJoinLeave runs members that join and leave while messages flow
// and checks that every message is received exactly once.
func TestGroupJoinLeave(t *testing.T) {
	ctx := testCtx(t)
	path := tempFile(t)
	c := open(t, path, "create")
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
	ctx := testCtx(t)
	c := open(t, tempFile(t), "create")
	a := newCons(t, c, lb("g"), "s")
	b := newCons(t, c, lb("g"), "s")
	p := newProducer(t, c)
	sendN(t, ctx, p, "s", "m", 4)
	if got := payloads(t, ctx, a, 1); !slices.Equal(got, []string{"m0"}) {
		t.Fatalf("a got %q", got)
	}
	// a holds m2 undelivered; Rewind takes it out of the group and hands m2
	// to b.
	if err := a.Rewind(ctx, driver.SeqBeginning()); err != nil {
		t.Fatal(err)
	}
	if got := payloads(t, ctx, a, 4); !slices.Equal(got, seq("m", 0, 4)) {
		t.Fatalf("a after Rewind got %q", got)
	}
	if got := payloads(t, ctx, b, 2); !slices.Equal(got, []string{"m1", "m3"}) && !slices.Equal(got, []string{"m1", "m2"}) {
		t.Fatalf("b got %q", got)
	}
	sendN(t, ctx, p, "s", "n", 2)
	if got := payloads(t, ctx, a, 2); !slices.Equal(got, seq("n", 0, 2)) {
		t.Fatalf("detached a got %q", got)
	}
	rest := payloads(t, ctx, b, 3)
	slices.Sort(rest)
	if !slices.Equal(rest, []string{"m2", "n0", "n1"}) && !slices.Equal(rest, []string{"m3", "n0", "n1"}) {
		t.Fatalf("b, alone in the group, got %q", rest)
	}
}

func TestGroupReplayEnds(t *testing.T) {
	ctx := testCtx(t)
	c := open(t, tempFile(t), "create")
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
