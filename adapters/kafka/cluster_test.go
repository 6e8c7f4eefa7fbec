package kafka_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/seastream/ss/internal/testkit"
	"github.com/seastream/ss/streamer"
)

// brokersEnv names the environment variable that points the tests at a real
// broker (e.g. 127.0.0.1:9092, as `bash scripts/kafka.sh start` prints).
// Without it, each test gets a fresh in-process kfake cluster.
const brokersEnv = "SS_KAFKA_BROKERS"

// realBroker reports whether the tests run against a real broker.
func realBroker() bool { return os.Getenv(brokersEnv) != "" }

// newBrokers returns the address of the brokers a test uses: the real
// broker's, or a new kfake cluster's (closed at the end of the test), whose
// new topics get partitions partitions.
func newBrokers(t testing.TB, partitions int, opts ...kfake.Opt) string {
	t.Helper()
	if b := os.Getenv(brokersEnv); b != "" {
		return b
	}
	opts = append([]kfake.Opt{
		kfake.NumBrokers(1),
		kfake.AllowAutoTopicCreation(),
		kfake.DefaultNumPartitions(partitions),
	}, opts...)
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		t.Fatalf("kfake: %v", err)
	}
	t.Cleanup(c.Close)
	return strings.Join(c.ListenAddrs(), ",")
}

// topic returns a topic name unique to this run.
func topic(t testing.TB, name string) streamer.StreamKey {
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return streamer.StreamKey("ss-test-" + name + "-" + hex.EncodeToString(b[:]))
}

// open opens a Streamer on uri and closes it at the end of the test.
func open(t testing.TB, uri string, opts ...streamer.Option) *streamer.Streamer {
	t.Helper()
	s, err := streamer.Open(testkit.Context(t), uri, opts...)
	if err != nil {
		t.Fatalf("Open(%q): %v", uri, err)
	}
	t.Cleanup(func() {
		// Bounded: with the broker gone, ending a producer with unsent
		// messages would wait for it.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = s.Close(ctx)
	})
	return s
}
