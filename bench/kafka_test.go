package bench

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	_ "github.com/seastream/ss/adapters/kafka"
	"github.com/seastream/ss/format"
	"github.com/seastream/ss/internal/testkit"
	"github.com/seastream/ss/ssfile"
	"github.com/seastream/ss/streamer"
)

// The Kafka benchmarks need a real broker: SS_KAFKA_BROKERS=127.0.0.1:9092
// (bash scripts/kafka.sh start). Each case runs through the kafka:// adapter
// and through raw franz-go in the same process, on topics of one partition,
// with 256-byte payloads.

const kafkaPayloadSize = 256

func kafkaBrokers(b *testing.B) string {
	addr := os.Getenv("SS_KAFKA_BROKERS")
	if addr == "" {
		b.Skip("set SS_KAFKA_BROKERS (e.g. 127.0.0.1:9092, see scripts/kafka.sh) to run the Kafka benchmarks against a real broker")
	}
	return addr
}

// kafkaTopic creates a one-partition topic unique to this run.
func kafkaTopic(b *testing.B, addr, name string) string {
	b.Helper()
	var r [4]byte
	_, _ = rand.Read(r[:])
	topic := "ss-bench-" + name + "-" + hex.EncodeToString(r[:])
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
	req := kmsg.NewPtrCreateTopicsRequest()
	rt := kmsg.NewCreateTopicsRequestTopic()
	rt.Topic, rt.NumPartitions, rt.ReplicationFactor = topic, 1, 1
	req.Topics = append(req.Topics, rt)
	req.TimeoutMillis = 30000
	if _, err := req.RequestWith(context.Background(), cl); err != nil {
		b.Fatal(err)
	}
	return topic
}

// fillTopic produces n payloads to topic with raw franz-go.
func fillTopic(b *testing.B, addr, topic string, n int) {
	b.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ProducerLinger(5*time.Millisecond))
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
	payload := benchPayload()
	var failed error
	for range n {
		cl.Produce(context.Background(), &kgo.Record{Topic: topic, Value: payload}, func(_ *kgo.Record, err error) {
			if err != nil && failed == nil {
				failed = err
			}
		})
	}
	if err := cl.Flush(context.Background()); err != nil || failed != nil {
		b.Fatal(err, failed)
	}
}

// startClock resets the benchmark timer and returns a function that reports
// msgs/s and the process's CPU time per message (user and system, every
// goroutine: the client's own, GC included). The broker runs in another
// process on the same cores, so the wall time of a run also moves with what
// the broker and the machine's other jobs do; the CPU time is what the client
// side costs, and is steadier.
func startClock(b *testing.B) (report func(n int)) {
	b.ResetTimer()
	start := testkit.ProcessCPU()
	return func(n int) {
		cpu := testkit.ProcessCPU() - start
		b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "msgs/s")
		b.ReportMetric(float64(cpu.Nanoseconds())/float64(n), "cpu-ns/msg")
	}
}

// benchPayload returns the payload every Kafka case sends: printable
// pseudo-random bytes (base64 of a fixed random stream), which compress
// about as much as typical text records do, not to nothing.
func benchPayload() []byte {
	raw := make([]byte, kafkaPayloadSize*3/4)
	mrand.NewChaCha8([32]byte{1}).Read(raw)
	return []byte(base64.StdEncoding.EncodeToString(raw))[:kafkaPayloadSize]
}

// BenchmarkKafkaProduce sends b.N messages without waiting for each receipt,
// then flushes: through the adapter and through raw franz-go configured the
// same way, so that both put the same batches on the wire (records sent to
// the partition they name, the same compression; the adapter's default is
// none, as SeaStreamer's, franz-go's is snappy).
func BenchmarkKafkaProduce(b *testing.B) {
	addr := kafkaBrokers(b)
	payload := benchPayload()
	ctx := context.Background()
	for _, c := range []struct {
		name, query string
		codec       kgo.CompressionCodec
	}{
		{"none", "", kgo.NoCompression()},
		{"snappy", "?compression=snappy", kgo.SnappyCompression()},
	} {
		b.Run(c.name+"/adapter", func(b *testing.B) {
			topic := streamer.StreamKey(kafkaTopic(b, addr, "produce"))
			s, err := streamer.Open(ctx, "kafka://"+addr+c.query)
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close(ctx)
			p, err := s.NewProducer(ctx, topic)
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(kafkaPayloadSize)
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
		})
		b.Run(c.name+"/franz-go", func(b *testing.B) {
			benchRawProduce(b, addr, payload, c.codec, false)
		})
	}
	// One value for every record: less than the adapter does, which must
	// copy each caller's slice.
	b.Run("none/franz-go-shared-value", func(b *testing.B) {
		benchRawProduce(b, addr, payload, kgo.NoCompression(), true)
	})
}

func benchRawProduce(b *testing.B, addr string, payload []byte, codec kgo.CompressionCodec, shared bool) {
	ctx := context.Background()
	topic := kafkaTopic(b, addr, "produce-raw")
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr),
		kgo.ProducerBatchCompression(codec), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
	var failed error
	b.SetBytes(kafkaPayloadSize)
	report := startClock(b)
	for range b.N {
		// A fresh value per record, as the adapter must copy the caller's
		// slice (the portable API lets callers reuse it).
		v := payload
		if !shared {
			v = append(make([]byte, 0, len(payload)), payload...)
		}
		cl.Produce(ctx, &kgo.Record{Topic: topic, Value: v}, func(_ *kgo.Record, err error) {
			if err != nil && failed == nil {
				failed = err
			}
		})
	}
	if err := cl.Flush(ctx); err != nil || failed != nil {
		b.Fatal(err, failed)
	}
	report(b.N)
}

// consumeTopics holds, per message count, a topic the consume cases of
// this process share: filled once, read by the adapter and by franz-go
// alike, so that both read the same data and filling stays out of the
// comparison (with -count, the runs of the two cases alternate).
var consumeTopics struct {
	sync.Mutex
	bySize map[int]string
}

// consumeTopic returns a topic holding n messages.
func consumeTopic(b *testing.B, addr string, n int) string {
	consumeTopics.Lock()
	defer consumeTopics.Unlock()
	if t, ok := consumeTopics.bySize[n]; ok {
		return t
	}
	t := kafkaTopic(b, addr, "consume")
	fillTopic(b, addr, t, n)
	if consumeTopics.bySize == nil {
		consumeTopics.bySize = make(map[int]string)
	}
	consumeTopics.bySize[n] = t
	return t
}

// BenchmarkKafkaConsume reads b.N messages produced beforehand, from the
// earliest. The clock starts once a first message (produced in addition)
// has arrived, so that connecting and the first fetch, which take
// milliseconds, do not count as per-message cost.
func BenchmarkKafkaConsume(b *testing.B) {
	addr := kafkaBrokers(b)
	// The adapter takes up to 1000 records from franz-go per poll by
	// default (WithPrefetch); franz-go is given the same.
	const prefetch = 1000
	b.Run("adapter", func(b *testing.B) { benchAdapterConsume(b, addr, prefetch) })
	// franz-go only counts records; franz-go-read also reads what the
	// adapter puts in a Message (topic, partition, offset, timestamp,
	// value), as any consumer does: the records were decoded by another
	// goroutine, often out of cache by the time they are read.
	b.Run("franz-go", func(b *testing.B) { benchRawConsume(b, addr, prefetch, false) })
	b.Run("franz-go-read", func(b *testing.B) { benchRawConsume(b, addr, prefetch, true) })
}

func benchAdapterConsume(b *testing.B, addr string, prefetch int) {
	ctx := context.Background()
	topic := consumeTopic(b, addr, b.N+1)
	s, err := streamer.Open(ctx, "kafka://"+addr)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close(ctx)
	c, err := s.NewConsumer(ctx, []streamer.StreamKey{streamer.StreamKey(topic)},
		streamer.WithAutoStreamReset(streamer.ResetEarliest), streamer.WithPrefetch(prefetch))
	if err != nil {
		b.Fatal(err)
	}
	if _, err := c.Next(ctx); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(kafkaPayloadSize)
	report := startClock(b)
	for range b.N {
		if _, err := c.Next(ctx); err != nil {
			b.Fatal(err)
		}
	}
	report(b.N)
}

func benchRawConsume(b *testing.B, addr string, prefetch int, read bool) {
	ctx := context.Background()
	topic := consumeTopic(b, addr, b.N+1)
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
	if fs := cl.PollRecords(ctx, 1); fs.Err0() != nil || fs.NumRecords() != 1 {
		b.Fatal(fs.Err0(), fs.NumRecords())
	}
	var sum int64
	b.SetBytes(kafkaPayloadSize)
	report := startClock(b)
	for n := 0; n < b.N; {
		fs := cl.PollRecords(ctx, prefetch)
		if err := fs.Err0(); err != nil {
			b.Fatal(err)
		}
		if read {
			fs.EachRecord(func(r *kgo.Record) {
				n++
				sum += int64(len(r.Topic)) + int64(r.Partition) + r.Offset + r.Timestamp.UnixMilli() + int64(len(r.Value))
			})
		} else {
			fs.EachRecord(func(*kgo.Record) { n++ })
		}
	}
	report(b.N)
	if sum < 0 {
		b.Log(sum)
	}
}

// BenchmarkKafkaArchive copies b.N messages from a topic into a .ss file:
// the adapter's replay consumer feeding ssfile.Writer, headers kept.
func BenchmarkKafkaArchive(b *testing.B) {
	addr := kafkaBrokers(b)
	ctx := context.Background()
	topic := kafkaTopic(b, addr, "archive")
	fillTopic(b, addr, topic, b.N)
	s, err := streamer.Open(ctx, "kafka://"+addr)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close(ctx)
	path := filepath.Join(b.TempDir(), "archive.ss")
	b.SetBytes(kafkaPayloadSize)
	report := startClock(b)
	c, err := s.NewConsumer(ctx, []streamer.StreamKey{streamer.StreamKey(topic)},
		streamer.WithAutoStreamReset(streamer.ResetEarliest), streamer.WithReplay())
	if err != nil {
		b.Fatal(err)
	}
	w, err := ssfile.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	n := 0
	for m, err := range c.Messages(ctx) {
		if err != nil {
			b.Fatal(err)
		}
		h := format.MessageHeader{StreamKey: string(m.StreamKey), ShardID: uint64(m.Shard), SeqNo: uint64(m.Seq), Timestamp: uint64(m.Timestamp.UnixMilli())}
		if err := w.Write(h, m.Payload); err != nil {
			b.Fatal(err)
		}
		n++
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	if n != b.N {
		b.Fatalf("archived %d messages, want %d", n, b.N)
	}
	report(n)
}
