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

// WithClientOptions passes franz-go client options to every client the
// driver creates in the scope it is given to (Open: all of them; NewProducer
// or NewConsumer: that one's). They are applied after the driver's own, so
// they override them; options that contradict how the driver works (such as
// ConsumeTopics, ConsumerGroup or RecordPartitioner) lead to undefined
// behaviour.
func WithClientOptions(opts ...kgo.Opt) Option {
	return streamer.WithDriverOption(clientOpts(opts))
}

// WithTLS connects with TLS using cfg (cloned); nil means the system's root
// CAs and default settings. URI options: tls, tls_ca, tls_skip_verify.
func WithTLS(cfg *tls.Config) ConnectOption {
	if cfg == nil {
		cfg = new(tls.Config)
	}
	return streamer.WithDriverOption(tlsOpt{cfg.Clone()})
}

// WithSASL authenticates with the given franz-go SASL mechanisms, tried in
// order (e.g. plain.Auth{User: u, Pass: p}.AsMechanism(), or
// scram.Auth{...}.AsSha512Mechanism()). URI options: sasl_mechanism,
// sasl_user, sasl_password.
func WithSASL(mechanisms ...sasl.Mechanism) ConnectOption {
	return streamer.WithDriverOption(saslOpt(mechanisms))
}

// WithClientID sets the client id the brokers see (default "kgo").
// URI option: client_id.
func WithClientID(id string) ConnectOption {
	return streamer.WithDriverOption(clientIDOpt(id))
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
	return streamer.WithDriverOption(compressionOpt(c))
}

// WithLinger makes producers wait up to d for more messages before sending a
// batch (default: franz-go's, 10ms; 0 sends at once; Flush ends any wait).
// URI option: linger.
func WithLinger(d time.Duration) ProducerOption {
	return streamer.WithDriverOption(lingerOpt(d))
}

// WithTopicCreation makes the driver create a missing topic with the given
// number of partitions and replication factor (-1: the broker's default)
// before it first produces to it or counts its shards. Without it, a missing
// topic is created by the broker if its auto.create.topics.enable allows,
// with the broker's num.partitions. URI options: partitions, replication.
func WithTopicCreation(partitions int32, replication int16) ProducerOption {
	return streamer.WithDriverOption(topicCreationOpt{partitions, replication})
}

// WithSessionTimeout sets the group session timeout of LoadBalanced
// consumers (default 45s): a member that stops heartbeating for that long is
// removed from the group and its partitions are reassigned. URI option:
// session_timeout.
func WithSessionTimeout(d time.Duration) ConsumerOption {
	return streamer.WithDriverOption(sessionTimeoutOpt(d))
}

// WithAutoCommit makes Resumable and LoadBalanced consumers commit, every
// interval, the position after the messages Next has returned (as
// SeaStreamer's enable.auto.commit does). Commit still commits at once. By
// default nothing is committed but by Commit, and, for LoadBalanced
// consumers, for a partition the group takes away.
func WithAutoCommit(interval time.Duration) ConsumerOption {
	return streamer.WithDriverOption(autoCommitOpt(interval))
}

// Option values as the driver sees them in the Extra lists.
type (
	clientOpts       []kgo.Opt
	tlsOpt           struct{ cfg *tls.Config }
	saslOpt          []sasl.Mechanism
	clientIDOpt      string
	compressionOpt   Compression
	lingerOpt        time.Duration
	topicCreationOpt struct {
		partitions  int32
		replication int16
	}
	sessionTimeoutOpt time.Duration
	autoCommitOpt     time.Duration
)

// scope says where an option may be given.
type scope uint8

const (
	scopeConnect scope = 1 << iota
	scopeProducer
	scopeConsumer
)

func (s scope) String() string {
	switch s {
	case scopeProducer:
		return "NewProducer"
	case scopeConsumer:
		return "NewConsumer"
	}
	return "Open"
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
}

func (s settings) clone() settings {
	s.clientOpts = append([]kgo.Opt(nil), s.clientOpts...)
	s.sasl = append([]sasl.Mechanism(nil), s.sasl...)
	return s
}

// applyExtra applies Extra option values given in scope at.
func (s *settings) applyExtra(at scope, extra []any) error {
	for _, v := range extra {
		var allowed scope
		var name string
		switch o := v.(type) {
		case clientOpts:
			allowed, name = scopeConnect|scopeProducer|scopeConsumer, "WithClientOptions"
			s.clientOpts = append(s.clientOpts, o...)
		case tlsOpt:
			allowed, name = scopeConnect, "WithTLS"
			s.tls = o.cfg
		case saslOpt:
			allowed, name = scopeConnect, "WithSASL"
			s.sasl = append([]sasl.Mechanism(nil), o...)
		case clientIDOpt:
			allowed, name = scopeConnect, "WithClientID"
			s.clientID = string(o)
		case compressionOpt:
			allowed, name = scopeConnect|scopeProducer, "WithCompression"
			if Compression(o) > CompressionZstd {
				return badOption(name, Compression(o).String(), "use one of the Compression constants")
			}
			s.compression = Compression(o)
		case lingerOpt:
			allowed, name = scopeConnect|scopeProducer, "WithLinger"
			if o < 0 {
				return badOption(name, time.Duration(o).String(), "must not be negative")
			}
			s.linger, s.lingerSet = time.Duration(o), true
		case topicCreationOpt:
			allowed, name = scopeConnect|scopeProducer, "WithTopicCreation"
			if o.partitions < 0 || o.replication < -1 || o.replication == 0 {
				return badOption(name, fmt.Sprintf("%d partitions, replication %d", o.partitions, o.replication),
					"partitions must be at least 1 (0 turns creation off), replication at least 1 or -1 for the broker's default")
			}
			s.partitions, s.replication = o.partitions, o.replication
		case sessionTimeoutOpt:
			allowed, name = scopeConnect|scopeConsumer, "WithSessionTimeout"
			if o < 0 {
				return badOption(name, time.Duration(o).String(), "must not be negative")
			}
			s.sessionTimeout = time.Duration(o)
		case autoCommitOpt:
			allowed, name = scopeConnect|scopeConsumer, "WithAutoCommit"
			if o < 0 {
				return badOption(name, time.Duration(o).String(), "must not be negative")
			}
			s.autoCommit = time.Duration(o)
		default:
			return driver.UnknownExtraError(scheme, v)
		}
		if allowed&at == 0 {
			return badOption(name, "", "this option cannot be given to "+at.String())
		}
	}
	return nil
}

func badOption(name, value, reason string) error {
	return &driver.OptionError{Scheme: scheme, Name: name, Value: value, Reason: reason, Err: driver.ErrInvalidOption}
}

// uriOptions are the query options a kafka:// URI accepts.
var uriOptions = []string{
	"auto_commit", "client_id", "compression", "linger", "partitions", "replication",
	"sasl_mechanism", "sasl_password", "sasl_user", "session_timeout", "timeout",
	"tls", "tls_ca", "tls_skip_verify",
}

// applyURI applies the URI's query options, which override the Go options.
func (s *settings) applyURI(u *driver.URI) error {
	if err := u.CheckOptions(uriOptions...); err != nil {
		return err
	}
	if d, ok, err := u.OptionDuration("timeout"); err != nil {
		return err
	} else if ok {
		s.timeout = d
	}
	if v, ok := u.Option("client_id"); ok {
		s.clientID = v
	}
	if v, ok := u.Option("compression"); ok {
		found := false
		for i, n := range compressionNames {
			if strings.EqualFold(v, n) {
				s.compression, found = Compression(i), true
			}
		}
		if !found {
			return badOption("compression", v, "use none, gzip, snappy, lz4 or zstd")
		}
	}
	if d, ok, err := u.OptionDuration("linger"); err != nil {
		return err
	} else if ok {
		s.linger, s.lingerSet = d, true
	}
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
	if d, ok, err := u.OptionDuration("session_timeout"); err != nil {
		return err
	} else if ok {
		s.sessionTimeout = d
	}
	if d, ok, err := u.OptionDuration("auto_commit"); err != nil {
		return err
	} else if ok {
		s.autoCommit = d
	}
	if err := s.applyURITLS(u); err != nil {
		return err
	}
	return s.applyURISASL(u)
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
