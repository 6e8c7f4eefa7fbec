package kafka

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/seastream/ss/streamer"
	"github.com/seastream/ss/streamer/driver"
)

func init() { streamer.Register(scheme, Driver{}) }

// DefaultPort is the port used for a broker address without one.
const DefaultPort = "9092"

// defaultConnectTimeout bounds Open's first contact with the cluster when
// neither the caller's ctx nor the timeout option sets a shorter bound.
const defaultConnectTimeout = 30 * time.Second

// Driver is the kafka:// driver. Importing this package registers it with
// streamer.Register; it is exported for use with a custom streamer.Mux.
type Driver struct{}

// Open connects to the brokers named by the URI (comma-separated host:port;
// the port defaults to 9092) and checks that one answers. See the package
// documentation for the URI options.
func (Driver) Open(ctx context.Context, uri *driver.URI, opts driver.ConnectOptions) (driver.Conn, error) {
	var s settings
	if err := s.applyExtra(driver.ScopeOpen, opts.Extra); err != nil {
		return nil, err
	}
	if opts.Timeout > 0 {
		s.timeout = opts.Timeout
	}
	if err := s.applyURI(uri); err != nil {
		return nil, err
	}
	if len(uri.Nodes) == 0 {
		return nil, &driver.URIError{URI: uri.Raw, Reason: "no broker address: use kafka://host:port/topic", Err: nil}
	}
	seeds := make([]string, len(uri.Nodes))
	for i, n := range uri.Nodes {
		if !strings.Contains(n, ":") || strings.HasSuffix(n, "]") {
			n += ":" + DefaultPort
		}
		seeds[i] = n
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &Conn{seeds: seeds, settings: s, log: log}
	admin, err := c.newClient(nil)
	if err != nil {
		return nil, &driver.ConnectError{Backend: scheme, Addr: uri.Addr, Err: err}
	}
	c.admin = admin
	pingCtx, cancel := c.requestCtx(ctx, defaultConnectTimeout)
	defer cancel()
	if err := admin.Ping(pingCtx); err != nil {
		admin.Close()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, &driver.ConnectError{Backend: scheme, Addr: uri.Addr, Err: err}
	}
	return c, nil
}

// Conn is a connection to a Kafka cluster (a driver.Conn). It holds one
// franz-go client for metadata and offset requests; each producer and
// consumer has a client of its own. As gives access to the shared client
// (**kgo.Client) and to the Conn itself (**Conn).
type Conn struct {
	seeds    []string
	settings settings
	log      *slog.Logger
	admin    *kgo.Client

	mu      sync.Mutex
	created map[string]bool // topics this Conn made sure exist (WithTopicCreation)
	shards  map[string]shardCount
}

type shardCount struct {
	n    uint64
	when time.Time
}

// shardCountTTL is how long Shards trusts a partition count it looked up.
const shardCountTTL = 10 * time.Second

// Client returns the Conn's franz-go client, for admin requests (e.g. with
// kadm.NewClient). Do not close it.
func (c *Conn) Client() *kgo.Client { return c.admin }

// As implements driver.Aser for **kgo.Client and **Conn.
func (c *Conn) As(target any) bool {
	switch t := target.(type) {
	case **kgo.Client:
		*t = c.admin
	case **Conn:
		*t = c
	default:
		return false
	}
	return true
}

// newClient creates a franz-go client with the Conn's base options, then
// extra, then the user's client options.
func (c *Conn) newClient(s *settings, extra ...kgo.Opt) (*kgo.Client, error) {
	if s == nil {
		s = &c.settings
	}
	opts := s.baseOpts(c.seeds)
	opts = append(opts, kgo.WithLogger(kgoLogger{c.log}))
	opts = append(opts, extra...)
	opts = append(opts, s.clientOpts...)
	return kgo.NewClient(opts...)
}

// requestCtx bounds ctx by the timeout option, or by def when it is unset.
func (c *Conn) requestCtx(ctx context.Context, def time.Duration) (context.Context, context.CancelFunc) {
	d := c.settings.timeout
	if d <= 0 {
		d = def
	}
	return context.WithTimeout(ctx, d)
}

// NewProducer implements driver.Conn.
func (c *Conn) NewProducer(ctx context.Context, stream driver.StreamKey, opts driver.ProducerOptions) (driver.Producer, error) {
	if opts.Verbatim {
		return nil, fmt.Errorf("%w: verbatim headers on kafka:// (Kafka assigns offsets; timestamps can be set with WithTimestamp)", driver.ErrUnsupported)
	}
	s := c.settings.clone()
	if err := s.applyExtra(driver.ScopeProducer, opts.Extra); err != nil {
		return nil, err
	}
	return newProducer(ctx, c, &s)
}

// NewConsumer implements driver.Conn.
func (c *Conn) NewConsumer(ctx context.Context, streams []driver.StreamKey, opts driver.ConsumerOptions) (driver.Consumer, error) {
	s := c.settings.clone()
	if err := s.applyExtra(driver.ScopeConsumer, opts.Extra); err != nil {
		return nil, err
	}
	return newConsumer(ctx, c, &s, streams, opts)
}

// Close implements driver.Conn. It closes the shared client.
func (c *Conn) Close(ctx context.Context) error {
	c.admin.Close()
	return nil
}

// Shards implements driver.ShardCounter: the partition count of the topic,
// cached for a few seconds. A missing topic is created first if
// WithTopicCreation (URI option partitions) is set; otherwise it is
// driver.ErrStreamKeyNotFound.
func (c *Conn) Shards(ctx context.Context, stream driver.StreamKey) (uint64, error) {
	topic := string(stream)
	c.mu.Lock()
	sc, ok := c.shards[topic]
	c.mu.Unlock()
	if ok && time.Since(sc.when) < shardCountTTL {
		return sc.n, nil
	}
	if err := c.ensureTopic(ctx, &c.settings, topic); err != nil {
		return 0, err
	}
	parts, err := c.partitions(ctx, []string{topic})
	if err != nil {
		return 0, err
	}
	n := uint64(len(parts[topic]))
	if n == 0 {
		return 0, fmt.Errorf("%w: topic %q does not exist (create it, or set the partitions option to let the driver create it)",
			driver.ErrStreamKeyNotFound, topic)
	}
	c.mu.Lock()
	if c.shards == nil {
		c.shards = make(map[string]shardCount)
	}
	c.shards[topic] = shardCount{n, time.Now()}
	c.mu.Unlock()
	return n, nil
}

// ensureTopic creates topic with s.partitions partitions if s asks for
// creation and this Conn has not done it yet. A topic that already exists is
// fine.
func (c *Conn) ensureTopic(ctx context.Context, s *settings, topic string) error {
	if s.partitions <= 0 {
		return nil
	}
	c.mu.Lock()
	done := c.created[topic]
	c.mu.Unlock()
	if done {
		return nil
	}
	repl := s.replication
	if repl == 0 {
		repl = -1
	}
	if err := createTopic(ctx, c.admin, topic, s.partitions, repl); err != nil {
		return err
	}
	c.mu.Lock()
	if c.created == nil {
		c.created = make(map[string]bool)
	}
	c.created[topic] = true
	c.mu.Unlock()
	return nil
}
