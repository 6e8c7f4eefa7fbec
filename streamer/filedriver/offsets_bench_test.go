package filedriver

import (
	"context"
	"fmt"
	"testing"

	"github.com/seastream/ss/streamer/driver"
)

// BenchmarkCommit measures a Resumable Commit after one message, of one
// stream, when the group has returned messages of n streams.
func BenchmarkCommit(b *testing.B) {
	for _, n := range []int{1, 1000, 20000} {
		b.Run(fmt.Sprintf("streams=%d", n), func(b *testing.B) {
			ctx := context.Background()
			path := b.TempDir() + "/bench.ss"
			c, err := openErr(path, "create")
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close(ctx)
			p, err := c.NewProducer(ctx, "", driver.ProducerOptions{})
			if err != nil {
				b.Fatal(err)
			}
			for i := range n {
				if _, err := p.Send(ctx, driver.Header{StreamKey: driver.StreamKey(fmt.Sprintf("s%d", i))}, []byte("x")); err != nil {
					b.Fatal(err)
				}
			}
			for range b.N {
				if _, err := p.Send(ctx, driver.Header{StreamKey: "s0"}, []byte("y")); err != nil {
					b.Fatal(err)
				}
			}
			if err := p.Flush(ctx); err != nil {
				b.Fatal(err)
			}
			cons, err := c.NewConsumer(ctx, []driver.StreamKey{driver.Wildcard}, resumable("r"))
			if err != nil {
				b.Fatal(err)
			}
			defer cons.Close(ctx)
			for range n {
				if _, err := cons.Next(ctx); err != nil {
					b.Fatal(err)
				}
			}
			if err := cons.Commit(ctx); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for range b.N {
				if _, err := cons.Next(ctx); err != nil {
					b.Fatal(err)
				}
				if err := cons.Commit(ctx); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
