package redis

import (
	"fmt"
	"strconv"
	"sync"
	"testing"

	"github.com/seastream/ss/streamer"
	"github.com/seastream/ss/streamer/driver"
)

// lagOf returns c's lag by (stream, shard), failing on duplicates.
func lagOf(e *env, c *Consumer) map[driver.StreamShard]uint64 {
	e.t.Helper()
	lags, err := c.Lag(e.ctx)
	if err != nil {
		e.t.Fatalf("Lag: %v", err)
	}
	out := make(map[driver.StreamShard]uint64, len(lags))
	for _, l := range lags {
		ss := driver.StreamShard{Stream: l.Stream, Shard: l.Shard}
		if _, dup := out[ss]; dup {
			e.t.Fatalf("Lag lists %v twice: %v", ss, lags)
		}
		out[ss] = l.Messages
	}
	return out
}

func checkLag(e *env, c *Consumer, want map[driver.StreamShard]uint64, when string) {
	e.t.Helper()
	got := lagOf(e, c)
	if len(got) != len(want) {
		e.t.Fatalf("%s: Lag = %v, want %v", when, got, want)
	}
	for ss, n := range want {
		if got[ss] != n {
			e.t.Fatalf("%s: Lag = %v, want %v", when, got, want)
		}
	}
}

// sendShards sends n messages over shards 0 and 1 of k (6 and 4 for 10),
// returning how many each shard got.
func sendShards(e *env, k driver.StreamKey, n int) map[driver.StreamShard]uint64 {
	e.t.Helper()
	p := e.producer(driver.ProducerOptions{ShardCount: 2})
	sent := make(map[driver.StreamShard]uint64)
	for i := range n {
		shard := driver.ShardID(0)
		if i%5 >= 3 {
			shard = 1
		}
		e.send(p, driver.Header{StreamKey: k, Shard: shard}, "m"+strconv.Itoa(i))
		sent[driver.StreamShard{Stream: k, Shard: shard}]++
	}
	return sent
}

// TestLag: Lag counts, per shard, the messages after the last one Next
// returned (everything before the first Next, nothing at the end), for
// RealTime and group consumers, and again from the new position after a
// Rewind.
func TestLag(t *testing.T) {
	for _, mode := range []driver.ConsumerMode{driver.RealTime, driver.Resumable, driver.LoadBalanced} {
		t.Run(mode.String(), func(t *testing.T) {
			e := newEnv(t, "")
			k := e.key("s")
			sent := sendShards(e, k, 10)
			c := e.consumer([]driver.StreamKey{k}, driver.ConsumerOptions{
				Mode: mode, Group: "g-" + e.salt, AutoStreamReset: driver.ResetEarliest,
			})
			want := make(map[driver.StreamShard]uint64)
			for ss, n := range sent {
				want[ss] = n
			}
			checkLag(e, c, want, "before Next")
			for _, m := range e.nextN(c, 3) {
				want[m.Header.StreamShard()]--
			}
			checkLag(e, c, want, "after 3 messages")
			for _, m := range e.nextN(c, 7) {
				want[m.Header.StreamShard()]--
			}
			checkLag(e, c, want, "after every message")
			for ss, n := range want {
				if n != 0 {
					t.Fatalf("%v: %d left after reading all", ss, n)
				}
			}
			if err := c.Rewind(e.ctx, driver.SeqBeginning()); err != nil {
				t.Fatal(err)
			}
			checkLag(e, c, sent, "after Rewind(SeqBeginning)")
			m := e.next(c, "the first message again")
			want = map[driver.StreamShard]uint64{}
			for ss, n := range sent {
				want[ss] = n
			}
			want[m.Header.StreamShard()]--
			checkLag(e, c, want, "after Rewind and Next")
		})
	}
}

// TestLagLatest: a consumer at the end (ResetLatest) has no lag until new
// messages arrive.
func TestLagLatest(t *testing.T) {
	e := newEnv(t, "")
	k := e.key("s")
	sendShards(e, k, 10)
	c := e.consumer([]driver.StreamKey{k}, driver.ConsumerOptions{AutoStreamReset: driver.ResetLatest})
	checkLag(e, c, map[driver.StreamShard]uint64{{Stream: k, Shard: 0}: 0, {Stream: k, Shard: 1}: 0}, "at the end")
	p := e.producer(driver.ProducerOptions{ShardCount: 2})
	e.send(p, driver.Header{StreamKey: k, Shard: 1}, "new")
	checkLag(e, c, map[driver.StreamShard]uint64{{Stream: k, Shard: 0}: 0, {Stream: k, Shard: 1}: 1}, "after a new message")
}

// TestLagPages: a lag of several XRANGE pages is counted whole.
func TestLagPages(t *testing.T) {
	e := newEnv(t, "")
	k := e.key("s")
	p := e.producer(driver.ProducerOptions{})
	const n = 2*lagPage + 10
	var last driver.Pending
	for range n {
		pe, err := p.Send(e.ctx, driver.Header{StreamKey: k}, []byte("m"))
		if err != nil {
			t.Fatal(err)
		}
		last = pe
	}
	if _, err := last.Wait(e.ctx); err != nil {
		t.Fatal(err)
	}
	c := e.consumer([]driver.StreamKey{k}, driver.ConsumerOptions{AutoStreamReset: driver.ResetEarliest})
	e.nextN(c, 5)
	checkLag(e, c, map[driver.StreamShard]uint64{{Stream: k}: n - 5}, "after 5 messages")
}

// TestLagConcurrent: Lag may be called while Next runs (run with -race);
// its figure never grows while nothing is sent, and ends at 0.
func TestLagConcurrent(t *testing.T) {
	e := newEnv(t, "")
	k := e.key("s")
	sendShards(e, k, 10)
	c := e.consumer([]driver.StreamKey{k}, driver.ConsumerOptions{AutoStreamReset: driver.ResetEarliest})
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var lagErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		prev := uint64(10)
		for {
			select {
			case <-stop:
				return
			default:
			}
			lags, err := c.Lag(e.ctx)
			if err != nil {
				lagErr = err
				return
			}
			var sum uint64
			for _, l := range lags {
				sum += l.Messages
			}
			if sum > prev {
				lagErr = fmt.Errorf("lag grew from %d to %d", prev, sum)
				return
			}
			prev = sum
		}
	}()
	e.nextN(c, 10)
	close(stop)
	wg.Wait()
	if lagErr != nil {
		t.Fatal(lagErr)
	}
	checkLag(e, c, map[driver.StreamShard]uint64{{Stream: k, Shard: 0}: 0, {Stream: k, Shard: 1}: 0}, "after every message")
}

// TestStreamerLag: (*streamer.Consumer).Lag works on redis://.
func TestStreamerLag(t *testing.T) {
	e := newEnv(t, "")
	k := e.key("s")
	sendShards(e, k, 10)
	s, err := streamer.Open(e.ctx, e.srv.base+"/"+string(k))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(e.ctx)
	c, err := s.NewConsumer(e.ctx, nil, streamer.WithAutoStreamReset(streamer.ResetEarliest))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(e.ctx)
	m, err := c.Next(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	lags, err := c.Lag(e.ctx)
	if err != nil {
		t.Fatalf("Lag: %v", err)
	}
	var sum uint64
	for _, l := range lags {
		sum += l.Messages
	}
	if len(lags) != 2 || sum != 9 {
		t.Fatalf("Lag after reading %s = %v, want 2 shards and 9 messages", m.Header, lags)
	}
}
