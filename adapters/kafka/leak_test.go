package kafka_test

import (
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/seastream/ss/adapters/kafka"
	"github.com/seastream/ss/internal/testkit"
	"github.com/seastream/ss/streamer"
)

// TestNoGoroutineLeak checks that closing a Streamer stops every goroutine
// its producers and consumers (of each mode) started.
func TestNoGoroutineLeak(t *testing.T) {
	ctx := testkit.Context(t)
	brokers := newBrokers(t, 1) // the kfake cluster's goroutines start before the count
	count := func() int {
		buf := make([]byte, 1<<20)
		n := 0
		for _, g := range strings.Split(string(buf[:runtime.Stack(buf, true)]), "\n\n") {
			if strings.Contains(g, "franz-go/pkg/kgo") || strings.Contains(g, "adapters/kafka.") {
				n++
			}
		}
		return n
	}
	before := count()
	s, err := streamer.Open(ctx, "kafka://"+brokers)
	if err != nil {
		t.Fatal(err)
	}
	k := topic(t, "leak")
	p, err := s.NewProducer(ctx, k)
	if err != nil {
		t.Fatal(err)
	}
	send(t, ctx, p, k, "x")
	modes := []streamer.ConsumerOption{
		streamer.WithMode(streamer.RealTime),
		streamer.WithMode(streamer.Resumable),
		streamer.WithGroup(string(topic(t, "g"))),
	}
	for i, m := range modes {
		opts := []streamer.ConsumerOption{m, streamer.WithAutoStreamReset(streamer.ResetEarliest), kafka.WithAutoCommit(time.Hour)}
		if i == 2 {
			opts = append(opts, streamer.WithMode(streamer.LoadBalanced))
		}
		c, err := s.NewConsumer(ctx, []streamer.StreamKey{k}, opts...)
		if err != nil {
			t.Fatal(err)
		}
		next(t, ctx, c)
		if i < 2 {
			if err := c.Rewind(ctx, streamer.SeqBeginning()); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	// Close has returned; goroutines that already finished their work may
	// still be exiting: yield until the count is back, within a bound.
	deadline := time.Now().Add(5 * time.Second)
	for count() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d kafka goroutines before, %d after Close:\n%s", before, count(), buf[:runtime.Stack(buf, true)])
		}
		runtime.Gosched()
	}
}
