package kafka

import (
	"context"
	"fmt"
	"math"
	"sync"
	"sync/atomic"

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

	// slots bounds the records in flight; Send waits for one with the
	// caller's ctx (franz-go's own wait would tie the record's fate to that
	// ctx, failing it if the ctx ended after Send returned).
	slots chan struct{}

	mu    sync.Mutex
	ended bool

	failMu  sync.Mutex
	failErr error // first failure not yet reported by Flush

	inflight atomic.Int64 // for tests and diagnostics
}

// defaultMaxBuffered bounds buffered records if franz-go does not say its
// own bound (50000 in v1.22).
const defaultMaxBuffered = 10000

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
	n := defaultMaxBuffered
	if v, ok := cl.OptValue(kgo.MaxBufferedRecords).(int); ok && v > 0 {
		n = v
	}
	return &Producer{conn: c, s: s, cl: cl, slots: make(chan struct{}, n)}, nil
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
	if h.Shard > math.MaxInt32 {
		return nil, fmt.Errorf("%w: shard %d of %q (Kafka partitions are 32-bit)", ErrNoSuchPartition, h.Shard, h.StreamKey)
	}
	if h.Seq != 0 {
		return nil, fmt.Errorf("%w: sequence numbers on kafka:// (Kafka assigns offsets)", driver.ErrUnsupported)
	}
	p.mu.Lock()
	ended := p.ended
	p.mu.Unlock()
	if ended {
		return nil, driver.ErrProducerEnded
	}
	if err := p.conn.ensureTopic(ctx, p.s, string(h.StreamKey)); err != nil {
		return nil, err
	}
	select {
	case p.slots <- struct{}{}:
	default:
		select {
		case p.slots <- struct{}{}:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	r := &kgo.Record{
		Topic:     string(h.StreamKey),
		Partition: int32(h.Shard),
		Value:     append(make([]byte, 0, len(payload)), payload...),
		Timestamp: h.Timestamp,
	}
	f := driver.NewFuture()
	p.inflight.Add(1)
	// context.Background: once queued, the record's fate must not depend
	// on the caller's ctx (Send's contract: it is stored or fails on its
	// own). franz-go does not block here, as slots is no larger than its
	// buffer.
	p.cl.Produce(context.Background(), r, func(r *kgo.Record, err error) {
		<-p.slots
		p.inflight.Add(-1)
		if err != nil {
			err = p.fail(r, err)
			f.Resolve(driver.Header{}, err)
			return
		}
		f.Resolve(driver.Header{
			StreamKey: driver.StreamKey(r.Topic),
			Shard:     driver.ShardID(r.Partition),
			Seq:       driver.SeqNo(r.Offset),
			Timestamp: r.Timestamp.UTC(),
		}, nil)
	})
	return f, nil
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
	p.mu.Lock()
	ended := p.ended
	p.mu.Unlock()
	if ended {
		return driver.ErrProducerEnded
	}
	return p.flush(ctx)
}

func (p *Producer) flush(ctx context.Context) error {
	if err := p.cl.Flush(ctx); err != nil {
		return wrapErr("flush", err)
	}
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
	p.mu.Lock()
	if p.ended {
		p.mu.Unlock()
		return driver.ErrProducerEnded
	}
	p.ended = true
	p.mu.Unlock()
	err := p.flush(ctx)
	p.cl.Close()
	return err
}
