// Package driver defines the interfaces a streaming backend implements to plug
// into package streamer, and the plain value types both sides share.
//
// Application code should use package streamer; this package is for backend
// authors (the file engine, stdio, Kafka, Redis adapters). The split follows
// gocloud.dev's portable/driver design: package streamer owns validation,
// lifecycle (ErrClosed after Close), hash routing of shards and the iterator
// over messages; a driver only translates between these interfaces and its
// backend.
//
// # Contract for drivers
//
// What the portable layer (package streamer) guarantees before calling a driver:
//
//   - Stream keys passed to NewProducer, NewConsumer, Send, Assign and Unassign
//     are syntactically valid (see ValidateStreamKey). The wildcard key
//     (Wildcard) only reaches NewConsumer; Internal never reaches a driver.
//   - ConsumerOptions combinations are checked: RealTime has no Group
//     (ErrConsumerGroupIsSet), the stream list is not empty
//     (ErrStreamKeyEmpty), Replay is not combined with ResetLatest
//     (ErrInvalidOption). A LoadBalanced consumer may come without a Group:
//     the backend takes its default group, or returns ErrConsumerGroupNotSet.
//   - Commit is never called on a RealTime consumer (ErrCommitNotAllowed).
//   - Consumer.Next is never called concurrently with itself, unless the
//     Consumer implements ConcurrentNext. Seek, Rewind,
//     Assign, Unassign and Commit are not called concurrently with each other,
//     but may be called while a Next is blocked. Close is called at most once,
//     possibly while any other method runs: it must make a blocked Next return
//     ErrClosed promptly, and calls that race with it (arriving during or after
//     Close) must return ErrClosed.
//   - Producer.Send and Flush may be called concurrently from many goroutines.
//     End is called at most once, never concurrently with Send or Flush, and
//     nothing is called after it.
//   - Conn.Close is called once, after every Producer and Consumer the Conn
//     created has been ended or closed.
//   - Every ctx honours cancellation: a blocking driver call must return
//     ctx.Err() (possibly wrapped) soon after ctx is done.
//
// What a driver must do:
//
//   - Not retain the payload slice given to Send after Send returns (copy it
//     if it is needed later). Returned Message payloads are read-only for the
//     caller and stay valid at least until the Consumer is closed.
//   - Return the sentinels of this package (wrapped with %w if useful) for the
//     cases they name, so that errors.Is works the same on every backend; wrap
//     native errors in *BackendError or *ConnectError so that errors.As reaches
//     them.
//   - Reject URI query options and ConnectOptions.Extra values it does not
//     know with an *OptionError wrapping ErrUnknownOption (URI.CheckOptions
//     and UnknownExtraError help). An Options table declares each option
//     once, for the URI query and for its Go form in the Extra lists.
//   - Not retry silently forever: report failures, with ctx bounding waits.
//   - Start no goroutine that outlives Close.
//
// A driver registers itself with streamer.Register (usually from an init
// function in its package), the way database/sql drivers do.
package driver
