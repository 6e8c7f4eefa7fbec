package driver

import (
	"context"
	"sync/atomic"
	"time"
)

// Driver opens connections for one URI scheme. It is registered with
// streamer.Register and must be safe for concurrent use.
type Driver interface {
	// Open connects to the backend named by uri (already parsed by
	// ParseURI; the driver must not modify it). It checks uri's query with
	// URI.CheckOptions and opts.Extra, and returns an *OptionError for
	// anything it does not know, a *ConnectError when the backend cannot be
	// reached, or ctx's error.
	Open(ctx context.Context, uri *URI, opts ConnectOptions) (Conn, error)
}

// Conn is an open connection to a backend (SeaStreamer's Streamer). Its
// methods may be called concurrently.
type Conn interface {
	// NewProducer returns a producer. stream is the producer's own stream
	// (SeaStreamer's anchor), or "" for a producer that only sends to streams
	// named in each Header; the portable layer fills Header.StreamKey either
	// way, so drivers may ignore stream or use it to prepare.
	NewProducer(ctx context.Context, stream StreamKey, opts ProducerOptions) (Producer, error)

	// NewConsumer returns a consumer subscribed to streams (never empty;
	// may contain Wildcard, which a driver that cannot honour it rejects with
	// ErrUnsupported). Options were validated as the package doc says; the
	// driver checks what is specific to it (e.g. ErrUnsupported for a mode
	// it lacks).
	NewConsumer(ctx context.Context, streams []StreamKey, opts ConsumerOptions) (Consumer, error)

	// Close disconnects. The portable layer has already ended every producer
	// and closed every consumer of this Conn. Close waits for the driver's
	// goroutines to stop.
	Close(ctx context.Context) error
}

// Producer sends messages. Send, Flush and End may be called concurrently.
type Producer interface {
	// Send queues one message and returns without waiting for it to be
	// stored; the Pending reports the outcome. h.StreamKey is set and valid;
	// h.Seq and h.Timestamp are zero unless the producer is Verbatim or the
	// caller chose them. Send must not retain payload after it returns.
	// Send may block while the driver's buffer is full (backpressure), until
	// ctx is done. After End it returns ErrProducerEnded.
	Send(ctx context.Context, h Header, payload []byte) (Pending, error)

	// Flush returns once every message sent before the call is stored (or
	// failed: then it returns an error), or when ctx is done.
	Flush(ctx context.Context) error

	// End flushes, then releases the producer. It is called once.
	End(ctx context.Context) error
}

// ExtrasProducer is implemented by a Producer that can store a message's
// key and attributes (Message.Key, Message.Attrs) with it: Kafka (the
// record's key and headers), Redis (fields after the payload's) and a file
// with the archive envelope. SendExtras is Send with them; key may be nil (no
// key, a null key for Kafka) and attrs empty. It must not retain key or
// attrs after it returns. A producer that cannot store them this time (a
// file without the envelope) returns an error wrapping ErrExtrasUnsupported.
type ExtrasProducer interface {
	Producer
	SendExtras(ctx context.Context, h Header, key []byte, attrs []Attr, payload []byte) (Pending, error)
}

// Pending is the outcome of one Send.
type Pending interface {
	// Wait blocks until the message is stored or has failed, or until ctx is
	// done (then it returns ctx.Err() and the message may still be stored
	// later). Once the outcome is known, Wait returns it even if ctx is done. On success it returns the stored header (Seq and Timestamp
	// set). It may be called many times and concurrently; each call returns
	// the same outcome.
	Wait(ctx context.Context) (Header, error)
}

// Consumer receives messages. See the package doc for what may run
// concurrently.
type Consumer interface {
	// Next returns the next message, blocking until there is one, ctx is done
	// (ctx.Err()), the stream ended (ErrStreamEnded) or the consumer is
	// closed (ErrClosed). Order is preserved within a (stream, shard).
	Next(ctx context.Context) (Message, error)

	// Seek moves every assigned (stream, shard) to the first message with a
	// timestamp later than t. Messages prefetched before Seek are dropped.
	Seek(ctx context.Context, t time.Time) error

	// Rewind moves every assigned (stream, shard) to pos. Messages
	// prefetched before Rewind are dropped.
	Rewind(ctx context.Context, pos SeqPos) error

	// Assign adds a (stream, shard) to read; it takes effect at the next
	// Seek or Rewind. The stream must be subscribed (else
	// ErrStreamKeyNotFound). A consumer with no explicit assignment reads
	// every shard of its streams.
	Assign(stream StreamKey, shard ShardID) error

	// Unassign removes a (stream, shard): ErrStreamKeyNotFound if the stream
	// is not subscribed, ErrConsumerNotAssigned if the shard is not
	// assigned, ErrStreamKeyEmpty if nothing would be left.
	Unassign(stream StreamKey, shard ShardID) error

	// Commit records, durably for Resumable consumers, that every message
	// Next has returned so far is processed; a restarted consumer of the
	// same group resumes after them.
	Commit(ctx context.Context) error

	// Close releases the consumer and stops its goroutines before returning;
	// a blocked Next returns ErrClosed.
	Close(ctx context.Context) error
}

// ConcurrentNext is implemented by a Consumer whose Next may be called by
// several goroutines at once, each message going to one of them. The
// portable layer then lets concurrent Nexts through instead of taking turns,
// which saves a lock per message on a path every consumer runs.
type ConcurrentNext interface {
	Consumer
	ConcurrentNext()
}

// ShardCounter is implemented by a Conn that knows how many shards a stream
// has (Kafka partitions). The portable layer uses it to route by key when the
// user did not give a shard count.
type ShardCounter interface {
	Shards(ctx context.Context, stream StreamKey) (uint64, error)
}

// Aser is implemented by a Conn, Producer or Consumer that exposes its
// native type (e.g. *kgo.Client): As sets target, which must be a pointer to
// that type, and reports whether it did.
type Aser interface {
	As(target any) bool
}

// Future is a ready-made Pending for drivers: give it to the caller and call
// Resolve once the outcome is known. The zero Future is unresolved and ready
// to use, so a driver may embed one in its own per-message struct.
type Future struct {
	resolving atomic.Bool
	resolved  Latch
	header    Header // set before resolved opens, never after
	err       error
}

// NewFuture returns an unresolved Future.
func NewFuture() *Future { return new(Future) }

// Resolve records the outcome and wakes every Wait. Only the first call has
// an effect.
func (f *Future) Resolve(h Header, err error) {
	if !f.resolving.CompareAndSwap(false, true) {
		return
	}
	f.header, f.err = h, err
	f.resolved.Open()
}

// Done returns a channel that is closed once the Future is resolved.
func (f *Future) Done() <-chan struct{} { return f.resolved.Done() }

// Wait implements Pending.
func (f *Future) Wait(ctx context.Context) (Header, error) {
	if err := f.resolved.Wait(ctx); err != nil {
		return Header{}, err
	}
	return f.header, f.err
}

// Latch is a one-way gate for receipts: it opens once and stays open. The
// zero Latch is shut and ready to use; it makes a channel only when a Wait
// has to block, so that a receipt resolved before anyone waits for it costs
// no allocation beyond its own struct.
type Latch struct {
	// state is nil while shut and unwaited, the channel blocked Waits
	// receive from while shut, and &openChan once open.
	state atomic.Pointer[chan struct{}]
}

// openChan marks an open Latch; it is closed and never written.
var openChan = func() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}()

// Open opens the latch, waking every Wait; what was written before Open is
// visible to them. Opening an open latch does nothing.
func (l *Latch) Open() {
	if c := l.state.Swap(&openChan); c != nil && c != &openChan {
		close(*c)
	}
}

// IsOpen reports whether the latch is open.
func (l *Latch) IsOpen() bool { return l.state.Load() == &openChan }

// Done returns a channel that is closed once the latch is open.
func (l *Latch) Done() <-chan struct{} {
	if c := l.state.Load(); c != nil {
		return *c
	}
	c := make(chan struct{})
	if l.state.CompareAndSwap(nil, &c) {
		return c
	}
	return *l.state.Load() // another Wait's channel, or opened meanwhile
}

// Wait blocks until the latch is open (it returns nil) or ctx is done (it
// returns ctx.Err()); an open latch answers nil even if ctx is done.
func (l *Latch) Wait(ctx context.Context) error {
	if l.IsOpen() {
		return nil
	}
	done := l.Done()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		select {
		case <-done:
			return nil
		default:
			return ctx.Err()
		}
	}
}

// Resolved returns a Pending whose outcome is already known; it does not
// allocate a channel.
func Resolved(h Header, err error) Pending { return resolved{h, err} }

type resolved struct {
	h   Header
	err error
}

func (r resolved) Wait(context.Context) (Header, error) { return r.h, r.err }
