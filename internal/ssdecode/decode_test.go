package ssdecode

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/seastream/ss/format"
	"github.com/seastream/ss/internal/testkit"
	"github.com/seastream/ss/ssfile"
)

func TestAppendTimestamp(t *testing.T) {
	for _, tc := range []struct {
		ms   uint64
		want string
	}{
		{0, "1970-01-01T00:00:00.0"},
		{1685973353001, "2023-06-05T13:55:53.001"},
		{1685973353000, "2023-06-05T13:55:53.0"},
		{1685973353100, "2023-06-05T13:55:53.1"},
		{1685973353120, "2023-06-05T13:55:53.12"},
		{1685973353123, "2023-06-05T13:55:53.123"},
		{1685973353010, "2023-06-05T13:55:53.01"},
		{1685973353999, "2023-06-05T13:55:53.999"},
		{format.MaxTimestamp, "9999-12-31T23:59:59.999"},
	} {
		if got := string(AppendTimestamp(nil, tc.ms)); got != tc.want {
			t.Errorf("AppendTimestamp(%d) = %s, want %s", tc.ms, got, tc.want)
		}
	}
}

func TestParseTime(t *testing.T) {
	want := time.Date(2023, 6, 5, 13, 55, 53, 1e6, time.UTC)
	for _, s := range []string{"2023-06-05T13:55:53.001Z", "2023-06-05T15:55:53.001+02:00", "2023-06-05T13:55:53.001", "1685973353001"} {
		got, err := ParseTime(s)
		if err != nil || !got.Equal(want) {
			t.Errorf("ParseTime(%q) = %v, %v", s, got, err)
		}
	}
	if got, err := ParseTime("2023-06-05"); err != nil || !got.Equal(time.Date(2023, 6, 5, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("date: %v %v", got, err)
	}
	for _, s := range []string{"", "yesterday", "2023-13-01", "12:00"} {
		if _, err := ParseTime(s); !errors.Is(err, ErrInvalidOption) {
			t.Errorf("ParseTime(%q): %v", s, err)
		}
	}
}

func decode(t *testing.T, o Options) (string, []*Warning, error) {
	t.Helper()
	var out bytes.Buffer
	var warnings []*Warning
	err := Run(context.Background(), o, &out, func(w *Warning) { warnings = append(warnings, w) })
	return out.String(), warnings, err
}

// messageEnds returns the end offset of each message of a sound file.
func messageEnds(t *testing.T, path string) []int64 {
	t.Helper()
	r, err := ssfile.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	bw := beaconWalk{r: r, interval: int64(r.Header().BeaconInterval)}
	var ends []int64
	for m, err := range r.Messages(context.Background()) {
		if err != nil {
			t.Fatal(err)
		}
		end, err := bw.end(&m)
		if err != nil {
			t.Fatal(err)
		}
		ends = append(ends, end)
	}
	return ends
}

// TestCutAtEveryByte decodes SeaStreamer's consumer.ss cut at every offset:
// never a panic, the output is a prefix of the whole file's output with every
// complete message, and a cut inside a message is a warning, not an error.
func TestCutAtEveryByte(t *testing.T) {
	src := filepath.Join("..", "..", "testdata", "consumer.ss")
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	ends := messageEnds(t, src)
	for _, f := range []Format{Log, NDJSON} {
		full, _, err := decode(t, Options{Path: src, Format: f})
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(t.TempDir(), "cut.ss")
		for cut := 0; cut <= len(data); cut += testkit.Stride(len(data), 300) {
			if err := os.WriteFile(path, data[:cut], 0o644); err != nil {
				t.Fatal(err)
			}
			out, warnings, err := decode(t, Options{Path: path, Format: f})
			if cut < format.HeaderSize {
				if err == nil {
					t.Fatalf("cut %d: no error", cut)
				}
				continue
			}
			if err != nil {
				t.Fatalf("cut %d: %v", cut, err)
			}
			if !strings.HasPrefix(full, out) {
				t.Fatalf("cut %d: output is not a prefix of the whole file's", cut)
			}
			complete := 0
			for complete < len(ends) && ends[complete] <= int64(cut) {
				complete++
			}
			if n := strings.Count(out, "\n{") + strings.Count(out, "\n["); n != complete {
				t.Fatalf("cut %d: %d messages, want %d", cut, n, complete)
			}
			for _, w := range warnings {
				if !errors.Is(w, ssfile.ErrTornTail) {
					t.Fatalf("cut %d: warning %v", cut, w)
				}
			}
		}
	}
}

// sampleFile writes n messages over two streams and three shards at beacon
// interval iv with ssfile.Writer, and returns the path.
func sampleFile(t *testing.T, n int, iv uint32) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "f.ss")
	w, err := ssfile.Create(path, ssfile.WithBeaconInterval(iv))
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		h := format.MessageHeader{StreamKey: []string{"a", "b"}[i%2], ShardID: uint64(i % 3), SeqNo: uint64(i), Timestamp: 1_700_000_000_000 + uint64(i)}
		if err := w.Write(h, fmt.Appendf(nil, "payload-%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestSinceSeeks checks that --since starts reading near the start time,
// not at the beginning, and prints what a scan with a filter prints.
func TestSinceSeeks(t *testing.T) {
	path := sampleFile(t, 20000, 1024)
	since := time.UnixMilli(1_700_000_000_000 + 15000)
	for _, o := range []Options{
		{Path: path, Since: since},
		{Path: path, Since: since, Streams: []string{"b"}},
		{Path: path, Since: since, Streams: []string{"a"}, Shards: []uint64{2}},
	} {
		r, err := ssfile.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		seekSince(r, newFilter(&o), nil, func(w *Warning) { t.Fatal(w) })
		if off := r.Offset(); off < r.Size()/2 {
			t.Errorf("%+v: reading starts at %d of %d", o, off, r.Size())
		}
		r.Close()

		got, _, err := decode(t, o)
		if err != nil {
			t.Fatal(err)
		}
		all, _, _ := decode(t, Options{Path: path})
		var want []string
		for _, l := range strings.Split(all, "\n") {
			if !strings.HasPrefix(l, "[") {
				continue
			}
			var ts, key string
			var seq, shard uint64
			fmt.Sscanf(strings.NewReplacer("[", "", "]", "", "|", " ").Replace(l), "%s %s %d %d", &ts, &key, &seq, &shard)
			if seq >= 15000 && (len(o.Streams) == 0 || key == o.Streams[0]) && (len(o.Shards) == 0 || shard == o.Shards[0]) {
				want = append(want, l)
			}
		}
		var lines []string
		for _, l := range strings.Split(got, "\n") {
			if strings.HasPrefix(l, "[") {
				lines = append(lines, l)
			}
		}
		if strings.Join(lines, "\n") != strings.Join(want, "\n") {
			t.Errorf("%+v: %d lines, want %d", o, len(lines), len(want))
		}
	}
}

func TestOptionsValidate(t *testing.T) {
	for _, o := range []Options{
		{},
		{Path: "x", Format: 7},
		{Path: "x", Streams: []string{""}},
		{Path: "x", Streams: []string{"sp ace"}},
		{Path: "x", PollInterval: -1},
	} {
		if err := o.Validate(); !errors.Is(err, ErrInvalidOption) {
			t.Errorf("%+v: %v", o, err)
		}
	}
}

// TestFollowCancel: following ends cleanly when the context does.
func TestFollowCancel(t *testing.T) {
	path := sampleFile(t, 10, 1024)
	ctx, cancel := context.WithCancel(context.Background())
	pr := &notifyWriter{wrote: make(chan struct{}, 100)}
	done := make(chan error)
	go func() { done <- Run(ctx, Options{Path: path, Follow: true, FlushInterval: time.Millisecond}, pr, nil) }()
	<-pr.wrote // the flushed lines arrived: it is now waiting for more
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(pr.String(), "\n"); n != 11 {
		t.Errorf("%d lines, want 11", n)
	}
}

type notifyWriter struct {
	bytes.Buffer
	wrote chan struct{}
}

func (w *notifyWriter) Write(p []byte) (int, error) {
	n, err := w.Buffer.Write(p)
	w.wrote <- struct{}{}
	return n, err
}
