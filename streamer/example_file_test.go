// These examples run against the embedded file:// backend
// (streamer/filedriver), which package streamer always registers.

package streamer_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/seastream/ss/streamer"
	"github.com/seastream/ss/streamer/filedriver"
)

// Produce to and consume from a local .ss file, with no server.
func Example() {
	dir, _ := os.MkdirTemp("", "streamer-example")
	defer os.RemoveAll(dir)
	ctx := context.Background()

	s, err := streamer.Open(ctx, "file://"+filepath.Join(dir, "app.ss")+"/orders?create=true")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close(ctx)

	p, err := s.NewProducer(ctx, "") // the URI's stream: orders
	if err != nil {
		fmt.Println(err)
		return
	}
	for i := range 3 {
		if _, err := p.Send(ctx, fmt.Appendf(nil, "order-%d", i)); err != nil {
			fmt.Println(err)
			return
		}
	}
	if err := p.Flush(ctx); err != nil {
		fmt.Println(err)
		return
	}

	c, err := s.NewConsumer(ctx, nil, streamer.WithAutoStreamReset(streamer.ResetEarliest))
	if err != nil {
		fmt.Println(err)
		return
	}
	for range 3 {
		m, err := c.Next(ctx)
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(m.StreamKey, m.String())
	}
	// Output:
	// orders order-0
	// orders order-1
	// orders order-2
}

// Seek a consumer to a point in time: it reads the messages stamped after it.
func Example_seek() {
	dir, _ := os.MkdirTemp("", "streamer-example")
	defer os.RemoveAll(dir)
	ctx := context.Background()
	s, err := streamer.Open(ctx, "file://"+filepath.Join(dir, "clock.ss")+"/ticks", streamer.WithDriverOption(filedriver.WithCreate(filedriver.CreateIfMissing)))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close(ctx)
	p, _ := s.NewProducer(ctx, "")
	start := time.Date(2024, 1, 1, 10, 0, 0, 0, time.UTC)
	for i := range 6 {
		at := start.Add(time.Duration(i) * 10 * time.Second)
		if _, err := p.Send(ctx, fmt.Appendf(nil, "tick %d", i), streamer.WithTimestamp(at)); err != nil {
			fmt.Println(err)
			return
		}
	}
	_ = p.Flush(ctx)

	c, _ := s.NewConsumer(ctx, nil, streamer.WithAutoStreamReset(streamer.ResetEarliest), streamer.WithReplay())
	if err := c.Seek(ctx, start.Add(25*time.Second)); err != nil {
		fmt.Println(err)
		return
	}
	for m, err := range c.Messages(ctx) {
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(m.Timestamp.Format(streamer.TimestampFormat), m.String())
	}
	// Output:
	// 2024-01-01T10:00:30.000 tick 3
	// 2024-01-01T10:00:40.000 tick 4
	// 2024-01-01T10:00:50.000 tick 5
}

// Route messages to shards by a key: messages with the same key share a
// shard, and so keep their order.
func ExampleWithRoutingKey() {
	dir, _ := os.MkdirTemp("", "streamer-example")
	defer os.RemoveAll(dir)
	ctx := context.Background()
	s, err := streamer.Open(ctx, "file://"+filepath.Join(dir, "app.ss")+"/events?create=true")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close(ctx)
	p, _ := s.NewProducer(ctx, "", streamer.WithShardCount(4))
	for _, user := range []string{"alice", "bob", "carol", "alice"} {
		r, err := p.Send(ctx, []byte("event of "+user), streamer.WithRoutingKey([]byte(user)))
		if err != nil {
			fmt.Println(err)
			return
		}
		h, err := r.Wait(ctx)
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(user, "-> shard", h.Shard)
	}
	// Output:
	// alice -> shard 1
	// bob -> shard 3
	// carol -> shard 0
	// alice -> shard 1
}

// A Resumable consumer commits its position and resumes after it when the
// program restarts.
func Example_resumable() {
	dir, _ := os.MkdirTemp("", "streamer-example")
	defer os.RemoveAll(dir)
	ctx := context.Background()
	uri := "file://" + filepath.Join(dir, "jobs.ss") + "/jobs?create=true"

	run := func(read int) {
		s, err := streamer.Open(ctx, uri)
		if err != nil {
			fmt.Println(err)
			return
		}
		defer s.Close(ctx)
		c, err := s.NewConsumer(ctx, nil,
			streamer.WithMode(streamer.Resumable), streamer.WithGroup("worker"),
			streamer.WithAutoStreamReset(streamer.ResetEarliest))
		if err != nil {
			fmt.Println(err)
			return
		}
		for range read {
			m, err := c.Next(ctx)
			if err != nil {
				fmt.Println(err)
				return
			}
			fmt.Println("processed", m.String())
		}
		if err := c.Commit(ctx); err != nil {
			fmt.Println(err)
		}
	}

	s, err := streamer.Open(ctx, uri)
	if err != nil {
		fmt.Println(err)
		return
	}
	p, _ := s.NewProducer(ctx, "")
	for i := range 4 {
		_, _ = p.Send(ctx, fmt.Appendf(nil, "job-%d", i))
	}
	_ = s.Close(ctx) // flushes the producer

	run(2) // first run processes job-0 and job-1
	fmt.Println("restart")
	run(2) // the next run resumes at job-2
	// Output:
	// processed job-0
	// processed job-1
	// restart
	// processed job-2
	// processed job-3
}
