package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	_ "github.com/seastream/ss/adapters/kafka"
	"github.com/seastream/ss/format"
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
	payload := make([]byte, kafkaPayloadSize)
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

func reportRate(b *testing.B, n int) {
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkKafkaProduce sends b.N messages without waiting for each receipt,
// then flushes.
func BenchmarkKafkaProduce(b *testing.B) {
	addr := kafkaBrokers(b)
	payload := make([]byte, kafkaPayloadSize)
	ctx := context.Background()
	b.Run("adapter", func(b *testing.B) {
		topic := streamer.StreamKey(kafkaTopic(b, addr, "produce"))
		s, err := streamer.Open(ctx, "kafka://"+addr)
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close(ctx)
		p, err := s.NewProducer(ctx, topic)
		if err != nil {
			b.Fatal(err)
		}
		b.SetBytes(kafkaPayloadSize)
		b.ResetTimer()
		for range b.N {
			if _, err := p.Send(ctx, payload); err != nil {
				b.Fatal(err)
			}
		}
		if err := p.Flush(ctx); err != nil {
			b.Fatal(err)
		}
		reportRate(b, b.N)
	})
	for _, shared := range []bool{false, true} {
		name := "franz-go"
		if shared {
			// One value for every record: less than the adapter does,
			// which must copy each caller's slice.
			name = "franz-go-shared-value"
		}
		b.Run(name, func(b *testing.B) {
			topic := kafkaTopic(b, addr, "produce-raw")
			cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
			if err != nil {
				b.Fatal(err)
			}
			defer cl.Close()
			var failed error
			b.SetBytes(kafkaPayloadSize)
			b.ResetTimer()
			for range b.N {
				// A fresh value per record, as the adapter must copy the
				// caller's slice (the portable API lets callers reuse it).
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
			reportRate(b, b.N)
		})
	}
}

// BenchmarkKafkaConsume reads b.N messages produced beforehand.
func BenchmarkKafkaConsume(b *testing.B) {
	addr := kafkaBrokers(b)
	ctx := context.Background()
	b.Run("adapter", func(b *testing.B) {
		topic := kafkaTopic(b, addr, "consume")
		fillTopic(b, addr, topic, b.N)
		s, err := streamer.Open(ctx, "kafka://"+addr)
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close(ctx)
		b.SetBytes(kafkaPayloadSize)
		b.ResetTimer()
		c, err := s.NewConsumer(ctx, []streamer.StreamKey{streamer.StreamKey(topic)}, streamer.WithAutoStreamReset(streamer.ResetEarliest))
		if err != nil {
			b.Fatal(err)
		}
		for range b.N {
			if _, err := c.Next(ctx); err != nil {
				b.Fatal(err)
			}
		}
		reportRate(b, b.N)
	})
	b.Run("franz-go", func(b *testing.B) {
		topic := kafkaTopic(b, addr, "consume-raw")
		fillTopic(b, addr, topic, b.N)
		b.SetBytes(kafkaPayloadSize)
		b.ResetTimer()
		cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumeTopics(topic))
		if err != nil {
			b.Fatal(err)
		}
		defer cl.Close()
		for n := 0; n < b.N; {
			fs := cl.PollRecords(ctx, 1000)
			if err := fs.Err0(); err != nil {
				b.Fatal(err)
			}
			fs.EachRecord(func(*kgo.Record) { n++ })
		}
		reportRate(b, b.N)
	})
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
	b.ResetTimer()
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
	reportRate(b, n)
}
