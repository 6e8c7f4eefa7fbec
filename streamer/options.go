package streamer

import (
	"log/slog"
	"time"

	"github.com/seastream/ss/streamer/driver"
)

// Option configures Open. Options set in Go are defaults: the URI's query
// options override them. A backend's own options are given with
// WithDriverOption; those bound to one scheme (a driver.SchemeOption, such
// as filedriver's WithCreate) are dropped for URIs of other schemes, so one
// set of options can serve URIs of any scheme.
type Option interface {
	applyConnect(*driver.ConnectOptions)
}

// ConsumerOption configures Streamer.NewConsumer.
type ConsumerOption interface {
	applyConsumer(*driver.ConsumerOptions)
}

// ProducerOption configures Streamer.NewProducer.
type ProducerOption interface {
	applyProducer(*producerConfig)
}

type producerConfig struct {
	driver.ProducerOptions
	shardCount uint64
}

type connectFunc func(*driver.ConnectOptions)

func (f connectFunc) applyConnect(c *driver.ConnectOptions) { f(c) }

type consumerFunc func(*driver.ConsumerOptions)

func (f consumerFunc) applyConsumer(c *driver.ConsumerOptions) { f(c) }

type producerFunc func(*producerConfig)

func (f producerFunc) applyProducer(c *producerConfig) { f(c) }

// WithLogger sets the logger the backend reports to. The default discards.
func WithLogger(l *slog.Logger) Option {
	return connectFunc(func(c *driver.ConnectOptions) { c.Logger = l })
}

// WithTimeout bounds connecting and each request to a server, on top of the
// contexts given to each call. 0 (the default) leaves it to the backend.
func WithTimeout(d time.Duration) Option {
	return connectFunc(func(c *driver.ConnectOptions) { c.Timeout = d })
}

// WithPrefetch bounds how many messages a consumer reads ahead of Next
// (backpressure beyond that). Given to Open, it is the default for every
// consumer of the Streamer (for file://, the URI option prefetch overrides
// it); given to NewConsumer, it applies to that consumer. 0 means the
// backend's default (1000 for files).
func WithPrefetch(n int) PrefetchOption { return PrefetchOption{n} }

// PrefetchOption is what WithPrefetch returns: both an Option (Open) and a
// ConsumerOption (NewConsumer).
type PrefetchOption struct{ n int }

func (p PrefetchOption) applyConnect(c *driver.ConnectOptions)   { c.Prefetch = p.n }
func (p PrefetchOption) applyConsumer(c *driver.ConsumerOptions) { c.Prefetch = p.n }

// WithDriverOption passes a backend-specific option value (defined by an
// adapter package) to the driver, in the Extra list of whichever call it is
// given to: Open, NewConsumer or NewProducer. A driver rejects values it does
// not know with ErrUnknownOption, except a driver.SchemeOption of another
// scheme, which is dropped before the driver sees it.
func WithDriverOption(v any) DriverOption { return DriverOption{v} }

// DriverOption is what WithDriverOption returns: an Option (Open), a
// ConsumerOption (NewConsumer) and a ProducerOption (NewProducer) alike, so
// that an adapter's option function can return it as any of them.
type DriverOption struct{ v any }

func (d DriverOption) applyConnect(c *driver.ConnectOptions)   { c.Extra = append(c.Extra, d.v) }
func (d DriverOption) applyConsumer(c *driver.ConsumerOptions) { c.Extra = append(c.Extra, d.v) }
func (d DriverOption) applyProducer(c *producerConfig)         { c.Extra = append(c.Extra, d.v) }

// WithMode sets the consumer mode (default RealTime).
func WithMode(m ConsumerMode) ConsumerOption {
	return consumerFunc(func(c *driver.ConsumerOptions) { c.Mode = m })
}

// WithGroup sets the consumer group: for LoadBalanced, required but on
// backends with a default group (Redis); optional for Resumable (it names the
// position to resume); not allowed for RealTime.
func WithGroup(name string) ConsumerOption {
	return consumerFunc(func(c *driver.ConsumerOptions) { c.Group = name })
}

// WithConsumerID names this consumer within its group, for backends that
// name group members (Redis). By default the backend picks a unique name.
func WithConsumerID(id string) ConsumerOption {
	return consumerFunc(func(c *driver.ConsumerOptions) { c.ConsumerID = id })
}

// WithAutoStreamReset sets where a consumer without a committed position
// starts: ResetLatest (the default, only new messages) or ResetEarliest.
func WithAutoStreamReset(r StreamReset) ConsumerOption {
	return consumerFunc(func(c *driver.ConsumerOptions) { c.AutoStreamReset = r })
}

// WithReplay makes the consumer stop at the end of the data present when it
// starts (Next returns ErrStreamEnded) instead of following new messages. It
// needs WithAutoStreamReset(ResetEarliest).
func WithReplay() ConsumerOption {
	return consumerFunc(func(c *driver.ConsumerOptions) { c.Replay = true })
}

// WithShardCount sets the number of shards a producer routes over when a
// message is sent WithRoutingKey: shard = xxhash64(key) % n. Without it the
// backend's count is used if it has one (Kafka partitions).
func WithShardCount(n uint64) ProducerOption {
	return producerFunc(func(c *producerConfig) { c.shardCount, c.ShardCount = n, n })
}

// WithVerbatimHeaders makes the producer store the sequence numbers and
// timestamps given with WithSeq and WithTimestamp exactly, zero included,
// instead of assigning them: for archives that keep headers. Backends that
// assign sequence numbers themselves (Kafka) refuse it with ErrUnsupported.
func WithVerbatimHeaders() ProducerOption {
	return producerFunc(func(c *producerConfig) { c.Verbatim = true })
}

// SendOption adjusts one Send. It is a small value; passing options does not
// allocate.
type SendOption struct {
	what      sendWhat
	shard     ShardID
	key       []byte
	attrs     []Attr
	seq       SeqNo
	timestamp time.Time
}

type sendWhat uint8

const (
	sendShard sendWhat = iota + 1
	sendRoutingKey
	sendSeq
	sendTimestamp
	sendKey
	sendAttrs
)

// WithShard sends to an explicit shard (default 0).
func WithShard(id ShardID) SendOption { return SendOption{what: sendShard, shard: id} }

// WithRoutingKey sends to shard xxhash64(key) % n, where n comes from
// WithShardCount or the backend; messages with equal keys share a shard and
// so keep their order. It cannot be combined with WithShard.
func WithRoutingKey(key []byte) SendOption { return SendOption{what: sendRoutingKey, key: key} }

// WithTimestamp asks the backend to store t (in milliseconds) as the
// message's timestamp instead of the time of sending, where it can.
func WithTimestamp(t time.Time) SendOption { return SendOption{what: sendTimestamp, timestamp: t} }

// WithSeq asks the backend to store n as the message's sequence number; it
// needs a producer created WithVerbatimHeaders.
func WithSeq(n SeqNo) SendOption { return SendOption{what: sendSeq, seq: n} }

// WithKey stores key with the message as its record key (Message.Key), on
// a backend that has one: Kafka, or a file with the archive envelope. It
// does not choose the shard (see WithRoutingKey). A backend without keys
// fails the send with ErrExtrasUnsupported. WithKey(nil) sends no key.
func WithKey(key []byte) SendOption { return SendOption{what: sendKey, key: key} }

// WithAttrs stores attrs with the message (Message.Attrs), in order: as
// Kafka record headers, as Redis entry fields after the payload's, or in
// a file with the archive envelope. A backend without them fails the send
// with ErrExtrasUnsupported. attrs is not retained after the send returns.
func WithAttrs(attrs ...Attr) SendOption { return SendOption{what: sendAttrs, attrs: attrs} }
