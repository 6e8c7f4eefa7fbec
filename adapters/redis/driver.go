package redis

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/seastream/ss/streamer/driver"
)

const (
	scheme      = "redis"
	schemeTLS   = "rediss"
	defaultPort = "6379"
)

// Driver opens redis:// and rediss:// (TLS) URIs. The zero value is ready
// to use; it is registered under both schemes when the package is imported.
type Driver struct{}

// Open connects to the Redis server named by u and checks that it answers.
// u has one node, "[user[:password]@]host[:port]" (default localhost:6379);
// Redis Cluster is not supported (several nodes give ErrUnsupported). The
// query options are listed in the package documentation.
func (Driver) Open(ctx context.Context, u *driver.URI, opts driver.ConnectOptions) (driver.Conn, error) {
	if u.Scheme != scheme && u.Scheme != schemeTLS {
		return nil, &driver.URIError{URI: u.Raw, Reason: "the redis driver serves redis:// and rediss:// only"}
	}
	if err := options.CheckURI(u); err != nil {
		return nil, err
	}
	cfg := defaultConfig()
	if opts.Timeout > 0 {
		cfg.timeout = opts.Timeout
	}
	if err := cfg.applyExtra(opts.Extra, driver.ScopeOpen); err != nil {
		return nil, err
	}
	if err := cfg.applyURI(u); err != nil {
		return nil, err
	}
	if err := cfg.check(); err != nil {
		return nil, err
	}
	gopts, err := clientOptions(u, &cfg)
	if err != nil {
		return nil, err
	}
	log := opts.Logger
	detach := func() {}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	} else {
		detach = attachLibLog(log)
	}
	installLibLogger()
	c := &Conn{uri: u, cfg: cfg, gopts: gopts, log: log.With("backend", scheme), detach: detach}
	c.client = goredis.NewClient(c.clientOpts(nil))
	pctx, cancel := context.WithTimeout(ctx, cfg.timeout)
	defer cancel()
	if err := c.client.Ping(pctx).Err(); err != nil {
		_ = c.client.Close()
		detach()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, &driver.ConnectError{Backend: u.Scheme, Addr: gopts.Addr, Err: err}
	}
	return c, nil
}

// clientOptions builds the go-redis options for u.
func clientOptions(u *driver.URI, cfg *config) (*goredis.Options, error) {
	if len(u.Nodes) > 1 {
		return nil, fmt.Errorf("%w: several Redis nodes (%s): Redis Cluster is not supported, give one node", driver.ErrUnsupported, u.Addr)
	}
	node := "localhost:" + defaultPort
	if len(u.Nodes) == 1 {
		node = u.Nodes[0]
	}
	pu, err := url.Parse("redis://" + node)
	if err != nil || pu.Host == "" || pu.Path != "" || pu.RawQuery != "" || pu.Fragment != "" {
		return nil, &driver.URIError{URI: u.Raw, Reason: "bad Redis node " + fmt.Sprintf("%q", node) + ": want [user[:password]@]host[:port]", Err: err}
	}
	host, port := pu.Hostname(), pu.Port()
	if port == "" {
		port = defaultPort
	}
	o := &goredis.Options{
		Addr:                  net.JoinHostPort(host, port),
		DB:                    cfg.db,
		DialTimeout:           cfg.timeout,
		ReadTimeout:           cfg.timeout,
		WriteTimeout:          cfg.timeout,
		ContextTimeoutEnabled: true,
		DisableIdentity:       true,
	}
	if pu.User != nil {
		o.Username = pu.User.Username()
		o.Password, _ = pu.User.Password()
		if _, hasPass := pu.User.Password(); !hasPass {
			// redis://secret@host is the password alone, as redis-cli reads it.
			o.Username, o.Password = "", pu.User.Username()
		}
	}
	if cfg.tls != nil || u.Scheme == schemeTLS {
		t := cfg.tls
		if t == nil {
			t = &tls.Config{MinVersion: tls.VersionTLS12}
		}
		t = t.Clone()
		if t.ServerName == "" {
			t.ServerName = host
		}
		if cfg.tlsInsecure {
			t.InsecureSkipVerify = true
		}
		o.TLSConfig = t
	} else if cfg.tlsInsecure {
		return nil, invalid("tls_insecure", "true", "only meaningful with rediss:// or WithTLSConfig")
	}
	return o, nil
}

// Conn is an open connection to one Redis server. Producers and consumers
// each get their own go-redis client (a consumer's blocking reads must not
// hold the shared pool, and Close interrupts them by closing that client);
// acknowledgements, discovery and other short commands use the shared one.
type Conn struct {
	uri    *driver.URI
	cfg    config
	gopts  *goredis.Options
	client *goredis.Client
	log    *slog.Logger
	detach func() // stops go-redis's lines going to the caller's logger

	wg     sync.WaitGroup // goroutines of producers and consumers
	closed atomic.Bool

	shardsMu sync.Mutex
	shards   map[driver.StreamKey]shardCount // Shards' cache
}

type shardCount struct {
	n  uint64
	at time.Time
}

var (
	_ driver.Conn         = (*Conn)(nil)
	_ driver.ShardCounter = (*Conn)(nil)
	_ driver.Aser         = (*Conn)(nil)
)

// clientOpts returns a copy of the go-redis options, adjusted by the user's
// WithClientOptions and then by f.
func (c *Conn) clientOpts(f func(*goredis.Options)) *goredis.Options {
	o := *c.gopts
	for _, g := range c.cfg.clientOpts {
		g(&o)
	}
	if f != nil {
		f(&o)
	}
	return &o
}

// Client returns the shared go-redis client.
func (c *Conn) Client() *goredis.Client { return c.client }

// As sets *target (a **goredis.Client, or a goredis.UniversalClient or
// goredis.Cmdable) to the shared client.
func (c *Conn) As(target any) bool {
	switch t := target.(type) {
	case **goredis.Client:
		*t = c.client
	case *goredis.UniversalClient:
		*t = c.client
	case *goredis.Cmdable:
		*t = c.client
	default:
		return false
	}
	return true
}

// Shards implements driver.ShardCounter: one more than the highest shard
// number of stream found on the server, 0 if the stream does not exist (so
// routing by key needs an explicit shard count for a new stream). The count
// is kept for the discover interval (5s by default), since package streamer
// asks for it at every send routed by key.
func (c *Conn) Shards(ctx context.Context, stream driver.StreamKey) (uint64, error) {
	if c.closed.Load() {
		return 0, driver.ErrClosed
	}
	ttl := c.cfg.discoverInterval
	if ttl <= 0 {
		ttl = DefaultDiscoverInterval
	}
	c.shardsMu.Lock()
	sc, ok := c.shards[stream]
	c.shardsMu.Unlock()
	if ok && time.Since(sc.at) < ttl {
		return sc.n, nil
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.timeout)
	defer cancel()
	shards, err := discoverShards(ctx, c.client, stream)
	if err != nil {
		return 0, err
	}
	var n uint64
	for id := range shards {
		n = max(n, uint64(id)+1)
	}
	c.shardsMu.Lock()
	if c.shards == nil {
		c.shards = make(map[driver.StreamKey]shardCount)
	}
	c.shards[stream] = shardCount{n: n, at: time.Now()}
	c.shardsMu.Unlock()
	return n, nil
}

// Close waits for the goroutines of every producer and consumer of c, then
// closes the shared client.
func (c *Conn) Close(ctx context.Context) error {
	if c.closed.Swap(true) {
		return driver.ErrClosed
	}
	done := make(chan struct{})
	go func() { c.wg.Wait(); close(done) }()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = ctx.Err()
	}
	if cerr := c.client.Close(); cerr != nil && !errors.Is(cerr, goredis.ErrClosed) && err == nil {
		err = backendErr("close", cerr)
	}
	c.detach()
	return err
}
