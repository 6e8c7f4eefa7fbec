package kafka

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"reflect"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/seastream/ss/streamer/driver"
)

// Producer is the kafka:// producer (a driver.Producer). It has its own
// franz-go client, which batches per partition and produces idempotently;
// messages of one (topic, partition) are stored in the order sent. Each
// message goes to the partition named by its shard (SeaStreamer's shard is
// Kafka's partition): franz-go's ManualPartitioner. As gives access to the
// client (**kgo.Client).
type Producer struct {
	conn *Conn
	s    *settings
	cl   *kgo.Client

	// promise is the callback of every record: one func for the producer,
	// so that a send allocates no closure (the record finds its receipt
	// through Record.Context, see sent). With hooks (kgo.WithHooks), which
	// may give a record another Context, each record gets a closure of its
	// own instead.
	promise func(*kgo.Record, error)
	hooked  bool

	// inflight counts the records given to franz-go and not yet promised,
	// at most limit, franz-go's own bound, so that Produce never blocks: a
	// Send waits for room with the caller's ctx instead (franz-go's wait
	// would tie the record's fate to that ctx, failing it if the ctx ended
	// after Send returned). A Send that waits says so in waiting and is
	// woken through room once inflight is down to lowWater: a few
	// thousand records at once rather than one by one, as franz-go wakes
	// its own blocked Produce calls per batch, so that the records a
	// waiting sender adds can form batches too.
	inflight atomic.Int64
	limit    int64
	lowWater int64
	waiting  atomic.Int32
	room     chan struct{}

	ended atomic.Bool

	// For records with explicit timestamps (see retention).
	retention      sync.Map     // topic -> *retention
	awaitingTopics atomic.Int32 // lookups that found no topic yet

	failMu  sync.Mutex
	failErr error // first failure not yet reported by Flush
}

// sent is one message in flight, in one allocation: the record franz-go
// produces and the receipt the caller holds. The record's Context is the
// sent itself, which is how the producer's one promise func finds the
// receipt; as a context it is never cancelled and has no values, so the
// record's fate does not depend on any caller's ctx. The receipt's header is
// read from the record (franz-go sets its offset and timestamp before the
// promise) rather than copied.
type sent struct {
	rec     kgo.Record
	stored  driver.Latch // opens when the promise ran
	failure error        // the promise's error, set before stored opens
}

// Wait implements driver.Pending.
func (m *sent) Wait(ctx context.Context) (driver.Header, error) {
	if err := m.stored.Wait(ctx); err != nil {
		return driver.Header{}, err
	}
	if m.failure != nil {
		return driver.Header{}, m.failure
	}
	return driver.Header{
		StreamKey: driver.StreamKey(m.rec.Topic),
		Shard:     driver.ShardID(m.rec.Partition),
		Seq:       driver.SeqNo(m.rec.Offset),
		Timestamp: m.rec.Timestamp.UTC(),
	}, nil
}

// The context.Context of the record: never done, no deadline, no values.
func (*sent) Deadline() (time.Time, bool) { return time.Time{}, false }
func (*sent) Done() <-chan struct{}       { return nil }
func (*sent) Err() error                  { return nil }
func (*sent) Value(any) any               { return nil }

// maxBufferedRecords returns the client's bound on buffered records
// (kgo.MaxBufferedRecords, 50000 by default in v1.22), or 10000 if the
// client does not say.
func maxBufferedRecords(cl *kgo.Client) int64 {
	switch v := cl.OptValue(kgo.MaxBufferedRecords).(type) {
	case int64:
		if v > 0 {
			return v
		}
	case int:
		if v > 0 {
			return int64(v)
		}
	}
	return 10000
}

func newProducer(ctx context.Context, c *Conn, s *settings) (*Producer, error) {
	opts := []kgo.Opt{
		kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.ProducerBatchCompression(s.compression.codec()),
	}
	if s.lingerSet {
		opts = append(opts, kgo.ProducerLinger(s.linger))
	}
	if s.partitions <= 0 {
		// Let the broker create missing topics if it is set to
		// (auto.create.topics.enable), as librdkafka's producer does.
		opts = append(opts, kgo.AllowAutoTopicCreation())
	}
	cl, err := c.newClient(s, opts...)
	if err != nil {
		return nil, wrapErr("new producer", err)
	}
	limit := maxBufferedRecords(cl)
	p := &Producer{conn: c, s: s, cl: cl, limit: limit, lowWater: limit - limit/16 - 1, room: make(chan struct{}, 1)}
	p.promise = p.done
	if hooks := reflect.ValueOf(cl.OptValue(kgo.WithHooks)); hooks.Kind() == reflect.Slice && hooks.Len() > 0 {
		p.hooked = true
	}
	return p, nil
}

// Client returns the producer's franz-go client. Do not close it.
func (p *Producer) Client() *kgo.Client { return p.cl }

// As implements driver.Aser for **kgo.Client and **Producer.
func (p *Producer) As(target any) bool {
	switch t := target.(type) {
	case **kgo.Client:
		*t = p.cl
	case **Producer:
		*t = p
	default:
		return false
	}
	return true
}

// Send implements driver.Producer. The payload is copied. A zero
// h.Timestamp means now; otherwise it is the record's timestamp (stored in
// milliseconds, kept by topics with message.timestamp.type=CreateTime, the
// default). The receipt's header has the partition, offset and timestamp of
// the stored record.
func (p *Producer) Send(ctx context.Context, h driver.Header, payload []byte) (driver.Pending, error) {
	return p.send(ctx, h, nil, nil, payload)
}

var _ driver.ExtrasProducer = (*Producer)(nil)

// SendExtras implements driver.ExtrasProducer: key is the record's key
// (nil: a null key) and attrs its headers, in order (a nil value: a null
// one). Key, headers and payload are copied.
func (p *Producer) SendExtras(ctx context.Context, h driver.Header, key []byte, attrs []driver.Attr, payload []byte) (driver.Pending, error) {
	return p.send(ctx, h, key, attrs, payload)
}

func (p *Producer) send(ctx context.Context, h driver.Header, key []byte, attrs []driver.Attr, payload []byte) (driver.Pending, error) {
	if h.Shard > math.MaxInt32 {
		return nil, fmt.Errorf("%w: shard %d of %q (Kafka partitions are 32-bit)", ErrNoSuchPartition, h.Shard, h.StreamKey)
	}
	if h.Seq != 0 {
		return nil, fmt.Errorf("%w: sequence numbers on kafka:// (Kafka assigns offsets)", driver.ErrUnsupported)
	}
	if p.ended.Load() {
		return nil, driver.ErrProducerEnded
	}
	if err := p.conn.ensureTopic(ctx, p.s, string(h.StreamKey)); err != nil {
		return nil, err
	}
	if !h.Timestamp.IsZero() {
		p.checkRetention(ctx, string(h.StreamKey), h.Timestamp)
	}
	if p.inflight.Add(1) > p.limit {
		if err := p.waitRoom(ctx); err != nil {
			return nil, err
		}
	}
	m := &sent{rec: kgo.Record{
		Topic:     string(h.StreamKey),
		Partition: int32(h.Shard),
		Value:     append(make([]byte, 0, len(payload)), payload...),
		Timestamp: h.Timestamp,
	}}
	m.rec.Key = bytes.Clone(key) // nil stays nil: a null key
	if len(attrs) > 0 {
		m.rec.Headers = make([]kgo.RecordHeader, len(attrs))
		for i, a := range attrs {
			m.rec.Headers[i] = kgo.RecordHeader{Key: a.Name, Value: bytes.Clone(a.Value)}
		}
	}
	// context.Background: once queued, the record's fate must not depend
	// on the caller's ctx (Send's contract: it is stored or fails on its
	// own). franz-go does not block here, as inflight stays within its
	// buffer.
	if p.hooked {
		m.rec.Context = context.Background()
		p.cl.Produce(context.Background(), &m.rec, func(r *kgo.Record, err error) { p.finish(m, r, err) })
	} else {
		m.rec.Context = m
		p.cl.Produce(context.Background(), &m.rec, p.promise)
	}
	return m, nil
}

// waitRoom waits until a record may be added to the ones in flight (Send
// counted it already and found the limit exceeded), or ctx ends.
func (p *Producer) waitRoom(ctx context.Context) error {
	p.inflight.Add(-1)
	p.waiting.Add(1)
	defer p.waiting.Add(-1)
	for {
		// Registered in waiting before trying: the record that finishes
		// after this try and leaves lowWater in flight sees the waiter
		// and leaves a token in room.
		if n := p.inflight.Add(1); n <= p.limit {
			if n < p.limit && p.waiting.Load() > 1 {
				p.wake() // room for another waiter too
			}
			return nil
		}
		p.inflight.Add(-1)
		select {
		case <-p.room:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// release counts a record out of flight.
func (p *Producer) release() {
	if p.inflight.Add(-1) <= p.lowWater && p.waiting.Load() > 0 {
		p.wake()
	}
}

// wake leaves a token in room for a waiting Send.
func (p *Producer) wake() {
	select {
	case p.room <- struct{}{}:
	default: // a token is there already
	}
}

// done is the promise of every record of a producer without hooks.
func (p *Producer) done(r *kgo.Record, err error) {
	m, ok := r.Context.(*sent)
	if !ok { // cannot happen without hooks; never panic in franz-go's goroutine
		p.conn.log.Error("kafka: a produced record lost its receipt: its Context was replaced", "topic", r.Topic, "partition", r.Partition)
		p.release()
		return
	}
	p.finish(m, r, err)
}

// finish resolves the receipt of record r, whose promise franz-go called.
func (p *Producer) finish(m *sent, r *kgo.Record, err error) {
	p.release()
	if err != nil {
		m.failure = p.fail(r, err)
	} else {
		p.storedTo(r.Topic)
	}
	r.Value, r.Key, r.Headers = nil, nil, nil // the receipt outlives the record: let the payload go
	m.stored.Open()
}

// fail translates a produce error and keeps the first one for Flush.
func (p *Producer) fail(r *kgo.Record, err error) error {
	err = wrapErr("send", err)
	if err == driver.ErrClosed {
		err = driver.ErrProducerEnded
	}
	err = fmt.Errorf("topic %q partition %d: %w", r.Topic, r.Partition, err)
	p.failMu.Lock()
	if p.failErr == nil {
		p.failErr = err
	}
	p.failMu.Unlock()
	return err
}

// Flush implements driver.Producer: it waits until every record sent so far
// is acknowledged or failed. It returns the first failure since the previous
// Flush, if any (each receipt also reports its own).
func (p *Producer) Flush(ctx context.Context) error {
	if p.ended.Load() {
		return driver.ErrProducerEnded
	}
	return p.flush(ctx)
}

func (p *Producer) flush(ctx context.Context) error {
	if err := p.cl.Flush(ctx); err != nil {
		return wrapErr("flush", err)
	}
	p.checkRetentionAll(ctx)
	p.failMu.Lock()
	err := p.failErr
	p.failErr = nil
	p.failMu.Unlock()
	return err
}

// End implements driver.Producer: it flushes, then closes the client (even
// if ctx ends first; records still buffered then fail with
// ErrProducerEnded).
func (p *Producer) End(ctx context.Context) error {
	if p.ended.Swap(true) {
		return driver.ErrProducerEnded
	}
	err := p.flush(ctx)
	p.cl.Close()
	return err
}
