// Package otel records a Streamer's activity with OpenTelemetry metrics
// (go.opentelemetry.io/otel/metric): a hook set for streamer.WithHooks with
// the same measurements as package metrics/prometheus. The streamer package
// does not import this one.
//
//	m, err := otel.New(provider.Meter("github.com/seastream/ss"), otel.Options{})
//	s, err := streamer.Open(ctx, uri, streamer.WithHooks(m))
package otel

import (
	"context"
	"errors"
	"sync"

	"github.com/seastream/ss/streamer"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// Options configure New. The zero value is ready to use.
type Options struct {
	// Prefix starts every instrument name; default "ss.".
	Prefix string

	// Lag, if set, is read at each collection for the gauge
	// <prefix>consumer.lag{stream, shard}: typically a Consumer's Lag method.
	Lag func(ctx context.Context) ([]streamer.Lag, error)
}

// Metrics is a hook for streamer.WithHooks that records into OpenTelemetry
// instruments. It implements streamer.HookProduce, HookConsume, HookCommit,
// HookFlush and HookError, and is safe for concurrent use.
type Metrics struct {
	producedMsgs, producedBytes metric.Int64Counter
	consumedMsgs, consumedBytes metric.Int64Counter
	produceLatency              metric.Float64Histogram
	consumeDelay                metric.Float64Histogram
	flushLatency                metric.Float64Histogram
	commitLatency               metric.Float64Histogram
	errors                      metric.Int64Counter
	reg                         metric.Registration // the lag callback, or nil

	mu      sync.RWMutex
	streams map[streamer.StreamKey]*attrs
	ops     map[streamer.Op]*attrs
}

// attrs holds one attribute set as ready-made option slices, so that
// recording does not build options (or their variadic slices) per message.
type attrs struct {
	add []metric.AddOption
	rec []metric.RecordOption
}

func newAttrs(kv ...attribute.KeyValue) *attrs {
	o := metric.WithAttributeSet(attribute.NewSet(kv...))
	return &attrs{add: []metric.AddOption{o}, rec: []metric.RecordOption{o}}
}

// New creates the instruments with meter; it returns the meter's errors.
func New(meter metric.Meter, o Options) (*Metrics, error) {
	p := o.Prefix
	if p == "" {
		p = "ss."
	}
	var errs []error
	counter := func(name, unit, desc string) metric.Int64Counter {
		c, err := meter.Int64Counter(p+name, metric.WithUnit(unit), metric.WithDescription(desc))
		errs = append(errs, err)
		return c
	}
	histogram := func(name, desc string) metric.Float64Histogram {
		h, err := meter.Float64Histogram(p+name, metric.WithUnit("s"), metric.WithDescription(desc))
		errs = append(errs, err)
		return h
	}
	m := &Metrics{
		producedMsgs:   counter("produced.messages", "{message}", "Messages sent and stored."),
		producedBytes:  counter("produced.bytes", "By", "Payload bytes sent and stored."),
		consumedMsgs:   counter("consumed.messages", "{message}", "Messages received."),
		consumedBytes:  counter("consumed.bytes", "By", "Payload bytes received."),
		produceLatency: histogram("produce.latency", "Time from Send to the message's receipt (stored or failed)."),
		consumeDelay:   histogram("consume.delay", "Time from a message's timestamp to its delivery by Next."),
		flushLatency:   histogram("flush.latency", "Duration of Producer.Flush calls."),
		commitLatency:  histogram("commit.latency", "Duration of Consumer.Commit calls."),
		errors:         counter("errors", "{error}", "Errors from the backend, per operation."),
		streams:        make(map[streamer.StreamKey]*attrs),
		ops:            make(map[streamer.Op]*attrs),
	}
	if o.Lag != nil {
		g, err := meter.Int64ObservableGauge(p+"consumer.lag", metric.WithUnit("{message}"),
			metric.WithDescription("Messages stored after the consumer's position, per stream and shard."))
		errs = append(errs, err)
		if err == nil {
			m.reg, err = meter.RegisterCallback(func(ctx context.Context, ob metric.Observer) error {
				lags, err := o.Lag(ctx)
				if err != nil {
					return err
				}
				for _, l := range lags {
					ob.ObserveInt64(g, int64(l.Messages), metric.WithAttributes(
						attribute.String("stream", string(l.Stream)), attribute.Int64("shard", int64(l.Shard))))
				}
				return nil
			}, g)
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return m, nil
}

// Close unregisters the lag callback, if any.
func (m *Metrics) Close() error {
	if m.reg == nil {
		return nil
	}
	return m.reg.Unregister()
}

func (m *Metrics) stream(k streamer.StreamKey) *attrs {
	m.mu.RLock()
	a := m.streams[k]
	m.mu.RUnlock()
	if a != nil {
		return a
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if a = m.streams[k]; a == nil {
		a = newAttrs(attribute.String("stream", string(k)))
		m.streams[k] = a
	}
	return a
}

// ctx is what the instruments get: hooks have no context of their own.
var ctx = context.Background()

// OnProduce implements streamer.HookProduce.
func (m *Metrics) OnProduce(e streamer.ProduceEvent) {
	a := m.stream(e.Header.StreamKey)
	m.produceLatency.Record(ctx, e.Latency.Seconds(), a.rec...)
	if e.Err == nil {
		m.producedMsgs.Add(ctx, 1, a.add...)
		m.producedBytes.Add(ctx, int64(e.Bytes), a.add...)
	}
}

// OnConsume implements streamer.HookConsume.
func (m *Metrics) OnConsume(e streamer.ConsumeEvent) {
	a := m.stream(e.Header.StreamKey)
	m.consumedMsgs.Add(ctx, 1, a.add...)
	m.consumedBytes.Add(ctx, int64(e.Bytes), a.add...)
	m.consumeDelay.Record(ctx, e.Delay.Seconds(), a.rec...)
}

// OnFlush implements streamer.HookFlush.
func (m *Metrics) OnFlush(e streamer.FlushEvent) { m.flushLatency.Record(ctx, e.Latency.Seconds()) }

// OnCommit implements streamer.HookCommit.
func (m *Metrics) OnCommit(e streamer.CommitEvent) { m.commitLatency.Record(ctx, e.Latency.Seconds()) }

// OnError implements streamer.HookError.
func (m *Metrics) OnError(e streamer.ErrorEvent) {
	m.mu.RLock()
	a := m.ops[e.Op]
	m.mu.RUnlock()
	if a == nil {
		m.mu.Lock()
		if a = m.ops[e.Op]; a == nil {
			a = newAttrs(attribute.String("op", e.Op.String()))
			m.ops[e.Op] = a
		}
		m.mu.Unlock()
	}
	m.errors.Add(ctx, 1, a.add...)
}
