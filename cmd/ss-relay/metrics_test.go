package main

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/seastream/ss/format"
	"github.com/seastream/ss/internal/testkit"
	"github.com/seastream/ss/ssfile"
)

var metricsLine = regexp.MustCompile(`^ss-relay: serving metrics on (http://\S+/metrics)$`)

// TestMetricsAddr: with --metrics-addr, ss-relay serves the streamer's
// metrics while it relays, and reports progress on stderr by default.
func TestMetricsAddr(t *testing.T) {
	archive := filepath.Join(t.TempDir(), "m.ss")
	relay := command(t, "ss-relay", "--input", "stdio:///clock", "--output", "file://"+archive+"/clock",
		"--metrics-addr", "127.0.0.1:0", "--progress-interval", "20ms")
	stdin, err := relay.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	lines := startWithStderrLines(t, relay)
	url, all := metricsURL(t, lines)
	if _, err := io.WriteString(stdin, "one\ntwo\nthree\n"); err != nil {
		t.Fatal(err)
	}

	// The messages are consumed and stored while stdin stays open; poll the
	// endpoint until it says so (the test's deadline bounds the wait).
	ctx := testkit.Context(t)
	// Plain lines on stdio belong to the stream "broadcast" (SeaStreamer's
	// rule); the output puts them in its one stream, clock.
	want := []string{
		`ss_consumed_messages_total{stream="broadcast"} 3`,
		`ss_consumed_bytes_total{stream="broadcast"} 11`,
		`ss_produced_messages_total{stream="clock"} 3`,
		`ss_produced_bytes_total{stream="clock"} 11`,
		`go_goroutines `,
	}
	scrapeUntil(t, ctx, url, want)

	// Progress is on by default with --metrics-addr.
	sawProgress := false
	for l := range lines {
		all = append(all, l)
		if progressLine.MatchString(l) {
			sawProgress = true
			break
		}
	}
	stdin.Close()
	for l := range lines {
		all = append(all, l)
	}
	if err := relay.Wait(); err != nil {
		t.Fatalf("ss-relay: %v\n%s", err, strings.Join(all, "\n"))
	}
	if !sawProgress {
		t.Errorf("no progress report on stderr with --metrics-addr:\n%s", strings.Join(all, "\n"))
	}
}

// TestMetricsAddrQuiet: --progress=false silences the reports, and a bad
// address is an error before anything is relayed.
func TestMetricsAddrQuiet(t *testing.T) {
	archive := filepath.Join(t.TempDir(), "q.ss")
	_, stderr := runOK(t, command(t, "ss-relay", "--input", "stdio:///clock", "--output", "file://"+archive+"/clock",
		"--metrics-addr", "127.0.0.1:0", "--progress=false"), "a\nb\n")
	for _, l := range strings.Split(stderr, "\n") {
		if progressLine.MatchString(l) {
			t.Errorf("progress with --progress=false: %q", l)
		}
	}
	bad := command(t, "ss-relay", "--input", "stdio:///clock", "--metrics-addr", "256.0.0.1:x")
	var e strings.Builder
	bad.Stdin, bad.Stderr = strings.NewReader("a\n"), &e
	err := bad.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 || !strings.Contains(e.String(), "--metrics-addr") {
		t.Errorf("bad --metrics-addr: %v, stderr %q; want status 1 and a message naming the flag", err, e.String())
	}
}

// metricsURL reads stderr lines until ss-relay says where it serves metrics.
func metricsURL(t *testing.T, lines <-chan string) (url string, seen []string) {
	t.Helper()
	for l := range lines {
		seen = append(seen, l)
		if m := metricsLine.FindStringSubmatch(l); m != nil {
			return m[1], seen
		}
	}
	t.Fatalf("no metrics address on stderr:\n%s", strings.Join(seen, "\n"))
	return "", nil
}

// scrapeUntil polls url until its body has every line of want, and returns
// the body; ctx bounds the wait.
func scrapeUntil(t *testing.T, ctx context.Context, url string, want []string) string {
	t.Helper()
	for {
		req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v", url, err)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d %v", url, resp.StatusCode, err)
		}
		body := string(b)
		if !slices.ContainsFunc(want, func(w string) bool { return !strings.Contains(body, w) }) {
			return body
		}
		select {
		case <-ctx.Done():
			t.Fatalf("metrics never showed %q; last scrape:\n%s", want, body)
		case <-time.After(10 * time.Millisecond): // poll interval, not synchronisation
		}
	}
}

// TestMetricsLag: relaying a file, ss-relay exports its consumer's lag per
// (stream, shard), which falls to 0 once everything is relayed.
func TestMetricsLag(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.ss")
	w, err := ssfile.Create(in)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		if err := w.Write(format.MessageHeader{StreamKey: "clock", SeqNo: uint64(i + 1), Timestamp: 1_700_000_000_000}, []byte("tick")); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	relay := command(t, "ss-relay", "--input", "file://"+in+"/clock", "--offset", "start",
		"--output", "file://"+filepath.Join(dir, "out.ss")+"/clock", "--metrics-addr", "127.0.0.1:0", "--progress=false")
	lines := startWithStderrLines(t, relay)
	url, _ := metricsURL(t, lines)
	scrapeUntil(t, testkit.Context(t), url, []string{
		`ss_produced_messages_total{stream="clock"} 5`,
		`ss_consumer_lag_messages{shard="0",stream="clock"} 0`,
	})
	if err := relay.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	for range lines {
	}
	if err := relay.Wait(); err != nil {
		t.Fatalf("ss-relay after the interrupt: %v", err)
	}
}

// startWithStderrLines starts cmd and returns its standard error line by
// line; the channel closes when cmd closes it.
func startWithStderrLines(t *testing.T, cmd *exec.Cmd) <-chan string {
	t.Helper()
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 100)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	return lines
}
