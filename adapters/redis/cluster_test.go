package redis

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seastream/ss/streamer/driver"
)

// The tests of this file run against the Redis Cluster of
// SS_REDIS_CLUSTER_URL (bash scripts/redis-cluster.sh start) and skip
// without it. TestConformance runs the portable suite on it too.

// spreadStreams returns n stream keys of e whose shard keys (shards
// 0..shards-1, as a producer with that shard count writes them) lie on at
// least two masters, so that every multi-key path crosses slots and nodes.
func (e *env) spreadStreams(n, shards int) []driver.StreamKey {
	e.t.Helper()
	for try := range 20 {
		var streams []driver.StreamKey
		masters := make(map[string]bool)
		for i := range n {
			s := e.key("s" + strconv.Itoa(try) + "x" + strconv.Itoa(i))
			streams = append(streams, s)
			for sh := range shards {
				masters[e.masterOf(shardKey(s, driver.ShardID(sh), shards > 1))] = true
			}
		}
		if len(masters) >= 2 {
			return streams
		}
	}
	e.t.Fatal("no stream keys spread over two masters in 20 tries")
	return nil
}

// sendAll sends per messages to every shard of every stream and waits for
// every receipt; payloads are "<stream>/<shard>/<i>".
func (e *env) sendAll(p *Producer, streams []driver.StreamKey, shards, per int) map[string]bool {
	e.t.Helper()
	var pend []driver.Pending
	want := make(map[string]bool)
	for i := range per {
		for _, s := range streams {
			for sh := range shards {
				payload := fmt.Sprintf("%s/%d/%d", s, sh, i)
				pe, err := p.Send(e.ctx, driver.Header{StreamKey: s, Shard: driver.ShardID(sh)}, []byte(payload))
				if err != nil {
					e.t.Fatalf("Send: %v", err)
				}
				pend = append(pend, pe)
				want[payload] = true
			}
		}
	}
	for _, pe := range pend {
		if _, err := pe.Wait(e.ctx); err != nil {
			e.t.Fatalf("receipt: %v", err)
		}
	}
	return want
}

// checkOrder checks that messages of each (stream, shard) came in the order
// sent (their payloads' last number goes up by one from 0).
func checkOrder(t *testing.T, ms []driver.Message) {
	t.Helper()
	next := make(map[driver.StreamShard]int)
	for _, m := range ms {
		parts := strings.Split(string(m.Payload), "/")
		if len(parts) != 3 {
			t.Fatalf("payload %q", m.Payload)
		}
		sh, _ := strconv.Atoi(parts[1])
		i, _ := strconv.Atoi(parts[2])
		ss := m.Header.StreamShard()
		if string(ss.Stream) != parts[0] || int(ss.Shard) != sh {
			t.Fatalf("message %q has header %s", m.Payload, m.Header)
		}
		if i != next[ss] {
			t.Fatalf("%s: message %d, want %d", ss, i, next[ss])
		}
		next[ss]++
	}
}

// TestClusterModes: a sharded producer, RealTime, Resumable and
// LoadBalanced consumers of two streams whose shard keys lie on several
// masters; commits; shards found on every master.
func TestClusterModes(t *testing.T) {
	e := newClusterServer(t).env(t, "discover_interval=50ms")
	const shards, per = 4, 50
	streams := e.spreadStreams(2, shards)
	p := e.producer(driver.ProducerOptions{ShardCount: shards})
	want := e.sendAll(p, streams, shards, per)
	total := len(want)

	for _, s := range streams {
		n, err := e.conn.Shards(e.ctx, s)
		if err != nil || n != shards {
			t.Fatalf("Shards(%s) = %d, %v; want %d (SCAN on every master)", s, n, err, shards)
		}
	}

	rt := e.consumer(streams, driver.ConsumerOptions{AutoStreamReset: driver.ResetEarliest})
	ms := e.nextN(rt, total)
	checkOrder(t, ms)
	e.nothingWithin(rt, 200*time.Millisecond)

	// Resumable: read everything, commit, and a new consumer of the group
	// gets only what was sent since.
	opts := driver.ConsumerOptions{Mode: driver.Resumable, Group: string(e.key("r")), AutoStreamReset: driver.ResetEarliest, Extra: []any{WithAckMode(AckDisabled)}}
	r := e.consumer(streams, opts)
	checkOrder(t, e.nextN(r, total))
	if err := r.Commit(e.ctx); err != nil {
		t.Fatalf("Commit: %v", err)
	}
	if err := r.Close(e.ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	later := e.send(p, driver.Header{StreamKey: streams[1], Shard: shards - 1}, "later")
	r2 := e.consumer(streams, opts)
	if m := e.next(r2, "the message sent after the commit"); string(m.Payload) != "later" || m.Header.Seq != later.Seq {
		t.Fatalf("resumed at %s %q, want %s \"later\"", m.Header, m.Payload, later)
	}
	e.nothingWithin(r2, 200*time.Millisecond)
	total++

	// late_timestamps=clamp runs a script (EVALSHA with the shard's key):
	// loaded on every node, it stores a late message at the newest
	// millisecond of its key.
	cp := e.producer(driver.ProducerOptions{ShardCount: shards, Extra: []any{WithLateTimestamps(LateClamp)}})
	late := e.send(cp, driver.Header{StreamKey: streams[0], Shard: 1, Timestamp: time.UnixMilli(1000)}, "late")
	if late.Timestamp.UnixMilli() <= 1000 {
		t.Fatalf("late message stored at %s, want the newest millisecond of its key", late.Timestamp)
	}
	if m := e.next(r2, "the clamped message"); string(m.Payload) != "late" || m.Header.Seq != late.Seq {
		t.Fatalf("got %s %q, want %s \"late\"", m.Header, m.Payload, late)
	}
	total++

	// LoadBalanced: two members share every message once.
	lb := driver.ConsumerOptions{Mode: driver.LoadBalanced, Group: string(e.key("g")), AutoStreamReset: driver.ResetEarliest}
	members := []*Consumer{e.consumer(streams, lb), e.consumer(streams, lb)}
	var mu sync.Mutex
	seen := make(map[string]int)
	count := 0
	ctx, cancel := context.WithCancel(e.ctx)
	defer cancel()
	var wg sync.WaitGroup
	perMember := make([]int, len(members))
	for i, k := range members {
		wg.Go(func() {
			for {
				m, err := k.Next(ctx)
				if err != nil {
					return
				}
				mu.Lock()
				seen[string(m.Payload)]++
				count++
				perMember[i]++
				if count == total {
					cancel()
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if count != total {
		t.Fatalf("the group received %d messages, want %d", count, total)
	}
	for pl, n := range seen {
		if n != 1 {
			t.Errorf("%q delivered %d times", pl, n)
		}
	}
	for _, k := range members {
		if err := k.Commit(e.ctx); err != nil {
			t.Fatalf("Commit: %v", err)
		}
	}
	for _, s := range streams {
		for sh := range shards {
			key := shardKey(s, driver.ShardID(sh), true)
			pend, err := e.client.XPending(e.ctx, key, lb.Group).Result()
			if err != nil || pend.Count != 0 {
				t.Errorf("%s: %v pending after Commit (%v)", key, pend, err)
			}
		}
	}
	t.Logf("%d messages on %d keys; the members got %v", total, 2*shards, perMember)
}

// TestClusterFailover: a master fails over to its replica (CLUSTER
// FAILOVER) while a producer sends to the shards of a stream, one of which
// it holds; RealTime and Resumable consumers read meanwhile. Every message
// whose receipt resolved is in the stream afterwards and reaches both
// consumers.
func TestClusterFailover(t *testing.T) {
	e := newClusterServer(t).env(t, "")
	e.waitClusterOK()
	const shards = 3
	stream := e.spreadStreams(1, shards)[0]
	p := e.producer(driver.ProducerOptions{ShardCount: shards})
	// The shard keys exist before the consumers start (a group consumer of
	// a missing stream would create "<stream>" for shard 0).
	for sh := range shards {
		e.send(p, driver.Header{StreamKey: stream, Shard: driver.ShardID(sh)}, "first")
	}
	rt := e.consumer([]driver.StreamKey{stream}, driver.ConsumerOptions{AutoStreamReset: driver.ResetEarliest})
	rs := e.consumer([]driver.StreamKey{stream}, driver.ConsumerOptions{Mode: driver.Resumable, Group: string(e.key("r")), AutoStreamReset: driver.ResetEarliest})
	lb := e.consumer([]driver.StreamKey{stream}, driver.ConsumerOptions{Mode: driver.LoadBalanced, Group: string(e.key("g")), AutoStreamReset: driver.ResetEarliest})

	type sent struct {
		payload string
		pe      driver.Pending
	}
	var (
		mu    sync.Mutex
		log   []sent
		stop  = make(chan struct{})
		half  = make(chan struct{})
		done  = make(chan struct{})
		after int // messages sent once the failover completed
	)
	const before, minAfter = 2000, 2000
	failedOver := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			payload := strconv.Itoa(i)
			pe, err := p.Send(e.ctx, driver.Header{StreamKey: stream, Shard: driver.ShardID(i % shards)}, []byte(payload))
			if err != nil {
				t.Errorf("Send: %v", err)
				return
			}
			mu.Lock()
			log = append(log, sent{payload, pe})
			select {
			case <-failedOver:
				after++
			default:
			}
			n := len(log)
			mu.Unlock()
			if n == before {
				close(half)
			}
			if i%20 == 19 {
				_, _ = pe.Wait(e.ctx) // paces the producer by the server
			}
		}
	}()
	select {
	case <-half:
	case <-done:
		t.Fatal("the producer stopped before the failover")
	}
	from, to := e.failover(shardKey(stream, 0, true))
	close(failedOver)
	t.Logf("failed over %s (master of %s) to %s", from, shardKey(stream, 0, true), to)
	e.eventually("messages sent after the failover", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return after >= minAfter
	})
	close(stop)
	<-done

	acked := make(map[string]bool)
	failed := 0
	for _, s := range log {
		if _, err := s.pe.Wait(e.ctx); err != nil {
			failed++
			if failed <= 3 {
				t.Logf("receipt failed: %v", err)
			}
			continue
		}
		acked[s.payload] = true
	}
	t.Logf("%d messages sent, %d receipts resolved, %d failed", len(log), len(acked), failed)
	if len(acked) < len(log)/2 {
		t.Fatalf("only %d of %d receipts resolved", len(acked), len(log))
	}

	// In the stream: every acknowledged message, once.
	stored := make(map[string]int)
	for sh := range shards {
		msgs, err := e.client.XRange(e.ctx, shardKey(stream, driver.ShardID(sh), true), "-", "+").Result()
		if err != nil {
			t.Fatalf("XRANGE: %v", err)
		}
		for _, m := range msgs {
			if pl := m.Values[DefaultField].(string); pl != "first" {
				stored[pl]++
			}
		}
	}
	for pl := range acked {
		if stored[pl] != 1 {
			t.Errorf("acknowledged message %s stored %d times", pl, stored[pl])
		}
	}
	// Failed receipts may still have been stored (the node ran the XADD
	// but its reply was lost); a stored message without a receipt is not
	// an error, a message stored twice is.
	for pl, n := range stored {
		if n != 1 {
			t.Errorf("message %s stored %d times", pl, n)
		}
	}

	for name, k := range map[string]*Consumer{"RealTime": rt, "Resumable": rs, "LoadBalanced": lb} {
		got := make(map[string]int)
		missing := len(acked)
		ctx, cancel := context.WithTimeout(e.ctx, 30*time.Second)
		errs := 0
		for missing > 0 {
			m, err := k.Next(ctx)
			if err != nil {
				if ctx.Err() != nil {
					break
				}
				errs++
				continue
			}
			pl := string(m.Payload)
			got[pl]++
			if got[pl] == 1 && acked[pl] {
				missing--
			}
		}
		cancel()
		dups := 0
		for pl, n := range got {
			if pl != "first" {
				dups += n - 1
			}
		}
		t.Logf("%s: %d messages, %d duplicates, %d errors from Next", name, len(got), dups, errs)
		if missing > 0 {
			t.Errorf("%s: %d acknowledged messages never received", name, missing)
		}
		if dups > 0 {
			// A coordinated failover loses no group state: nothing is
			// delivered twice.
			t.Errorf("%s: %d messages received twice", name, dups)
		}
		if k.Group() != "" {
			// Commits reach the new master: nothing stays pending.
			if err := k.Commit(e.ctx); err != nil {
				t.Errorf("%s: Commit: %v", name, err)
			}
			for sh := range shards {
				key := shardKey(stream, driver.ShardID(sh), true)
				if pend, err := e.client.XPending(e.ctx, key, k.Group()).Result(); err != nil || pend.Count != 0 {
					t.Errorf("%s: %s: %+v pending after Commit (%v)", name, key, pend, err)
				}
			}
		}
		if err := k.Close(e.ctx); err != nil && !errors.Is(err, driver.ErrClosed) {
			t.Errorf("%s: Close: %v", name, err)
		}
	}
}
