package streamertest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/seastream/ss/streamer"
)

// checkHeader checks what every received header must satisfy.
func checkHeader(t *testing.T, m streamer.Message, key streamer.StreamKey) {
	t.Helper()
	if m.StreamKey != key {
		t.Errorf("message %s: stream key %q, want %q", m.Header, m.StreamKey, key)
	}
	if m.Timestamp.IsZero() {
		t.Errorf("message %s: zero timestamp", m.Header)
	}
	if m.Timestamp.Nanosecond()%int(time.Millisecond) != 0 {
		t.Errorf("message %s: timestamp %v has sub-millisecond digits; backends store milliseconds", m.Header, m.Timestamp)
	}
}

func testRoundTrip(t *testing.T, h Harness) {
	e := newEnv(t, h)
	k := e.key(0)
	s := e.open()
	c := e.consumer(s, []streamer.StreamKey{k})
	p := e.producer(s, k)
	if p.Stream() != k {
		t.Fatalf("Producer.Stream() = %q, want %q", p.Stream(), k)
	}
	const n = 50
	receipts := make([]streamer.Receipt, n)
	for i := range n {
		r, err := p.Send(e.ctx, fmt.Appendf(nil, "message-%d", i))
		if err != nil {
			t.Fatalf("Send %d: %v", i, err)
		}
		receipts[i] = r
	}
	if err := p.Flush(e.ctx); err != nil {
		t.Fatalf("Flush: %v", err)
	}
	got := e.nextN(c, n, "messages sent")
	var prev streamer.SeqNo
	for i, m := range got {
		if want := fmt.Sprintf("message-%d", i); string(m.Payload) != want {
			t.Fatalf("message %d: payload %q, want %q", i, m.Payload, want)
		}
		checkHeader(t, m, k)
		if m.Shard != 0 {
			t.Errorf("message %d: shard %d, want 0", i, m.Shard)
		}
		if i > 0 && m.Seq <= prev {
			t.Errorf("message %d: seq %d not after %d", i, m.Seq, prev)
		}
		prev = m.Seq
		rh := e.wait(receipts[i])
		if rh.StreamKey != m.StreamKey || rh.Shard != m.Shard || rh.Seq != m.Seq || !rh.Timestamp.Equal(m.Timestamp) {
			t.Errorf("message %d: receipt %s differs from received header %s", i, rh, m.Header)
		}
	}
}

func testURIStreamKeys(t *testing.T, h Harness) {
	e := newEnv(t, h)
	k := e.key(0)
	s := e.open(k)
	p := e.producer(s, "")
	if p.Stream() != k {
		t.Fatalf("producer on a URI with stream %q: Stream() = %q", k, p.Stream())
	}
	c := e.consumer(s, nil)
	if got := c.Streams(); !slices.Equal(got, []streamer.StreamKey{k}) {
		t.Fatalf("consumer on a URI with stream %q: Streams() = %q", k, got)
	}
	for i := range 3 {
		e.send(p, k, fmt.Appendf(nil, "u%d", i))
	}
	for i, m := range e.nextN(c, 3, "messages sent") {
		if want := fmt.Sprintf("u%d", i); string(m.Payload) != want || m.StreamKey != k {
			t.Fatalf("got %s %q, want %q on %q", m.Header, m.Payload, want, k)
		}
	}

	s2 := e.open(e.key(1), e.key(2))
	p2 := e.producer(s2, "")
	if p2.Stream() != "" {
		t.Fatalf("producer on a URI with two streams: Stream() = %q, want none", p2.Stream())
	}
	if _, err := p2.Send(e.ctx, []byte("x")); !errors.Is(err, streamer.ErrNotAnchored) {
		t.Fatalf("Send without a stream: %v, want ErrNotAnchored", err)
	}
}

func testTextAndJSON(t *testing.T, h Harness) {
	e := newEnv(t, h)
	k := e.key(0)
	s := e.open()
	c := e.consumer(s, []streamer.StreamKey{k})
	p := e.producer(s, k)
	texts := []string{"héllo, 世界 🌊", `{"tick":42,"name":"clock"}`, "tab\tand | pipes [x]"}
	for _, s := range texts {
		e.send(p, k, []byte(s))
	}
	got := e.nextN(c, len(texts), "text messages")
	for i, m := range got {
		txt, err := m.Text()
		if err != nil || txt != texts[i] {
			t.Errorf("message %d: Text() = %q, %v; want %q", i, txt, err, texts[i])
		}
	}
	var v struct {
		Tick int
		Name string
	}
	if err := got[1].DecodeJSON(&v); err != nil || v.Tick != 42 || v.Name != "clock" {
		t.Errorf("DecodeJSON = %+v, %v", v, err)
	}
}

// testBufferReuse checks that Send does not keep the caller's slice.
func testBufferReuse(t *testing.T, h Harness) {
	e := newEnv(t, h)
	k := e.key(0)
	s := e.open()
	c := e.consumer(s, []streamer.StreamKey{k})
	p := e.producer(s, k)
	buf := make([]byte, 8)
	const n = 20
	for i := range n {
		copy(buf, fmt.Sprintf("buf-%04d", i))
		e.send(p, k, buf)
		copy(buf, "XXXXXXXX") // the caller reuses its buffer at once
	}
	for i, m := range e.nextN(c, n, "messages sent from a reused buffer") {
		if want := fmt.Sprintf("buf-%04d", i); string(m.Payload) != want {
			t.Fatalf("message %d: %q, want %q: the backend kept the caller's slice", i, m.Payload, want)
		}
	}
}

func testBinaryPayloads(t *testing.T, h Harness) {
	h.needs(t, h.Caps.Binary, "Binary")
	e := newEnv(t, h)
	k := e.key(0)
	s := e.open()
	c := e.consumer(s, []streamer.StreamKey{k})
	p := e.producer(s, k)
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	want := [][]byte{all, {}, []byte("\n"), []byte("\r\n"), {0}, {0xff, 0xfe, 0xfd}, bytes.Repeat([]byte{0x0d}, 300)}
	for i := range 256 {
		want = append(want, []byte{byte(i)})
	}
	for _, w := range want {
		e.send(p, k, w)
	}
	for i, m := range e.nextN(c, len(want), "binary messages") {
		if !bytes.Equal(m.Payload, want[i]) {
			t.Fatalf("message %d: payload %x, want %x", i, m.Payload, want[i])
		}
	}
}

func testLargePayload(t *testing.T, h Harness) {
	h.needs(t, h.Caps.Binary, "Binary")
	e := newEnv(t, h)
	size := h.Caps.MaxPayload
	if size == 0 {
		size = 1 << 20
	}
	k := e.key(0)
	s := e.open()
	c := e.consumer(s, []streamer.StreamKey{k})
	p := e.producer(s, k)
	rng := rand.New(rand.NewPCG(1, 2))
	var want [][]byte
	for _, n := range []int{size, size / 3, size} {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		want = append(want, b)
		e.send(p, k, b)
	}
	for i, m := range e.nextN(c, len(want), "large messages") {
		if !bytes.Equal(m.Payload, want[i]) {
			t.Fatalf("large message %d: %d bytes received differ from the %d sent", i, len(m.Payload), len(want[i]))
		}
	}
}

func testOrderPerStreamShard(t *testing.T, h Harness) {
	e := newEnv(t, h)
	keys := []streamer.StreamKey{e.key(0), e.key(1)}
	shards := []streamer.ShardID{0}
	if h.Caps.Shards {
		shards = []streamer.ShardID{0, 1, 2}
	}
	s := e.open()
	c := e.consumer(s, keys)
	p := e.producer(s, "")
	const per = 40
	for i := range per {
		for _, k := range keys {
			for _, sh := range shards {
				e.send(p, k, fmt.Appendf(nil, "%s|%d|%d", k, sh, i), streamer.WithShard(sh))
			}
		}
	}
	total := per * len(keys) * len(shards)
	next := map[streamer.StreamShard]int{}
	lastSeq := map[streamer.StreamShard]streamer.SeqNo{}
	for _, m := range e.nextN(c, total, "messages over streams and shards") {
		ss := m.StreamShard()
		want := fmt.Sprintf("%s|%d|%d", m.StreamKey, m.Shard, next[ss])
		if string(m.Payload) != want {
			t.Fatalf("(stream, shard) %s: got %q, want %q: order or routing broken", ss, m.Payload, want)
		}
		if next[ss] > 0 && m.Seq <= lastSeq[ss] {
			t.Fatalf("(stream, shard) %s: seq %d not after %d", ss, m.Seq, lastSeq[ss])
		}
		next[ss]++
		lastSeq[ss] = m.Seq
	}
	for _, k := range keys {
		for _, sh := range shards {
			if got := next[streamer.StreamShard{Stream: k, Shard: sh}]; got != per {
				t.Errorf("(stream, shard) %s/%d: %d messages, want %d", k, sh, got, per)
			}
		}
	}
}

func testConcurrentProducers(t *testing.T, h Harness) {
	e := newEnv(t, h)
	k := e.key(0)
	s := e.open()
	consumers := []*streamer.Consumer{e.consumer(s, []streamer.StreamKey{k}), e.consumer(e.another(s), []streamer.StreamKey{k})}
	shared := e.producer(s, k)
	producers := []*streamer.Producer{shared, shared, e.producer(s, k), e.producer(e.another(s), k)}
	const per = 200
	total := per * len(producers)

	var wg sync.WaitGroup
	results := make([][]streamer.Message, len(consumers))
	for ci, c := range consumers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range total {
				m, err := c.Next(e.ctx)
				if err != nil {
					t.Errorf("consumer %d: Next after %d messages: %v", ci, len(results[ci]), err)
					return
				}
				results[ci] = append(results[ci], m.Clone())
			}
		}()
	}
	for g, p := range producers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range per {
				if _, err := p.Send(e.ctx, fmt.Appendf(nil, "%d-%d", g, i)); err != nil {
					t.Errorf("producer goroutine %d: Send %d: %v", g, i, err)
					return
				}
			}
			if err := p.Flush(e.ctx); err != nil {
				t.Errorf("producer goroutine %d: Flush: %v", g, err)
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	for ci, got := range results {
		next := make([]int, len(producers))
		for _, m := range got {
			var g, i int
			if _, err := fmt.Sscanf(string(m.Payload), "%d-%d", &g, &i); err != nil || g < 0 || g >= len(producers) {
				t.Fatalf("consumer %d: unexpected payload %q", ci, m.Payload)
			}
			if i != next[g] {
				t.Fatalf("consumer %d: goroutine %d's message %d arrived when %d was expected (lost, duplicated or reordered)", ci, g, i, next[g])
			}
			next[g]++
		}
	}
}

func testConcurrentNext(t *testing.T, h Harness) {
	e := newEnv(t, h)
	k := e.key(0)
	s := e.open()
	c := e.consumer(s, []streamer.StreamKey{k})
	p := e.producer(s, k)
	const n = 400
	var mu sync.Mutex
	seen := map[string]int{}
	all := make(chan struct{})
	ctx, cancel := context.WithCancel(e.ctx)
	defer cancel()
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				m, err := c.Next(ctx)
				if err != nil {
					if ctx.Err() == nil {
						t.Errorf("Next: %v", err)
					}
					return
				}
				mu.Lock()
				seen[string(m.Payload)]++
				if seen[string(m.Payload)] == 1 && len(seen) == n {
					close(all)
				}
				mu.Unlock()
			}
		}()
	}
	for i := range n {
		e.send(p, k, fmt.Appendf(nil, "c%d", i))
	}
	select {
	case <-all:
	case <-e.ctx.Done():
		mu.Lock()
		t.Errorf("timed out with %d of %d messages received", len(seen), n)
		mu.Unlock()
	}
	cancel()
	wg.Wait()
	for p, count := range seen {
		if count != 1 {
			t.Errorf("message %q received %d times by concurrent Next calls", p, count)
		}
	}
	// Cancelling the Next calls lost nothing and left nothing behind.
	e.send(p, k, []byte("after"))
	if m := e.next(c, "the message sent after cancelling"); string(m.Payload) != "after" {
		t.Fatalf("after cancelling concurrent Next calls, got %q, want %q", m.Payload, "after")
	}
}

// testSlowConsumer checks that a consumer that reads nothing does not stall
// another one, even past the default prefetch bound, and loses nothing.
func testSlowConsumer(t *testing.T, h Harness) {
	e := newEnv(t, h)
	k := e.key(0)
	s := e.open()
	slow := e.consumer(s, []streamer.StreamKey{k})
	fast := e.consumer(e.another(s), []streamer.StreamKey{k})
	p := e.producer(s, k)
	const n = 2500
	done := make(chan error, 1)
	go func() {
		for i := range n {
			m, err := fast.Next(e.ctx)
			if err != nil {
				done <- fmt.Errorf("fast consumer: Next %d: %w", i, err)
				return
			}
			if want := fmt.Sprintf("s%d", i); string(m.Payload) != want {
				done <- fmt.Errorf("fast consumer: got %q, want %q", m.Payload, want)
				return
			}
		}
		done <- nil
	}()
	for i := range n {
		e.send(p, k, fmt.Appendf(nil, "s%d", i))
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	for i, m := range e.nextN(slow, n, "messages for the slow consumer") {
		if want := fmt.Sprintf("s%d", i); string(m.Payload) != want {
			t.Fatalf("slow consumer: got %q, want %q", m.Payload, want)
		}
	}
}

func testFlush(t *testing.T, h Harness) {
	e := newEnv(t, h)
	k := e.key(0)
	p := e.producer(e.open(), k)
	var rs []streamer.Receipt
	for i := range 30 {
		rs = append(rs, e.send(p, k, fmt.Appendf(nil, "f%d", i)))
	}
	if err := p.Flush(e.ctx); err != nil {
		t.Fatalf("Flush: %v", err)
	}
	done, cancel := context.WithCancel(context.Background())
	cancel()
	var prev streamer.SeqNo
	for i, r := range rs {
		hd, err := r.Wait(done)
		if err != nil {
			t.Fatalf("receipt %d after Flush: Wait with a cancelled ctx = %v; a flushed message's receipt must be resolved", i, err)
		}
		if hd.StreamKey != k || (i > 0 && hd.Seq <= prev) || hd.Timestamp.IsZero() {
			t.Fatalf("receipt %d: header %s", i, hd)
		}
		prev = hd.Seq
	}
}
