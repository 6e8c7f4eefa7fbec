package redis

import (
	"crypto/tls"
	"fmt"
	"strconv"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/seastream/ss/streamer/driver"
)

// AckMode says when a consumer in a group (Resumable, LoadBalanced)
// acknowledges messages to Redis (XACK), as SeaStreamer's AutoCommit does.
// Whatever the mode, Consumer.Commit acknowledges every message Next has
// returned so far.
type AckMode uint8

// Ack modes. URI option ack=immediate|delayed|rolling|disabled.
const (
	// AckDelayed acknowledges each message CommitDelay after Next returned
	// it, in the background every CommitInterval. It is the default, as in
	// SeaStreamer (it mimics Kafka's auto-commit): a consumer that crashes
	// gets back the messages of its last CommitDelay.
	AckDelayed AckMode = iota
	// AckImmediate reads with NOACK: Redis considers a message delivered
	// as soon as it is read (at most once; a crash loses what was read but
	// not processed). Commit has nothing to do.
	AckImmediate
	// AckRolling acknowledges, every CommitInterval in the background, the
	// messages marked with Consumer.Ack (at least once, for workers that
	// finish messages out of order).
	AckRolling
	// AckDisabled never acknowledges by itself: call Consumer.Ack then
	// Consumer.CommitAcked, or Commit.
	AckDisabled
)

var ackNames = [...]string{AckDelayed: "delayed", AckImmediate: "immediate", AckRolling: "rolling", AckDisabled: "disabled"}

func (m AckMode) String() string {
	if int(m) < len(ackNames) {
		return ackNames[m]
	}
	return "AckMode(" + strconv.Itoa(int(m)) + ")"
}

// LateMode says what a producer does with a message whose explicit
// timestamp is older than its stream's newest entry (Redis ids only grow).
type LateMode uint8

// Late modes. URI option late_timestamps=reject|clamp.
const (
	// LateReject fails such a message with ErrTimestampOrder; the default.
	LateReject LateMode = iota
	// LateClamp stores it with the stream's newest millisecond instead,
	// keeping the order of sending (through a small Lua script, so each
	// message costs an EVALSHA instead of an XADD). Its receipt carries the
	// timestamp actually stored.
	LateClamp
)

func (m LateMode) String() string {
	switch m {
	case LateReject:
		return "reject"
	case LateClamp:
		return "clamp"
	}
	return "LateMode(" + strconv.Itoa(int(m)) + ")"
}

// Defaults of the options.
const (
	DefaultTimeout          = 10 * time.Second
	DefaultBatchSize        = 1000
	DefaultReadCount        = 1000 // RealTime and Resumable
	DefaultGroupReadCount   = 10   // LoadBalanced, as SeaStreamer: small pages share better
	DefaultCommitDelay      = 5 * time.Second
	DefaultCommitInterval   = 1 * time.Second
	DefaultClaimInterval    = 30 * time.Second
	DefaultClaimIdle        = 60 * time.Second
	DefaultHeartbeat        = 1 * time.Second
	DefaultDiscoverInterval = 5 * time.Second
	DefaultField            = "msg"
)

// config holds every option; Open starts from defaultConfig, applies the Go
// options given to Open, then the URI's query, then each producer's or
// consumer's own Go options.
type config struct {
	// connection
	db          int
	tls         *tls.Config
	tlsInsecure bool
	clientOpts  []func(*goredis.Options)
	timeout     time.Duration
	field       string

	// producer
	batchSize    int
	maxLen       int64
	minAge       time.Duration
	exactTrim    bool
	late         LateMode
	shard0Suffix *bool // nil: as SeaStreamer, suffixed when the producer shards

	// consumer
	ack              AckMode
	commitDelay      time.Duration
	commitInterval   time.Duration
	claimInterval    time.Duration
	claimIdle        time.Duration
	readCount        int
	mkStream         bool
	heartbeat        time.Duration
	discoverInterval time.Duration
}

func defaultConfig() config {
	return config{
		timeout:          DefaultTimeout,
		field:            DefaultField,
		batchSize:        DefaultBatchSize,
		commitDelay:      DefaultCommitDelay,
		commitInterval:   DefaultCommitInterval,
		claimInterval:    DefaultClaimInterval,
		claimIdle:        DefaultClaimIdle,
		heartbeat:        DefaultHeartbeat,
		discoverInterval: DefaultDiscoverInterval,
		mkStream:         true,
	}
}

type scope uint8

const (
	scopeConnect scope = 1 << iota
	scopeProducer
	scopeConsumer
	scopeAny = scopeConnect | scopeProducer | scopeConsumer
)

// Option is a Redis-specific option. Give it to streamer.WithDriverOption,
// at Open (a default for every producer and consumer of the Streamer) or at
// NewProducer / NewConsumer (for that one). Options for producers are
// refused by NewConsumer and the other way round; connection options are
// accepted only by Open.
type Option struct {
	name  string
	scope scope
	value string
	apply func(*config) error
}

func (o Option) String() string { return "redis option " + o.name + "=" + o.value }

func opt(name string, s scope, value any, f func(*config) error) Option {
	return Option{name: name, scope: s, value: fmt.Sprint(value), apply: f}
}

func positive[T int | int64 | time.Duration](name string, v T) error {
	if v <= 0 {
		return invalid(name, fmt.Sprint(v), "must be positive")
	}
	return nil
}

func nonNegative[T int | int64 | time.Duration](name string, v T) error {
	if v < 0 {
		return invalid(name, fmt.Sprint(v), "must not be negative")
	}
	return nil
}

func invalid(name, value, reason string) error {
	return &driver.OptionError{Scheme: scheme, Name: name, Value: value, Reason: reason, Err: driver.ErrInvalidOption}
}

// WithTLSConfig sets the TLS configuration (rediss:// URIs use TLS; with this
// option redis:// URIs do too).
func WithTLSConfig(c *tls.Config) Option {
	return opt("tls", scopeConnect, "config", func(cfg *config) error { cfg.tls = c.Clone(); return nil })
}

// WithClientOptions lets f adjust the go-redis client options (pool size,
// dialer, credentials provider...) after the adapter filled them in.
func WithClientOptions(f func(*goredis.Options)) Option {
	return opt("client_options", scopeConnect, "func", func(cfg *config) error {
		if f != nil {
			cfg.clientOpts = append(cfg.clientOpts, f)
		}
		return nil
	})
}

// WithDB selects the Redis database (URI option db). The default is 0.
func WithDB(n int) Option {
	return opt("db", scopeConnect, n, func(cfg *config) error {
		if err := nonNegative("db", n); err != nil {
			return err
		}
		cfg.db = n
		return nil
	})
}

// WithMessageField sets the entry field holding the payload (URI option
// field). The default is "msg", as SeaStreamer's. Entries without the field
// are skipped by consumers (and acknowledged in groups), with a warning.
func WithMessageField(name string) Option {
	return opt("field", scopeAny, name, func(cfg *config) error {
		if name == "" {
			return invalid("field", name, "must not be empty")
		}
		cfg.field = name
		return nil
	})
}

// WithBatchSize bounds how many messages a producer sends in one pipeline
// (URI option batch_size). The default is 1000.
func WithBatchSize(n int) Option {
	return opt("batch_size", scopeProducer, n, func(cfg *config) error {
		if n <= 0 || n > 1_000_000 {
			return invalid("batch_size", strconv.Itoa(n), "must be between 1 and 1000000")
		}
		cfg.batchSize = n
		return nil
	})
}

// WithTrimMaxLen makes every XADD trim its stream to about n entries
// (MAXLEN ~ n; URI option maxlen). 0, the default, does not trim.
func WithTrimMaxLen(n int64) Option {
	return opt("maxlen", scopeProducer, n, func(cfg *config) error {
		if err := nonNegative("maxlen", n); err != nil {
			return err
		}
		cfg.maxLen = n
		return nil
	})
}

// WithTrimMinAge makes every XADD remove entries older than d (MINID ~
// <now-d>; URI option minage, e.g. 24h). 0, the default, does not trim.
// It cannot be combined with WithTrimMaxLen.
func WithTrimMinAge(d time.Duration) Option {
	return opt("minage", scopeProducer, d, func(cfg *config) error {
		if err := nonNegative("minage", d); err != nil {
			return err
		}
		cfg.minAge = d
		return nil
	})
}

// WithExactTrim makes trimming exact ("=") instead of approximate ("~",
// the default, which Redis does in whole nodes and is much cheaper). URI
// option exact_trim=true.
func WithExactTrim(v bool) Option {
	return opt("exact_trim", scopeProducer, v, func(cfg *config) error { cfg.exactTrim = v; return nil })
}

// WithLateTimestamps sets what a producer does with an explicit timestamp
// older than its stream's newest entry (URI option late_timestamps).
func WithLateTimestamps(m LateMode) Option {
	return opt("late_timestamps", scopeProducer, m, func(cfg *config) error {
		if m > LateClamp {
			return invalid("late_timestamps", m.String(), "use LateReject or LateClamp")
		}
		cfg.late = m
		return nil
	})
}

// WithShardZeroSuffix sets whether a producer writes shard 0 of a stream to
// the Redis key "<stream>:0" (true) or "<stream>" (false) (URI option
// shard0_suffix). By default it does what SeaStreamer does: a producer that
// shards (created with streamer.WithShardCount(n), n > 1) writes every shard,
// 0 included, to "<stream>:<n>", since SeaStreamer's consumers ignore
// "<stream>" once "<stream>:N" keys exist; any other producer writes shard 0
// to "<stream>". Consumers read both layouts.
func WithShardZeroSuffix(v bool) Option {
	return opt("shard0_suffix", scopeProducer, v, func(cfg *config) error { cfg.shard0Suffix = &v; return nil })
}

// zeroSuffix reports whether a producer created with opts writes shard 0 to
// "<stream>:0".
func (cfg *config) zeroSuffix(opts driver.ProducerOptions) bool {
	if cfg.shard0Suffix != nil {
		return *cfg.shard0Suffix
	}
	return opts.ShardCount > 1
}

// WithAckMode sets when group consumers acknowledge messages (URI option
// ack). The default is AckDelayed.
func WithAckMode(m AckMode) Option {
	return opt("ack", scopeConsumer, m, func(cfg *config) error {
		if m > AckDisabled {
			return invalid("ack", m.String(), "use AckImmediate, AckDelayed, AckRolling or AckDisabled")
		}
		cfg.ack = m
		return nil
	})
}

// WithCommitDelay sets how long after Next returned a message AckDelayed
// acknowledges it (URI option commit_delay). The default is 5s.
func WithCommitDelay(d time.Duration) Option {
	return opt("commit_delay", scopeConsumer, d, func(cfg *config) error {
		if err := nonNegative("commit_delay", d); err != nil {
			return err
		}
		cfg.commitDelay = d
		return nil
	})
}

// WithCommitInterval sets how often AckDelayed and AckRolling send their
// acknowledgements (URI option commit_interval). The default is 1s.
func WithCommitInterval(d time.Duration) Option {
	return opt("commit_interval", scopeConsumer, d, func(cfg *config) error {
		if err := positive("commit_interval", d); err != nil {
			return err
		}
		cfg.commitInterval = d
		return nil
	})
}

// WithAutoClaim sets how often a LoadBalanced consumer looks for members of
// its group that have been idle longer than idle with messages pending, and
// claims those messages for itself (XAUTOCLAIM with its own name). URI
// options claim_interval and claim_idle. The defaults are 30s and 60s;
// interval 0 turns claiming off. idle must exceed the time a live member
// needs to process and acknowledge a message, or live members' messages are
// claimed too (and processed twice).
func WithAutoClaim(interval, idle time.Duration) Option {
	return opt("claim", scopeConsumer, interval.String()+","+idle.String(), func(cfg *config) error {
		if err := nonNegative("claim_interval", interval); err != nil {
			return err
		}
		if err := positive("claim_idle", idle); err != nil {
			return err
		}
		cfg.claimInterval, cfg.claimIdle = interval, idle
		return nil
	})
}

// WithReadCount sets how many entries a consumer asks for in one read
// (COUNT; URI option count). The default is 1000, or 10 for LoadBalanced
// consumers, whose members share messages page by page.
func WithReadCount(n int) Option {
	return opt("count", scopeConsumer, n, func(cfg *config) error {
		if n <= 0 || n > 1_000_000 {
			return invalid("count", strconv.Itoa(n), "must be between 1 and 1000000")
		}
		cfg.readCount = n
		return nil
	})
}

// WithMkStream sets whether group consumers create a missing stream at once,
// with their group (XGROUP CREATE ... MKSTREAM; URI option mkstream). It is
// on by default, so that every member of a group is ready when the first
// message comes. Off, a missing stream is waited for (checked every 100ms)
// and its group created when it appears, at its first entry so that nothing
// is missed; the first member to notice then has a head start.
func WithMkStream(v bool) Option {
	return opt("mkstream", scopeConsumer, v, func(cfg *config) error { cfg.mkStream = v; return nil })
}

// WithHeartbeat sets how long one blocking read waits on the server before
// the consumer does its periodic work (shard discovery, auto-claim); URI
// option heartbeat. The default is 1s.
func WithHeartbeat(d time.Duration) Option {
	return opt("heartbeat", scopeConsumer, d, func(cfg *config) error {
		if d < time.Millisecond {
			return invalid("heartbeat", d.String(), "must be at least 1ms")
		}
		cfg.heartbeat = d
		return nil
	})
}

// WithDiscoverInterval sets how often a consumer looks for new shard keys
// "<stream>:N" with SCAN (URI option discover_interval). The default is 5s;
// 0 looks only when the consumer starts, seeks or rewinds.
func WithDiscoverInterval(d time.Duration) Option {
	return opt("discover_interval", scopeConsumer, d, func(cfg *config) error {
		if err := nonNegative("discover_interval", d); err != nil {
			return err
		}
		cfg.discoverInterval = d
		return nil
	})
}

// uriOptions are the query options Open accepts.
var uriOptions = []string{
	"db", "tls_insecure", "timeout", "field",
	"batch_size", "maxlen", "minage", "exact_trim", "late_timestamps", "shard0_suffix",
	"ack", "commit_delay", "commit_interval", "claim_interval", "claim_idle", "count",
	"mkstream", "heartbeat", "discover_interval",
}

// applyExtra applies the Go options in extra, which must be Options of a
// scope in allowed.
func (c *config) applyExtra(extra []any, allowed scope, where string) error {
	for _, v := range extra {
		o, ok := v.(Option)
		if !ok {
			if p, isPtr := v.(*Option); isPtr && p != nil {
				o, ok = *p, true
			}
		}
		if !ok {
			return driver.UnknownExtraError(scheme, v)
		}
		if o.apply == nil {
			return invalid("Option", "zero value", "build options with the With... functions")
		}
		if o.scope&allowed == 0 {
			return invalid(o.name, o.value, "this option cannot be given to "+where+": "+scopeHint(o.scope))
		}
		if err := o.apply(c); err != nil {
			return err
		}
	}
	return nil
}

func scopeHint(s scope) string {
	switch s {
	case scopeConnect:
		return "give it to Open"
	case scopeProducer:
		return "give it to Open or NewProducer"
	case scopeConsumer:
		return "give it to Open or NewConsumer"
	}
	return "give it to Open"
}

// applyURI applies the query options of u (already checked against
// uriOptions).
func (c *config) applyURI(u *driver.URI) error {
	for _, name := range uriOptions {
		raw, ok := u.Option(name)
		if !ok {
			continue
		}
		if err := c.applyURIOption(u, name, raw); err != nil {
			return err
		}
	}
	return nil
}

func (c *config) applyURIOption(u *driver.URI, name, raw string) error {
	// The URI helpers return *driver.OptionError already.
	wrap := func(err error, _ string) error { return err }
	dur := func(set func(time.Duration) Option) error {
		d, _, err := u.OptionDuration(name)
		if err != nil {
			return wrap(err, "want a duration such as 500ms or 10s")
		}
		return set(d).apply(c)
	}
	boolean := func(set func(bool) Option) error {
		v, _, err := u.OptionBool(name)
		if err != nil {
			return wrap(err, "want true or false")
		}
		return set(v).apply(c)
	}
	integer := func(set func(int) Option) error {
		v, _, err := u.OptionUint(name)
		if err != nil {
			return wrap(err, "want an unsigned integer")
		}
		if v > 1<<31 {
			return invalid(name, raw, "too large")
		}
		return set(int(v)).apply(c)
	}
	switch name {
	case "db":
		return integer(WithDB)
	case "tls_insecure":
		v, _, err := u.OptionBool(name)
		if err != nil {
			return wrap(err, "want true or false")
		}
		c.tlsInsecure = v
		return nil
	case "timeout":
		d, _, err := u.OptionDuration(name)
		if err != nil {
			return wrap(err, "want a duration such as 5s")
		}
		if d <= 0 {
			return invalid(name, raw, "must be positive")
		}
		c.timeout = d
		return nil
	case "field":
		return WithMessageField(raw).apply(c)
	case "batch_size":
		return integer(WithBatchSize)
	case "maxlen":
		return integer(func(n int) Option { return WithTrimMaxLen(int64(n)) })
	case "minage":
		return dur(WithTrimMinAge)
	case "exact_trim":
		return boolean(WithExactTrim)
	case "late_timestamps":
		switch strings.ToLower(raw) {
		case "reject":
			c.late = LateReject
		case "clamp":
			c.late = LateClamp
		default:
			return invalid(name, raw, "use reject or clamp")
		}
		return nil
	case "shard0_suffix":
		return boolean(WithShardZeroSuffix)
	case "ack":
		for m, n := range ackNames {
			if strings.EqualFold(raw, n) {
				c.ack = AckMode(m)
				return nil
			}
		}
		return invalid(name, raw, "use immediate, delayed, rolling or disabled")
	case "commit_delay":
		return dur(WithCommitDelay)
	case "commit_interval":
		return dur(WithCommitInterval)
	case "claim_interval":
		return dur(func(d time.Duration) Option { return WithAutoClaim(d, c.claimIdle) })
	case "claim_idle":
		return dur(func(d time.Duration) Option { return WithAutoClaim(c.claimInterval, d) })
	case "count":
		return integer(WithReadCount)
	case "mkstream":
		return boolean(WithMkStream)
	case "heartbeat":
		return dur(WithHeartbeat)
	case "discover_interval":
		return dur(WithDiscoverInterval)
	}
	return nil
}

// check validates combinations.
func (c *config) check() error {
	if c.maxLen > 0 && c.minAge > 0 {
		return invalid("maxlen", strconv.FormatInt(c.maxLen, 10), "trim by maxlen or by minage, not both")
	}
	return nil
}
