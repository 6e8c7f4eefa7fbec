package streamer

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seastream/ss/streamer/driver"
)

// stored is one resolved receipt that constProducer returns for every Send,
// so that the benchmarks measure the portable layer, not a driver.
var stored = func() *driver.Future {
	f := driver.NewFuture()
	f.Resolve(Header{StreamKey: "k", Seq: 1, Timestamp: time.UnixMilli(1)}, nil)
	return f
}()

type constProducer struct{}

func (constProducer) Send(context.Context, driver.Header, []byte) (driver.Pending, error) {
	return stored, nil
}
func (constProducer) Flush(context.Context) error { return nil }
func (constProducer) End(context.Context) error   { return nil }

// counter is a cheap hook, as a metrics plug-in would be.
type counter struct{ produced, consumed, bytes atomic.Int64 }

func (c *counter) OnProduce(e ProduceEvent) { c.produced.Add(1); c.bytes.Add(int64(e.Bytes)) }
func (c *counter) OnConsume(e ConsumeEvent) { c.consumed.Add(1); c.bytes.Add(int64(e.Bytes)) }

func benchHooks(b *testing.B) []struct {
	name  string
	hooks *hookSet
} {
	hs, err := newHookSet([]any{&counter{}})
	if err != nil {
		b.Fatal(err)
	}
	return []struct {
		name  string
		hooks *hookSet
	}{{"nohook", nil}, {"hook", hs}}
}

// BenchmarkSendHooks measures Send with and without a HookProduce; neither
// may allocate per message.
func BenchmarkSendHooks(b *testing.B) {
	for _, bc := range benchHooks(b) {
		b.Run(bc.name, func(b *testing.B) {
			s := newStreamer(nil, nil, nil)
			s.hooks = bc.hooks
			p := &Producer{s: s, dp: constProducer{}, stream: "k", hooks: bc.hooks}
			if bc.hooks != nil {
				p.watch = newReceiptWatcher(bc.hooks)
			}
			ctx := context.Background()
			payload := make([]byte, 100)
			b.ReportAllocs()
			for range b.N {
				if _, err := p.Send(ctx, payload); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			if err := p.shutdown(ctx, ErrProducerEnded); err != nil {
				b.Fatal(err)
			}
		})
	}
}

// BenchmarkNextHooks measures Next with and without a HookConsume.
func BenchmarkNextHooks(b *testing.B) {
	for _, bc := range benchHooks(b) {
		b.Run(bc.name, func(b *testing.B) {
			s := newStreamer(nil, nil, nil)
			s.hooks = bc.hooks
			c := newConsumer(s, &concurrentConst{}, []StreamKey{"k"}, RealTime)
			ctx := context.Background()
			b.ReportAllocs()
			for range b.N {
				if _, err := c.Next(ctx); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestHooksDoNotAllocate pins the benchmarks' promise: Send and Next
// allocate nothing per message, with or without hooks.
func TestHooksDoNotAllocate(t *testing.T) {
	hs, err := newHookSet([]any{&counter{}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	payload := make([]byte, 100)
	for _, hooks := range []*hookSet{nil, hs} {
		s := newStreamer(nil, nil, nil)
		s.hooks = hooks
		p := &Producer{s: s, dp: constProducer{}, stream: "k", hooks: hooks}
		if hooks != nil {
			p.watch = newReceiptWatcher(hooks)
		}
		c := newConsumer(s, &concurrentConst{}, []StreamKey{"k"}, RealTime)
		// Grow the watcher's queues first: they are reused afterwards.
		for range 1000 {
			p.Send(ctx, payload)
		}
		send := testing.AllocsPerRun(1000, func() { p.Send(ctx, payload) })
		next := testing.AllocsPerRun(1000, func() { c.Next(ctx) })
		// The watcher's queues may still grow now and then: allow well
		// under one allocation per message.
		if send > 0.05 || next != 0 {
			t.Errorf("hooks=%v: %v allocations per Send, %v per Next; want 0", hooks != nil, send, next)
		}
		if err := p.shutdown(ctx, ErrProducerEnded); err != nil {
			t.Fatal(err)
		}
	}
}
