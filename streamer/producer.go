package streamer

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/cespare/xxhash/v2"
	"github.com/seastream/ss/streamer/driver"
)

// Producer sends messages (SeaStreamer's Producer). It is safe for
// concurrent use by many goroutines; there is no need to clone it.
type Producer struct {
	s          *Streamer
	dp         driver.Producer
	stream     StreamKey
	shardCount uint64
	verbatim   bool
	hooks      *hookSet        // nil without hooks
	watch      *receiptWatcher // nil without a HookProduce

	mu    sync.RWMutex // Send and Flush hold it shared; End exclusively
	state error        // nil while open, then ErrProducerEnded or ErrClosed
}

// Stream returns the producer's own stream key, or "" if it has none.
func (p *Producer) Stream() StreamKey { return p.stream }

// As sets target to the driver's native producer type, if the driver
// exposes one, and reports whether it did.
func (p *Producer) As(target any) bool {
	a, ok := p.dp.(driver.Aser)
	return ok && target != nil && a.As(target)
}

// Send sends payload to the producer's own stream; see SendTo.
func (p *Producer) Send(ctx context.Context, payload []byte, opts ...SendOption) (Receipt, error) {
	if p.stream == "" {
		return Receipt{}, ErrNotAnchored
	}
	return p.send(ctx, p.stream, payload, opts)
}

// SendTo queues payload for stream and returns without waiting for it to be
// stored: the Receipt tells when it is, and with which sequence number and
// timestamp. Messages sent by one goroutine to one (stream, shard) are stored
// in the order sent. payload is copied (or written out) before SendTo
// returns, so the caller may reuse it.
//
// SendTo blocks only while the backend's buffer is full (backpressure), or
// while a HookProduce is 8192 messages behind, until ctx is done. It returns
// a *StreamKeyError for an invalid or reserved key, ErrProducerEnded after
// End, ErrClosed after the Streamer closed, and ctx's error if ctx is
// already done.
func (p *Producer) SendTo(ctx context.Context, stream StreamKey, payload []byte, opts ...SendOption) (Receipt, error) {
	if stream != p.stream || stream == "" {
		if err := driver.ValidateStreamKey(string(stream)); err != nil {
			return Receipt{}, err
		}
	}
	return p.send(ctx, stream, payload, opts)
}

func (p *Producer) send(ctx context.Context, stream StreamKey, payload []byte, opts []SendOption) (Receipt, error) {
	if err := ctx.Err(); err != nil {
		return Receipt{}, err
	}
	h := driver.Header{StreamKey: stream}
	var routingKey, key []byte
	var attrs []Attr
	var hasShard, hasKey bool
	for _, o := range opts {
		switch o.what {
		case sendShard:
			h.Shard, hasShard = o.shard, true
		case sendRoutingKey:
			routingKey, hasKey = o.key, true
		case sendSeq:
			if !p.verbatim {
				return Receipt{}, invalidOption("seq", strconv.FormatUint(uint64(o.seq), 10),
					"the backend assigns sequence numbers: create the producer WithVerbatimHeaders to set them")
			}
			h.Seq = o.seq
		case sendTimestamp:
			h.Timestamp = o.timestamp
		case sendKey:
			key = o.key
		case sendAttrs:
			attrs = o.attrs
		}
	}
	if hasShard && hasKey {
		return Receipt{}, invalidOption("shard", strconv.FormatUint(uint64(h.Shard), 10), "give either WithShard or WithRoutingKey, not both")
	}
	if hasKey {
		shard, err := p.route(ctx, stream, routingKey)
		if err != nil {
			return Receipt{}, err
		}
		h.Shard = shard
	}

	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.state != nil {
		return Receipt{}, p.state
	}
	if p.hooks == nil {
		pending, err := p.dispatch(ctx, h, key, attrs, payload)
		if err != nil {
			return Receipt{}, err
		}
		return Receipt{pending: pending}, nil
	}
	var sent time.Time
	if p.watch != nil {
		if err := p.watch.reserve(ctx); err != nil {
			return Receipt{}, err
		}
		sent = time.Now()
	}
	pending, err := p.dispatch(ctx, h, key, attrs, payload)
	if err != nil {
		if p.watch != nil {
			p.watch.unreserve()
		}
		p.hooks.onError(ctx, OpSend, stream, err)
		return Receipt{}, err
	}
	if p.watch != nil {
		p.watch.add(pending, h, len(payload), sent)
	}
	return Receipt{pending: pending}, nil
}

// dispatch hands the message to the driver: with its key and attributes
// through driver.ExtrasProducer if it has any, else with Send.
func (p *Producer) dispatch(ctx context.Context, h driver.Header, key []byte, attrs []Attr, payload []byte) (driver.Pending, error) {
	if key == nil && len(attrs) == 0 {
		return p.dp.Send(ctx, h, payload)
	}
	ep, ok := p.dp.(driver.ExtrasProducer)
	if !ok {
		return nil, fmt.Errorf("%w (%s://)", ErrExtrasUnsupported, p.s.Scheme())
	}
	return ep.SendExtras(ctx, h, key, attrs, payload)
}

// Route returns the shard that WithRoutingKey(key) selects for stream:
// xxhash64(key) % n, n being the producer's shard count.
func (p *Producer) Route(ctx context.Context, stream StreamKey, key []byte) (ShardID, error) {
	return p.route(ctx, stream, key)
}

func (p *Producer) route(ctx context.Context, stream StreamKey, key []byte) (ShardID, error) {
	n := p.shardCount
	if n == 0 {
		if sc, ok := p.s.conn.(driver.ShardCounter); ok {
			var err error
			if n, err = sc.Shards(ctx, stream); err != nil {
				return 0, err
			}
		}
	}
	if n == 0 {
		return 0, invalidOption("routing_key", string(key),
			"the number of shards is unknown: create the producer WithShardCount(n)")
	}
	return ShardID(xxhash.Sum64(key) % n), nil
}

// Flush returns once every message sent before the call is stored, or an
// error if one could not be; it returns ctx's error if ctx ends first.
func (p *Producer) Flush(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.state != nil {
		return p.state
	}
	if p.hooks == nil {
		return p.dp.Flush(ctx)
	}
	start := time.Now()
	err := p.dp.Flush(ctx)
	ev := FlushEvent{Stream: p.stream, Latency: time.Since(start), Err: err}
	for _, h := range p.hooks.flush {
		h.OnFlush(ev)
	}
	if err != nil {
		p.hooks.onError(ctx, OpFlush, p.stream, err)
	}
	return err
}

// End flushes the producer and releases it; later calls return
// ErrProducerEnded (End itself included).
func (p *Producer) End(ctx context.Context) error {
	err := p.shutdown(ctx, ErrProducerEnded)
	p.s.forgetProducer(p)
	return err
}

func (p *Producer) shutdown(ctx context.Context, reason error) error {
	p.mu.Lock()
	if p.state != nil {
		state := p.state
		p.mu.Unlock()
		return state
	}
	p.state = reason
	p.mu.Unlock()
	err := p.dp.End(ctx)
	if p.watch != nil {
		p.watch.stop() // no Send runs any more: report the last receipts
	}
	return err
}

// Receipt is the outcome of one send. It is a small value, returned by
// value so that a send allocates nothing for it; copies wait for the same
// message. The zero Receipt belongs to no send: Wait returns ErrNoReceipt.
type Receipt struct {
	pending driver.Pending
}

// Wait blocks until the message is stored and returns its header, with the
// sequence number and timestamp the backend gave it; or returns the error
// that prevented storing it; or ctx's error if ctx ends first (the message
// may then still be stored later). Wait may be called many times.
func (r Receipt) Wait(ctx context.Context) (Header, error) {
	if r.pending == nil {
		return Header{}, ErrNoReceipt
	}
	return r.pending.Wait(ctx)
}
