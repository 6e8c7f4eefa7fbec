package relay

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	goredis "github.com/redis/go-redis/v9"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/seastream/ss/internal/syncbuf"
	"github.com/seastream/ss/internal/testkit"
	"github.com/seastream/ss/ssfile"
)

// kafkaBrokers returns the brokers of an in-process kfake cluster, or those
// of SS_KAFKA_BROKERS.
func kafkaBrokers(t *testing.T) string {
	t.Helper()
	if b := os.Getenv("SS_KAFKA_BROKERS"); b != "" {
		return b
	}
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.AllowAutoTopicCreation(), kfake.DefaultNumPartitions(3))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return strings.Join(c.ListenAddrs(), ",")
}

func kafkaClient(t *testing.T, brokers string, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(strings.Split(brokers, ",")...)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// createTopic creates topic with n partitions.
func createTopic(t *testing.T, ctx context.Context, cl *kgo.Client, topic string, n int32) {
	t.Helper()
	req := kmsg.NewPtrCreateTopicsRequest()
	rt := kmsg.NewCreateTopicsRequestTopic()
	rt.Topic, rt.NumPartitions, rt.ReplicationFactor = topic, n, 1
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range resp.Topics {
		if r.ErrorCode != 0 {
			t.Fatalf("creating topic %s: error code %d", r.Topic, r.ErrorCode)
		}
	}
}

// record is what a Kafka record carries, in comparable text.
func record(r *kgo.Record) string {
	key := "null"
	if r.Key != nil {
		key = fmt.Sprintf("%q", r.Key)
	}
	var hs []string
	for _, h := range r.Headers {
		v := "null"
		if h.Value != nil {
			v = fmt.Sprintf("%q", h.Value)
		}
		hs = append(hs, fmt.Sprintf("%q=%s", h.Key, v))
	}
	return fmt.Sprintf("p%d %s key=%s headers=[%s] value=%q", r.Partition, r.Timestamp.UTC().Format(time.RFC3339Nano), key, strings.Join(hs, " "), r.Value)
}

// consumeRecords reads n records of topic from the start, in text,
// ordered by partition then offset.
func consumeRecords(t *testing.T, ctx context.Context, brokers, topic string, n int) []string {
	t.Helper()
	cl := kafkaClient(t, brokers, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	var recs []*kgo.Record
	for len(recs) < n {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("%d records of %s read, want %d: %v", len(recs), topic, n, err)
		}
		fs.EachError(func(_ string, _ int32, err error) { t.Fatalf("reading %s: %v", topic, err) })
		recs = append(recs, fs.Records()...)
	}
	slices.SortStableFunc(recs, func(a, b *kgo.Record) int {
		if a.Partition != b.Partition {
			return int(a.Partition - b.Partition)
		}
		return int(a.Offset - b.Offset)
	})
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = record(r)
	}
	return out
}

// TestLosslessKafkaArchive: Kafka records with keys (null, empty, set) and
// headers (repeated names, empty and null values) archived into a file with
// envelope=v1 and replayed into another topic come back with identical
// keys, headers, values, partitions and timestamps.
func TestLosslessKafkaArchive(t *testing.T) {
	ctx := testkit.Context(t)
	brokers := kafkaBrokers(t)
	s := salt(t)
	src, dst := "lossless-src-"+s, "lossless-dst-"+s
	cl := kafkaClient(t, brokers, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	createTopic(t, ctx, cl, src, 3)
	createTopic(t, ctx, cl, dst, 3)

	base := time.Now().Add(-time.Hour).UTC().Truncate(time.Millisecond)
	var sent []*kgo.Record
	for i := range 30 {
		r := &kgo.Record{Topic: src, Partition: int32(i % 3), Value: fmt.Appendf(nil, "value %d", i), Timestamp: base.Add(time.Duration(i) * time.Millisecond)}
		switch i % 5 {
		case 0: // no key, no headers: a plain record
		case 1:
			r.Key = []byte{}
		case 2:
			r.Key = fmt.Appendf(nil, "key-%d", i)
			r.Headers = []kgo.RecordHeader{{Key: "trace", Value: []byte("abc")}, {Key: "trace", Value: []byte("def")}, {Key: "empty", Value: []byte{}}}
		case 3:
			r.Headers = []kgo.RecordHeader{{Key: "null", Value: nil}, {Key: "bin", Value: []byte{0, 0xff, '\n'}}}
		case 4:
			r.Key = []byte{0, 1, 2}
			r.Headers = []kgo.RecordHeader{{Key: "", Value: []byte("nameless")}}
			r.Value = []byte{}
		}
		sent = append(sent, r)
	}
	if err := cl.ProduceSync(ctx, sent...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	want := consumeRecords(t, ctx, brokers, src, len(sent))

	path := filepath.Join(t.TempDir(), "kafka.ss")
	mux := newMux(t, strings.NewReader(""), io.Discard)
	st, err := Run(ctx, Config{Mux: mux, Input: "kafka://" + brokers + "/" + src, Output: "file://" + path + "/?envelope=v1", Start: Start, Count: int64(len(sent))})
	if err != nil || st.Relayed != int64(len(sent)) {
		t.Fatalf("archiving: %+v, %v", st, err)
	}
	st, err = Run(ctx, Config{Mux: mux, Input: "file://" + path + "/" + src + "?envelope=v1", Output: "kafka://" + brokers + "/" + dst, Replay: true})
	if err != nil || st.Relayed != int64(len(sent)) {
		t.Fatalf("replaying: %+v, %v", st, err)
	}
	got := consumeRecords(t, ctx, brokers, dst, len(sent))
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("replayed records:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestKafkaArchiveWithoutEnvelope: without the option, an archive of keyed
// records holds the values alone, byte for byte (plain SeaStreamer
// payloads), and the relay says that it drops the keys and headers.
func TestKafkaArchiveWithoutEnvelope(t *testing.T) {
	ctx := testkit.Context(t)
	brokers := kafkaBrokers(t)
	src := "plain-src-" + salt(t)
	cl := kafkaClient(t, brokers, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	createTopic(t, ctx, cl, src, 1)
	values := [][]byte{[]byte("first"), {0, 1, 2}, []byte("SSe\x01 looks enveloped")}
	for i, v := range values {
		r := &kgo.Record{Topic: src, Key: fmt.Appendf(nil, "k%d", i), Headers: []kgo.RecordHeader{{Key: "h", Value: []byte("v")}}, Value: v}
		if err := cl.ProduceSync(ctx, r).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(t.TempDir(), "plain.ss")
	var notes syncbuf.Buffer
	st, err := Run(ctx, Config{Mux: newMux(t, strings.NewReader(""), io.Discard), Input: "kafka://" + brokers + "/" + src, Output: "file://" + path + "/", Start: Start, Count: int64(len(values)), Stderr: &notes})
	if err != nil || st.Relayed != int64(len(values)) {
		t.Fatalf("archiving: %+v, %v", st, err)
	}
	if n := notes.String(); !strings.Contains(n, "envelope=v1") || strings.Count(n, "relaying without record keys") != 1 || strings.Count(n, "relaying without attributes") != 1 {
		t.Errorf("notes %q: want one note that keys and one that headers are dropped, naming envelope=v1", n)
	}
	r, err := ssfile.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var got [][]byte
	for {
		m, err := r.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, bytes.Clone(m.Payload))
	}
	if !slices.EqualFunc(got, values, bytes.Equal) {
		t.Fatalf("payloads in the file %q, want exactly the values %q", got, values)
	}
}

// TestLosslessRedisArchive: Redis entries with fields besides msg,
// archived into a file with envelope=v1 and replayed into other streams,
// come back with identical field lists (msg first, then the others in
// their order, repeated names included) and timestamps.
func TestLosslessRedisArchive(t *testing.T) {
	base := strings.TrimSuffix(os.Getenv("SS_REDIS_URL"), "/")
	if base == "" {
		base = "redis://" + miniredis.RunT(t).Addr()
	}
	ctx := testkit.Context(t)
	opt, err := goredis.ParseURL(base)
	if err != nil {
		t.Fatal(err)
	}
	rc := goredis.NewClient(opt)
	t.Cleanup(func() { rc.Close() })
	s := salt(t)
	src, dst := "lossless-src-"+s, "lossless-dst-"+s
	ms := time.Now().Add(-time.Hour).UnixMilli()
	entries := [][]any{
		{"msg", "plain"},
		{"msg", "with fields", "z", "1", "a", ""},
		{"msg", "", "bin", string([]byte{0, 0xff}), "d", "3", "c", "4", "d", "5"},
	}
	for i, e := range entries {
		if err := rc.XAdd(ctx, &goredis.XAddArgs{Stream: src, ID: fmt.Sprintf("%d-0", ms+int64(i)), Values: e}).Err(); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(t.TempDir(), "redis.ss")
	mux := newMux(t, strings.NewReader(""), io.Discard)
	st, err := Run(ctx, Config{Mux: mux, Input: base + "/" + src, Output: "file://" + path + "/?envelope=v1", Start: Start, Count: int64(len(entries))})
	if err != nil || st.Relayed != int64(len(entries)) {
		t.Fatalf("archiving: %+v, %v", st, err)
	}
	st, err = Run(ctx, Config{Mux: mux, Input: "file://" + path + "/" + src + "?envelope=v1", Output: base + "/" + dst, Replay: true})
	if err != nil || st.Relayed != int64(len(entries)) {
		t.Fatalf("replaying: %+v, %v", st, err)
	}
	fields := func(stream string) []string {
		t.Helper()
		v, err := rc.Do(ctx, "XRANGE", stream, "-", "+").Slice()
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, e := range v {
			e := e.([]any)
			id := e[0].(string)
			out = append(out, fmt.Sprintf("%s %q", id[:strings.IndexByte(id, '-')], e[1]))
		}
		return out
	}
	got, want := fields(dst), fields(src)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("replayed entries:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestKafkaIntoRedisKeepsHeaders: relayed from Kafka into Redis, which has
// no record keys, the keys are dropped (with a note) and the headers become
// fields after msg.
func TestKafkaIntoRedisKeepsHeaders(t *testing.T) {
	ctx := testkit.Context(t)
	brokers := kafkaBrokers(t)
	base := strings.TrimSuffix(os.Getenv("SS_REDIS_URL"), "/")
	if base == "" {
		base = "redis://" + miniredis.RunT(t).Addr()
	}
	s := salt(t)
	src, dst := "headers-src-"+s, "headers-dst-"+s
	cl := kafkaClient(t, brokers, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	createTopic(t, ctx, cl, src, 1)
	r := &kgo.Record{Topic: src, Key: []byte("k"), Headers: []kgo.RecordHeader{{Key: "b", Value: []byte("2")}, {Key: "a", Value: []byte("1")}}, Value: []byte("v")}
	if err := cl.ProduceSync(ctx, r).FirstErr(); err != nil {
		t.Fatal(err)
	}
	var notes syncbuf.Buffer
	st, err := Run(ctx, Config{Mux: newMux(t, strings.NewReader(""), io.Discard), Input: "kafka://" + brokers + "/" + src, Output: base + "/" + dst, Start: Start, Count: 1, Stderr: &notes})
	if err != nil || st.Relayed != 1 {
		t.Fatalf("relaying: %+v, %v", st, err)
	}
	if !strings.Contains(notes.String(), "relaying without record keys") || strings.Contains(notes.String(), "without attributes") {
		t.Errorf("notes %q: want one that keys are dropped, none about headers", notes.String())
	}
	opt, err := goredis.ParseURL(base)
	if err != nil {
		t.Fatal(err)
	}
	rc := goredis.NewClient(opt)
	defer rc.Close()
	v, err := rc.Do(ctx, "XRANGE", dst, "-", "+").Slice()
	if err != nil || len(v) != 1 {
		t.Fatalf("XRANGE %s: %v, %v", dst, v, err)
	}
	if got, want := fmt.Sprintf("%q", v[0].([]any)[1]), `["msg" "v" "b" "2" "a" "1"]`; got != want {
		t.Fatalf("entry fields %s, want %s", got, want)
	}
}
