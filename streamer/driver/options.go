package driver

import (
	"log/slog"
	"strconv"
	"time"
)

// ConsumerMode is how a consumer reads and whether it commits.
type ConsumerMode uint8

// Consumer modes (SeaStreamer's ConsumerMode).
const (
	// RealTime is the default: no group, no commit; it reads from where
	// AutoStreamReset says (the end by default) and follows new messages.
	RealTime ConsumerMode = iota
	// Resumable commits its position; after a restart it resumes after the
	// last committed message. The group (optional) names the position to
	// resume; backends pick a per-host default when it is empty.
	Resumable
	// LoadBalanced consumers sharing a Group divide the messages between them;
	// how is backend-specific (Kafka: partitions; Redis and file: per message).
	LoadBalanced
)

func (m ConsumerMode) String() string {
	switch m {
	case RealTime:
		return "RealTime"
	case Resumable:
		return "Resumable"
	case LoadBalanced:
		return "LoadBalanced"
	}
	return "ConsumerMode(" + strconv.Itoa(int(m)) + ")"
}

// StreamReset says where a consumer starts when it has no committed position.
type StreamReset uint8

// Values of StreamReset.
const (
	// ResetLatest starts after the last message: only new messages are read.
	// It is the default.
	ResetLatest StreamReset = iota
	// ResetEarliest starts at the first message still stored.
	ResetEarliest
)

func (r StreamReset) String() string {
	switch r {
	case ResetLatest:
		return "latest"
	case ResetEarliest:
		return "earliest"
	}
	return "StreamReset(" + strconv.Itoa(int(r)) + ")"
}

// ConnectOptions are given to Driver.Open. Options set in Go are defaults:
// a driver lets the URI's query options override them (the URI is what a
// user typed at run time).
type ConnectOptions struct {
	// Logger receives the driver's diagnostics. The portable layer never
	// passes nil (it passes a discarding logger if the user set none).
	Logger *slog.Logger

	// Timeout bounds connecting and each request to a server, on top of the
	// caller's ctx; 0 means the driver's default.
	Timeout time.Duration

	// Prefetch is the default of ConsumerOptions.Prefetch for the consumers
	// of the Conn, for backends that read ahead; 0 means the driver's
	// default.
	Prefetch int

	// Extra holds backend-specific option values (each backend package
	// defines its own types). A driver rejects a value whose type it does not
	// know, with UnknownExtraError. The portable layer drops a SchemeOption
	// of another scheme before it gets there.
	Extra []any

	// Hooks are the user's hooks (streamer.WithHooks). A driver calls those
	// implementing the hook interfaces of this package (HookFsync,
	// HookRollover) and ignores the rest; it must not reject any.
	Hooks []any
}

// SchemeOption is implemented by a value for an Extra list that concerns
// the backend of one scheme only, and that the others should not see: the
// portable layer (package streamer) drops it from the Extra lists given for
// a URI of another scheme, so that one set of options can serve URIs of any
// scheme (an output that may be a file or a server, say). Values that do not
// implement it reach the driver, which rejects those it does not know.
type SchemeOption interface {
	// OptionScheme is the scheme of the backend the value is for, as
	// registered (lower case), e.g. "file".
	OptionScheme() string
}

// ConsumerOptions are given to Conn.NewConsumer.
type ConsumerOptions struct {
	Mode ConsumerMode

	// Group is the consumer group: required by LoadBalanced, optional for
	// Resumable (it names the committed position), forbidden for RealTime.
	Group string

	// ConsumerID identifies this member within its group, for backends that
	// name members (Redis). Empty lets the backend choose a unique one.
	ConsumerID string

	// AutoStreamReset says where to start without a committed position.
	AutoStreamReset StreamReset

	// Replay stops at the end of the data present when the consumer starts
	// (Next then returns ErrStreamEnded) instead of following new messages.
	// It requires ResetEarliest. Backends that cannot tell where the end is
	// return ErrUnsupported.
	Replay bool

	// Prefetch bounds how many messages the backend reads ahead of Next;
	// a slow consumer applies backpressure beyond it. 0 means the default.
	Prefetch int

	// Extra holds backend-specific option values; see ConnectOptions.Extra.
	Extra []any
}

// ProducerOptions are given to Conn.NewProducer.
type ProducerOptions struct {
	// Verbatim makes Send store Header.Seq and Header.Timestamp exactly as
	// given, zero included, instead of assigning them (for archives and
	// relays that keep headers). Backends that cannot (Kafka assigns offsets)
	// return ErrUnsupported from NewProducer.
	Verbatim bool

	// ShardCount is the number of shards the producer routes over, as given
	// with streamer.WithShardCount (0 when not given). A backend whose key
	// layout depends on whether a producer shards (Redis: SeaStreamer puts
	// every shard of a sharded stream, 0 included, in "<stream>:<n>") reads it.
	ShardCount uint64

	// Extra holds backend-specific option values; see ConnectOptions.Extra.
	Extra []any
}
