// Package stdio is the stdio:// backend of package streamer: SeaStreamer's
// standard I/O backend (sea-streamer-stdio), one message per line, made for
// Unix pipelines such as this one of the examples (run from the module's
// root; examples/README.md has more):
//
//	go run ./examples/producer --stream stdio:///tick --count 5 --interval 100ms |
//		go run ./examples/processor --input stdio:///tick --output stdio:///out |
//		go run ./examples/consumer --stream stdio:///out
//
// # Line format
//
// Each line is a message with an optional meta in literal square brackets:
//
//	[timestamp | stream_key | seq | shard] payload
//
// Every part is optional, in this order: "a raw line", "[my_topic] x",
// "[my_topic | 123] x", "[2022-01-01T00:00:00.123 | my_topic] x" are all
// valid. ParseLine documents the exact grammar, which is SeaStreamer's. A line
// without a stream key goes to the stream "broadcast" (Broadcast) and is
// delivered to every consumer. Without a timestamp a message is stamped with
// the time it was read; without a seq it gets the next number of its
// (stream, shard), counting from 0.
//
// Producers write lines exactly as SeaStreamer's stdio producer does,
// "[2022-01-01T00:00:00 | my_topic | 3] payload", with the shard as a fourth
// part when it is not 0, and milliseconds in the timestamp if asked
// (?millis). Payloads must be UTF-8 without a newline; white space around a
// payload does not survive a pipe (the reader trims it, as SeaStreamer's
// does). Lines are written by one goroutine per output, as many per write as
// accumulated during the previous one, and a receipt resolves once its line
// is written.
//
// Beyond SeaStreamer: a line with an explicit seq makes the next line of its
// (stream, shard) without one get seq+1 (SeaStreamer repeats seq); empty
// payloads are written (SeaStreamer drops them); shards other than 0 are
// written; bad input is reported instead of aborting; the end of the input
// ends the stream.
//
// # Bad input
//
// A line that cannot be parsed, is not UTF-8 or is longer than the maximum
// line size is skipped and reported, with its line number, on the Driver's
// Errors writer (standard error by default) as a *LineError; the stream goes
// on. (SeaStreamer aborts the process instead.) End of input ends the stream:
// once a consumer has received every line read, Next returns
// driver.ErrStreamEnded.
//
// # Consumers
//
// Stdio is real-time only: consumers receive the lines read after they were
// created, whatever their AutoStreamReset, and their stream ends with the
// input (Replay changes nothing). Seek and Rewind return
// driver.ErrUnsupported, and so does creating a Resumable consumer; Commit
// has nothing to store and returns nil. Assign narrows a consumer to some
// (stream, shard)s from the next line on.
//
// LoadBalanced consumers of one group share the lines round-robin, as in
// SeaStreamer: the k-th line for the group goes to its (k mod n)-th member,
// in order of creation. When a member closes, the lines queued for it go to
// the members that can take them without receiving a line older than one
// they already returned (all of them to a member that joins later), so a
// group loses nothing when members come and go, and no member sees its lines
// out of order.
//
// Lines are queued per consumer. The reading goroutine stops reading while
// every consumer of the input has its prefetch (ConsumerOptions.Prefetch,
// default 1000) or more queued: a slow pipeline stage holds back the one
// writing to it instead of growing its memory, while a consumer that reads
// nothing does not stall others that do (it queues what they read).
//
// A process has one standard input and one standard output, so connections
// that read the same io.Reader share one reading goroutine and one set of
// consumers, and connections that write the same io.Writer share one writer
// and its sequence numbers, whichever Driver value opened them. The reading
// goroutine starts with the first consumer. When the last connection closes
// it is stopped if the reader supports SetReadDeadline (pipes from os.Pipe,
// network connections); os.Stdin usually does not, and then the goroutine
// stays blocked in Read until the next line or the end of input, and is
// reused by the next connection.
//
// # Options
//
// Each option is declared once (options.go) and given as a URI query
// parameter (stdio:///a,b?loopback&millis) or as a Go option to
// streamer.WithDriverOption at Open; the URI overrides the Go form:
//
//	loopback     WithLoopback      also deliver what this process produces to its own consumers
//	millis       WithMillis        write timestamps with milliseconds
//	maxline      WithMaxLineSize   maximum input line size, e.g. 1MiB (default 16 MiB)
//
// An Options value in ConnectOptions.Extra sets all three at once.
//
// The package registers the "stdio" scheme with package streamer when it is
// imported.
package stdio
