package redis

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/seastream/ss/streamer/driver"
)

func parse(t *testing.T, raw string) *driver.URI {
	t.Helper()
	u, err := driver.ParseURI(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestURIOptions(t *testing.T) {
	u := parse(t, "redis://h/s?db=3&field=payload&batch_size=64&maxlen=100&exact_trim=true&late_timestamps=clamp&shard0_suffix=1"+
		"&ack=rolling&commit_delay=2s&commit_interval=250ms&claim_interval=5s&claim_idle=9s&count=33&mkstream=false"+
		"&heartbeat=300ms&discover_interval=0&timeout=3s")
	if err := options.CheckURI(u); err != nil {
		t.Fatal(err)
	}
	c := defaultConfig()
	if err := c.applyURI(u); err != nil {
		t.Fatal(err)
	}
	want := defaultConfig()
	want.db, want.field, want.batchSize, want.maxLen, want.exactTrim, want.late = 3, "payload", 64, 100, true, LateClamp
	want.ack, want.commitDelay, want.commitInterval, want.claimInterval, want.claimIdle = AckRolling, 2*time.Second, 250*time.Millisecond, 5*time.Second, 9*time.Second
	want.readCount, want.mkStream, want.heartbeat, want.discoverInterval, want.timeout = 33, false, 300*time.Millisecond, 0, 3*time.Second
	if c.db != want.db || c.field != want.field || c.batchSize != want.batchSize || c.maxLen != want.maxLen || c.exactTrim != want.exactTrim ||
		c.late != want.late || c.shard0Suffix == nil || !*c.shard0Suffix || c.ack != want.ack || c.commitDelay != want.commitDelay ||
		c.commitInterval != want.commitInterval || c.claimInterval != want.claimInterval || c.claimIdle != want.claimIdle ||
		c.readCount != want.readCount || c.mkStream != want.mkStream || c.heartbeat != want.heartbeat ||
		c.discoverInterval != want.discoverInterval || c.timeout != want.timeout {
		t.Fatalf("config %+v\nwant   %+v", c, want)
	}

	bad := []struct {
		query string
		want  error
	}{
		{"nope=1", driver.ErrUnknownOption},
		{"ack=sometimes", driver.ErrInvalidOption},
		{"late_timestamps=maybe", driver.ErrInvalidOption},
		{"count=0", driver.ErrInvalidOption},
		{"batch_size=x", driver.ErrInvalidOption},
		{"heartbeat=0s", driver.ErrInvalidOption},
		{"commit_interval=0s", driver.ErrInvalidOption},
		{"claim_idle=0s", driver.ErrInvalidOption},
		{"timeout=-1s", driver.ErrInvalidOption},
		{"field=", driver.ErrInvalidOption},
		{"mkstream=perhaps", driver.ErrInvalidOption},
		{"db=99999999999", driver.ErrInvalidOption},
		{"maxlen=5&minage=1h", driver.ErrInvalidOption},
		{"tls_insecure=true", driver.ErrInvalidOption}, // without TLS
	}
	for _, b := range bad {
		_, err := Driver{}.Open(context.Background(), parse(t, "redis://127.0.0.1:1/s?"+b.query), driver.ConnectOptions{})
		var oe *driver.OptionError
		if !errors.Is(err, b.want) || !errors.As(err, &oe) {
			t.Errorf("?%s: %v, want an *OptionError wrapping %v", b.query, err, b.want)
		}
	}
}

// Go options given to Open are defaults: the URI overrides them, and a
// consumer's or producer's own options override both.
func TestOptionPrecedence(t *testing.T) {
	e := newEnv(t, "count=7", WithReadCount(5), WithBatchSize(11))
	if e.conn.cfg.readCount != 7 || e.conn.cfg.batchSize != 11 {
		t.Fatalf("count %d (want the URI's 7), batch %d (want 11)", e.conn.cfg.readCount, e.conn.cfg.batchSize)
	}
	c := e.consumer([]driver.StreamKey{e.key("s")}, driver.ConsumerOptions{Extra: []any{WithReadCount(3)}})
	if c.cfg.readCount != 3 {
		t.Fatalf("consumer count %d, want 3", c.cfg.readCount)
	}
	p := e.producer(driver.ProducerOptions{Extra: []any{WithBatchSize(2)}})
	if p.cfg.batchSize != 2 {
		t.Fatalf("producer batch %d, want 2", p.cfg.batchSize)
	}
	// Options of the wrong kind or scope are refused, naming the problem.
	if _, err := e.conn.NewProducer(e.ctx, "", driver.ProducerOptions{Extra: []any{WithAckMode(AckRolling)}}); !errors.Is(err, driver.ErrInvalidOption) {
		t.Errorf("consumer option to NewProducer: %v", err)
	}
	if _, err := e.conn.NewProducer(e.ctx, "", driver.ProducerOptions{Extra: []any{WithDB(1)}}); !errors.Is(err, driver.ErrInvalidOption) {
		t.Errorf("connect option to NewProducer: %v", err)
	}
	if _, err := e.conn.NewProducer(e.ctx, "", driver.ProducerOptions{Extra: []any{42}}); !errors.Is(err, driver.ErrUnknownOption) {
		t.Errorf("foreign option to NewProducer: %v", err)
	}
	if _, err := e.conn.NewProducer(e.ctx, "", driver.ProducerOptions{Extra: []any{Option{}}}); !errors.Is(err, driver.ErrInvalidOption) {
		t.Errorf("zero Option: %v", err)
	}
	// Prefetch bounds the read size.
	c2 := e.consumer([]driver.StreamKey{e.key("s")}, driver.ConsumerOptions{Prefetch: 2})
	if c2.cfg.readCount != 2 || cap(c2.out) != 1 {
		t.Fatalf("prefetch 2: count %d, queue %d", c2.cfg.readCount, cap(c2.out))
	}
	if _, err := e.conn.NewConsumer(e.ctx, []driver.StreamKey{e.key("s")}, driver.ConsumerOptions{Prefetch: -1}); !errors.Is(err, driver.ErrInvalidOption) {
		t.Errorf("negative prefetch: %v", err)
	}
}

func TestClientOptions(t *testing.T) {
	cases := []struct {
		uri                  string
		addr, user, password string
		tls                  bool
	}{
		{"redis:///s", "localhost:6379", "", "", false},
		{"redis://example.com/s", "example.com:6379", "", "", false},
		{"redis://u:p%40ss@example.com:7000/s", "example.com:7000", "u", "p@ss", false},
		{"redis://secret@[::1]:7000/s", "[::1]:7000", "", "secret", false},
		{"rediss://example.com/s", "example.com:6379", "", "", true},
	}
	for _, c := range cases {
		cfg := defaultConfig()
		o, err := clientOptions(parse(t, c.uri), &cfg)
		if err != nil {
			t.Errorf("%s: %v", c.uri, err)
			continue
		}
		if o.Addr != c.addr || o.Username != c.user || o.Password != c.password || (o.TLSConfig != nil) != c.tls {
			t.Errorf("%s: addr %q user %q password %q tls %v", c.uri, o.Addr, o.Username, o.Password, o.TLSConfig != nil)
		}
		if c.tls && o.TLSConfig.ServerName != "example.com" {
			t.Errorf("%s: server name %q", c.uri, o.TLSConfig.ServerName)
		}
	}
	cfg := defaultConfig()
	cfg.tlsInsecure = true
	if o, err := clientOptions(parse(t, "rediss://h/s"), &cfg); err != nil || !o.TLSConfig.InsecureSkipVerify {
		t.Errorf("tls_insecure: %v", err)
	}
	cfg = defaultConfig()
	_ = cfg.applyExtra([]any{WithTLSConfig(&tls.Config{ServerName: "other"})}, driver.ScopeOpen)
	if o, err := clientOptions(parse(t, "redis://h/s"), &cfg); err != nil || o.TLSConfig == nil || o.TLSConfig.ServerName != "other" {
		t.Errorf("WithTLSConfig on redis://: %v", err)
	}
	cfg = defaultConfig()
	if _, err := clientOptions(parse(t, "redis://a:1,b:2/s"), &cfg); !errors.Is(err, driver.ErrUnsupported) {
		t.Errorf("two nodes: %v, want ErrUnsupported", err)
	}
	// cluster=true: every node is a seed; db must stay 0.
	cu := parse(t, "redis://u:pw@a:1,b/s?cluster=true")
	cfg = defaultConfig()
	if err := cfg.applyURI(cu); err != nil || !cfg.cluster {
		t.Fatalf("cluster=true: %v", err)
	}
	if o, err := clientOptions(cu, &cfg); err != nil || o.Username != "u" || o.Password != "pw" {
		t.Errorf("cluster options: %+v, %v", o, err)
	}
	if addrs, err := clusterAddrs(cu); err != nil || strings.Join(addrs, ",") != "a:1,b:6379" {
		t.Errorf("cluster nodes %v, %v", addrs, err)
	}
	cfg.db = 1
	if err := cfg.check(); !errors.Is(err, driver.ErrInvalidOption) {
		t.Errorf("cluster with db=1: %v, want ErrInvalidOption", err)
	}
	// WithClientOptions sees the adapter's options and may change them.
	e := newEnv(t, "", WithClientOptions(func(o *goredis.Options) { o.ClientName = "seen-" + o.Addr }))
	if name, err := e.client.ClientGetName(e.ctx).Result(); e.srv.real && (err != nil || name != "seen-"+e.conn.gopts.Addr) {
		t.Errorf("client name %q, %v", name, err)
	}
}

func TestConnectError(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	_, err = Driver{}.Open(context.Background(), parse(t, "redis://"+addr+"/s?timeout=2s"), driver.ConnectOptions{})
	var ce *driver.ConnectError
	if !errors.Is(err, driver.ErrConnect) || !errors.As(err, &ce) || ce.Addr != addr {
		t.Fatalf("Open on a closed port: %v, want a *driver.ConnectError for %s", err, addr)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := (Driver{}).Open(ctx, parse(t, "redis://"+addr+"/s"), driver.ConnectOptions{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Open with a cancelled ctx: %v", err)
	}
}

func TestAs(t *testing.T) {
	e := newEnv(t, "")
	var c *goredis.Client
	if !e.conn.As(&c) || c != e.client {
		t.Fatal("Conn.As(*goredis.Client)")
	}
	k := e.consumer([]driver.StreamKey{e.key("s")}, driver.ConsumerOptions{})
	var rc *Consumer
	if !k.As(&rc) || rc != k || k.As(new(int)) {
		t.Fatal("Consumer.As")
	}
	p := e.producer(driver.ProducerOptions{})
	var rp *Producer
	if !p.As(&rp) || rp != p || !p.As(&c) || c != p.Client() {
		t.Fatal("Producer.As")
	}
}

// TestOptionsDocumented checks that the package documentation lists every
// declared URI parameter.
func TestOptionsDocumented(t *testing.T) {
	doc, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range options.Params() {
		if !strings.Contains(string(doc), p+"=") {
			t.Errorf("doc.go does not list the URI option %s", p)
		}
	}
}
