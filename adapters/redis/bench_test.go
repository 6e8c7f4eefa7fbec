package redis_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"strings"
	"testing"

	goredis "github.com/redis/go-redis/v9"
	"github.com/seastream/ss/streamer"
)

// The benchmarks compare the adapter with go-redis used directly, in the same
// run, on the server named by SS_REDIS_URL (they skip without one):
//
//	bash scripts/redis.sh start
//	SS_REDIS_URL=redis://127.0.0.1:6379 go test -run '^$' -bench . -benchtime 1000000x ./adapters/redis/
//
// Payloads are 100 bytes. Raw producing pipelines XADDs 1000 at a time (as
// the adapter's default batch); raw consuming reads XREAD COUNT 1000 pages.

const benchPayload = 100

func benchServer(b *testing.B) (string, *goredis.Client) {
	b.Helper()
	u := os.Getenv("SS_REDIS_URL")
	if u == "" {
		b.Skip("set SS_REDIS_URL=redis://127.0.0.1:6379 (bash scripts/redis.sh start) to run the Redis benchmarks")
	}
	opt, err := goredis.ParseURL(u)
	if err != nil {
		b.Fatal(err)
	}
	c := goredis.NewClient(opt)
	b.Cleanup(func() { c.Close() })
	return strings.TrimSuffix(u, "/"), c
}

func benchKey(b *testing.B, c *goredis.Client) string {
	var r [4]byte
	_, _ = rand.Read(r[:])
	k := "bench-" + hex.EncodeToString(r[:])
	b.Cleanup(func() { c.Del(context.Background(), k) })
	return k
}

func report(b *testing.B, n int) {
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "msgs/s")
	b.SetBytes(benchPayload)
}

// fill adds n entries to key with pipelined XADDs.
func fill(b *testing.B, c *goredis.Client, key string, n int) {
	b.Helper()
	ctx := context.Background()
	payload := make([]byte, benchPayload)
	for i := 0; i < n; i += 1000 {
		pipe := c.Pipeline()
		for j := i; j < min(i+1000, n); j++ {
			pipe.XAdd(ctx, &goredis.XAddArgs{Stream: key, ID: "*", Values: []any{"msg", payload}})
		}
		if _, err := pipe.Exec(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkProduce(b *testing.B) {
	b.Run("adapter", func(b *testing.B) {
		base, c := benchServer(b)
		key := benchKey(b, c)
		ctx := context.Background()
		s, err := streamer.Open(ctx, base+"/"+key)
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close(ctx)
		p, err := s.NewProducer(ctx, "")
		if err != nil {
			b.Fatal(err)
		}
		payload := make([]byte, benchPayload)
		b.ResetTimer()
		for range b.N {
			if _, err := p.Send(ctx, payload); err != nil {
				b.Fatal(err)
			}
		}
		if err := p.Flush(ctx); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		report(b, b.N)
		if n, _ := c.XLen(ctx, key).Result(); n != int64(b.N) {
			b.Fatalf("%d entries stored, %d sent", n, b.N)
		}
	})
	b.Run("go-redis", func(b *testing.B) {
		_, c := benchServer(b)
		key := benchKey(b, c)
		ctx := context.Background()
		payload := make([]byte, benchPayload)
		b.ResetTimer()
		for i := 0; i < b.N; i += 1000 {
			pipe := c.Pipeline()
			for j := i; j < min(i+1000, b.N); j++ {
				pipe.XAdd(ctx, &goredis.XAddArgs{Stream: key, ID: "*", Values: []any{"msg", payload}})
			}
			if _, err := pipe.Exec(ctx); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		report(b, b.N)
	})
}

func BenchmarkConsume(b *testing.B) {
	b.Run("adapter", func(b *testing.B) {
		base, c := benchServer(b)
		key := benchKey(b, c)
		fill(b, c, key, b.N)
		ctx := context.Background()
		s, err := streamer.Open(ctx, base+"/"+key)
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close(ctx)
		cons, err := s.NewConsumer(ctx, nil, streamer.WithAutoStreamReset(streamer.ResetEarliest))
		if err != nil {
			b.Fatal(err)
		}
		b.ResetTimer()
		for i := range b.N {
			m, err := cons.Next(ctx)
			if err != nil {
				b.Fatal(err)
			}
			if len(m.Payload) != benchPayload {
				b.Fatalf("message %d: %d bytes", i, len(m.Payload))
			}
		}
		b.StopTimer()
		report(b, b.N)
	})
	b.Run("go-redis", func(b *testing.B) {
		_, c := benchServer(b)
		key := benchKey(b, c)
		fill(b, c, key, b.N)
		ctx := context.Background()
		b.ResetTimer()
		last, n := "0-0", 0
		for n < b.N {
			res, err := c.XRead(ctx, &goredis.XReadArgs{Streams: []string{key, last}, Count: 1000, Block: -1}).Result()
			if err != nil && !errors.Is(err, goredis.Nil) {
				b.Fatal(err)
			}
			for _, m := range res[0].Messages {
				if v, _ := m.Values["msg"].(string); len(v) != benchPayload {
					b.Fatalf("entry %s: %d bytes", m.ID, len(v))
				}
			}
			n += len(res[0].Messages)
			last = res[0].Messages[len(res[0].Messages)-1].ID
		}
		b.StopTimer()
		report(b, n)
	})
}
