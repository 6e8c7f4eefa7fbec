package filedriver

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"testing"

	"github.com/seastream/ss/internal/testkit"
	"github.com/seastream/ss/streamer/driver"
)

// lagMap is c's Lag by (stream, shard), failing on an error or a pair
// reported twice.
func lagMap(t *testing.T, ctx context.Context, c driver.Consumer) map[driver.StreamShard]uint64 {
	t.Helper()
	lags, err := c.(driver.Lagger).Lag(ctx)
	if err != nil {
		t.Fatalf("Lag: %v", err)
	}
	m := make(map[driver.StreamShard]uint64, len(lags))
	for _, l := range lags {
		ss := driver.StreamShard{Stream: l.Stream, Shard: l.Shard}
		if _, dup := m[ss]; dup {
			t.Fatalf("Lag reports %v twice: %+v", ss, lags)
		}
		m[ss] = l.Messages
	}
	return m
}

// heldPairs is the set of pairs the pair group member c holds.
func heldPairs(c driver.Consumer) []driver.StreamShard {
	g := c.(*consumer).pairs
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.SortedFunc(maps.Keys(g.held), cmpPair)
}

func cmpPair(a, b driver.StreamShard) int {
	if a.Stream != b.Stream {
		if a.Stream < b.Stream {
			return -1
		}
		return 1
	}
	return int(a.Shard) - int(b.Shard)
}

// waitHeld waits until each member holds exactly the pairs of want.
func waitHeld(t *testing.T, ctx context.Context, want map[driver.Consumer][]driver.StreamShard) {
	t.Helper()
	for {
		ok := true
		for c, w := range want {
			if !slices.Equal(heldPairs(c), w) {
				ok = false
			}
		}
		if ok {
			return
		}
		if ctx.Err() != nil {
			for c, w := range want {
				t.Errorf("member %s holds %v, want %v", c.(*consumer).pairs.id, heldPairs(c), w)
			}
			t.Fatal("the pairs did not settle")
		}
		runtimeGosched()
	}
}

// sendShards sends n messages to each of shards 0..shards-1 of stream a,
// interleaved, of about 100 bytes (4 KiB segments roll over every few
// dozen).
func sendShards(t *testing.T, ctx context.Context, p driver.Producer, shards, n int) {
	t.Helper()
	for i := range n {
		for s := range shards {
			if _, err := p.Send(ctx, driver.Header{StreamKey: "a", Shard: driver.ShardID(s)}, []byte(padded("m", i))); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := p.Flush(ctx); err != nil {
		t.Fatal(err)
	}
}

func pairA(s int) driver.StreamShard {
	return driver.StreamShard{Stream: "a", Shard: driver.ShardID(s)}
}

// TestPairsLag: the Lag of a member of a pair group (the LoadBalanced group
// shared across processes) reports each pair it holds, counted from after
// what its Next returned; a pair that moves to another member in a
// rebalance moves with its lag, counted from where the first member left
// it. On a file and on a stream directory of 4 KiB segments.
func TestPairsLag(t *testing.T) {
	t.Run("file", func(t *testing.T) { pairsLag(t, tempFile(t), "create&heartbeat=5ms") })
	t.Run("dir", func(t *testing.T) { pairsLag(t, tempDir(t), "create&segment_size=4KiB&heartbeat=5ms") })
}

func pairsLag(t *testing.T, path, query string) {
	ctx := testkit.Context(t)
	const shards, n = 4, 40
	c := open(t, path, query)
	p := newProducer(t, c)
	sendShards(t, ctx, p, shards, n)
	all := []driver.StreamShard{pairA(0), pairA(1), pairA(2), pairA(3)}
	// A second member id that takes some, not all, of the pairs from "a".
	var second string
	var moved, kept []driver.StreamShard
	for i := 0; moved == nil || kept == nil; i++ {
		second, moved, kept = fmt.Sprint("b", i), nil, nil
		for _, ss := range all {
			if owner([]string{"a", second}, ss) == second {
				moved = append(moved, ss)
			} else {
				kept = append(kept, ss)
			}
		}
	}
	opts := lb("g")
	opts.ConsumerID = "a"
	a := newCons(t, c, opts, "a")
	waitHeld(t, ctx, map[driver.Consumer][]driver.StreamShard{a: all})
	want := map[driver.StreamShard]uint64{pairA(0): n, pairA(1): n, pairA(2): n, pairA(3): n}
	if got := lagMap(t, ctx, a); !maps.Equal(got, want) {
		t.Fatalf("lag of the only member before Next = %v, want %v", got, want)
	}
	const k = 30
	for range k {
		want[next(t, ctx, a).StreamShard()]--
	}
	if got := lagMap(t, ctx, a); !maps.Equal(got, want) {
		t.Fatalf("lag after %d Next = %v, want %v", k, got, want)
	}
	if err := a.Commit(ctx); err != nil {
		t.Fatal(err)
	}

	// b joins: the pairs it owns move to it, with their lag (a hands them
	// on after what its Next returned); a reports only those it keeps.
	opts.ConsumerID = second
	b := newCons(t, open(t, path, "heartbeat=5ms"), opts, "a")
	waitHeld(t, ctx, map[driver.Consumer][]driver.StreamShard{a: kept, b: moved})
	wantA, wantB := map[driver.StreamShard]uint64{}, map[driver.StreamShard]uint64{}
	for _, ss := range kept {
		wantA[ss] = want[ss]
	}
	for _, ss := range moved {
		wantB[ss] = want[ss]
	}
	if got := lagMap(t, ctx, a); !maps.Equal(got, wantA) {
		t.Fatalf("lag of a after the rebalance = %v, want %v", got, wantA)
	}
	if got := lagMap(t, ctx, b); !maps.Equal(got, wantB) {
		t.Fatalf("lag of b after the rebalance = %v, want %v", got, wantB)
	}

	// b's Next moves its pairs' lag, and new messages add to both.
	for range 5 {
		m := next(t, ctx, b)
		if _, ok := wantB[m.StreamShard()]; !ok {
			t.Fatalf("b got a message of %v, which it does not hold", m.StreamShard())
		}
		wantB[m.StreamShard()]--
	}
	sendShards(t, ctx, p, shards, 3)
	for ss := range wantA {
		wantA[ss] += 3
	}
	for ss := range wantB {
		wantB[ss] += 3
	}
	if got := lagMap(t, ctx, a); !maps.Equal(got, wantA) {
		t.Fatalf("lag of a after 3 more per shard = %v, want %v", got, wantA)
	}
	if got := lagMap(t, ctx, b); !maps.Equal(got, wantB) {
		t.Fatalf("lag of b after 5 Next and 3 more per shard = %v, want %v", got, wantB)
	}

	// b leaves: its pairs come back to a at b's position.
	if err := b.Close(ctx); err != nil {
		t.Fatal(err)
	}
	waitHeld(t, ctx, map[driver.Consumer][]driver.StreamShard{a: all})
	maps.Copy(wantA, wantB)
	if got := lagMap(t, ctx, a); !maps.Equal(got, wantA) {
		t.Fatalf("lag of a after b left = %v, want %v", got, wantA)
	}
	total := 0
	for _, v := range wantA {
		total += int(v)
	}
	for range total {
		next(t, ctx, a)
	}
	for ss := range wantA {
		wantA[ss] = 0
	}
	if got := lagMap(t, ctx, a); !maps.Equal(got, wantA) {
		t.Fatalf("lag of a after reading everything = %v, want %v", got, wantA)
	}
	if err := a.Close(ctx); err != nil {
		t.Fatal(err)
	}
	wantErr(t, func() error { _, err := a.(driver.Lagger).Lag(ctx); return err }(), driver.ErrClosed)
}

// TestRoundRobinLag: every member of an in-process round-robin group
// reports the group's lag: per (stream, shard), the messages after those
// handed to any member. On a file and on a stream directory.
func TestRoundRobinLag(t *testing.T) {
	t.Run("file", func(t *testing.T) { roundRobinLag(t, tempFile(t), "create&group_mode=round-robin") })
	t.Run("dir", func(t *testing.T) { roundRobinLag(t, tempDir(t), "create&segment_size=4KiB&group_mode=round-robin") })
}

func roundRobinLag(t *testing.T, path, query string) {
	ctx := testkit.Context(t)
	const shards, n = 2, 30
	c := open(t, path, query)
	p := newProducer(t, c)
	m1 := newCons(t, c, lb("g"), "a")
	m2 := newCons(t, c, lb("g"), "a")
	sendShards(t, ctx, p, shards, n)
	want := map[driver.StreamShard]uint64{pairA(0): n, pairA(1): n}
	took := 0
	for _, k := range []struct {
		m driver.Consumer
		n int
	}{{m1, 7}, {m2, 4}, {m1, 2}} {
		for range k.n {
			want[next(t, ctx, k.m).StreamShard()]--
		}
		took += k.n
		for i, m := range []driver.Consumer{m1, m2} {
			if got := lagMap(t, ctx, m); !maps.Equal(got, want) {
				t.Fatalf("lag of member %d after %d handed out = %v, want the group's %v", i+1, took, got, want)
			}
		}
	}
	sendShards(t, ctx, p, shards, 5)
	want[pairA(0)] += 5
	want[pairA(1)] += 5
	if got := lagMap(t, ctx, m2); !maps.Equal(got, want) {
		t.Fatalf("lag after 5 more per shard = %v, want %v", got, want)
	}
	rest := int(want[pairA(0)] + want[pairA(1)])
	for i := range rest {
		next(t, ctx, []driver.Consumer{m1, m2}[i%2])
	}
	want[pairA(0)], want[pairA(1)] = 0, 0
	if got := lagMap(t, ctx, m1); !maps.Equal(got, want) {
		t.Fatalf("lag after everything was handed out = %v, want %v (every pair the group read, at 0)", got, want)
	}
	// A member that leaves the group for Seek reads alone: its lag is its
	// own again.
	if err := m2.Rewind(ctx, driver.SeqBeginning()); err != nil {
		t.Fatal(err)
	}
	if got, w := lagMap(t, ctx, m2), (map[driver.StreamShard]uint64{pairA(0): n + 5, pairA(1): n + 5}); !maps.Equal(got, w) {
		t.Fatalf("lag of a member rewound to the beginning = %v, want %v", got, w)
	}
}

// TestLagAfterARun reads every message of one (stream, shard), then of
// another: Lag reports both at zero, the (stream, shard) of the last
// message Next returned included.
func TestLagAfterARun(t *testing.T) {
	ctx := testkit.Context(t)
	c := open(t, tempFile(t), "create")
	p := newProducer(t, c)
	sendN(t, ctx, p, "a", "x", 5)
	sendN(t, ctx, p, "b", "y", 3)
	cons := newCons(t, c, driver.ConsumerOptions{AutoStreamReset: driver.ResetEarliest}, "a", "b")
	for range 8 {
		next(t, ctx, cons)
	}
	want := map[driver.StreamShard]uint64{{Stream: "a"}: 0, {Stream: "b"}: 0}
	if got := lagMap(t, ctx, cons); !maps.Equal(got, want) {
		t.Fatalf("Lag %v, want %v", got, want)
	}
	sendN(t, ctx, p, "b", "z", 2)
	want[driver.StreamShard{Stream: "b"}] = 2
	if got := lagMap(t, ctx, cons); !maps.Equal(got, want) {
		t.Fatalf("Lag after 2 more of b: %v, want %v", got, want)
	}
}
