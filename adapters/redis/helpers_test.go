package redis

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	goredis "github.com/redis/go-redis/v9"
	"github.com/seastream/ss/streamer/driver"
)

// envURL names the environment variable pointing the tests at a real
// server, e.g. redis://127.0.0.1:6379 (bash scripts/redis.sh start).
const envURL = "SS_REDIS_URL"

// server is where a test runs: a real Redis server if SS_REDIS_URL is set,
// else an in-process miniredis.
type server struct {
	base    string // "redis://host:port"
	real    bool
	cluster bool // base names nodes of a Redis Cluster (newClusterServer)
	mr      *miniredis.Miniredis
}

func newServer(t testing.TB) *server {
	t.Helper()
	if u := os.Getenv(envURL); u != "" {
		return &server{base: strings.TrimSuffix(u, "/"), real: true}
	}
	mr := miniredis.RunT(t)
	return &server{base: "redis://" + mr.Addr(), mr: mr}
}

// needReal skips a test that miniredis cannot run.
func (s *server) needReal(t testing.TB, why string) {
	t.Helper()
	if !s.real {
		t.Skipf("needs a real Redis server (%s): set %s=redis://127.0.0.1:6379 (bash scripts/redis.sh start)", why, envURL)
	}
}

// env is one test's connection, with keys unique to the test.
type env struct {
	t      testing.TB
	ctx    context.Context
	srv    *server
	conn   *Conn
	client goredis.UniversalClient
	salt   string
	dump   func() // debugging aid called on time-outs
}

func newEnv(t testing.TB, query string, extra ...any) *env {
	t.Helper()
	srv := newServer(t)
	return srv.env(t, query, extra...)
}

func (srv *server) env(t testing.TB, query string, extra ...any) *env {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	var b [4]byte
	_, _ = rand.Read(b[:])
	e := &env{t: t, ctx: ctx, srv: srv, salt: hex.EncodeToString(b[:])}
	e.conn = e.open(query, extra...)
	e.client = e.conn.client
	return e
}

func (e *env) open(query string, extra ...any) *Conn {
	e.t.Helper()
	raw := e.srv.base + "/"
	if e.srv.cluster {
		query = strings.TrimPrefix(query+"&cluster=true", "&")
	}
	if query != "" {
		raw += "?" + query
	}
	u, err := driver.ParseURI(raw)
	if err != nil {
		e.t.Fatal(err)
	}
	level := slog.LevelWarn
	if testing.Verbose() {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(testWriter{e.t}, &slog.HandlerOptions{Level: level}))
	c, err := Driver{}.Open(e.ctx, u, driver.ConnectOptions{Logger: log, Extra: extra})
	if err != nil {
		e.t.Fatalf("Open(%s): %v", raw, err)
	}
	e.t.Cleanup(func() { _ = c.Close(context.Background()) })
	return c.(*Conn)
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// key returns a stream key unique to the test.
func (e *env) key(name string) driver.StreamKey {
	n := e.t.Name()
	var b strings.Builder
	for _, c := range []byte(n) {
		if driver.IsStreamKeyByte(c) && b.Len() < 60 {
			b.WriteByte(c)
		}
	}
	return driver.StreamKey(b.String() + "-" + e.salt + "-" + name)
}

func (e *env) producer(opts driver.ProducerOptions) *Producer {
	e.t.Helper()
	return e.producerOn(e.conn, opts)
}

func (e *env) producerOn(c *Conn, opts driver.ProducerOptions) *Producer {
	e.t.Helper()
	p, err := c.NewProducer(e.ctx, "", opts)
	if err != nil {
		e.t.Fatalf("NewProducer: %v", err)
	}
	ended := false
	e.t.Cleanup(func() {
		if !ended {
			_ = p.End(context.Background())
		}
	})
	return p.(*Producer)
}

func (e *env) consumer(streams []driver.StreamKey, opts driver.ConsumerOptions) *Consumer {
	e.t.Helper()
	return e.consumerOn(e.conn, streams, opts)
}

func (e *env) consumerOn(c *Conn, streams []driver.StreamKey, opts driver.ConsumerOptions) *Consumer {
	e.t.Helper()
	k, err := c.NewConsumer(e.ctx, streams, opts)
	if err != nil {
		e.t.Fatalf("NewConsumer(%v): %v", streams, err)
	}
	e.t.Cleanup(func() { _ = k.Close(context.Background()) })
	return k.(*Consumer)
}

// send sends payload with header h and waits for its receipt.
func (e *env) send(p *Producer, h driver.Header, payload string) driver.Header {
	e.t.Helper()
	pe, err := p.Send(e.ctx, h, []byte(payload))
	if err != nil {
		e.t.Fatalf("Send: %v", err)
	}
	got, err := pe.Wait(e.ctx)
	if err != nil {
		e.t.Fatalf("Wait: %v", err)
	}
	return got
}

func (e *env) next(k *Consumer, what string) driver.Message {
	e.t.Helper()
	m, err := k.Next(e.ctx)
	if err != nil {
		e.t.Fatalf("Next (waiting for %s): %v", what, err)
	}
	return m
}

// nextN reads n messages, copying their payloads.
func (e *env) nextN(k *Consumer, n int) []driver.Message {
	e.t.Helper()
	out := make([]driver.Message, 0, n)
	for i := range n {
		m, err := k.Next(e.ctx)
		if err != nil {
			e.t.Fatalf("Next: got %d of %d: %v", i, n, err)
		}
		out = append(out, m.Clone())
	}
	return out
}

// nothingWithin checks that Next returns no message within d.
func (e *env) nothingWithin(k *Consumer, d time.Duration) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(e.ctx, d)
	defer cancel()
	m, err := k.Next(ctx)
	if err == nil {
		e.t.Fatalf("unexpected message %s %q", m.Header, m.Payload)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		e.t.Fatalf("Next: %v, want a deadline", err)
	}
}

// eventually waits (polling, up to 20s) until cond holds.
func (e *env) eventually(what string, cond func() bool) {
	e.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			e.t.Fatalf("timed out waiting until %s", what)
		}
		select {
		case <-tick.C:
		case <-e.ctx.Done():
			e.t.Fatalf("waiting until %s: %v", what, e.ctx.Err())
		}
	}
}

func payloads(ms []driver.Message) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = string(m.Payload)
	}
	return out
}

// stored returns the numbers of the messages stored in key, in the order of
// the stream; payloads that are not numbers ("first") are left out.
func (e *env) stored(key string) []int {
	e.t.Helper()
	msgs, err := e.client.XRange(e.ctx, key, "-", "+").Result()
	if err != nil {
		e.t.Fatalf("XRANGE %s: %v", key, err)
	}
	var out []int
	for _, m := range msgs {
		if i, err := strconv.Atoi(fmt.Sprint(m.Values[DefaultField])); err == nil {
			out = append(out, i)
		}
	}
	return out
}
