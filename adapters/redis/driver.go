package redis

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strings"
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
// u has one node, "[user[:password]@]host[:port]" (default localhost:6379),
// or with cluster=true (WithCluster) one or more nodes of a Redis Cluster,
// comma-separated; several nodes without it give ErrUnsupported. The query
// options are listed in the package documentation.
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
	var addrs []string
	if cfg.cluster {
		if addrs, err = clusterAddrs(u); err != nil {
			return nil, err
		}
	}
	log := opts.Logger
	detach := func() {}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	} else {
		detach = attachLibLog(log)
	}
	installLibLogger()
	c := &Conn{uri: u, cfg: cfg, gopts: gopts, addrs: addrs, log: log.With("backend", scheme), detach: detach}
	c.client = c.newClient(nil, nil)
	pctx, cancel := context.WithTimeout(ctx, cfg.timeout)
	defer cancel()
	if err := c.client.Ping(pctx).Err(); err != nil {
		_ = c.client.Close()
		detach()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		addr := gopts.Addr
		if addrs != nil {
			addr = strings.Join(addrs, ",")
		}
		return nil, &driver.ConnectError{Backend: u.Scheme, Addr: addr, Err: err}
	}
	return c, nil
}

// clientOptions builds the go-redis options for u: those of its one node,
// or in a cluster those that every node's client starts from (the address
// and credentials of the first node).
func clientOptions(u *driver.URI, cfg *config) (*goredis.Options, error) {
	if len(u.Nodes) > 1 && !cfg.cluster {
		return nil, fmt.Errorf("%w: several Redis nodes (%s) without cluster=true: give one node, or add cluster=true for a Redis Cluster", driver.ErrUnsupported, u.Addr)
	}
	node := "localhost:" + defaultPort
	if len(u.Nodes) > 0 {
		node = u.Nodes[0]
	}
	pu, host, port, err := parseNode(u, node)
	if err != nil {
		return nil, err
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
		if t.ServerName == "" && !cfg.cluster {
			// In a cluster each node's client names its own host
			// (Conn.newClient).
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

// parseNode parses one node of u, "[user[:password]@]host[:port]".
func parseNode(u *driver.URI, node string) (pu *url.URL, host, port string, err error) {
	pu, err = url.Parse("redis://" + node)
	if err != nil || pu.Host == "" || pu.Path != "" || pu.RawQuery != "" || pu.Fragment != "" {
		return nil, "", "", &driver.URIError{URI: u.Raw, Reason: "bad Redis node " + fmt.Sprintf("%q", node) + ": want [user[:password]@]host[:port]", Err: err}
	}
	host, port = pu.Hostname(), pu.Port()
	if port == "" {
		port = defaultPort
	}
	return pu, host, port, nil
}

// clusterAddrs returns the "host:port" of every node of u, where the
// cluster client starts (it learns the others from them).
func clusterAddrs(u *driver.URI) ([]string, error) {
	if len(u.Nodes) == 0 {
		return []string{"localhost:" + defaultPort}, nil
	}
	addrs := make([]string, 0, len(u.Nodes))
	for _, n := range u.Nodes {
		_, host, port, err := parseNode(u, n)
		if err != nil {
			return nil, err
		}
		addrs = append(addrs, net.JoinHostPort(host, port))
	}
	return addrs, nil
}

// Conn is an open connection to one Redis server or to a Redis Cluster.
// Producers and consumers each get their own go-redis client (a consumer's
// blocking reads must not hold the shared pool, and Close interrupts them by
// closing that client); acknowledgements, discovery and other short
// commands use the shared one. In a cluster each of these clients is a
// *goredis.ClusterClient.
type Conn struct {
	uri    *driver.URI
	cfg    config
	gopts  *goredis.Options
	addrs  []string // the cluster's seed nodes; nil for one server
	client goredis.UniversalClient
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

// newClient returns a new go-redis client: for one server with the options
// adjusted by the user's WithClientOptions and then by single; in a cluster,
// a cluster client adjusted by the user's WithClusterOptions and then by
// cluster, whose node clients get the user's WithClientOptions (each with
// its node's address).
func (c *Conn) newClient(single func(*goredis.Options), cluster func(*goredis.ClusterOptions)) goredis.UniversalClient {
	if c.addrs == nil {
		return goredis.NewClient(c.clientOpts(single))
	}
	b := c.gopts
	o := &goredis.ClusterOptions{
		Addrs:                 c.addrs,
		Username:              b.Username,
		Password:              b.Password,
		DialTimeout:           b.DialTimeout,
		ReadTimeout:           b.ReadTimeout,
		WriteTimeout:          b.WriteTimeout,
		ContextTimeoutEnabled: b.ContextTimeoutEnabled,
		DisableIdentity:       b.DisableIdentity,
		TLSConfig:             b.TLSConfig,
		NewClient: func(o *goredis.Options) *goredis.Client {
			if o.TLSConfig != nil && o.TLSConfig.ServerName == "" {
				o.TLSConfig = o.TLSConfig.Clone()
				o.TLSConfig.ServerName, _, _ = net.SplitHostPort(o.Addr)
			}
			for _, g := range c.cfg.clientOpts {
				g(o)
			}
			return goredis.NewClient(o)
		},
	}
	for _, g := range c.cfg.clusterOpts {
		g(o)
	}
	if cluster != nil {
		cluster(o)
	}
	return goredis.NewClusterClient(o)
}

// Cluster reports whether c is connected to a Redis Cluster.
func (c *Conn) Cluster() bool { return c.addrs != nil }

// Client returns the shared go-redis client of a connection to one server,
// nil in a cluster (see UniversalClient).
func (c *Conn) Client() *goredis.Client {
	gc, _ := c.client.(*goredis.Client)
	return gc
}

// UniversalClient returns the shared go-redis client: a *goredis.Client, or
// a *goredis.ClusterClient in a cluster.
func (c *Conn) UniversalClient() goredis.UniversalClient { return c.client }

// As sets *target (a **goredis.Client for one server, a
// **goredis.ClusterClient in a cluster, or a goredis.UniversalClient or
// goredis.Cmdable) to the shared client.
func (c *Conn) As(target any) bool {
	switch t := target.(type) {
	case **goredis.Client:
		gc, ok := c.client.(*goredis.Client)
		if !ok {
			return false
		}
		*t = gc
	case **goredis.ClusterClient:
		cc, ok := c.client.(*goredis.ClusterClient)
		if !ok {
			return false
		}
		*t = cc
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
