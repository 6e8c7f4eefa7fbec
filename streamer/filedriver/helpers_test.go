package filedriver

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/seastream/ss/streamer/driver"
)

func tempFile(t *testing.T) string {
	t.Helper()
	return filepath.Join(t.TempDir(), "test.ss")
}

// open opens a Conn on path with the URI query q (without "?").
func open(t *testing.T, path, q string, opts ...driver.ConnectOptions) driver.Conn {
	t.Helper()
	c, err := openErr(path, q, opts...)
	if err != nil {
		t.Fatalf("Open(%s?%s): %v", path, q, err)
	}
	t.Cleanup(func() { _ = c.Close(context.Background()) })
	return c
}

func openErr(path, q string, opts ...driver.ConnectOptions) (driver.Conn, error) {
	raw := "file://" + path
	if q != "" {
		raw += "?" + q
	}
	u, err := driver.ParseURI(raw)
	if err != nil {
		return nil, err
	}
	var o driver.ConnectOptions
	if len(opts) > 0 {
		o = opts[0]
	}
	return Driver{}.Open(context.Background(), u, o)
}

func newProducer(t *testing.T, c driver.Conn, opts ...driver.ProducerOptions) driver.Producer {
	t.Helper()
	var o driver.ProducerOptions
	if len(opts) > 0 {
		o = opts[0]
	}
	p, err := c.NewProducer(context.Background(), "", o)
	if err != nil {
		t.Fatalf("NewProducer: %v", err)
	}
	return p
}

func newCons(t *testing.T, c driver.Conn, opts driver.ConsumerOptions, streams ...driver.StreamKey) driver.Consumer {
	t.Helper()
	cons, err := c.NewConsumer(context.Background(), streams, opts)
	if err != nil {
		t.Fatalf("NewConsumer(%v, %+v): %v", streams, opts, err)
	}
	t.Cleanup(func() { _ = cons.Close(context.Background()) })
	return cons
}

var earliest = driver.ConsumerOptions{AutoStreamReset: driver.ResetEarliest}

// send sends and waits for the receipt.
func send(t *testing.T, ctx context.Context, p driver.Producer, h driver.Header, payload string) driver.Header {
	t.Helper()
	pend, err := p.Send(ctx, h, []byte(payload))
	if err != nil {
		t.Fatalf("Send %s: %v", h.StreamKey, err)
	}
	got, err := pend.Wait(ctx)
	if err != nil {
		t.Fatalf("receipt of %q: %v", payload, err)
	}
	return got
}

// sendN sends n messages "<prefix><i>" to key and flushes.
func sendN(t *testing.T, ctx context.Context, p driver.Producer, key driver.StreamKey, prefix string, n int) {
	t.Helper()
	for i := range n {
		if _, err := p.Send(ctx, driver.Header{StreamKey: key}, fmt.Appendf(nil, "%s%d", prefix, i)); err != nil {
			t.Fatalf("Send %d: %v", i, err)
		}
	}
	if err := p.Flush(ctx); err != nil {
		t.Fatalf("Flush: %v", err)
	}
}

func next(t *testing.T, ctx context.Context, c driver.Consumer) driver.Message {
	t.Helper()
	m, err := c.Next(ctx)
	if err != nil {
		t.Fatalf("Next: %v", err)
	}
	return m.Clone()
}

// payloads reads n messages and returns their payloads.
func payloads(t *testing.T, ctx context.Context, c driver.Consumer, n int) []string {
	t.Helper()
	out := make([]string, 0, n)
	for range n {
		m, err := c.Next(ctx)
		if err != nil {
			t.Fatalf("Next after %d of %d: %v", len(out), n, err)
		}
		out = append(out, string(m.Payload))
	}
	return out
}

func seq(prefix string, from, to int) []string {
	var out []string
	for i := from; i < to; i++ {
		out = append(out, fmt.Sprintf("%s%d", prefix, i))
	}
	return out
}

// nextErr waits for Next to fail and returns the error.
func nextErr(t *testing.T, ctx context.Context, c driver.Consumer) error {
	t.Helper()
	m, err := c.Next(ctx)
	if err == nil {
		t.Fatalf("Next returned %s %q, want an error", m.Header, m.Payload)
	}
	return err
}

func wantErr(t *testing.T, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("error %v, want %v", err, target)
	}
}
