package kafka

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/seastream/ss/streamer"
	"github.com/seastream/ss/streamer/driver"
)

// Option is a Kafka-specific option. Each With function below says where it
// may be given: to streamer.Open (a default for every producer and consumer
// of the Streamer), to NewProducer or to NewConsumer. An option given where it
// has no meaning (e.g. WithTLS to NewConsumer) is refused with an
// *OptionError wrapping ErrInvalidOption.
//
// The same values reach the driver in the Extra lists of driver.ConnectOptions,
// driver.ProducerOptions and driver.ConsumerOptions.
type Option interface {
	streamer.Option
	streamer.ConsumerOption
	streamer.ProducerOption
}

// ConnectOption is an Option for streamer.Open only.
type ConnectOption = streamer.Option

// ProducerOption is an Option for streamer.Open or NewProducer.
type ProducerOption interface {
	streamer.Option
	streamer.ProducerOption
}

// ConsumerOption is an Option for streamer.Open or NewConsumer.
type ConsumerOption interface {
	streamer.Option
	streamer.ConsumerOption
}

// option is the Go form of an option as the driver finds it in the Extra
// lists (streamer.WithDriverOption wraps it).
type option struct{ s driver.Setting[settings] }

// options declares every option once: the URI parameters that set it, how
// they are read, where its Go form may be given, and the setter shared by the
// URI and the Go option. Errors about a Go option name its With function,
// errors about a URI parameter the parameter. URI parameters are applied in
// this order.
var options = driver.NewOptions[settings](scheme)

func badOption(name, value, reason string) error { return options.Invalid(name, value, reason) }

func nonNegative(name string, d time.Duration) error {
	if d < 0 {
		return badOption(name, d.String(), "must not be negative")
	}
	return nil
}

var (
	// timeout's Go form is streamer.WithTimeout (ConnectOptions.Timeout).
	_ = driver.AddValue(options, driver.Value[settings, time.Duration]{
		Param: "timeout", Scope: driver.ScopeOpen, Parse: (*driver.URI).OptionDuration,
		Set: func(s *settings, d time.Duration) error { s.timeout = d; return nil },
	})

	optClientID = driver.AddValue(options, driver.Value[settings, string]{
		Name: "WithClientID", Param: "client_id", Scope: driver.ScopeOpen, Parse: driver.Text,
		Set: func(s *settings, id string) error { s.clientID = id; return nil },
	})

	optCompression = driver.AddValue(options, driver.Value[settings, Compression]{
		Name: "WithCompression", Param: "compression", Scope: driver.ScopeProducer,
		Parse: func(u *driver.URI, name string) (Compression, bool, error) {
			v, ok := u.Option(name)
			if !ok {
				return 0, false, nil
			}
			for i, n := range compressionNames {
				if strings.EqualFold(v, n) {
					return Compression(i), true, nil
				}
			}
			return 0, true, badOption(name, v, "use none, gzip, snappy, lz4 or zstd")
		},
		Set: func(s *settings, c Compression) error {
			if c > CompressionZstd {
				return badOption("WithCompression", c.String(), "use one of the Compression constants")
			}
			s.compression = c
			return nil
		},
	})

	optLinger = driver.AddValue(options, driver.Value[settings, time.Duration]{
		Name: "WithLinger", Param: "linger", Scope: driver.ScopeProducer, Parse: (*driver.URI).OptionDuration,
		Set: func(s *settings, d time.Duration) error {
			if err := nonNegative("WithLinger", d); err != nil {
				return err
			}
			s.linger, s.lingerSet = d, true
			return nil
		},
	})

	optTopicCreation = options.Add(driver.Decl[settings]{
		Name: "WithTopicCreation", Params: []string{"partitions", "replication"}, Scope: driver.ScopeProducer,
		FromURI: (*settings).applyURITopicCreation,
	})

	optSessionTimeout = driver.AddValue(options, driver.Value[settings, time.Duration]{
		Name: "WithSessionTimeout", Param: "session_timeout", Scope: driver.ScopeConsumer, Parse: (*driver.URI).OptionDuration,
		Set: func(s *settings, d time.Duration) error {
			if err := nonNegative("WithSessionTimeout", d); err != nil {
				return err
			}
			s.sessionTimeout = d
			return nil
		},
	})

	optAutoCommit = driver.AddValue(options, driver.Value[settings, time.Duration]{
		Name: "WithAutoCommit", Param: "auto_commit", Scope: driver.ScopeConsumer, Parse: (*driver.URI).OptionDuration,
		Set: func(s *settings, d time.Duration) error {
			if err := nonNegative("WithAutoCommit", d); err != nil {
				return err
			}
			s.autoCommit = d
			return nil
		},
	})

	optBalancer = driver.AddValue(options, driver.Value[settings, balancerList]{
		Name: "WithBalancer", Param: "balancer", Scope: driver.ScopeConsumer,
		Parse: func(u *driver.URI, name string) (balancerList, bool, error) {
			v, ok := u.Option(name)
			if !ok {
				return nil, false, nil
			}
			l, err := parseBalancers(name, v)
			return l, true, err
		},
		Set: func(s *settings, l balancerList) error {
			if err := l.check("WithBalancer"); err != nil {
				return err
			}
			s.balancers = l
			return nil
		},
	})

	optTLS = options.Add(driver.Decl[settings]{
		Name: "WithTLS", Params: []string{"tls", "tls_ca", "tls_skip_verify"}, Scope: driver.ScopeOpen,
		FromURI: (*settings).applyURITLS,
	})

	optSASL = options.Add(driver.Decl[settings]{
		Name: "WithSASL", Params: []string{"sasl_mechanism", "sasl_user", "sasl_password"}, Scope: driver.ScopeOpen,
		FromURI: (*settings).applyURISASL,
	})

	optClientOptions = options.Add(driver.Decl[settings]{Name: "WithClientOptions", Scope: driver.ScopeClients})
)

// WithClientOptions passes franz-go client options to every client the
// driver creates in the scope it is given to (Open: all of them; NewProducer
// or NewConsumer: that one's). They are applied after the driver's own, so
// they override them; options that contradict how the driver works (such as
// ConsumeTopics, ConsumerGroup or RecordPartitioner) lead to undefined
// behaviour.
func WithClientOptions(opts ...kgo.Opt) Option {
	return streamer.WithDriverOption(option{optClientOptions.Setting(strconv.Itoa(len(opts))+" kgo.Opt", func(s *settings) error {
		s.clientOpts = append(s.clientOpts, opts...)
		return nil
	})})
}

// WithTLS connects with TLS using cfg (cloned); nil means the system's root
// CAs and default settings. URI options: tls, tls_ca, tls_skip_verify.
func WithTLS(cfg *tls.Config) ConnectOption {
	if cfg == nil {
		cfg = new(tls.Config)
	}
	cfg = cfg.Clone()
	return streamer.WithDriverOption(option{optTLS.Setting("config", func(s *settings) error { s.tls = cfg; return nil })})
}

// WithSASL authenticates with the given franz-go SASL mechanisms, tried in
// order (e.g. plain.Auth{User: u, Pass: p}.AsMechanism(), or
// scram.Auth{...}.AsSha512Mechanism()). URI options: sasl_mechanism,
// sasl_user, sasl_password.
func WithSASL(mechanisms ...sasl.Mechanism) ConnectOption {
	return streamer.WithDriverOption(option{optSASL.Setting(strconv.Itoa(len(mechanisms))+" mechanisms", func(s *settings) error {
		s.sasl = append([]sasl.Mechanism(nil), mechanisms...)
		return nil
	})})
}

// WithClientID sets the client id the brokers see (default "kgo").
// URI option: client_id.
func WithClientID(id string) ConnectOption {
	return streamer.WithDriverOption(option{optClientID.Setting(id)})
}

// Compression is a producer batch compression codec.
type Compression uint8

// Compression codecs.
const (
	CompressionNone Compression = iota
	CompressionGzip
	CompressionSnappy
	CompressionLZ4
	CompressionZstd
)

var compressionNames = [...]string{"none", "gzip", "snappy", "lz4", "zstd"}

func (c Compression) String() string {
	if int(c) < len(compressionNames) {
		return compressionNames[c]
	}
	return "Compression(" + strconv.Itoa(int(c)) + ")"
}

func (c Compression) codec() kgo.CompressionCodec {
	switch c {
	case CompressionGzip:
		return kgo.GzipCompression()
	case CompressionSnappy:
		return kgo.SnappyCompression()
	case CompressionLZ4:
		return kgo.Lz4Compression()
	case CompressionZstd:
		return kgo.ZstdCompression()
	}
	return kgo.NoCompression()
}

// WithCompression sets how producers compress their batches (default
// CompressionNone, as SeaStreamer). URI option: compression=gzip|snappy|lz4|zstd|none.
func WithCompression(c Compression) ProducerOption {
	return streamer.WithDriverOption(option{optCompression.Setting(c)})
}

// WithLinger makes producers wait up to d for more messages before sending a
// batch (default: franz-go's, 10ms; 0 sends at once; Flush ends any wait).
// URI option: linger.
func WithLinger(d time.Duration) ProducerOption {
	return streamer.WithDriverOption(option{optLinger.Setting(d)})
}

// WithTopicCreation makes the driver create a missing topic with the given
// number of partitions and replication factor (-1: the broker's default)
// before it first produces to it or counts its shards. Without it, a missing
// topic is created by the broker if its auto.create.topics.enable allows,
// with the broker's num.partitions. URI options: partitions, replication.
func WithTopicCreation(partitions int32, replication int16) ProducerOption {
	value := fmt.Sprintf("%d partitions, replication %d", partitions, replication)
	return streamer.WithDriverOption(option{optTopicCreation.Setting(value, func(s *settings) error {
		if partitions < 0 || replication < -1 || replication == 0 {
			return badOption("WithTopicCreation", value,
				"partitions must be at least 1 (0 turns creation off), replication at least 1 or -1 for the broker's default")
		}
		s.partitions, s.replication = partitions, replication
		return nil
	})})
}

// WithSessionTimeout sets the group session timeout of LoadBalanced
// consumers (default 45s): a member that stops heartbeating for that long is
// removed from the group and its partitions are reassigned. URI option:
// session_timeout.
func WithSessionTimeout(d time.Duration) ConsumerOption {
	return streamer.WithDriverOption(option{optSessionTimeout.Setting(d)})
}

// WithAutoCommit makes Resumable and LoadBalanced consumers commit, every
// interval, the position after the messages Next has returned (as
// SeaStreamer's enable.auto.commit does). Commit still commits at once. By
// default nothing is committed but by Commit, and, for LoadBalanced
// consumers, for a partition the group takes away.
func WithAutoCommit(interval time.Duration) ConsumerOption {
	return streamer.WithDriverOption(option{optAutoCommit.Setting(interval)})
}

// settings are the resolved options of one scope: the Conn's, then a copy
// refined for each producer and consumer.
type settings struct {
	timeout    time.Duration
	clientID   string
	tls        *tls.Config
	sasl       []sasl.Mechanism
	clientOpts []kgo.Opt

	compression    Compression
	linger         time.Duration
	lingerSet      bool  // else franz-go's default linger (10ms in v1.22)
	partitions     int32 // create missing topics with this many; 0: leave it to the broker
	replication    int16
	sessionTimeout time.Duration
	autoCommit     time.Duration
	balancers      balancerList // nil: defaultBalancers
}

func (s settings) clone() settings {
	s.clientOpts = append([]kgo.Opt(nil), s.clientOpts...)
	s.sasl = append([]sasl.Mechanism(nil), s.sasl...)
	s.balancers = append(balancerList(nil), s.balancers...)
	return s
}

// applyExtra applies the Extra option values given to the call at
// (driver.ScopeOpen, ScopeProducer or ScopeConsumer).
func (s *settings) applyExtra(at driver.OptionScope, extra []any) error {
	for _, v := range extra {
		o, ok := v.(option)
		if !ok {
			return driver.UnknownExtraError(scheme, v)
		}
		if err := options.Apply(s, at, o.s); err != nil {
			return err
		}
	}
	return nil
}

// applyURI applies the URI's query options, which override the Go options.
func (s *settings) applyURI(u *driver.URI) error { return options.ApplyURI(s, u) }

func (s *settings) applyURITopicCreation(u *driver.URI) error {
	if n, ok, err := u.OptionUint("partitions"); err != nil {
		return err
	} else if ok {
		if n > 1<<20 {
			return badOption("partitions", strconv.FormatUint(n, 10), "too many partitions")
		}
		s.partitions = int32(n)
		if s.replication == 0 {
			s.replication = -1
		}
	}
	if n, ok, err := u.OptionUint("replication"); err != nil {
		return err
	} else if ok {
		if n == 0 || n > 1<<15-1 {
			return badOption("replication", strconv.FormatUint(n, 10), "use a replication factor of at least 1")
		}
		s.replication = int16(n)
	}
	return nil
}

func (s *settings) applyURITLS(u *driver.URI) error {
	on, hasTLS, err := u.OptionBool("tls")
	if err != nil {
		return err
	}
	ca, hasCA := u.Option("tls_ca")
	skip, hasSkip, err := u.OptionBool("tls_skip_verify")
	if err != nil {
		return err
	}
	if hasTLS && !on {
		if hasCA || (hasSkip && skip) {
			return badOption("tls", "false", "tls_ca and tls_skip_verify need TLS")
		}
		s.tls = nil
		return nil
	}
	if !on && !hasCA && !hasSkip {
		return nil
	}
	cfg := new(tls.Config)
	if s.tls != nil {
		cfg = s.tls.Clone()
	}
	if hasCA {
		pem, err := os.ReadFile(ca)
		if err != nil {
			return badOption("tls_ca", ca, "cannot read the CA file: "+err.Error())
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return badOption("tls_ca", ca, "the file holds no PEM certificate")
		}
		cfg.RootCAs = pool
	}
	if hasSkip {
		cfg.InsecureSkipVerify = skip
	}
	s.tls = cfg
	return nil
}

func (s *settings) applyURISASL(u *driver.URI) error {
	mech, hasMech := u.Option("sasl_mechanism")
	user, hasUser := u.Option("sasl_user")
	pass, _ := u.Option("sasl_password")
	if !hasMech {
		if hasUser {
			return badOption("sasl_user", user, "give sasl_mechanism too (plain, scram-sha-256 or scram-sha-512)")
		}
		return nil
	}
	if !hasUser {
		return badOption("sasl_mechanism", mech, "give sasl_user and sasl_password too")
	}
	var m sasl.Mechanism
	switch strings.ToUpper(mech) {
	case "PLAIN":
		m = plain.Auth{User: user, Pass: pass}.AsMechanism()
	case "SCRAM-SHA-256":
		m = scram.Auth{User: user, Pass: pass}.AsSha256Mechanism()
	case "SCRAM-SHA-512":
		m = scram.Auth{User: user, Pass: pass}.AsSha512Mechanism()
	default:
		return badOption("sasl_mechanism", mech, "use plain, scram-sha-256 or scram-sha-512 (or kafka.WithSASL for others)")
	}
	s.sasl = []sasl.Mechanism{m}
	return nil
}

// baseOpts returns the kgo options common to every client of these settings.
func (s *settings) baseOpts(seeds []string) []kgo.Opt {
	opts := []kgo.Opt{kgo.SeedBrokers(seeds...)}
	if s.timeout > 0 {
		opts = append(opts, kgo.DialTimeout(s.timeout), kgo.RequestTimeoutOverhead(s.timeout), kgo.RetryTimeout(s.timeout))
	}
	if s.clientID != "" {
		opts = append(opts, kgo.ClientID(s.clientID))
	}
	if s.tls != nil {
		opts = append(opts, kgo.DialTLSConfig(s.tls.Clone()))
	}
	if len(s.sasl) > 0 {
		opts = append(opts, kgo.SASL(s.sasl...))
	}
	return opts
}
