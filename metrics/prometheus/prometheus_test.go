package prometheus_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	prom "github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/seastream/ss/metrics/prometheus"
	"github.com/seastream/ss/streamer"
)

func scrape(t *testing.T, reg *prom.Registry) string {
	t.Helper()
	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestMetricsExposeActivity runs a file:// Streamer with the plug-in and
// checks what a scrape of its registry shows.
func TestMetricsExposeActivity(t *testing.T) {
	ctx := context.Background()
	reg := prom.NewRegistry()
	lag := func(context.Context) ([]streamer.Lag, error) {
		return []streamer.Lag{{Stream: "events", Shard: 0, Messages: 7}, {Stream: "events", Shard: 1, Messages: 2}}, nil
	}
	m, err := prometheus.New(reg, prometheus.Options{Lag: lag})
	if err != nil {
		t.Fatal(err)
	}
	s, err := streamer.Open(ctx, "file://"+filepath.Join(t.TempDir(), "m.ss")+"/events?create=true", streamer.WithHooks(m))
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
	c, err := s.NewConsumer(ctx, nil, streamer.WithMode(streamer.Resumable), streamer.WithGroup("g"),
		streamer.WithAutoStreamReset(streamer.ResetEarliest))
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := c.Next(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(ctx); err != nil { // ends the producer: every receipt reported
		t.Fatal(err)
	}
	m.OnError(streamer.ErrorEvent{Op: streamer.OpNext, Err: errors.New("x")})

	out := scrape(t, reg)
	for _, want := range []string{
		`ss_produced_messages_total{stream="events"} 3`,
		`ss_produced_bytes_total{stream="events"} 6`,
		`ss_produce_latency_seconds_count{stream="events"} 3`,
		`ss_consumed_messages_total{stream="events"} 2`,
		`ss_consumed_bytes_total{stream="events"} 3`,
		`ss_consume_delay_seconds_count{stream="events"} 2`,
		`ss_flush_latency_seconds_count 1`, // Flush calls only, not End
		`ss_commit_latency_seconds_count 1`,
		`ss_errors_total{op="next"} 1`,
		`ss_consumer_lag_messages{shard="0",stream="events"} 7`,
		`ss_consumer_lag_messages{shard="1",stream="events"} 2`,
	} {
		if !strings.Contains(out, want+"\n") {
			t.Errorf("scrape lacks %q; got:\n%s", want, out)
		}
	}
}

// TestNewRejectsDuplicate: a second plug-in on one registry is an error,
// not a panic.
func TestNewRejectsDuplicate(t *testing.T) {
	reg := prom.NewRegistry()
	if _, err := prometheus.New(reg, prometheus.Options{}); err != nil {
		t.Fatal(err)
	}
	var are prom.AlreadyRegisteredError
	if _, err := prometheus.New(reg, prometheus.Options{}); !errors.As(err, &are) {
		t.Errorf("second New: %v, want AlreadyRegisteredError", err)
	}
	if _, err := prometheus.New(reg, prometheus.Options{Namespace: "other"}); err != nil {
		t.Errorf("New with another namespace: %v", err)
	}
}

// TestHooksDoNotAllocate: once a stream is known, recording allocates
// nothing.
func TestHooksDoNotAllocate(t *testing.T) {
	m, err := prometheus.New(prom.NewRegistry(), prometheus.Options{})
	if err != nil {
		t.Fatal(err)
	}
	pe := streamer.ProduceEvent{Header: streamer.Header{StreamKey: "k"}, Bytes: 10, Latency: time.Millisecond}
	ce := streamer.ConsumeEvent{Header: streamer.Header{StreamKey: "k"}, Bytes: 10, Delay: time.Millisecond}
	m.OnProduce(pe)
	if n := testing.AllocsPerRun(1000, func() { m.OnProduce(pe); m.OnConsume(ce) }); n != 0 {
		t.Errorf("%v allocations per OnProduce+OnConsume, want 0", n)
	}
}

// TestLagErrorsKeepTheScrape: a Lag that fails leaves out only the gauges
// (the scrape still answers 200 with the other metrics); an error counts in
// errors_total{op="lag"}, ErrUnsupported (a backend that cannot tell) not.
func TestLagErrorsKeepTheScrape(t *testing.T) {
	for _, c := range []struct {
		err     error
		counted bool
	}{{errors.New("backend down"), true}, {streamer.ErrUnsupported, false}} {
		reg := prom.NewRegistry()
		lag := func(context.Context) ([]streamer.Lag, error) { return nil, c.err }
		if _, err := prometheus.New(reg, prometheus.Options{Lag: lag}); err != nil {
			t.Fatal(err)
		}
		body := scrape(t, reg)
		if strings.Contains(body, "ss_consumer_lag_messages{") {
			t.Errorf("%v: lag gauges in the scrape:\n%s", c.err, body)
		}
		if got := strings.Contains(body, `ss_errors_total{op="lag"} 1`); got != c.counted {
			t.Errorf("%v: errors_total{op=\"lag\"} counted = %v, want %v:\n%s", c.err, got, c.counted, body)
		}
	}
}
