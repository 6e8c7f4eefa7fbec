package redis_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"

	goredis "github.com/redis/go-redis/v9"
	"github.com/seastream/ss/internal/testkit"
	"github.com/seastream/ss/streamer"
)

// The benchmarks compare the adapter with go-redis used directly, in the same
// run, on the server named by SS_REDIS_URL (they skip without one):
//
//	bash scripts/redis.sh start
//	SS_REDIS_URL=redis://127.0.0.1:6379 go test -run '^$' -bench . -benchtime 1000000x ./adapters/redis/
//
// Payloads are 100 bytes, or SS_BENCH_PAYLOAD bytes (bench/seastreamer-redis.sh
// sets 256, SeaStreamer's benchmark size). Raw producing pipelines XADDs 1000 at a time (as
// the adapter's default batch); raw consuming reads XREAD COUNT 1000 pages.
// The go-redis baselines do the work the adapter must do (copy the payload
// the caller may reuse and parse the id Redis assigned; parse each entry's
// id and keep its payload); the -shared and -count variants do not.

var benchPayload = payloadSize()

func payloadSize() int {
	if n, err := strconv.Atoi(os.Getenv("SS_BENCH_PAYLOAD")); err == nil && n > 0 {
		return n
	}
	return 100
}

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

// startClock resets the timer and returns the report of a run: msgs/s and
// the process's CPU time per message (user and system, every goroutine, GC
// included). The server shares the cores, so wall time moves with its work
// and the machine's other jobs; CPU time is what the client side costs.
func startClock(b *testing.B) (report func(n int)) {
	b.ResetTimer()
	start := testkit.ProcessCPU()
	return func(n int) {
		cpu := testkit.ProcessCPU() - start
		b.StopTimer()
		b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "msgs/s")
		b.ReportMetric(float64(cpu.Nanoseconds())/float64(n), "cpu-ns/msg")
		b.SetBytes(int64(benchPayload))
	}
}

// parseID parses "<ms>-<seq>" as a go-redis user would, for the baselines.
func parseID(b *testing.B, id string) (ms, seq uint64) {
	a, c, ok := strings.Cut(id, "-")
	ms, err1 := strconv.ParseUint(a, 10, 64)
	seq, err2 := strconv.ParseUint(c, 10, 64)
	if !ok || err1 != nil || err2 != nil {
		b.Fatalf("entry id %q", id)
	}
	return ms, seq
}

// sink keeps what the baselines produce, so that none of it is optimised away.
var sink struct {
	ms, seq uint64
	payload string
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
		sendTimed(b, ctx, p)
		if n, _ := c.XLen(ctx, key).Result(); n != int64(b.N) {
			b.Fatalf("%d entries stored, %d sent", n, b.N)
		}
	})
	// go-redis copies each payload (the adapter must: callers may reuse
	// their slice) and parses each id Redis assigned (the adapter resolves
	// each receipt with it).
	b.Run("go-redis", func(b *testing.B) {
		_, c := benchServer(b)
		key := benchKey(b, c)
		ctx := context.Background()
		payload := make([]byte, benchPayload)
		cmds := make([]*goredis.StringCmd, 0, 1000)
		report := startClock(b)
		for i := 0; i < b.N; i += 1000 {
			pipe := c.Pipeline()
			cmds = cmds[:0]
			for j := i; j < min(i+1000, b.N); j++ {
				v := append([]byte(nil), payload...)
				cmds = append(cmds, pipe.XAdd(ctx, &goredis.XAddArgs{Stream: key, ID: "*", Values: []any{"msg", v}}))
			}
			if _, err := pipe.Exec(ctx); err != nil {
				b.Fatal(err)
			}
			for _, cmd := range cmds {
				sink.ms, sink.seq = parseID(b, cmd.Val())
			}
		}
		report(b.N)
	})
	// go-redis-shared passes one slice to every XADD and ignores the replies.
	b.Run("go-redis-shared", func(b *testing.B) {
		_, c := benchServer(b)
		key := benchKey(b, c)
		ctx := context.Background()
		payload := make([]byte, benchPayload)
		report := startClock(b)
		for i := 0; i < b.N; i += 1000 {
			pipe := c.Pipeline()
			for j := i; j < min(i+1000, b.N); j++ {
				pipe.XAdd(ctx, &goredis.XAddArgs{Stream: key, ID: "*", Values: []any{"msg", payload}})
			}
			if _, err := pipe.Exec(ctx); err != nil {
				b.Fatal(err)
			}
		}
		report(b.N)
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
		report := startClock(b)
		for i := range b.N {
			m, err := cons.Next(ctx)
			if err != nil {
				b.Fatal(err)
			}
			if len(m.Payload) != benchPayload {
				b.Fatalf("message %d: %d bytes", i, len(m.Payload))
			}
		}
		report(b.N)
	})
	// go-redis parses each entry's id (the adapter makes the sequence
	// number and timestamp of it) and keeps its payload; go-redis-count
	// only checks the payload lengths.
	for _, parse := range []bool{true, false} {
		name := "go-redis"
		if !parse {
			name = "go-redis-count"
		}
		b.Run(name, func(b *testing.B) {
			_, c := benchServer(b)
			key := benchKey(b, c)
			fill(b, c, key, b.N)
			ctx := context.Background()
			report := startClock(b)
			last, n := "0-0", 0
			for n < b.N {
				res, err := c.XRead(ctx, &goredis.XReadArgs{Streams: []string{key, last}, Count: 1000, Block: -1}).Result()
				if err != nil && !errors.Is(err, goredis.Nil) {
					b.Fatal(err)
				}
				for _, m := range res[0].Messages {
					v, _ := m.Values["msg"].(string)
					if len(v) != benchPayload {
						b.Fatalf("entry %s: %d bytes", m.ID, len(v))
					}
					if parse {
						sink.ms, sink.seq = parseID(b, m.ID)
						sink.payload = v
					}
				}
				n += len(res[0].Messages)
				last = res[0].Messages[len(res[0].Messages)-1].ID
			}
			report(n)
		})
	}
}

// sendTimed sends b.N messages of benchPayload bytes with p and flushes, on
// the clock started here; it reports the CPU and throughput of startClock.
func sendTimed(b *testing.B, ctx context.Context, p *streamer.Producer) {
	b.Helper()
	payload := make([]byte, benchPayload)
	report := startClock(b)
	for range b.N {
		if _, err := p.Send(ctx, payload); err != nil {
			b.Fatal(err)
		}
	}
	if err := p.Flush(ctx); err != nil {
		b.Fatal(err)
	}
	report(b.N)
}
