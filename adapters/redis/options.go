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
	DefaultReplicasTimeout  = 1 * time.Second
)

// config holds every option; Open starts from defaultConfig, applies the Go
// options given to Open, then the URI's query, then each producer's or
// consumer's own Go options.
type config struct {
	// connection
	cluster     bool
	db          int
	tls         *tls.Config
	tlsInsecure bool
	clientOpts  []func(*goredis.Options)
	clusterOpts []func(*goredis.ClusterOptions)
	timeout     time.Duration
	field       string

	// producer
	batchSize       int
	maxLen          int64
	minAge          time.Duration
	exactTrim       bool
	late            LateMode
	shard0Suffix    *bool // nil: as SeaStreamer, suffixed when the producer shards
	replicas        int   // WAIT for that many replicas after each pipeline; 0 = no WAIT
	replicasTimeout time.Duration

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
		replicasTimeout:  DefaultReplicasTimeout,
	}
}

// Option is a Redis-specific option. Give it to streamer.WithDriverOption,
// at Open (a default for every producer and consumer of the Streamer) or at
// NewProducer / NewConsumer (for that one). Options for producers are
// refused by NewConsumer and the other way round; connection options are
// accepted only by Open.
type Option struct{ s driver.Setting[config] }

func (o Option) String() string { return "redis option " + o.s.String() }

// options declares every option once: its URI parameter (the same name
// names it in errors), how the parameter is read, and the setter that
// checks a value and stores it, for the URI and for the Go option alike.
// Each With function below wraps a declaration.
var options = driver.NewOptions[config](scheme)

func invalid(name, value, reason string) error { return options.Invalid(name, value, reason) }

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

// uintParam reads an unsigned integer parameter of at most 2^31.
func uintParam[T int | int64](u *driver.URI, name string) (T, bool, error) {
	v, ok, err := u.OptionUint(name)
	if err != nil || !ok {
		return 0, ok, err
	}
	if v > 1<<31 {
		raw, _ := u.Option(name)
		return 0, true, invalid(name, raw, "too large")
	}
	return T(v), true, nil
}

// enumParam returns a parser of the names of an enumeration (in any case),
// names[i] being the name of T(i).
func enumParam[T ~uint8](names []string, reason string) func(*driver.URI, string) (T, bool, error) {
	return func(u *driver.URI, name string) (T, bool, error) {
		raw, ok := u.Option(name)
		if !ok {
			return 0, false, nil
		}
		for i, n := range names {
			if strings.EqualFold(raw, n) {
				return T(i), true, nil
			}
		}
		return 0, true, invalid(name, raw, reason)
	}
}

// Connection options.
var (
	optTLS = options.Add(driver.Decl[config]{Name: "tls", Scope: driver.ScopeOpen})

	optClientOptions = options.Add(driver.Decl[config]{Name: "client_options", Scope: driver.ScopeOpen})

	optClusterOptions = options.Add(driver.Decl[config]{Name: "cluster_options", Scope: driver.ScopeOpen})

	optCluster = driver.AddValue(options, driver.Value[config, bool]{
		Param: "cluster", Scope: driver.ScopeOpen, Parse: (*driver.URI).OptionBool,
		Set: func(c *config, v bool) error { c.cluster = v; return nil },
	})

	optDB = driver.AddValue(options, driver.Value[config, int]{
		Param: "db", Scope: driver.ScopeOpen, Parse: uintParam[int],
		Set: func(c *config, n int) error {
			if err := nonNegative("db", n); err != nil {
				return err
			}
			c.db = n
			return nil
		},
	})

	_ = driver.AddValue(options, driver.Value[config, bool]{
		Param: "tls_insecure", Scope: driver.ScopeOpen, Parse: (*driver.URI).OptionBool,
		Set: func(c *config, v bool) error { c.tlsInsecure = v; return nil },
	})

	// timeout's Go form is streamer.WithTimeout (ConnectOptions.Timeout).
	_ = driver.AddValue(options, driver.Value[config, time.Duration]{
		Param: "timeout", Scope: driver.ScopeOpen,
		Parse: func(u *driver.URI, name string) (time.Duration, bool, error) {
			d, ok, err := u.OptionDuration(name)
			if err == nil && ok && d <= 0 {
				raw, _ := u.Option(name)
				return 0, true, invalid(name, raw, "must be positive")
			}
			return d, ok, err
		},
		Set: func(c *config, d time.Duration) error { c.timeout = d; return nil },
	})

	optField = driver.AddValue(options, driver.Value[config, string]{
		Param: "field", Scope: driver.ScopeClients, Parse: driver.Text,
		Set: func(c *config, name string) error {
			if name == "" {
				return invalid("field", name, "must not be empty")
			}
			c.field = name
			return nil
		},
	})
)

// WithTLSConfig sets the TLS configuration (rediss:// URIs use TLS; with this
// option redis:// URIs do too).
func WithTLSConfig(c *tls.Config) Option {
	return Option{optTLS.Setting("config", func(cfg *config) error { cfg.tls = c.Clone(); return nil })}
}

// WithClientOptions lets f adjust the go-redis client options (pool size,
// dialer, credentials provider...) after the adapter filled them in.
func WithClientOptions(f func(*goredis.Options)) Option {
	return Option{optClientOptions.Setting("func", func(cfg *config) error {
		if f != nil {
			cfg.clientOpts = append(cfg.clientOpts, f)
		}
		return nil
	})}
}

// WithCluster makes Open connect to a Redis Cluster through go-redis's
// cluster client (URI option cluster=true; SeaStreamer's
// RedisConnectOptions::set_enable_cluster): the URI's nodes are where it
// starts, and it follows the cluster's MOVED and ASK redirections. Without
// it a URI names one node. See "Redis Cluster" in the package documentation.
func WithCluster(v bool) Option { return Option{optCluster.Setting(v)} }

// WithClusterOptions lets f adjust the go-redis cluster client options
// (MaxRedirects, RouteByLatency, ClusterSlots...) of a cluster connection
// after the adapter filled them in, before each client is made. The node
// clients' options are WithClientOptions'.
func WithClusterOptions(f func(*goredis.ClusterOptions)) Option {
	return Option{optClusterOptions.Setting("func", func(cfg *config) error {
		if f != nil {
			cfg.clusterOpts = append(cfg.clusterOpts, f)
		}
		return nil
	})}
}

// WithDB selects the Redis database (URI option db). The default is 0.
func WithDB(n int) Option { return Option{optDB.Setting(n)} }

// WithMessageField sets the entry field holding the payload (URI option
// field). The default is "msg", as SeaStreamer's. Entries without the field
// are skipped by consumers (and acknowledged in groups), with a warning.
func WithMessageField(name string) Option { return Option{optField.Setting(name)} }

// Producer options.
var (
	optBatchSize = driver.AddValue(options, driver.Value[config, int]{
		Param: "batch_size", Scope: driver.ScopeProducer, Parse: uintParam[int],
		Set: func(c *config, n int) error {
			if n <= 0 || n > 1_000_000 {
				return invalid("batch_size", strconv.Itoa(n), "must be between 1 and 1000000")
			}
			c.batchSize = n
			return nil
		},
	})

	optMaxLen = driver.AddValue(options, driver.Value[config, int64]{
		Param: "maxlen", Scope: driver.ScopeProducer, Parse: uintParam[int64],
		Set: func(c *config, n int64) error {
			if err := nonNegative("maxlen", n); err != nil {
				return err
			}
			c.maxLen = n
			return nil
		},
	})

	optMinAge = driver.AddValue(options, driver.Value[config, time.Duration]{
		Param: "minage", Scope: driver.ScopeProducer, Parse: (*driver.URI).OptionDuration,
		Set: func(c *config, d time.Duration) error {
			if err := nonNegative("minage", d); err != nil {
				return err
			}
			c.minAge = d
			return nil
		},
	})

	optExactTrim = driver.AddValue(options, driver.Value[config, bool]{
		Param: "exact_trim", Scope: driver.ScopeProducer, Parse: (*driver.URI).OptionBool,
		Set: func(c *config, v bool) error { c.exactTrim = v; return nil },
	})

	optLate = driver.AddValue(options, driver.Value[config, LateMode]{
		Param: "late_timestamps", Scope: driver.ScopeProducer,
		Parse: enumParam[LateMode]([]string{LateReject: "reject", LateClamp: "clamp"}, "use reject or clamp"),
		Set: func(c *config, m LateMode) error {
			if m > LateClamp {
				return invalid("late_timestamps", m.String(), "use LateReject or LateClamp")
			}
			c.late = m
			return nil
		},
	})

	optShard0Suffix = driver.AddValue(options, driver.Value[config, bool]{
		Param: "shard0_suffix", Scope: driver.ScopeProducer, Parse: (*driver.URI).OptionBool,
		Set: func(c *config, v bool) error { c.shard0Suffix = &v; return nil },
	})

	optReplicas = driver.AddValue(options, driver.Value[config, int]{
		Param: "replicas", Scope: driver.ScopeProducer, Parse: uintParam[int],
		Set: func(c *config, n int) error {
			if n < 0 || n > 1000 {
				return invalid("replicas", strconv.Itoa(n), "must be between 0 and 1000")
			}
			c.replicas = n
			return nil
		},
	})

	optReplicasTimeout = driver.AddValue(options, driver.Value[config, time.Duration]{
		Param: "replicas_timeout", Scope: driver.ScopeProducer, Parse: (*driver.URI).OptionDuration,
		Set: func(c *config, d time.Duration) error {
			if d < time.Millisecond {
				return invalid("replicas_timeout", d.String(), "must be at least 1ms (WAIT 0 would wait forever)")
			}
			c.replicasTimeout = d
			return nil
		},
	})
)

// WithReplicas makes a producer resolve a message's receipt only once n
// replicas of its master acknowledged it (URI options replicas=N and
// replicas_timeout=1s): after each pipeline of XADDs it sends WAIT n
// timeout on the same connection (in a cluster, to each master the
// pipeline went to). If fewer replicas acknowledge within timeout, the
// pipeline's receipts fail with a *ReplicationError wrapping
// ErrNotReplicated, though the messages are stored on the master. n = 0,
// the default, sends no WAIT. See "Replicas" in the package documentation
// for what it does not guarantee.
func WithReplicas(n int, timeout time.Duration) Option {
	return Option{driver.Combine("replicas", optReplicas.Setting(n), optReplicasTimeout.Setting(timeout))}
}

// WithBatchSize bounds how many messages a producer sends in one pipeline
// (URI option batch_size). The default is 1000.
func WithBatchSize(n int) Option { return Option{optBatchSize.Setting(n)} }

// WithTrimMaxLen makes every XADD trim its stream to about n entries
// (MAXLEN ~ n; URI option maxlen). 0, the default, does not trim.
func WithTrimMaxLen(n int64) Option { return Option{optMaxLen.Setting(n)} }

// WithTrimMinAge makes every XADD remove entries older than d (MINID ~
// <now-d>; URI option minage, e.g. 24h). 0, the default, does not trim.
// It cannot be combined with WithTrimMaxLen.
func WithTrimMinAge(d time.Duration) Option { return Option{optMinAge.Setting(d)} }

// WithExactTrim makes trimming exact ("=") instead of approximate ("~",
// the default, which Redis does in whole nodes and is much cheaper). URI
// option exact_trim=true.
func WithExactTrim(v bool) Option { return Option{optExactTrim.Setting(v)} }

// WithLateTimestamps sets what a producer does with an explicit timestamp
// older than its stream's newest entry (URI option late_timestamps).
func WithLateTimestamps(m LateMode) Option { return Option{optLate.Setting(m)} }

// WithShardZeroSuffix sets whether a producer writes shard 0 of a stream to
// the Redis key "<stream>:0" (true) or "<stream>" (false) (URI option
// shard0_suffix). By default it does what SeaStreamer does: a producer that
// shards (created with streamer.WithShardCount(n), n > 1) writes every shard,
// 0 included, to "<stream>:<n>", since SeaStreamer's consumers ignore
// "<stream>" once "<stream>:N" keys exist; any other producer writes shard 0
// to "<stream>". Consumers read both layouts.
func WithShardZeroSuffix(v bool) Option { return Option{optShard0Suffix.Setting(v)} }

// zeroSuffix reports whether a producer created with opts writes shard 0 to
// "<stream>:0".
func (cfg *config) zeroSuffix(opts driver.ProducerOptions) bool {
	if cfg.shard0Suffix != nil {
		return *cfg.shard0Suffix
	}
	return opts.ShardCount > 1
}

// Consumer options.
var (
	optAck = driver.AddValue(options, driver.Value[config, AckMode]{
		Param: "ack", Scope: driver.ScopeConsumer,
		Parse: enumParam[AckMode](ackNames[:], "use immediate, delayed, rolling or disabled"),
		Set: func(c *config, m AckMode) error {
			if m > AckDisabled {
				return invalid("ack", m.String(), "use AckImmediate, AckDelayed, AckRolling or AckDisabled")
			}
			c.ack = m
			return nil
		},
	})

	optCommitDelay = driver.AddValue(options, driver.Value[config, time.Duration]{
		Param: "commit_delay", Scope: driver.ScopeConsumer, Parse: (*driver.URI).OptionDuration,
		Set: func(c *config, d time.Duration) error {
			if err := nonNegative("commit_delay", d); err != nil {
				return err
			}
			c.commitDelay = d
			return nil
		},
	})

	optCommitInterval = driver.AddValue(options, driver.Value[config, time.Duration]{
		Param: "commit_interval", Scope: driver.ScopeConsumer, Parse: (*driver.URI).OptionDuration,
		Set: func(c *config, d time.Duration) error {
			if err := positive("commit_interval", d); err != nil {
				return err
			}
			c.commitInterval = d
			return nil
		},
	})

	optClaimInterval = driver.AddValue(options, driver.Value[config, time.Duration]{
		Param: "claim_interval", Scope: driver.ScopeConsumer, Parse: (*driver.URI).OptionDuration,
		Set: func(c *config, d time.Duration) error {
			if err := nonNegative("claim_interval", d); err != nil {
				return err
			}
			c.claimInterval = d
			return nil
		},
	})

	optClaimIdle = driver.AddValue(options, driver.Value[config, time.Duration]{
		Param: "claim_idle", Scope: driver.ScopeConsumer, Parse: (*driver.URI).OptionDuration,
		Set: func(c *config, d time.Duration) error {
			if err := positive("claim_idle", d); err != nil {
				return err
			}
			c.claimIdle = d
			return nil
		},
	})

	optReadCount = driver.AddValue(options, driver.Value[config, int]{
		Param: "count", Scope: driver.ScopeConsumer, Parse: uintParam[int],
		Set: func(c *config, n int) error {
			if n <= 0 || n > 1_000_000 {
				return invalid("count", strconv.Itoa(n), "must be between 1 and 1000000")
			}
			c.readCount = n
			return nil
		},
	})

	optMkStream = driver.AddValue(options, driver.Value[config, bool]{
		Param: "mkstream", Scope: driver.ScopeConsumer, Parse: (*driver.URI).OptionBool,
		Set: func(c *config, v bool) error { c.mkStream = v; return nil },
	})

	optHeartbeat = driver.AddValue(options, driver.Value[config, time.Duration]{
		Param: "heartbeat", Scope: driver.ScopeConsumer, Parse: (*driver.URI).OptionDuration,
		Set: func(c *config, d time.Duration) error {
			if d < time.Millisecond {
				return invalid("heartbeat", d.String(), "must be at least 1ms")
			}
			c.heartbeat = d
			return nil
		},
	})

	optDiscoverInterval = driver.AddValue(options, driver.Value[config, time.Duration]{
		Param: "discover_interval", Scope: driver.ScopeConsumer, Parse: (*driver.URI).OptionDuration,
		Set: func(c *config, d time.Duration) error {
			if err := nonNegative("discover_interval", d); err != nil {
				return err
			}
			c.discoverInterval = d
			return nil
		},
	})
)

// WithAckMode sets when group consumers acknowledge messages (URI option
// ack). The default is AckDelayed.
func WithAckMode(m AckMode) Option { return Option{optAck.Setting(m)} }

// WithCommitDelay sets how long after Next returned a message AckDelayed
// acknowledges it (URI option commit_delay). The default is 5s.
func WithCommitDelay(d time.Duration) Option { return Option{optCommitDelay.Setting(d)} }

// WithCommitInterval sets how often AckDelayed and AckRolling send their
// acknowledgements (URI option commit_interval). The default is 1s.
func WithCommitInterval(d time.Duration) Option { return Option{optCommitInterval.Setting(d)} }

// WithAutoClaim sets how often a LoadBalanced consumer looks for members of
// its group that have been idle longer than idle with messages pending, and
// claims those messages for itself (XAUTOCLAIM with its own name). URI
// options claim_interval and claim_idle. The defaults are 30s and 60s;
// interval 0 turns claiming off. idle must exceed the time a live member
// needs to process and acknowledge a message, or live members' messages are
// claimed too (and processed twice).
func WithAutoClaim(interval, idle time.Duration) Option {
	return Option{driver.Combine("claim", optClaimInterval.Setting(interval), optClaimIdle.Setting(idle))}
}

// WithReadCount sets how many entries a consumer asks for in one read
// (COUNT; URI option count). The default is 1000, or 10 for LoadBalanced
// consumers, whose members share messages page by page.
func WithReadCount(n int) Option { return Option{optReadCount.Setting(n)} }

// WithMkStream sets whether group consumers create a missing stream at once,
// with their group (XGROUP CREATE ... MKSTREAM; URI option mkstream). It is
// on by default, so that every member of a group is ready when the first
// message comes. Off, a missing stream is waited for (checked every 100ms)
// and its group created when it appears, at its first entry so that nothing
// is missed; the first member to notice then has a head start.
func WithMkStream(v bool) Option { return Option{optMkStream.Setting(v)} }

// WithHeartbeat sets how long one blocking read waits on the server before
// the consumer does its periodic work (shard discovery, auto-claim); URI
// option heartbeat. The default is 1s.
func WithHeartbeat(d time.Duration) Option { return Option{optHeartbeat.Setting(d)} }

// WithDiscoverInterval sets how often a consumer looks for new shard keys
// "<stream>:N" with SCAN (URI option discover_interval). The default is 5s;
// 0 looks only when the consumer starts, seeks or rewinds.
func WithDiscoverInterval(d time.Duration) Option { return Option{optDiscoverInterval.Setting(d)} }

// applyExtra applies the Go options in extra, given to the call at
// (driver.ScopeOpen, ScopeProducer or ScopeConsumer); they must be Options.
func (c *config) applyExtra(extra []any, at driver.OptionScope) error {
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
		if err := options.Apply(c, at, o.s); err != nil {
			return err
		}
	}
	return nil
}

// applyURI applies the query options of u, refusing unknown ones.
func (c *config) applyURI(u *driver.URI) error { return options.ApplyURI(c, u) }

// check validates combinations.
func (c *config) check() error {
	if c.cluster && c.db != 0 {
		return invalid("db", strconv.Itoa(c.db), "a Redis Cluster has database 0 only")
	}
	if c.maxLen > 0 && c.minAge > 0 {
		return invalid("maxlen", strconv.FormatInt(c.maxLen, 10), "trim by maxlen or by minage, not both")
	}
	return nil
}
