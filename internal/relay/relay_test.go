package relay

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/seastream/ss/adapters/kafka"
	"github.com/seastream/ss/adapters/redis"
	"github.com/seastream/ss/adapters/stdio"
	"github.com/seastream/ss/internal/syncbuf"
	"github.com/seastream/ss/internal/testkit"
	"github.com/seastream/ss/streamer"
	"github.com/seastream/ss/streamer/filedriver"
)

// newMux returns a Mux with the file, Kafka and Redis backends and a stdio
// backend reading in and writing out.
func newMux(t *testing.T, in io.Reader, out io.Writer) *streamer.Mux {
	t.Helper()
	m := new(streamer.Mux)
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(m.Register("file", filedriver.Driver{}))
	must(m.Register("kafka", kafka.Driver{}))
	must(m.Register("redis", redis.Driver{}))
	must(m.Register("stdio", stdio.Driver{In: in, Out: out, Errors: io.Discard}))
	return m
}

// lines are messages in stdio's canonical form, with milliseconds, over two
// streams and several shards, with explicit sequence numbers.
var lines = []string{
	"[2022-01-01T00:00:01.001 | a | 10] a-10",
	"[2022-01-01T00:00:02.002 | b | 0 | 3] b3-0",
	"[2022-01-01T00:00:03.003 | a | 11] { \"json\": [1, 2] }",
	"[2022-01-01T00:00:04.004 | b | 1 | 3] b3-1",
	"[2022-01-01T00:00:05.005 | b | 7] b0-7",
	"[2022-01-01T00:00:06.006 | a | 12] a-12",
}

// archive relays lines from stdio into a new file and returns its path.
func archive(t *testing.T, lines []string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "archive.ss")
	in := strings.NewReader(strings.Join(lines, "\n") + "\n")
	st, err := Run(testkit.Context(t), Config{Mux: newMux(t, in, io.Discard), Input: "stdio:///SEA_STREAMER_WILDCARD", Output: "file://" + path + "/"})
	if err != nil {
		t.Fatal(err)
	}
	if st.Relayed != int64(len(lines)) || st.Skipped != 0 || st.Interrupted {
		t.Fatalf("archiving: %+v, want %d relayed", st, len(lines))
	}
	return path
}

// replay relays the file's streams to stdio (with milliseconds) and returns
// the lines written.
func replay(t *testing.T, cfg Config) []string {
	t.Helper()
	var out syncbuf.Buffer
	cfg.Mux = newMux(t, strings.NewReader(""), &out)
	if cfg.Output == "" {
		cfg.Output = "stdio:///?millis"
	}
	if _, err := Run(testkit.Context(t), cfg); err != nil {
		t.Fatalf("Run(%+v): %v", cfg, err)
	}
	s := strings.TrimSuffix(out.String(), "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

func equal(t *testing.T, what string, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("%s:\n got %q\nwant %q", what, got, want)
	}
}

// TestArchiveKeepsHeaders: stdio → file → stdio gives back the same lines:
// stream keys, shards, sequence numbers, timestamps and payloads.
func TestArchiveKeepsHeaders(t *testing.T) {
	path := archive(t, lines)
	got := replay(t, Config{Input: "file://" + path + "/SEA_STREAMER_WILDCARD", Replay: true})
	equal(t, "replayed archive", got, lines)

	// The same through a second file, read by stream keys.
	path2 := filepath.Join(t.TempDir(), "copy.ss")
	if _, err := Run(testkit.Context(t), Config{Mux: newMux(t, strings.NewReader(""), io.Discard),
		Input: "file://" + path + "/a,b", Output: "file://" + path2 + "/", Replay: true}); err != nil {
		t.Fatal(err)
	}
	equal(t, "copy of the archive", replay(t, Config{Input: "file://" + path2 + "/a,b", Replay: true}), lines)
}

func TestSinceUntilCount(t *testing.T) {
	path := archive(t, lines)
	in := "file://" + path + "/a,b"
	at := func(s string) time.Time {
		t.Helper()
		tm, err := ParseTime(s, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	// Since is inclusive, Until is inclusive; both by timestamp.
	equal(t, "since 00:00:02.002 until 00:00:04.004", replay(t, Config{Input: in, Replay: true,
		Since: at("2022-01-01T00:00:02.002"), Until: at("2022-01-01T00:00:04.004")}), lines[1:4])
	equal(t, "since 00:00:02.5", replay(t, Config{Input: in, Replay: true, Since: at("2022-01-01T00:00:02.5")}), lines[2:])
	equal(t, "until 00:00:01", replay(t, Config{Input: in, Replay: true, Until: at("2022-01-01T00:00:01")}), nil)
	equal(t, "count 2", replay(t, Config{Input: in, Start: Start, Count: 2}), lines[:2])
	equal(t, "only stream b", replay(t, Config{Input: "file://" + path + "/b", Replay: true}), []string{lines[1], lines[3], lines[4]})
	// Since on an input that cannot seek (stdio) skips the earlier messages.
	var out syncbuf.Buffer
	if _, err := Run(testkit.Context(t), Config{Mux: newMux(t, strings.NewReader(strings.Join(lines, "\n")), &out),
		Input: "stdio:///a,b", Output: "stdio:///?millis", Since: at("2022-01-01T00:00:05")}); err != nil {
		t.Fatal(err)
	}
	equal(t, "stdio since 00:00:05", strings.Split(strings.TrimSpace(out.String()), "\n"), lines[4:])
}

// TestRenameAndShard: an output URI with one stream key takes every message;
// --shard moves them all to one shard; --renumber lets the output number them.
func TestRenameAndShard(t *testing.T) {
	path := archive(t, lines)
	zero := streamer.ShardID(0)
	got := replay(t, Config{Input: "file://" + path + "/a,b", Replay: true, Output: "stdio:///all?millis", Shard: &zero})
	want := []string{
		"[2022-01-01T00:00:01.001 | all | 10] a-10",
		"[2022-01-01T00:00:02.002 | all | 0] b3-0",
		"[2022-01-01T00:00:03.003 | all | 11] { \"json\": [1, 2] }",
		"[2022-01-01T00:00:04.004 | all | 1] b3-1",
		"[2022-01-01T00:00:05.005 | all | 7] b0-7",
		"[2022-01-01T00:00:06.006 | all | 12] a-12",
	}
	equal(t, "renamed", got, want)
	got = replay(t, Config{Input: "file://" + path + "/a,b", Replay: true, Output: "stdio:///all?millis", Shard: &zero, Renumber: true})
	want = []string{
		"[2022-01-01T00:00:01.001 | all | 0] a-10",
		"[2022-01-01T00:00:02.002 | all | 1] b3-0",
		"[2022-01-01T00:00:03.003 | all | 2] { \"json\": [1, 2] }",
		"[2022-01-01T00:00:04.004 | all | 3] b3-1",
		"[2022-01-01T00:00:05.005 | all | 4] b0-7",
		"[2022-01-01T00:00:06.006 | all | 5] a-12",
	}
	equal(t, "renumbered", got, want)
}

// TestSkipUnrepresentable: messages stdio cannot carry (binary, multi-line)
// are reported and skipped; the others pass.
func TestSkipUnrepresentable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bin.ss")
	ctx := testkit.Context(t)
	mux := newMux(t, strings.NewReader(""), io.Discard)
	s, err := mux.Open(ctx, "file://"+path+"/k", streamer.WithDriverOption(filedriver.WithCreate(filedriver.CreateIfMissing)))
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.NewProducer(ctx, "k")
	if err != nil {
		t.Fatal(err)
	}
	// The file numbers them from 1.
	for _, payload := range [][]byte{[]byte("text 1"), {0xff, 0x00}, []byte("two\nlines"), []byte("text 2")} {
		if _, err := p.Send(ctx, payload, streamer.WithTimestamp(time.Date(2022, 1, 1, 0, 0, 0, 0, time.UTC))); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	var out, errs syncbuf.Buffer
	st, err := Run(ctx, Config{Mux: newMux(t, strings.NewReader(""), &out), Input: "file://" + path + "/k", Output: "stdio:///",
		Replay: true, Stderr: &errs})
	if err != nil {
		t.Fatal(err)
	}
	if st.Relayed != 2 || st.Skipped != 2 {
		t.Errorf("stats %+v, want 2 relayed and 2 skipped", st)
	}
	equal(t, "output", strings.Split(strings.TrimSpace(out.String()), "\n"),
		[]string{"[2022-01-01T00:00:00 | k | 1] text 1", "[2022-01-01T00:00:00 | k | 4] text 2"})
	r := errs.String()
	if !strings.Contains(r, "skipped message [2022-01-01T00:00:00.000 | k | 2 | 0] (2 bytes)") || !strings.Contains(r, "not valid UTF-8") ||
		!strings.Contains(r, "skipped message [2022-01-01T00:00:00.000 | k | 3 | 0] (9 bytes)") || !strings.Contains(r, "newline") {
		t.Errorf("reports:\n%s", r)
	}
}

// TestInterrupt: cancelling the relay while its input is still open stops it
// cleanly, with everything received written.
func TestInterrupt(t *testing.T) {
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	t.Cleanup(func() { _ = inW.Close(); _ = outR.Close() })
	ctx, cancel := context.WithCancel(testkit.Context(t))
	defer cancel()
	type result struct {
		st  Stats
		err error
	}
	res := make(chan result, 1)
	go func() {
		st, err := Run(ctx, Config{Mux: newMux(t, inR, outW), Input: "stdio:///k", Output: "stdio:///"})
		res <- result{st, err}
	}()
	go fmt.Fprint(inW, "[k] 1\n[k] 2\n[k] 3\n")
	sc := bufio.NewScanner(outR)
	for i := 1; i <= 3; i++ {
		if !sc.Scan() {
			t.Fatalf("output ended after %d lines: %v", i-1, sc.Err())
		}
		if !strings.HasSuffix(sc.Text(), fmt.Sprintf("| k | %d] %d", i-1, i)) {
			t.Errorf("line %d = %q", i, sc.Text())
		}
	}
	cancel()
	go func() { _, _ = io.Copy(io.Discard, outR) }()
	r := <-res
	if r.err != nil || !r.st.Interrupted || r.st.Relayed != 3 {
		t.Errorf("Run = %+v, %v; want 3 relayed, interrupted, no error", r.st, r.err)
	}
}

func TestConfigErrors(t *testing.T) {
	path := archive(t, lines[:1])
	mux := newMux(t, strings.NewReader(""), io.Discard)
	for _, c := range []struct {
		cfg  Config
		want string
	}{
		{Config{Input: "file://" + path + "/a", Output: "file://" + path + "/a"}, "same URI"},
		{Config{Input: "file://" + path + "/a", Output: "stdio:///x,y"}, "must name one stream key"},
		{Config{Input: "file://" + path + "/", Output: "stdio:///"}, "names no stream"},
		{Config{Input: "file://" + path + "/a", Output: "stdio:///", Since: time.Unix(10, 0), Until: time.Unix(5, 0)}, "before --since"},
		{Config{Input: "", Output: "stdio:///"}, "give both"},
	} {
		c.cfg.Mux = mux
		_, err := Run(testkit.Context(t), c.cfg)
		if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Run(%s → %s) = %v, want ErrConfig with %q", c.cfg.Input, c.cfg.Output, err, c.want)
		}
	}
	_, err := Run(testkit.Context(t), Config{Mux: mux, Input: "file://" + filepath.Join(t.TempDir(), "missing.ss") + "/a", Output: "stdio:///"})
	if !errors.Is(err, streamer.ErrConnect) || !strings.Contains(err.Error(), "opening the input") {
		t.Errorf("missing input file: %v", err)
	}
}

func TestParseTime(t *testing.T) {
	now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	for s, want := range map[string]time.Time{
		"2022-01-01T00:00:00":       time.Date(2022, 1, 1, 0, 0, 0, 0, time.UTC),
		"2022-01-01T00:00:00.123":   time.Date(2022, 1, 1, 0, 0, 0, 123e6, time.UTC),
		"2022-01-01T02:00:00+02:00": time.Date(2022, 1, 1, 0, 0, 0, 0, time.UTC),
		"2022-01-01T00:00:00Z":      time.Date(2022, 1, 1, 0, 0, 0, 0, time.UTC),
		"2022-01-01":                time.Date(2022, 1, 1, 0, 0, 0, 0, time.UTC),
		"-90m":                      now.Add(-90 * time.Minute),
	} {
		got, err := ParseTime(s, now)
		if err != nil || !got.Equal(want) {
			t.Errorf("ParseTime(%q) = %v, %v; want %v", s, got, err, want)
		}
	}
	for _, s := range []string{"", "yesterday", "90m", "2022-13-01", "1700000000"} {
		if _, err := ParseTime(s, now); err == nil {
			t.Errorf("ParseTime(%q) succeeded", s)
		}
	}
}

// salt returns a suffix unique to this run, for server-side names.
func salt(t *testing.T) string {
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b[:])
}

// orderedArchive writes n messages over streams a and b (shards 0 to 2) with
// increasing millisecond timestamps into a new file. The timestamps start an
// hour ago: Kafka's time-based retention (7 days by default) counts from the
// records' timestamps, so a broker deletes records timestamped further back
// at its next retention check (30 s after it starts, then every 5 minutes),
// possibly between replaying them into Kafka and reading them back.
func orderedArchive(t *testing.T, a, b string, n int) (string, []string) {
	return orderedArchiveAt(t, a, b, n, time.Now().Add(-time.Hour))
}

// orderedArchiveAt is orderedArchive with messages from base on.
func orderedArchiveAt(t *testing.T, a, b string, n int, base time.Time) (string, []string) {
	t.Helper()
	var ls []string
	base = base.UTC().Truncate(time.Second)
	for i := range n {
		key := a
		if i%3 == 1 {
			key = b
		}
		ts := base.Add(time.Duration(i) * time.Millisecond).Format("2006-01-02T15:04:05.000")
		ls = append(ls, fmt.Sprintf("[%s | %s | %d | %d] payload %d", ts, key, i, i%3, i))
	}
	return archive(t, ls), ls
}

// byStreamShard groups lines by (stream, shard), without sequence numbers
// (servers assign their own).
func byStreamShard(t *testing.T, ls []string) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, l := range ls {
		m, p, err := stdio.ParseLine(l)
		if err != nil {
			t.Fatal(err)
		}
		k := fmt.Sprintf("%s/%d", m.StreamKey, m.Shard)
		out[k] = append(out[k], m.Timestamp.Format(time.RFC3339Nano)+" "+p)
	}
	return out
}

func checkSameOrder(t *testing.T, got, want []string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d messages back, want %d", len(got), len(want))
	}
	g, w := byStreamShard(t, got), byStreamShard(t, want)
	for k, wl := range w {
		if strings.Join(g[k], "\n") != strings.Join(wl, "\n") {
			t.Errorf("%s: got\n%q\nwant\n%q", k, g[k], wl)
		}
	}
}

// TestReplayIntoKafka: an archive replayed into Kafka keeps, per (topic,
// partition), the order, payloads and timestamps; relayed back into a file
// it reads the same. It runs on an in-process kfake cluster, or on the
// broker named by SS_KAFKA_BROKERS.
func TestReplayIntoKafka(t *testing.T) {
	brokers := os.Getenv("SS_KAFKA_BROKERS")
	if brokers == "" {
		c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.AllowAutoTopicCreation(), kfake.DefaultNumPartitions(3))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(c.Close)
		brokers = strings.Join(c.ListenAddrs(), ",")
	}
	s := salt(t)
	a, b := "relay-a-"+s, "relay-b-"+s
	path, want := orderedArchive(t, a, b, 90)
	ctx := testkit.Context(t)
	mux := newMux(t, strings.NewReader(""), io.Discard)
	var notes syncbuf.Buffer
	st, err := Run(ctx, Config{Mux: mux, Input: "file://" + path + "/" + a + "," + b, Output: "kafka://" + brokers + "/?partitions=3", Replay: true, Stderr: &notes})
	if err != nil {
		t.Fatal(err)
	}
	if st.Relayed != 90 || !strings.Contains(notes.String(), "kafka:// assigns sequence numbers;") {
		t.Fatalf("into Kafka: %+v; notes %q", st, notes.String())
	}
	got := replay(t, Config{Input: "kafka://" + brokers + "/" + a + "," + b, Start: Start, Count: 90})
	checkSameOrder(t, got, want)
}

// TestRelayOldArchiveIntoKafka: relaying messages older than the topic's
// retention (7 days by default) into Kafka works, and the relay passes on
// the adapter's warning that the broker will delete them.
func TestRelayOldArchiveIntoKafka(t *testing.T) {
	if os.Getenv("SS_KAFKA_BROKERS") != "" {
		t.Skip("on a real broker the records would be deleted at its next retention check; kfake is enough for the warning")
	}
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.AllowAutoTopicCreation(), kfake.DefaultNumPartitions(3))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	s := salt(t)
	a, b := "relay-old-a-"+s, "relay-old-b-"+s
	path, _ := orderedArchiveAt(t, a, b, 9, time.Now().Add(-30*24*time.Hour))
	var notes syncbuf.Buffer
	st, err := Run(testkit.Context(t), Config{Mux: newMux(t, strings.NewReader(""), io.Discard),
		Input: "file://" + path + "/" + a + "," + b, Output: "kafka://" + strings.Join(c.ListenAddrs(), ",") + "/",
		Replay: true, Stderr: &notes})
	if err != nil {
		t.Fatal(err)
	}
	if st.Relayed != 9 {
		t.Fatalf("relayed %d messages, want 9", st.Relayed)
	}
	for _, topic := range []string{a, b} {
		if !strings.Contains(notes.String(), "older than the topic keeps them") || !strings.Contains(notes.String(), "topic="+topic) {
			t.Fatalf("no retention warning for %s on stderr:\n%s", topic, notes.String())
		}
	}
}

// TestReplayIntoRedis: the same with Redis streams, on miniredis or the
// server named by SS_REDIS_URL.
func TestReplayIntoRedis(t *testing.T) {
	base := strings.TrimSuffix(os.Getenv("SS_REDIS_URL"), "/")
	if base == "" {
		base = "redis://" + miniredis.RunT(t).Addr()
	}
	s := salt(t)
	a, b := "relay-a-"+s, "relay-b-"+s
	path, want := orderedArchive(t, a, b, 90)
	ctx := testkit.Context(t)
	mux := newMux(t, strings.NewReader(""), io.Discard)
	st, err := Run(ctx, Config{Mux: mux, Input: "file://" + path + "/" + a + "," + b, Output: base + "/", Replay: true})
	if err != nil {
		t.Fatal(err)
	}
	if st.Relayed != 90 {
		t.Fatalf("into Redis: %+v", st)
	}
	got := replay(t, Config{Input: base + "/" + a + "," + b, Start: Start, Count: 90})
	checkSameOrder(t, got, want)
}
