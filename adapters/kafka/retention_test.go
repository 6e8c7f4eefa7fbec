package kafka_test

import (
	"context"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/seastream/ss/internal/syncbuf"
	"github.com/seastream/ss/internal/testkit"
	"github.com/seastream/ss/streamer"
)

const retentionWarning = "sending records older than the topic keeps them"

// createTopicWithRetention creates a one-partition topic keeping records
// for keep.
func createTopicWithRetention(t *testing.T, ctx context.Context, addr string, topic streamer.StreamKey, keep time.Duration) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(strings.Split(addr, ",")...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	req := kmsg.NewPtrCreateTopicsRequest()
	rt := kmsg.NewCreateTopicsRequestTopic()
	rt.Topic, rt.NumPartitions, rt.ReplicationFactor = string(topic), 1, 1
	c := kmsg.NewCreateTopicsRequestTopicConfig()
	c.Name, c.Value = "retention.ms", kmsg.StringPtr(strconvMs(keep))
	rt.Configs = append(rt.Configs, c)
	req.Topics = append(req.Topics, rt)
	req.TimeoutMillis = 30000
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	if err := kerr.ErrorForCode(resp.Topics[0].ErrorCode); err != nil {
		t.Fatalf("create topic %s: %v", topic, err)
	}
}

func strconvMs(d time.Duration) string { return strconv.FormatInt(d.Milliseconds(), 10) }

// TestRetentionWarning: a producer sending records with timestamps older
// than the topic's retention.ms (an archive relayed into Kafka) warns once
// per topic, naming the topic and the setting; recent timestamps, and
// topics that keep records long enough, give no warning. A topic the
// records create is looked up once its first record is stored.
func TestRetentionWarning(t *testing.T) {
	ctx := testkit.Context(t)
	addr := newBrokers(t, 1)
	var logs syncbuf.Buffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
	s := open(t, "kafka://"+addr, streamer.WithLogger(log))
	p, err := s.NewProducer(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	sendAt := func(topic streamer.StreamKey, ts time.Time) {
		t.Helper()
		r, err := p.SendTo(ctx, topic, []byte("x"), streamer.WithTimestamp(ts))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := r.Wait(ctx); err != nil {
			t.Fatal(err)
		}
	}
	warnings := func(topic streamer.StreamKey) int {
		n := 0
		for _, line := range strings.Split(logs.String(), "\n") {
			if strings.Contains(line, retentionWarning) && strings.Contains(line, "topic="+string(topic)+" ") {
				n++
			}
		}
		return n
	}
	now := time.Now()

	short := topic(t, "short")
	createTopicWithRetention(t, ctx, addr, short, time.Hour)
	sendAt(short, now) // recent: nothing to say
	if n := warnings(short); n != 0 {
		t.Fatalf("%d warnings for a recent record:\n%s", n, logs.String())
	}
	sendAt(short, now.Add(-2*time.Hour))
	sendAt(short, now.Add(-3*time.Hour))
	if n := warnings(short); n != 1 {
		t.Fatalf("%d warnings for records older than retention.ms, want 1:\n%s", n, logs.String())
	}
	if !strings.Contains(logs.String(), "retention.ms") {
		t.Fatalf("the warning does not name retention.ms:\n%s", logs.String())
	}

	long := topic(t, "long")
	createTopicWithRetention(t, ctx, addr, long, 30*24*time.Hour)
	sendAt(long, now.Add(-2*time.Hour))
	if n := warnings(long); n != 0 {
		t.Fatalf("%d warnings for a topic that keeps records long enough:\n%s", n, logs.String())
	}

	// Created by the records themselves, with the broker's default
	// retention (7 days): the first record finds no topic, a later one
	// looks again once it exists.
	created := topic(t, "created")
	old := now.Add(-30 * 24 * time.Hour)
	sendAt(created, old)
	sendAt(created, old)
	if n := warnings(created); n != 1 {
		t.Fatalf("%d warnings for a topic created by old records, want 1:\n%s", n, logs.String())
	}
}
