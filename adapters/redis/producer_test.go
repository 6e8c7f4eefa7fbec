package redis

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/seastream/ss/streamer/driver"
)

// entries reads a Redis key back with XRANGE.
func (e *env) entries(key string) []goredis.XMessage {
	e.t.Helper()
	ms, err := e.client.XRange(e.ctx, key, "-", "+").Result()
	if err != nil {
		e.t.Fatalf("XRANGE %s: %v", key, err)
	}
	return ms
}

func TestProducerRoundTrip(t *testing.T) {
	e := newEnv(t, "")
	k := e.key("s")
	p := e.producer(driver.ProducerOptions{})
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	payloads := [][]byte{[]byte("hello"), {}, all, bytes.Repeat([]byte("x\n\r\x00"), 1<<16)}
	var pend []driver.Pending
	for _, pl := range payloads {
		pe, err := p.Send(e.ctx, driver.Header{StreamKey: k}, pl)
		if err != nil {
			t.Fatal(err)
		}
		pend = append(pend, pe)
	}
	if err := p.Flush(e.ctx); err != nil {
		t.Fatal(err)
	}
	got := e.entries(string(k))
	if len(got) != len(payloads) {
		t.Fatalf("%d entries, want %d", len(got), len(payloads))
	}
	var prev driver.SeqNo
	for i, m := range got {
		if v := m.Values[DefaultField]; v != string(payloads[i]) {
			t.Errorf("entry %d: payload %q, want %q", i, v, payloads[i])
		}
		h, err := pend[i].Wait(e.ctx)
		if err != nil {
			t.Fatalf("receipt %d: %v", i, err)
		}
		id, _ := ParseID(m.ID)
		seq, _ := id.SeqNo()
		if h.StreamKey != k || h.Shard != 0 || h.Seq != seq || !h.Timestamp.Equal(id.Time()) {
			t.Errorf("receipt %d: %s, want seq %d (id %s)", i, h, seq, m.ID)
		}
		if h.Seq <= prev {
			t.Errorf("receipt %d: seq %d not after %d", i, h.Seq, prev)
		}
		prev = h.Seq
	}
}

// Payloads are copied by Send: changing the slice afterwards changes nothing.
func TestProducerCopiesPayload(t *testing.T) {
	e := newEnv(t, "")
	k := e.key("s")
	p := e.producer(driver.ProducerOptions{})
	buf := []byte("first")
	for i := range 100 {
		copy(buf, fmt.Sprintf("m%04d", i))
		if _, err := p.Send(e.ctx, driver.Header{StreamKey: k}, buf); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Flush(e.ctx); err != nil {
		t.Fatal(err)
	}
	for i, m := range e.entries(string(k)) {
		if want := fmt.Sprintf("m%04d", i); m.Values[DefaultField] != want {
			t.Fatalf("entry %d: %q, want %q", i, m.Values[DefaultField], want)
		}
	}
}

// Many goroutines send at once: nothing is lost or stored twice, and each
// goroutine's messages keep their order.
func TestProducerConcurrentSends(t *testing.T) {
	e := newEnv(t, "", WithBatchSize(7))
	k := e.key("s")
	p := e.producer(driver.ProducerOptions{})
	const writers, each = 8, 300
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				if _, err := p.Send(e.ctx, driver.Header{StreamKey: k}, []byte(fmt.Sprintf("%d/%d", w, i))); err != nil {
					errs <- err
					return
				}
				if i%100 == 0 {
					if err := p.Flush(e.ctx); err != nil {
						errs <- err
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if err := p.Flush(e.ctx); err != nil {
		t.Fatal(err)
	}
	next := make([]int, writers)
	got := e.entries(string(k))
	for _, m := range got {
		var w, i int
		if _, err := fmt.Sscanf(m.Values[DefaultField].(string), "%d/%d", &w, &i); err != nil {
			t.Fatal(err)
		}
		if i != next[w] {
			t.Fatalf("writer %d: message %d after %d", w, i, next[w]-1)
		}
		next[w]++
	}
	if len(got) != writers*each {
		t.Fatalf("%d entries, want %d", len(got), writers*each)
	}
}

// An explicit timestamp becomes the id's millisecond (SeaStreamer ignores it).
func TestProducerExplicitTimestamp(t *testing.T) {
	e := newEnv(t, "")
	k := e.key("s")
	p := e.producer(driver.ProducerOptions{})
	ts := time.Date(2023, 6, 5, 13, 55, 53, 1_900_000, time.UTC) // sub-ms digits are dropped
	var hs []driver.Header
	for i := range 3 {
		hs = append(hs, e.send(p, driver.Header{StreamKey: k, Timestamp: ts}, strconv.Itoa(i)))
	}
	for i, h := range hs {
		want := ID{Ms: uint64(ts.UnixMilli()), Seq: uint64(i)}
		if IDFromSeqNo(h.Seq) != want || !h.Timestamp.Equal(ts.Truncate(time.Millisecond)) {
			t.Errorf("receipt %d: %s (id %s), want id %s", i, h, IDFromSeqNo(h.Seq), want)
		}
	}
	got := e.entries(string(k))
	if got[0].ID != fmt.Sprintf("%d-0", ts.UnixMilli()) {
		t.Errorf("first id %s", got[0].ID)
	}
	if _, err := p.Send(e.ctx, driver.Header{StreamKey: k, Timestamp: time.Unix(-1, 0)}, nil); !errors.Is(err, driver.ErrInvalidOption) {
		t.Errorf("timestamp before 1970: %v, want ErrInvalidOption", err)
	}
}

// Redis refuses an id older than the stream's last one: the message fails
// with ErrTimestampOrder, the others are stored in order.
func TestProducerLateTimestampRejected(t *testing.T) {
	srv := newServer(t)
	srv.needReal(t, "miniredis accepts XADD <ms>-* below the last id")
	e := srv.env(t, "")
	k := e.key("s")
	p := e.producer(driver.ProducerOptions{})
	t0 := time.UnixMilli(1_700_000_000_000)
	var pend []driver.Pending
	for i, ts := range []time.Time{t0, t0.Add(-time.Second), t0.Add(time.Second)} {
		pe, err := p.Send(e.ctx, driver.Header{StreamKey: k, Timestamp: ts}, []byte(strconv.Itoa(i)))
		if err != nil {
			t.Fatal(err)
		}
		pend = append(pend, pe)
	}
	err := p.Flush(e.ctx)
	var te *TimestampError
	if !errors.Is(err, ErrTimestampOrder) || !errors.As(err, &te) || te.Key != string(k) {
		t.Fatalf("Flush: %v, want a *TimestampError", err)
	}
	if _, err := pend[1].Wait(e.ctx); !errors.Is(err, ErrTimestampOrder) {
		t.Fatalf("late message: %v", err)
	}
	for _, i := range []int{0, 2} {
		if _, err := pend[i].Wait(e.ctx); err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
	}
	if n := len(e.entries(string(k))); n != 2 {
		t.Fatalf("%d entries, want 2", n)
	}
	if err := p.Flush(e.ctx); err != nil {
		t.Fatalf("second Flush reports the failure again: %v", err)
	}
}

// With late_timestamps=clamp a late message takes the last millisecond.
func TestProducerLateTimestampClamped(t *testing.T) {
	e := newEnv(t, "late_timestamps=clamp")
	k := e.key("s")
	p := e.producer(driver.ProducerOptions{})
	t0 := time.UnixMilli(1_700_000_000_000)
	stamps := []time.Time{t0, t0.Add(-time.Second), t0.Add(time.Second), {}}
	var hs []driver.Header
	for i, ts := range stamps {
		hs = append(hs, e.send(p, driver.Header{StreamKey: k, Timestamp: ts}, strconv.Itoa(i)))
	}
	want := []time.Time{t0, t0, t0.Add(time.Second)}
	for i := range want {
		if !hs[i].Timestamp.Equal(want[i]) {
			t.Errorf("message %d stored at %v, want %v", i, hs[i].Timestamp, want[i])
		}
	}
	got := e.entries(string(k))
	if len(got) != 4 {
		t.Fatalf("%d entries", len(got))
	}
	for i, m := range got {
		if m.Values[DefaultField] != strconv.Itoa(i) {
			t.Fatalf("order: entry %d is %v", i, m.Values)
		}
	}
	// Trimming still applies inside the script.
	e2 := newEnvOn(t, e.srv, "late_timestamps=clamp&maxlen=2&exact_trim=true")
	p2 := e2.producer(driver.ProducerOptions{})
	for i := range 5 {
		e2.send(p2, driver.Header{StreamKey: k, Timestamp: t0.Add(time.Duration(i) * time.Hour)}, "x")
	}
	if n := len(e.entries(string(k))); n != 2 {
		t.Fatalf("after trimming: %d entries, want 2", n)
	}
}

func newEnvOn(t *testing.T, srv *server, query string, extra ...any) *env {
	return srv.env(t, query, extra...)
}

// A verbatim header that is a packed id is stored with exactly that id.
func TestProducerVerbatim(t *testing.T) {
	e := newEnv(t, "")
	k := e.key("s")
	p := e.producer(driver.ProducerOptions{Verbatim: true})
	id := ID{Ms: 1_700_000_000_123, Seq: 42}
	seq, _ := id.SeqNo()
	h := e.send(p, driver.Header{StreamKey: k, Seq: seq, Timestamp: id.Time()}, "v")
	if h.Seq != seq || !h.Timestamp.Equal(id.Time()) {
		t.Fatalf("receipt %s", h)
	}
	if got := e.entries(string(k)); len(got) != 1 || got[0].ID != "1700000000123-42" {
		t.Fatalf("entries %v", got)
	}
	for _, bad := range []driver.Header{
		{StreamKey: k, Seq: seq}, // no timestamp
		{StreamKey: k, Seq: seq, Timestamp: id.Time().Add(time.Second)}, // another millisecond
		{StreamKey: k, Seq: 0, Timestamp: time.UnixMilli(0)},            // 0-0
	} {
		if _, err := p.Send(e.ctx, bad, []byte("x")); !errors.Is(err, ErrVerbatimHeader) || !errors.Is(err, driver.ErrHeaderUnsupported) {
			t.Errorf("Send(%s): %v, want ErrVerbatimHeader, a driver.ErrHeaderUnsupported", bad, err)
		}
	}
}

func TestProducerTrim(t *testing.T) {
	e := newEnv(t, "maxlen=3&exact_trim=true")
	k := e.key("s")
	p := e.producer(driver.ProducerOptions{})
	for i := range 10 {
		e.send(p, driver.Header{StreamKey: k}, strconv.Itoa(i))
	}
	got := e.entries(string(k))
	if len(got) != 3 || got[0].Values[DefaultField] != "7" {
		t.Fatalf("after MAXLEN 3: %v", got)
	}

	p2 := e.producer(driver.ProducerOptions{Extra: []any{WithTrimMaxLen(0), WithTrimMinAge(time.Hour)}})
	k2 := e.key("age")
	old := time.Now().Add(-2 * time.Hour)
	e.send(p2, driver.Header{StreamKey: k2, Timestamp: old}, "old")
	e.send(p2, driver.Header{StreamKey: k2, Timestamp: old.Add(time.Millisecond)}, "old2")
	e.send(p2, driver.Header{StreamKey: k2}, "new")
	got = e.entries(string(k2))
	if len(got) != 1 || got[0].Values[DefaultField] != "new" {
		t.Fatalf("after MINID now-1h: %v", got)
	}
}

func TestProducerShardKeys(t *testing.T) {
	e := newEnv(t, "")
	k := e.key("s")
	p := e.producer(driver.ProducerOptions{})
	e.send(p, driver.Header{StreamKey: k, Shard: 0}, "zero")
	h := e.send(p, driver.Header{StreamKey: k, Shard: 3}, "three")
	if h.Shard != 3 || h.StreamKey != k {
		t.Fatalf("receipt %s", h)
	}
	if got := e.entries(string(k) + ":3"); len(got) != 1 || got[0].Values[DefaultField] != "three" {
		t.Fatalf("%s:3 holds %v", k, got)
	}
	if got := e.entries(string(k)); len(got) != 1 {
		t.Fatalf("%s holds %v", k, got)
	}
	n, err := e.conn.Shards(e.ctx, k)
	if err != nil || n != 4 {
		t.Fatalf("Shards = %d, %v; want 4", n, err)
	}
	if n, err := e.conn.Shards(e.ctx, e.key("none")); err != nil || n != 0 {
		t.Fatalf("Shards of a missing stream = %d, %v", n, err)
	}
	// The count is cached for the discover interval.
	e.send(p, driver.Header{StreamKey: k, Shard: 9}, "nine")
	if n, _ := e.conn.Shards(e.ctx, k); n != 4 {
		t.Fatalf("Shards = %d, want the cached 4", n)
	}
	fresh := e.open("discover_interval=0")
	if n, _ := fresh.Shards(e.ctx, k); n != 10 {
		t.Fatalf("Shards on a new connection = %d, want 10", n)
	}

	ps := e.producer(driver.ProducerOptions{Extra: []any{WithShardZeroSuffix(true)}})
	k2 := e.key("suffixed")
	e.send(ps, driver.Header{StreamKey: k2}, "zero")
	if got := e.entries(string(k2) + ":0"); len(got) != 1 {
		t.Fatalf("%s:0 holds %v", k2, got)
	}
}

// A command the server refuses fails its message; Flush reports it once.
func TestProducerFailure(t *testing.T) {
	e := newEnv(t, "")
	k := e.key("s")
	if err := e.client.Set(e.ctx, string(k), "not a stream", 0).Err(); err != nil {
		t.Fatal(err)
	}
	p := e.producer(driver.ProducerOptions{})
	pe, err := p.Send(e.ctx, driver.Header{StreamKey: k}, []byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	ok := e.key("ok")
	pok, _ := p.Send(e.ctx, driver.Header{StreamKey: ok}, []byte("y"))
	err = p.Flush(e.ctx)
	var be *driver.BackendError
	if !errors.As(err, &be) || be.Backend != "redis" {
		t.Fatalf("Flush: %v, want a *driver.BackendError", err)
	}
	if _, err := pe.Wait(e.ctx); !errors.As(err, &be) {
		t.Fatalf("receipt: %v", err)
	}
	if _, err := pok.Wait(e.ctx); err != nil {
		t.Fatalf("the other message: %v", err)
	}
	if err := p.Flush(e.ctx); err != nil {
		t.Fatalf("Flush again: %v", err)
	}
}

func TestProducerEnd(t *testing.T) {
	e := newEnv(t, "")
	k := e.key("s")
	p := e.producer(driver.ProducerOptions{})
	var last driver.Pending
	for i := range 50 {
		last, _ = p.Send(e.ctx, driver.Header{StreamKey: k}, []byte(strconv.Itoa(i)))
	}
	if err := p.End(e.ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := last.Wait(e.ctx); err != nil {
		t.Fatalf("End did not send everything: %v", err)
	}
	if n := len(e.entries(string(k))); n != 50 {
		t.Fatalf("%d entries", n)
	}
	if _, err := p.Send(e.ctx, driver.Header{StreamKey: k}, nil); !errors.Is(err, driver.ErrProducerEnded) {
		t.Fatalf("Send after End: %v", err)
	}
	if err := p.Flush(e.ctx); !errors.Is(err, driver.ErrProducerEnded) {
		t.Fatalf("Flush after End: %v", err)
	}
	if err := p.End(e.ctx); !errors.Is(err, driver.ErrProducerEnded) {
		t.Fatalf("End twice: %v", err)
	}
}

// A Send blocked by backpressure returns when its ctx ends, and what it
// refused is not stored.
func TestProducerBackpressure(t *testing.T) {
	srv := newServer(t)
	srv.needReal(t, "CLIENT PAUSE")
	e := srv.env(t, "", WithBatchSize(1))
	k := e.key("s")
	p := e.producer(driver.ProducerOptions{})
	if err := e.client.Do(e.ctx, "CLIENT", "PAUSE", 3000, "WRITE").Err(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.client.Do(context.Background(), "CLIENT", "UNPAUSE") })
	ctx, cancel := context.WithTimeout(e.ctx, 300*time.Millisecond)
	defer cancel()
	sent := 0
	for {
		_, err := p.Send(ctx, driver.Header{StreamKey: k}, []byte("x"))
		if err != nil {
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("Send: %v", err)
			}
			break
		}
		sent++
		if sent > 10*maxPending {
			t.Fatalf("%d sends did not block", sent)
		}
	}
	if err := e.client.Do(e.ctx, "CLIENT", "UNPAUSE").Err(); err != nil {
		t.Fatal(err)
	}
	if err := p.Flush(e.ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(e.entries(string(k))); n != sent {
		t.Fatalf("%d stored, %d accepted", n, sent)
	}
}
