package driver

import (
	"errors"
	"fmt"
)

// Sentinel errors. Drivers return them (optionally wrapped with %w) for the
// cases they name; callers test them with errors.Is. They cover every case of
// SeaStreamer's StreamErr, StreamUrlErr and StreamKeyErr enums, except
// TimeoutNotSet (deadlines come from context.Context here) and
// AlreadyAnchored (a producer's stream key is fixed when it is created).
var (
	// ErrClosed is returned by every call on a Streamer, Producer or
	// Consumer after it has been closed (or, for a producer, ended by closing
	// its Streamer).
	ErrClosed = errors.New("streamer: use of a closed streamer, producer or consumer: open a new one")

	// ErrConnect is matched (errors.Is) by every *ConnectError.
	ErrConnect = errors.New("streamer: cannot connect to the backend: check the address and that the server is running")

	// ErrNotAnchored is returned by Send on a producer created without a
	// stream key. (SeaStreamer: NotAnchored.)
	ErrNotAnchored = errors.New("streamer: producer has no stream key: use SendTo, or create the producer with a stream key")

	// ErrConsumerGroupIsSet is returned when a consumer group is given to a
	// mode that does not use one (RealTime).
	ErrConsumerGroupIsSet = errors.New("streamer: consumer group is set but the mode does not use one: remove the group or use LoadBalanced/Resumable")

	// ErrConsumerGroupNotSet is returned when a mode requires a consumer group
	// (LoadBalanced) and none was given.
	ErrConsumerGroupNotSet = errors.New("streamer: consumer group is not set: LoadBalanced consumers need a group (WithGroup)")

	// ErrStreamKeyEmpty is returned when a consumer has no stream to read:
	// none was given, or all were unassigned.
	ErrStreamKeyEmpty = errors.New("streamer: no stream key: give at least one stream key, in the URI or when creating the consumer")

	// ErrStreamKeyNotFound is returned for a stream key the consumer did not
	// subscribe to (Assign, Unassign), or that does not exist on the backend
	// when the backend requires it to.
	ErrStreamKeyNotFound = errors.New("streamer: stream key not found: subscribe to the stream first, or check its name")

	// ErrConsumerNotAssigned is returned by Unassign for a (stream, shard) the
	// consumer is not assigned to.
	ErrConsumerNotAssigned = errors.New("streamer: consumer is not assigned to this stream and shard: Assign it first")

	// ErrCommitNotAllowed is returned by Commit on a RealTime consumer.
	ErrCommitNotAllowed = errors.New("streamer: cannot commit on a RealTime consumer: use a Resumable or LoadBalanced consumer")

	// ErrInvalidUTF8 is returned when a payload read as text is not valid
	// UTF-8. (SeaStreamer: Utf8Error.)
	ErrInvalidUTF8 = errors.New("streamer: payload is not valid UTF-8: read it as bytes")

	// ErrInvalidURI is wrapped by every *URIError. (SeaStreamer: StreamUrlErr.)
	ErrInvalidURI = errors.New("streamer: invalid URI")

	// ErrUnknownScheme is returned when no backend is registered for a URI's
	// scheme.
	ErrUnknownScheme = errors.New("streamer: unknown URI scheme: use one of the registered schemes or import the adapter package that registers it")

	// ErrUnknownOption is wrapped by an *OptionError naming an option (URI
	// query parameter or Go option value) the backend does not know.
	ErrUnknownOption = errors.New("streamer: unknown option")

	// ErrInvalidOption is wrapped by an *OptionError for an option with a bad
	// value, or a combination of options that cannot work together.
	ErrInvalidOption = errors.New("streamer: invalid option")

	// ErrInvalidStreamKey is wrapped by a *StreamKeyError for a key that is
	// empty, longer than MaxStreamKeyLen bytes, or has characters outside
	// [A-Za-z0-9._-]. (SeaStreamer: StreamKeyErr::InvalidStreamKey.)
	ErrInvalidStreamKey = errors.New("streamer: invalid stream key: use 1 to 249 characters of [A-Za-z0-9._-]")

	// ErrReservedStreamKey is wrapped by a *StreamKeyError for a key reserved
	// by SeaStreamer (Internal, or Wildcard where a concrete stream is needed).
	ErrReservedStreamKey = errors.New("streamer: reserved stream key: SEA_STREAMER_INTERNAL and SEA_STREAMER_WILDCARD cannot be used here")

	// ErrUnsupported is returned for a feature the backend does not have.
	// Drivers wrap it with the feature's name:
	// fmt.Errorf("%w: seek on stdio", driver.ErrUnsupported).
	ErrUnsupported = errors.New("streamer: unsupported by this backend")

	// ErrStreamEnded is returned by Next when the stream has ended: an
	// end-of-stream message was read, a replay reached the end of the data,
	// or the input was closed (stdio).
	ErrStreamEnded = errors.New("streamer: stream ended: there are no more messages (end of stream or end of replay)")

	// ErrProducerEnded is returned by Send, Flush and End after End, or when
	// the backend ended the producer (e.g. the file was removed).
	ErrProducerEnded = errors.New("streamer: producer ended: create a new producer")

	// ErrPayloadTooLarge is returned by Send for a payload over the backend's
	// limit.
	ErrPayloadTooLarge = errors.New("streamer: payload too large for this backend: split the message")

	// ErrPayloadUnsupported is returned by Send for a payload the backend
	// cannot carry, such as a payload with a newline on a line-per-message
	// backend (stdio). The message cannot be sent as it is; others can.
	ErrPayloadUnsupported = errors.New("streamer: payload cannot be carried by this backend: use a backend that takes any bytes (file)")

	// ErrHeaderUnsupported is returned by Send on a producer that keeps
	// verbatim headers, for a header the backend cannot store as given
	// (Redis takes only sequence numbers that are its entry ids). Sending
	// without verbatim headers lets the backend number the message.
	ErrHeaderUnsupported = errors.New("streamer: header cannot be stored verbatim by this backend: send without verbatim headers")

	// ErrExtrasUnsupported is returned by Send for a message with a key or
	// attributes (Message.Key, Message.Attrs) on a backend that cannot
	// store them: stdio, or a file without the archive envelope. Sending
	// without them stores the payload alone.
	ErrExtrasUnsupported = errors.New("streamer: this backend cannot store a message's key or attributes: send without them, or write a file with the archive envelope (?envelope=v1)")

	// ErrInvalidTimestamp is returned by ParseTimestamp for text that is not
	// a timestamp, and by Send for a timestamp the backend cannot hold (stdio
	// writes years 0000 to 9999 only).
	ErrInvalidTimestamp = errors.New("streamer: invalid timestamp: use YYYY-MM-DDTHH:MM:SS with optional .fraction (1 to 9 digits), years 0000 to 9999")
)

// NewSentinel returns a backend's own sentinel error, with the given text,
// that is a case of the portable sentinel kind: errors.Is matches both it and
// kind, so that callers need not know the backend. An adapter declares its
// specific errors with it:
//
//	var ErrPayloadNewline = driver.NewSentinel(driver.ErrPayloadUnsupported, "stdio: payload contains a newline")
func NewSentinel(kind error, text string) error {
	return &sentinel{text: text, kind: kind}
}

// sentinel is a backend's error that unwraps to a portable kind; its text is
// its own, not the kind's, so that messages stay specific.
type sentinel struct {
	text string
	kind error
}

func (e *sentinel) Error() string { return e.text }

func (e *sentinel) Unwrap() error { return e.kind }

// StreamKeyError reports an invalid or reserved stream key.
type StreamKeyError struct {
	Key string // the key as given
	Err error  // ErrInvalidStreamKey or ErrReservedStreamKey
}

func (e *StreamKeyError) Error() string {
	return fmt.Sprintf("%v (got %q)", e.Err, truncate(e.Key, 64))
}

func (e *StreamKeyError) Unwrap() error { return e.Err }

// URIError reports a URI that cannot be parsed.
type URIError struct {
	URI    string // the URI as given
	Reason string // what is wrong and how to fix it
	Err    error  // optional cause, e.g. a *StreamKeyError
}

func (e *URIError) Error() string {
	s := fmt.Sprintf("%v %q: %s", ErrInvalidURI, e.URI, e.Reason)
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns ErrInvalidURI and the cause, if any.
func (e *URIError) Unwrap() []error {
	if e.Err != nil {
		return []error{ErrInvalidURI, e.Err}
	}
	return []error{ErrInvalidURI}
}

// OptionError reports an unknown option or an option with a bad value.
type OptionError struct {
	Scheme string // the backend's scheme, e.g. "file"; may be empty
	Name   string // the option's name, e.g. "create" or a Go type name
	Value  string // the value as given, if any
	Reason string // optional detail: what is accepted
	Err    error  // ErrUnknownOption or ErrInvalidOption
}

func (e *OptionError) Error() string {
	s := e.Err.Error()
	if e.Scheme != "" {
		s += " for " + e.Scheme + "://"
	}
	s += fmt.Sprintf(": %q", e.Name)
	if e.Value != "" {
		s += fmt.Sprintf(" = %q", truncate(e.Value, 64))
	}
	if e.Reason != "" {
		s += ": " + e.Reason
	}
	return s
}

func (e *OptionError) Unwrap() error { return e.Err }

// ConnectError wraps the backend's native error when connecting (or
// reconnecting) fails. errors.Is(err, ErrConnect) is true for it.
type ConnectError struct {
	Backend string // scheme, e.g. "kafka"
	Addr    string // what was dialled or opened
	Err     error  // the native error
}

func (e *ConnectError) Error() string {
	return fmt.Sprintf("streamer: cannot connect to %s backend at %q: %v", e.Backend, e.Addr, e.Err)
}

func (e *ConnectError) Unwrap() error { return e.Err }

// Is reports whether target is ErrConnect.
func (e *ConnectError) Is(target error) bool { return target == ErrConnect }

// BackendError wraps a native error of the backend (franz-go, go-redis, the
// file engine...) that has no portable sentinel. Use errors.As to reach it,
// or to reach the native error through Unwrap. (SeaStreamer: Backend.)
type BackendError struct {
	Backend string // scheme, e.g. "redis"
	Op      string // what was being done, e.g. "send", "next", "commit"
	Err     error  // the native error
}

func (e *BackendError) Error() string {
	if e.Op == "" {
		return fmt.Sprintf("streamer: %s backend: %v", e.Backend, e.Err)
	}
	return fmt.Sprintf("streamer: %s backend: %s: %v", e.Backend, e.Op, e.Err)
}

func (e *BackendError) Unwrap() error { return e.Err }

// UnknownExtraError returns the error a driver gives for a value in
// ConnectOptions.Extra, ConsumerOptions.Extra or ProducerOptions.Extra whose
// type it does not know (typically an option of another backend).
func UnknownExtraError(scheme string, v any) error {
	return &OptionError{Scheme: scheme, Name: fmt.Sprintf("%T", v), Err: ErrUnknownOption,
		Reason: "this option belongs to another backend"}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
