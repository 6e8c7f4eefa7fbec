package redis

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/seastream/ss/streamer/driver"
)

func sendN(e *env, p *Producer, h driver.Header, prefix string, n int) []driver.Header {
	e.t.Helper()
	pend := make([]driver.Pending, n)
	for i := range n {
		var err error
		if pend[i], err = p.Send(e.ctx, h, []byte(prefix+strconv.Itoa(i))); err != nil {
			e.t.Fatal(err)
		}
	}
	hs := make([]driver.Header, n)
	for i, pe := range pend {
		var err error
		if hs[i], err = pe.Wait(e.ctx); err != nil {
			e.t.Fatal(err)
		}
	}
	return hs
}

func wantPayloads(t *testing.T, got []driver.Message, prefix string, from, n int) {
	t.Helper()
	if len(got) != n {
		t.Fatalf("%d messages, want %d", len(got), n)
	}
	for i, m := range got {
		if want := prefix + strconv.Itoa(from+i); string(m.Payload) != want {
			t.Fatalf("message %d: %q, want %q", i, m.Payload, want)
		}
	}
}

// A RealTime consumer starts after the last entry (ResetLatest) and sees
// exactly what the producer's receipts say.
func TestRealTimeLatest(t *testing.T) {
	e := newEnv(t, "")
	k := e.key("s")
	p := e.producer(driver.ProducerOptions{})
	sendN(e, p, driver.Header{StreamKey: k}, "old", 5)
	c := e.consumer([]driver.StreamKey{k}, driver.ConsumerOptions{})
	hs := sendN(e, p, driver.Header{StreamKey: k}, "new", 2500)
	got := e.nextN(c, 2500)
	wantPayloads(t, got, "new", 0, 2500)
	for i, m := range got {
		if m.Header != hs[i] {
			t.Fatalf("message %d: header %s, receipt %s", i, m.Header, hs[i])
		}
	}
	e.nothingWithin(c, 50*time.Millisecond)
}

// A consumer created on a stream that does not exist yet misses nothing.
func TestRealTimeMissingStream(t *testing.T) {
	e := newEnv(t, "")
	k := e.key("s")
	c := e.consumer([]driver.StreamKey{k}, driver.ConsumerOptions{})
	p := e.producer(driver.ProducerOptions{})
	sendN(e, p, driver.Header{StreamKey: k}, "m", 3)
	wantPayloads(t, e.nextN(c, 3), "m", 0, 3)
}

func TestRealTimeEarliestAndReplay(t *testing.T) {
	e := newEnv(t, "")
	k1, k2 := e.key("a"), e.key("b")
	p := e.producer(driver.ProducerOptions{})
	sendN(e, p, driver.Header{StreamKey: k1}, "a", 30)
	sendN(e, p, driver.Header{StreamKey: k2}, "b", 20)
	c := e.consumer([]driver.StreamKey{k1, k2}, driver.ConsumerOptions{AutoStreamReset: driver.ResetEarliest})
	got := e.nextN(c, 50)
	byStream := map[driver.StreamKey][]driver.Message{}
	for _, m := range got {
		byStream[m.StreamKey] = append(byStream[m.StreamKey], m)
	}
	wantPayloads(t, byStream[k1], "a", 0, 30)
	wantPayloads(t, byStream[k2], "b", 0, 20)

	r := e.consumer([]driver.StreamKey{k1, k2, e.key("missing")}, driver.ConsumerOptions{AutoStreamReset: driver.ResetEarliest, Replay: true, Prefetch: 7})
	sendN(e, p, driver.Header{StreamKey: k1}, "late", 5) // after the replay's end
	n := 0
	for {
		m, err := r.Next(e.ctx)
		if errors.Is(err, driver.ErrStreamEnded) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if string(m.Payload[:1]) == "l" {
			t.Fatalf("replay returned %q, sent after it started", m.Payload)
		}
		n++
	}
	if n != 50 {
		t.Fatalf("replay returned %d messages, want 50", n)
	}
	if _, err := r.Next(e.ctx); !errors.Is(err, driver.ErrStreamEnded) {
		t.Fatalf("Next after the end: %v", err)
	}
	// Rewinding a replay replays it again.
	if err := r.Rewind(e.ctx, driver.SeqBeginning()); err != nil {
		t.Fatal(err)
	}
	if got := e.nextN(r, 50); len(got) != 50 {
		t.Fatal("no replay after Rewind")
	}
	if _, err := r.Next(e.ctx); !errors.Is(err, driver.ErrStreamEnded) {
		t.Fatalf("Next after the end: %v", err)
	}
}

// A cancelled Next loses nothing: the next call gets the message.
func TestNextCancellation(t *testing.T) {
	e := newEnv(t, "")
	k := e.key("s")
	c := e.consumer([]driver.StreamKey{k}, driver.ConsumerOptions{})
	ctx, cancel := context.WithCancel(e.ctx)
	errc := make(chan error, 1)
	go func() {
		_, err := c.Next(ctx)
		errc <- err
	}()
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("Next: %v, want context.Canceled", err)
	}
	p := e.producer(driver.ProducerOptions{})
	sendN(e, p, driver.Header{StreamKey: k}, "m", 1)
	wantPayloads(t, e.nextN(c, 1), "m", 0, 1)
}

// Close makes a blocked Next return ErrClosed, and every later call too.
func TestConsumerClose(t *testing.T) {
	e := newEnv(t, "heartbeat=1h") // the read would block for an hour
	k := e.key("s")
	c := e.consumer([]driver.StreamKey{k}, driver.ConsumerOptions{})
	errc := make(chan error, 1)
	go func() {
		_, err := c.Next(e.ctx)
		errc <- err
	}()
	start := time.Now()
	if err := c.Close(e.ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; !errors.Is(err, driver.ErrClosed) {
		t.Fatalf("blocked Next: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("Close took %v", d)
	}
	if _, err := c.Next(e.ctx); !errors.Is(err, driver.ErrClosed) {
		t.Fatalf("Next after Close: %v", err)
	}
	if err := c.Seek(e.ctx, time.Now()); !errors.Is(err, driver.ErrClosed) {
		t.Fatalf("Seek after Close: %v", err)
	}
	if err := c.Close(e.ctx); !errors.Is(err, driver.ErrClosed) {
		t.Fatalf("Close twice: %v", err)
	}
}

// Seek by time and Rewind by id, on a consumer blocked in a long read.
func TestSeekAndRewind(t *testing.T) {
	e := newEnv(t, "heartbeat=1h")
	k := e.key("s")
	p := e.producer(driver.ProducerOptions{})
	t0 := time.UnixMilli(1_700_000_000_000)
	var hs []driver.Header
	for i := range 10 {
		// two messages per millisecond: 0,0,1,1,2,2... ms after t0
		hs = append(hs, e.send(p, driver.Header{StreamKey: k, Timestamp: t0.Add(time.Duration(i/2) * time.Millisecond)}, strconv.Itoa(i)))
	}
	c := e.consumer([]driver.StreamKey{k}, driver.ConsumerOptions{})
	e.nothingWithin(c, 20*time.Millisecond)

	// Later than t0+2ms (and its sub-millisecond part): from message 6.
	if err := c.Seek(e.ctx, t0.Add(2*time.Millisecond+300*time.Microsecond)); err != nil {
		t.Fatal(err)
	}
	wantPayloads(t, e.nextN(c, 4), "", 6, 4)

	if err := c.Rewind(e.ctx, driver.SeqAt(hs[3].Seq)); err != nil {
		t.Fatal(err)
	}
	wantPayloads(t, e.nextN(c, 7), "", 3, 7)

	if err := c.Rewind(e.ctx, driver.SeqBeginning()); err != nil {
		t.Fatal(err)
	}
	wantPayloads(t, e.nextN(c, 2), "", 0, 2)

	if err := c.Rewind(e.ctx, driver.SeqEnd()); err != nil {
		t.Fatal(err)
	}
	e.nothingWithin(c, 20*time.Millisecond)
	e.send(p, driver.Header{StreamKey: k}, "after end")
	if m := e.next(c, "a new message"); string(m.Payload) != "after end" {
		t.Fatalf("after Rewind(End): %q", m.Payload)
	}
	// Seek before 1970 starts at the beginning.
	if err := c.Seek(e.ctx, time.Unix(-10, 0)); err != nil {
		t.Fatal(err)
	}
	wantPayloads(t, e.nextN(c, 1), "", 0, 1)
}

// Seek drops what was read ahead, even when Next is blocked meanwhile.
func TestSeekWhileNextBlocked(t *testing.T) {
	e := newEnv(t, "heartbeat=1h")
	k := e.key("s")
	p := e.producer(driver.ProducerOptions{})
	c := e.consumer([]driver.StreamKey{k}, driver.ConsumerOptions{})
	got := make(chan string, 1)
	go func() {
		m, err := c.Next(e.ctx)
		if err != nil {
			got <- err.Error()
			return
		}
		got <- string(m.Payload)
	}()
	h := e.send(p, driver.Header{StreamKey: k}, "first")
	if s := <-got; s != "first" {
		t.Fatalf("got %q", s)
	}
	sendN(e, p, driver.Header{StreamKey: k}, "m", 5)
	if err := c.Rewind(e.ctx, driver.SeqAt(h.Seq)); err != nil {
		t.Fatal(err)
	}
	if m := e.next(c, "first again"); string(m.Payload) != "first" {
		t.Fatalf("after Rewind: %q", m.Payload)
	}
}

func TestShards(t *testing.T) {
	e := newEnv(t, "discover_interval=20ms")
	k, other := e.key("s"), e.key("t")
	p := e.producer(driver.ProducerOptions{})
	e.send(p, driver.Header{StreamKey: k, Shard: 0}, "0/before")
	e.send(p, driver.Header{StreamKey: k, Shard: 2}, "2/before")
	e.send(p, driver.Header{StreamKey: other, Shard: 1}, "other")
	c := e.consumer([]driver.StreamKey{k}, driver.ConsumerOptions{AutoStreamReset: driver.ResetEarliest})
	got := payloads(e.nextN(c, 2))
	slices.Sort(got)
	if !slices.Equal(got, []string{"0/before", "2/before"}) {
		t.Fatalf("got %q", got)
	}
	// A shard that appears later is found (by the periodic SCAN) and read
	// from its beginning.
	e.send(p, driver.Header{StreamKey: k, Shard: 5}, "5/new")
	if m := e.next(c, "the new shard"); string(m.Payload) != "5/new" || m.Shard != 5 || m.StreamKey != k {
		t.Fatalf("got %s %q", m.Header, m.Payload)
	}

	// Unassign narrows at the next Rewind; Assign widens again.
	if err := c.Unassign(k, 2); err != nil {
		t.Fatal(err)
	}
	if err := c.Unassign(k, 2); !errors.Is(err, driver.ErrConsumerNotAssigned) {
		t.Fatalf("Unassign twice: %v", err)
	}
	if err := c.Unassign(other, 0); !errors.Is(err, driver.ErrStreamKeyNotFound) {
		t.Fatalf("Unassign of another stream: %v", err)
	}
	if err := c.Assign(other, 0); !errors.Is(err, driver.ErrStreamKeyNotFound) {
		t.Fatalf("Assign of another stream: %v", err)
	}
	if err := c.Rewind(e.ctx, driver.SeqBeginning()); err != nil {
		t.Fatal(err)
	}
	got = payloads(e.nextN(c, 2))
	slices.Sort(got)
	if !slices.Equal(got, []string{"0/before", "5/new"}) {
		t.Fatalf("without shard 2: %q", got)
	}
	e.nothingWithin(c, 50*time.Millisecond)
	if err := c.Unassign(k, 0); err != nil {
		t.Fatal(err)
	}
	if err := c.Unassign(k, 5); !errors.Is(err, driver.ErrStreamKeyEmpty) {
		t.Fatalf("Unassign of the last shard: %v", err)
	}
	if err := c.Assign(k, 2); err != nil {
		t.Fatal(err)
	}
	if err := c.Rewind(e.ctx, driver.SeqBeginning()); err != nil {
		t.Fatal(err)
	}
	got = payloads(e.nextN(c, 2))
	slices.Sort(got)
	if !slices.Equal(got, []string{"2/before", "5/new"}) {
		t.Fatalf("shards 2 and 5: %q", got)
	}
}

// SeaStreamer's sharders write "<stream>:0": it is read as shard 0; a stream
// with both "<stream>" and "<stream>:0" is refused.
func TestShardZeroKeys(t *testing.T) {
	e := newEnv(t, "")
	k := e.key("s")
	ps := e.producer(driver.ProducerOptions{Extra: []any{WithShardZeroSuffix(true)}})
	e.send(ps, driver.Header{StreamKey: k}, "zero")
	e.send(ps, driver.Header{StreamKey: k, Shard: 1}, "one")
	c := e.consumer([]driver.StreamKey{k}, driver.ConsumerOptions{AutoStreamReset: driver.ResetEarliest})
	got := e.nextN(c, 2)
	for _, m := range got {
		if want := map[driver.ShardID]string{0: "zero", 1: "one"}[m.Shard]; string(m.Payload) != want {
			t.Fatalf("shard %d: %q", m.Shard, m.Payload)
		}
	}
	p := e.producer(driver.ProducerOptions{})
	e.send(p, driver.Header{StreamKey: k}, "plain")
	_, err := e.conn.NewConsumer(e.ctx, []driver.StreamKey{k}, driver.ConsumerOptions{})
	if !errors.Is(err, ErrShardConflict) {
		t.Fatalf("NewConsumer: %v, want ErrShardConflict", err)
	}
}

// Entries written by others: without the payload field they are skipped;
// with an id that does not fit a sequence number Next reports it and goes on.
func TestForeignEntries(t *testing.T) {
	e := newEnv(t, "")
	k := string(e.key("s"))
	add := func(id string, fields ...any) {
		if err := e.client.XAdd(e.ctx, &goredis.XAddArgs{Stream: k, ID: id, Values: fields}).Err(); err != nil {
			t.Fatal(err)
		}
	}
	add("5-1", "msg", "first")
	add("5-2", "other", "skipped")
	add("5-70000", "msg", "too many in one ms")
	add("6-0", "msg", "last", "extra", "ignored")
	c := e.consumer([]driver.StreamKey{driver.StreamKey(k)}, driver.ConsumerOptions{AutoStreamReset: driver.ResetEarliest})
	if m := e.next(c, "first"); string(m.Payload) != "first" || m.Seq != 5<<16|1 || !m.Timestamp.Equal(time.UnixMilli(5)) {
		t.Fatalf("got %s %q", m.Header, m.Payload)
	}
	_, err := c.Next(e.ctx)
	var ie *IDError
	if !errors.Is(err, ErrIDRange) || !errors.As(err, &ie) || ie.ID != "5-70000" || ie.Stream != driver.StreamKey(k) {
		t.Fatalf("Next: %v, want an *IDError for 5-70000", err)
	}
	if m := e.next(c, "last"); string(m.Payload) != "last" {
		t.Fatalf("got %q", m.Payload)
	}
}

// Messages of one producer per stream arrive in order with several streams
// and a small prefetch, and a slow reader of one stream does not lose any.
func TestManyStreamsOrder(t *testing.T) {
	e := newEnv(t, "")
	keys := []driver.StreamKey{e.key("a"), e.key("b"), e.key("c")}
	c := e.consumer(keys, driver.ConsumerOptions{Prefetch: 5})
	p := e.producer(driver.ProducerOptions{})
	const n = 400
	var wg sync.WaitGroup
	for _, k := range keys {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range n {
				if _, err := p.Send(e.ctx, driver.Header{StreamKey: k}, []byte(strconv.Itoa(i))); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err := p.Flush(e.ctx); err != nil {
		t.Fatal(err)
	}
	next := map[driver.StreamKey]int{}
	for range n * len(keys) {
		m := e.next(c, "messages")
		if want := strconv.Itoa(next[m.StreamKey]); string(m.Payload) != want {
			t.Fatalf("%s: %q, want %q", m.StreamKey, m.Payload, want)
		}
		next[m.StreamKey]++
	}
	e.nothingWithin(c, 20*time.Millisecond)
}

func TestConsumerOptionsRefused(t *testing.T) {
	e := newEnv(t, "")
	k := e.key("s")
	cases := []struct {
		opts driver.ConsumerOptions
		keys []driver.StreamKey
		want error
	}{
		{driver.ConsumerOptions{}, []driver.StreamKey{driver.Wildcard}, driver.ErrUnsupported},
		{driver.ConsumerOptions{Mode: driver.LoadBalanced, Group: "g", Replay: true, AutoStreamReset: driver.ResetEarliest}, []driver.StreamKey{k}, driver.ErrUnsupported},
		{driver.ConsumerOptions{Extra: []any{WithBatchSize(3)}}, []driver.StreamKey{k}, driver.ErrInvalidOption},
		{driver.ConsumerOptions{Extra: []any{"nope"}}, []driver.StreamKey{k}, driver.ErrUnknownOption},
		{driver.ConsumerOptions{Extra: []any{WithHeartbeat(0)}}, []driver.StreamKey{k}, driver.ErrInvalidOption},
		{lb("g", WithAutoClaim(time.Second, time.Second)), []driver.StreamKey{k}, driver.ErrInvalidOption}, // idle <= heartbeat
	}
	for i, c := range cases {
		_, err := e.conn.NewConsumer(e.ctx, c.keys, c.opts)
		if !errors.Is(err, c.want) {
			t.Errorf("case %d: %v, want %v", i, err, c.want)
		}
	}
}

func ExampleIDFromSeqNo() {
	id := IDFromSeqNo(1678280595282<<16 | 7)
	fmt.Println(id, id.Time().Format(driver.TimestampFormat))
	// Output: 1678280595282-7 2023-03-08T13:03:15.282
}
