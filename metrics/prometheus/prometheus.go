// Package prometheus exposes a Streamer's activity as Prometheus metrics:
// a hook set for streamer.WithHooks that counts messages and bytes produced
// and consumed per stream, observes produce, flush and commit latencies and
// consume delays in histograms, counts errors per operation, and, given a Lag
// function, reports consumer lag per (stream, shard) at each scrape.
//
//	m, err := prometheus.New(registry, prometheus.Options{})
//	s, err := streamer.Open(ctx, uri, streamer.WithHooks(m))
//	http.Handle("/metrics", promhttp.HandlerFor(registry, promhttp.HandlerOpts{}))
//
// The streamer package does not import this one: a program that does not
// want Prometheus does not link it.
package prometheus

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"time"

	prom "github.com/prometheus/client_golang/prometheus"
	"github.com/seastream/ss/streamer"
)

// Options configure New. The zero value is ready to use.
type Options struct {
	// Namespace prefixes every metric name; default "ss".
	Namespace string

	// ConstLabels are added to every metric, e.g. {"instance_role": "relay"}.
	ConstLabels prom.Labels

	// Buckets are the histograms' bucket bounds in seconds; default
	// prometheus.DefBuckets (5ms to 10s).
	Buckets []float64

	// Lag, if set, is called at each scrape for the gauge
	// <ns>_consumer_lag_messages{stream, shard}: typically a Consumer's Lag
	// method. A scrape lasts at most LagTimeout (default 5s) for it; an error
	// leaves the gauges out of that scrape, and counts in errors_total{op="lag"}
	// unless it is streamer.ErrUnsupported (a backend that cannot tell).
	Lag        func(ctx context.Context) ([]streamer.Lag, error)
	LagTimeout time.Duration
}

// Metrics is a hook for streamer.WithHooks that records into Prometheus
// collectors. It implements streamer.HookProduce, HookConsume, HookCommit,
// HookFlush and HookError, allocates nothing per message once a stream has
// been seen, and is safe for concurrent use. One Metrics may serve several
// Streamers.
type Metrics struct {
	producedMsgs, producedBytes *prom.CounterVec
	consumedMsgs, consumedBytes *prom.CounterVec
	produceLatency              *prom.HistogramVec
	consumeDelay                *prom.HistogramVec
	flushLatency                prom.Histogram
	commitLatency               prom.Histogram
	errors                      *prom.CounterVec

	mu      sync.RWMutex
	streams map[streamer.StreamKey]*series // by stream, filled on first sight
	errs    map[streamer.Op]prom.Counter
}

// series caches one stream's children of the vectors, so that the hot path
// is a map read and atomic adds instead of a label lookup.
type series struct {
	producedMsgs, producedBytes prom.Counter
	consumedMsgs, consumedBytes prom.Counter
	produceLatency              prom.Observer
	consumeDelay                prom.Observer
}

// New creates the collectors and registers them with reg; it returns reg's
// error if one is already registered (e.g. a second New on the same
// registry with the same Namespace).
func New(reg prom.Registerer, o Options) (*Metrics, error) {
	ns := o.Namespace
	if ns == "" {
		ns = "ss"
	}
	buckets := o.Buckets
	if buckets == nil {
		buckets = prom.DefBuckets
	}
	counter := func(name, help string, labels ...string) *prom.CounterVec {
		return prom.NewCounterVec(prom.CounterOpts{Namespace: ns, Name: name, Help: help, ConstLabels: o.ConstLabels}, labels)
	}
	histogram := func(name, help string, labels ...string) *prom.HistogramVec {
		return prom.NewHistogramVec(prom.HistogramOpts{Namespace: ns, Name: name, Help: help, ConstLabels: o.ConstLabels, Buckets: buckets}, labels)
	}
	m := &Metrics{
		producedMsgs:   counter("produced_messages_total", "Messages sent and stored, per stream.", "stream"),
		producedBytes:  counter("produced_bytes_total", "Payload bytes sent and stored, per stream.", "stream"),
		consumedMsgs:   counter("consumed_messages_total", "Messages received, per stream.", "stream"),
		consumedBytes:  counter("consumed_bytes_total", "Payload bytes received, per stream.", "stream"),
		produceLatency: histogram("produce_latency_seconds", "Time from Send to the message's receipt (stored or failed), per stream.", "stream"),
		consumeDelay:   histogram("consume_delay_seconds", "Time from a message's timestamp to its delivery by Next, per stream.", "stream"),
		flushLatency: prom.NewHistogram(prom.HistogramOpts{Namespace: ns, Name: "flush_latency_seconds",
			Help: "Duration of Producer.Flush calls.", ConstLabels: o.ConstLabels, Buckets: buckets}),
		commitLatency: prom.NewHistogram(prom.HistogramOpts{Namespace: ns, Name: "commit_latency_seconds",
			Help: "Duration of Consumer.Commit calls.", ConstLabels: o.ConstLabels, Buckets: buckets}),
		errors:  counter("errors_total", "Errors from the backend, per operation (send, receipt, next, commit, flush).", "op"),
		streams: make(map[streamer.StreamKey]*series),
		errs:    make(map[streamer.Op]prom.Counter),
	}
	cs := []prom.Collector{m.producedMsgs, m.producedBytes, m.consumedMsgs, m.consumedBytes,
		m.produceLatency, m.consumeDelay, m.flushLatency, m.commitLatency, m.errors}
	if o.Lag != nil {
		timeout := o.LagTimeout
		if timeout <= 0 {
			timeout = 5 * time.Second
		}
		cs = append(cs, &lagCollector{
			desc: prom.NewDesc(prom.BuildFQName(ns, "", "consumer_lag_messages"),
				"Messages stored after the consumer's position, per stream and shard.",
				[]string{"stream", "shard"}, o.ConstLabels),
			lag: o.Lag, timeout: timeout, errs: m.errors.WithLabelValues("lag"),
		})
	}
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (m *Metrics) series(k streamer.StreamKey) *series {
	m.mu.RLock()
	s := m.streams[k]
	m.mu.RUnlock()
	if s != nil {
		return s
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if s = m.streams[k]; s == nil {
		l := string(k)
		s = &series{
			producedMsgs: m.producedMsgs.WithLabelValues(l), producedBytes: m.producedBytes.WithLabelValues(l),
			consumedMsgs: m.consumedMsgs.WithLabelValues(l), consumedBytes: m.consumedBytes.WithLabelValues(l),
			produceLatency: m.produceLatency.WithLabelValues(l), consumeDelay: m.consumeDelay.WithLabelValues(l),
		}
		m.streams[k] = s
	}
	return s
}

// OnProduce implements streamer.HookProduce: a stored message counts as
// produced; every message, stored or not, is observed in the latency
// histogram. (A failure is counted by OnError.)
func (m *Metrics) OnProduce(e streamer.ProduceEvent) {
	s := m.series(e.Header.StreamKey)
	s.produceLatency.Observe(e.Latency.Seconds())
	if e.Err == nil {
		s.producedMsgs.Inc()
		s.producedBytes.Add(float64(e.Bytes))
	}
}

// OnConsume implements streamer.HookConsume.
func (m *Metrics) OnConsume(e streamer.ConsumeEvent) {
	s := m.series(e.Header.StreamKey)
	s.consumedMsgs.Inc()
	s.consumedBytes.Add(float64(e.Bytes))
	s.consumeDelay.Observe(e.Delay.Seconds())
}

// OnFlush implements streamer.HookFlush.
func (m *Metrics) OnFlush(e streamer.FlushEvent) { m.flushLatency.Observe(e.Latency.Seconds()) }

// OnCommit implements streamer.HookCommit.
func (m *Metrics) OnCommit(e streamer.CommitEvent) { m.commitLatency.Observe(e.Latency.Seconds()) }

// OnError implements streamer.HookError.
func (m *Metrics) OnError(e streamer.ErrorEvent) {
	m.mu.RLock()
	c := m.errs[e.Op]
	m.mu.RUnlock()
	if c == nil {
		m.mu.Lock()
		if c = m.errs[e.Op]; c == nil {
			c = m.errors.WithLabelValues(e.Op.String())
			m.errs[e.Op] = c
		}
		m.mu.Unlock()
	}
	c.Inc()
}

// lagCollector asks for the lag at each scrape: lag changes with every
// message, so a gauge set in the background would always be stale.
type lagCollector struct {
	desc    *prom.Desc
	lag     func(context.Context) ([]streamer.Lag, error)
	timeout time.Duration
	errs    prom.Counter // lag errors but ErrUnsupported
}

func (l *lagCollector) Describe(ch chan<- *prom.Desc) { ch <- l.desc }

func (l *lagCollector) Collect(ch chan<- prom.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), l.timeout)
	defer cancel()
	lags, err := l.lag(ctx)
	if err != nil {
		// An invalid metric would fail the whole scrape (HTTP 500): the other
		// metrics still hold, so only the gauges are left out.
		if !errors.Is(err, streamer.ErrUnsupported) {
			l.errs.Inc()
		}
		return
	}
	for _, x := range lags {
		ch <- prom.MustNewConstMetric(l.desc, prom.GaugeValue, float64(x.Messages),
			string(x.Stream), strconv.FormatUint(uint64(x.Shard), 10))
	}
}
