package streamer

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/seastream/ss/streamer/driver"
)

// gateConsumer is a driver consumer whose Next reports that it was entered,
// then blocks until Close.
type gateConsumer struct {
	entered chan struct{}
	release chan struct{}
}

func (g *gateConsumer) Next(ctx context.Context) (driver.Message, error) {
	g.entered <- struct{}{}
	<-g.release
	return driver.Message{}, driver.ErrClosed
}
func (g *gateConsumer) Seek(context.Context, time.Time) error           { return nil }
func (g *gateConsumer) Rewind(context.Context, driver.SeqPos) error     { return nil }
func (g *gateConsumer) Assign(driver.StreamKey, driver.ShardID) error   { return nil }
func (g *gateConsumer) Unassign(driver.StreamKey, driver.ShardID) error { return nil }
func (g *gateConsumer) Commit(context.Context) error                    { return nil }
func (g *gateConsumer) Close(context.Context) error                     { close(g.release); return nil }

// TestNextWaitsItsTurn: a Next waiting while another is in the driver
// returns its ctx's error when cancelled and ErrClosed on Close, without
// reaching the driver; a Next with a done ctx does not reach it either.
func TestNextWaitsItsTurn(t *testing.T) {
	g := &gateConsumer{entered: make(chan struct{}, 4), release: make(chan struct{})}
	c := newConsumer(newStreamer(nil, nil, nil), g, []StreamKey{"k"}, RealTime)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	first := make(chan error, 1)
	go func() {
		_, err := c.Next(ctx)
		first <- err
	}()
	select {
	case <-g.entered:
	case <-ctx.Done():
		t.Fatal("the first Next did not reach the driver")
	}

	done, cancelDone := context.WithCancel(ctx)
	cancelDone()
	if _, err := c.Next(done); !errors.Is(err, context.Canceled) {
		t.Fatalf("Next with a done ctx = %v, want context.Canceled", err)
	}
	waiting, cancelWaiting := context.WithCancel(ctx)
	second := make(chan error, 1)
	go func() {
		_, err := c.Next(waiting)
		second <- err
	}()
	third := make(chan error, 1)
	go func() {
		_, err := c.Next(ctx)
		third <- err
	}()
	cancelWaiting()
	if err := <-second; !errors.Is(err, context.Canceled) {
		t.Fatalf("waiting Next after cancel = %v, want context.Canceled", err)
	}
	if err := c.shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	for i, ch := range []chan error{third, first} {
		if err := <-ch; !errors.Is(err, ErrClosed) {
			t.Fatalf("Next %d after Close = %v, want ErrClosed", i, err)
		}
	}
	if n := len(g.entered); n != 0 {
		t.Fatalf("%d more Next calls reached the driver", n)
	}
	if _, err := c.Next(ctx); !errors.Is(err, ErrClosed) {
		t.Fatalf("Next after Close = %v, want ErrClosed", err)
	}
}

// concurrentGate is a gateConsumer that declares its Next safe to call
// concurrently.
type concurrentGate struct{ gateConsumer }

func (*concurrentGate) ConcurrentNext() {}

// TestConcurrentNextLetThrough: the Nexts of a driver.ConcurrentNext reach
// the driver together, and still end with ErrClosed on Close and with ctx's
// error for a done ctx.
func TestConcurrentNextLetThrough(t *testing.T) {
	g := &concurrentGate{gateConsumer{entered: make(chan struct{}, 4), release: make(chan struct{})}}
	c := newConsumer(newStreamer(nil, nil, nil), g, []StreamKey{"k"}, RealTime)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	errs := make(chan error, 3)
	for range 3 {
		go func() {
			_, err := c.Next(ctx)
			errs <- err
		}()
	}
	for i := range 3 {
		select {
		case <-g.entered:
		case <-ctx.Done():
			t.Fatalf("only %d of 3 concurrent Nexts reached the driver", i)
		}
	}
	done, cancelDone := context.WithCancel(ctx)
	cancelDone()
	if _, err := c.Next(done); !errors.Is(err, context.Canceled) {
		t.Fatalf("Next with a done ctx = %v, want context.Canceled", err)
	}
	if err := c.shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if err := <-errs; !errors.Is(err, ErrClosed) {
			t.Fatalf("Next after Close = %v, want ErrClosed", err)
		}
	}
	if _, err := c.Next(ctx); !errors.Is(err, ErrClosed) {
		t.Fatalf("Next after Close = %v, want ErrClosed", err)
	}
}

// constConsumer is a driver consumer whose Next returns at once.
type constConsumer struct{ gateConsumer }

func (constConsumer) Next(context.Context) (driver.Message, error) { return driver.Message{}, nil }

// concurrentConst is a constConsumer that declares its Next safe to call
// concurrently.
type concurrentConst struct{ constConsumer }

func (*concurrentConst) ConcurrentNext() {}

// BenchmarkConsumerNext measures what the portable layer adds to each Next:
// taking turns, or letting a driver.ConcurrentNext through.
func BenchmarkConsumerNext(b *testing.B) {
	for _, bc := range []struct {
		name string
		dc   driver.Consumer
	}{{"turns", &constConsumer{}}, {"concurrent", &concurrentConst{}}} {
		b.Run(bc.name, func(b *testing.B) {
			c := newConsumer(newStreamer(nil, nil, nil), bc.dc, []StreamKey{"k"}, RealTime)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			for range b.N {
				if _, err := c.Next(ctx); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
