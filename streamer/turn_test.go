package streamer

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestTurnExclusiveNoLostWakeup has many goroutines take turns, some giving
// up through their ctx: never two inside at once, and every one that does not
// give up gets through (a lost wake-up would hang the test).
func TestTurnExclusiveNoLostWakeup(t *testing.T) {
	tr := turn{wake: make(chan struct{}, 1)}
	done := make(chan struct{})
	var inside, maxInside, through atomic.Int32
	var wg sync.WaitGroup
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 2000; i++ {
				ctx := context.Background()
				var cancel context.CancelFunc = func() {}
				if (g+i)%7 == 0 {
					ctx, cancel = context.WithTimeout(ctx, time.Microsecond)
				}
				if err := tr.take(ctx, done); err != nil {
					cancel()
					continue
				}
				if n := inside.Add(1); n > maxInside.Load() {
					maxInside.Store(n)
				}
				inside.Add(-1)
				through.Add(1)
				tr.release()
				cancel()
			}
		}()
	}
	wg.Wait()
	if maxInside.Load() != 1 {
		t.Fatalf("%d callers inside at once", maxInside.Load())
	}
	if through.Load() < 16*2000*6/7 {
		t.Fatalf("only %d got through", through.Load())
	}
	// Close releases a waiter.
	if err := tr.take(context.Background(), done); err != nil {
		t.Fatal(err)
	}
	errc := make(chan error)
	go func() { errc <- tr.take(context.Background(), done) }()
	close(done)
	if err := <-errc; err != ErrClosed {
		t.Fatalf("waiter after close: %v", err)
	}
}
