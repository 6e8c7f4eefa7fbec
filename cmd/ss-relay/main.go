// Command ss-relay copies a stream from any streamer URI to any other:
// stdio, file, Kafka or Redis. It archives a live stream into a .ss file
// keeping every message's stream key, shard, sequence number and timestamp,
// and replays an archive into a server in the same order. (SeaStreamer's
// relay keeps only the payloads.)
//
// Usage:
//
//	ss-relay --input URI [--output URI] [--offset start|end] [--since T] [--until T]
//	         [--replay] [--count N] [--renumber] [--shard N] [--progress]
//	         [--metrics-addr ADDR]
//
// Examples:
//
//	clock --interval 1s | ss-relay --input stdio:///clock --output file://clock.ss/clock
//	ss-relay --input file://clock.ss/clock --offset start --replay          # the archive, as lines
//	ss-relay --input kafka://localhost:9092/orders --output file://orders.ss/ --offset start
//	ss-relay --input file://orders.ss/orders --replay --output redis://localhost:6379/
//	ss-relay --input kafka://localhost:9092/orders --output 'file://./orders/?segment_size=256MiB&retention_age=720h' --offset start
//	ss-relay --input file://./orders/orders --offset start --replay           # a stream directory, every segment in order
//	ss-relay --input file://app.ss/SEA_STREAMER_WILDCARD --replay --since 2024-05-01T10:00:00 --until 2024-05-01T11:00:00
//	ss-relay --input kafka://localhost:9092/orders --offset start --output 'file://orders.ss/?envelope=v1'     # keys and headers too
//	ss-relay --input 'file://orders.ss/orders?envelope=v1' --replay --output kafka://localhost:9092/orders   # ... given back
//
// Kafka record keys and headers, and Redis entry fields besides msg, are
// relayed to an output that stores them (Kafka, Redis, a file with
// ?envelope=v1, the archive envelope of package streamer/envelope); to
// another (a plain file, stdio) the payloads go alone, with a note.
//
// Flags:
//
//	--input     URI to read, with its stream keys (required)
//	--output    URI to write (default stdio:///). With one stream key every message
//	            goes to that stream; without, each keeps its own. A file is created
//	            if missing, and so is a stream directory (a path ending in "/", or
//	            given a directory's option such as segment_size or retention_bytes:
//	            see streamer/filedriver), which rolls over to new segments and
//	            deletes old ones by retention as the relay runs.
//	--offset    start or end: where to begin without --since (default end, as SeaStreamer)
//	--since T   begin at the first message with a timestamp at or after T
//	--until T   stop before the first message with a timestamp after T
//	--replay    stop at the end of the data present when the relay starts (begins at
//	            the start), instead of following new messages
//	--count N   stop after N messages
//	--renumber  let the output assign sequence numbers (kept by default where the
//	            output can store them: file, stdio)
//	--shard N   send every message to shard N (default: its own shard)
//	--progress  report progress and rate on stderr every --progress-interval
//	            (default: when stderr is a terminal or --metrics-addr is given);
//	            --progress=false disables it
//	--metrics-addr ADDR  serve Prometheus metrics at http://ADDR/metrics while
//	            relaying (e.g. :9100): messages and bytes consumed and produced
//	            per stream, produce latency, flush latency, errors (package
//	            metrics/prometheus), and the Go runtime's
//
// Times T are 2022-01-01T00:00:00[.123] (UTC, SeaStreamer's form), RFC 3339
// (2022-01-01T00:00:00+02:00), a date (2022-01-01) or a duration before now
// (-1h).
//
// The relay ends when the input ends (end of standard input, end of a
// replay, an end-of-stream message) or a limit is reached. Ctrl-C (SIGINT) or
// SIGTERM stops it: everything received is flushed to the output before it
// exits, with status 0. A message the output cannot hold (a binary payload
// on stdio) is reported on stderr and skipped. The backends' warnings go to
// stderr too: a Kafka broker being waited for, or messages older than a
// Kafka topic's retention.ms (the broker stores them, then deletes them at
// its next retention check: raise retention.ms before relaying an old
// archive). A relay that finds no message of its streams says so. An output
// that is the input's own file (under any spelling) in a stream the input
// reads is refused: it would read its own messages again. Exit status: 0
// done, 1 error, 2 usage error.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"

	prom "github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	_ "github.com/seastream/ss/internal/allbackends"
	"github.com/seastream/ss/internal/relay"
	"github.com/seastream/ss/metrics/prometheus"
	"github.com/seastream/ss/streamer"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stderr))
}

// optBool is a boolean flag that remembers whether it was given.
type optBool struct{ set, v bool }

func (b *optBool) String() string   { return strconv.FormatBool(b.v) }
func (b *optBool) IsBoolFlag() bool { return true }
func (b *optBool) Set(s string) error {
	v, err := strconv.ParseBool(s)
	if err != nil {
		return err
	}
	b.set, b.v = true, v
	return nil
}

func run(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("ss-relay", flag.ContinueOnError)
	fs.SetOutput(stderr)
	input := fs.String("input", "", "streamer URI to read, with its stream keys (required)")
	output := fs.String("output", "stdio:///", "streamer URI to write; with one stream key every message goes to it")
	offset := fs.String("offset", "end", "where to begin without --since: start or end")
	since := fs.String("since", "", "begin at the first message with a timestamp at or after this time")
	until := fs.String("until", "", "stop before the first message with a timestamp after this time")
	replay := fs.Bool("replay", false, "stop at the end of the data present at start, instead of following")
	count := fs.Int64("count", 0, "stop after this many messages (0: no limit)")
	renumber := fs.Bool("renumber", false, "let the output assign sequence numbers")
	shard := fs.String("shard", "", "send every message to this shard (default: its own)")
	var progress optBool
	fs.Var(&progress, "progress", "report progress on stderr (default: when stderr is a terminal)")
	every := fs.Duration("progress-interval", 2*time.Second, "time between progress reports")
	metricsAddr := fs.String("metrics-addr", "", "serve Prometheus metrics at http://ADDR/metrics while relaying, e.g. :9100 (turns --progress on unless --progress=false)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: ss-relay --input URI [--output URI] [flags]\n\nCopies messages from one streamer URI to another, keeping their headers.\nTimes: 2022-01-01T00:00:00[.123] (UTC), RFC 3339, 2022-01-01, or -1h (before now).\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	usage := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "ss-relay: "+format+"\n", a...)
		fs.Usage()
		return 2
	}
	if fs.NArg() > 0 {
		return usage("unexpected argument %q", fs.Arg(0))
	}
	if *input == "" {
		return usage("--input is required")
	}
	cfg := relay.Config{
		Input: *input, Output: *output, Replay: *replay, Count: *count, Renumber: *renumber,
		Stderr: stderr,
	}
	switch *offset {
	case "start", "beginning":
		cfg.Start = relay.Start
	case "end":
		cfg.Start = relay.End
	default:
		return usage("--offset must be start or end, not %q", *offset)
	}
	now := time.Now()
	var err error
	if *since != "" {
		if cfg.Since, err = relay.ParseTime(*since, now); err != nil {
			return usage("--since: %v", err)
		}
	}
	if *until != "" {
		if cfg.Until, err = relay.ParseTime(*until, now); err != nil {
			return usage("--until: %v", err)
		}
	}
	if *count < 0 {
		return usage("--count must not be negative")
	}
	if *shard != "" {
		n, err := strconv.ParseUint(*shard, 10, 64)
		if err != nil {
			return usage("--shard must be a shard number, not %q", *shard)
		}
		id := streamer.ShardID(n)
		cfg.Shard = &id
	}
	terminal := isTerminal(os.Stderr)
	if (progress.set && progress.v) || (!progress.set && (terminal || *metricsAddr != "")) {
		if *every <= 0 {
			return usage("--progress-interval must be positive")
		}
		cfg.Progress, cfg.Terminal = *every, terminal
	}

	if *metricsAddr != "" {
		var input atomic.Pointer[streamer.Consumer]
		lag := func(ctx context.Context) ([]streamer.Lag, error) {
			c := input.Load()
			if c == nil {
				return nil, nil // not consuming yet
			}
			return c.Lag(ctx)
		}
		hook, stopMetrics, err := serveMetrics(*metricsAddr, lag, stderr)
		if err != nil {
			fmt.Fprintf(stderr, "ss-relay: --metrics-addr: %v\n", err)
			return 1
		}
		defer stopMetrics()
		cfg.Options = append(cfg.Options, streamer.WithHooks(hook))
		cfg.OnConsumer = input.Store
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		stop() // a second signal kills the process
	}()
	st, err := relay.Run(ctx, cfg)
	if err != nil {
		if errors.Is(err, relay.ErrConfig) {
			return usage("%v", err)
		}
		fmt.Fprintf(stderr, "ss-relay: %v (relayed %d messages)\n", err, st.Relayed)
		return 1
	}
	if st.Interrupted && cfg.Progress == 0 {
		fmt.Fprintf(stderr, "ss-relay: interrupted after relaying %d messages, all flushed\n", st.Relayed)
	}
	return 0
}

// serveMetrics listens on addr and serves /metrics from a registry holding
// the streamer plug-in's metrics (with the input's lag, where its backend
// tells it) and the Go runtime's; it returns the hook to
// give both streamers, and a function that stops the server and waits for it.
// The address is reported on stderr, resolved (":0" picks a free port).
func serveMetrics(addr string, lag func(context.Context) ([]streamer.Lag, error), stderr io.Writer) (streamer.Hook, func(), error) {
	reg := prom.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m, err := prometheus.New(reg, prometheus.Options{Lag: lag})
	if err != nil {
		return nil, nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.Serve(ln) // returns http.ErrServerClosed once stopped
	}()
	fmt.Fprintf(stderr, "ss-relay: serving metrics on http://%s/metrics\n", ln.Addr())
	return m, func() { srv.Close(); <-done }, nil
}

// isTerminal reports whether f is a character device (a terminal).
func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
