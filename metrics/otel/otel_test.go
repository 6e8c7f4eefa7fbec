package otel_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	ssotel "github.com/seastream/ss/metrics/otel"
	"github.com/seastream/ss/streamer"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// TestMetricsRecordActivity runs a file:// Streamer with the plug-in and
// reads the instruments through the SDK's manual reader.
func TestMetricsRecordActivity(t *testing.T) {
	ctx := context.Background()
	reader := sdkmetric.NewManualReader()
	provider := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer provider.Shutdown(ctx)
	lag := func(context.Context) ([]streamer.Lag, error) {
		return []streamer.Lag{{Stream: "events", Shard: 1, Messages: 7}}, nil
	}
	m, err := ssotel.New(provider.Meter("test"), ssotel.Options{Lag: lag})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	s, err := streamer.Open(ctx, "file://"+filepath.Join(t.TempDir(), "o.ss")+"/events?create=true", streamer.WithHooks(m))
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.NewProducer(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, pl := range []string{"a", "bb", "ccc"} {
		if _, err := p.Send(ctx, []byte(pl)); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	c, err := s.NewConsumer(ctx, nil, streamer.WithAutoStreamReset(streamer.ResetEarliest))
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := c.Next(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	m.OnError(streamer.ErrorEvent{Op: streamer.OpCommit, Err: errors.New("x")})

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(ctx, &rm); err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		for _, md := range sm.Metrics {
			switch d := md.Data.(type) {
			case metricdata.Sum[int64]:
				for _, dp := range d.DataPoints {
					got[md.Name+label(dp.Attributes)] += dp.Value
				}
			case metricdata.Gauge[int64]:
				for _, dp := range d.DataPoints {
					got[md.Name+label(dp.Attributes)] = dp.Value
				}
			case metricdata.Histogram[float64]:
				for _, dp := range d.DataPoints {
					got[md.Name+".count"+label(dp.Attributes)] += int64(dp.Count)
				}
			}
		}
	}
	for name, want := range map[string]int64{
		"ss.produced.messages{events}":     3,
		"ss.produced.bytes{events}":        6,
		"ss.produce.latency.count{events}": 3,
		"ss.consumed.messages{events}":     2,
		"ss.consumed.bytes{events}":        3,
		"ss.consume.delay.count{events}":   2,
		"ss.flush.latency.count":           1,
		"ss.errors{commit}":                1,
		"ss.consumer.lag{events,1}":        7,
	} {
		if got[name] != want {
			t.Errorf("%s = %d, want %d (all: %v)", name, got[name], want, got)
		}
	}
}

// label renders the values of stream, op and shard, in that order.
func label(set attribute.Set) string {
	var out string
	for _, k := range []attribute.Key{"stream", "op", "shard"} {
		if v, ok := set.Value(k); ok {
			if out != "" {
				out += ","
			}
			out += v.Emit()
		}
	}
	if out == "" {
		return ""
	}
	return "{" + out + "}"
}

// TestHooksDoNotAllocate: with the SDK, recording a known stream allocates
// nothing (the option slices are made once per stream).
func TestHooksDoNotAllocate(t *testing.T) {
	provider := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	defer provider.Shutdown(context.Background())
	m, err := ssotel.New(provider.Meter("test"), ssotel.Options{})
	if err != nil {
		t.Fatal(err)
	}
	pe := streamer.ProduceEvent{Header: streamer.Header{StreamKey: "k"}, Bytes: 10, Latency: time.Millisecond}
	ce := streamer.ConsumeEvent{Header: streamer.Header{StreamKey: "k"}, Bytes: 10, Delay: time.Millisecond}
	m.OnProduce(pe)
	m.OnConsume(ce)
	if n := testing.AllocsPerRun(1000, func() { m.OnProduce(pe); m.OnConsume(ce) }); n != 0 {
		t.Errorf("%v allocations per OnProduce+OnConsume, want 0", n)
	}
}
