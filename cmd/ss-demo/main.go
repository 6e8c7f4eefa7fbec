// Command ss-demo is the quick start of the embedded default: it produces two
// streams into a local .ss file through the streamer API, consumes them back,
// and seeks to a point in time, with no server.
//
//	go run ./cmd/ss-demo [-file demo.ss] [-n 10000]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/seastream/ss/streamer"
)

func main() {
	path := flag.String("file", "demo.ss", "the .ss file to write (replaced if it exists)")
	n := flag.Int("n", 10000, "how many messages to produce")
	flag.Parse()
	log.SetFlags(0)
	if err := run(context.Background(), *path, *n); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, path string, n int) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	s, err := streamer.Open(ctx, "file://"+path+"/orders,payments?create=true")
	if err != nil {
		return err
	}
	defer s.Close(ctx)

	// Produce: one message every 10ms of event time, alternating streams.
	// Send only queues; Flush waits until everything is in the file.
	p, err := s.NewProducer(ctx, "")
	if err != nil {
		return err
	}
	start := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	for i := 1; i <= n; i++ {
		key := []string{"orders", "payments"}[i%2]
		at := start.Add(time.Duration(i) * 10 * time.Millisecond)
		payload := fmt.Appendf(nil, `{"n":%d}`, i)
		if _, err := p.SendTo(ctx, streamer.StreamKey(key), payload, streamer.WithTimestamp(at)); err != nil {
			return err
		}
	}
	if err := p.Flush(ctx); err != nil {
		return err
	}
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	fmt.Printf("produced %d messages into %s (%d bytes)\n", n, path, fi.Size())

	// Consume everything from the beginning; the replay option ends at the
	// end of the file instead of waiting for more.
	c, err := s.NewConsumer(ctx, nil, streamer.WithAutoStreamReset(streamer.ResetEarliest), streamer.WithReplay())
	if err != nil {
		return err
	}
	count := map[streamer.StreamKey]int{}
	for m, err := range c.Messages(ctx) {
		if err != nil {
			return err
		}
		count[m.StreamKey]++
	}
	fmt.Printf("consumed %d orders and %d payments\n", count["orders"], count["payments"])

	// Seek by time: a binary search over the file's beacons, then a short scan.
	at := start.Add(time.Duration(n/2) * 10 * time.Millisecond)
	if err := c.Seek(ctx, at); err != nil {
		return err
	}
	fmt.Printf("the first messages after %s:\n", at.Format(time.RFC3339))
	for range 4 {
		m, err := c.Next(ctx)
		if err != nil {
			return err
		}
		fmt.Println(" ", m.Header.String(), m.String())
	}
	return c.Close(ctx)
}
