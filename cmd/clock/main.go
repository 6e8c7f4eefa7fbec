// Command clock generates a stream of ticks, for demos and benchmarks, as
// SeaStreamer's clock does: messages { "tick": N } counting from 0, one per
// interval, to any streamer URI (standard output by default).
//
// Usage:
//
//	clock [--stream clock|URI] [--interval 1s] [--count N] [--output URI]
//
// Examples:
//
//	clock --stream clock --interval 1s
//	[2022-12-06T18:31:23 | clock | 0] { "tick": 0 }
//	[2022-12-06T18:31:24 | clock | 1] { "tick": 1 }
//
//	clock --interval 0 --count 1000000 | ss-relay --input stdio:///clock --output file://clock.ss/clock
//	clock --interval 100ms --output kafka://localhost:9092/clock
//	clock --interval 100ms --stream kafka://localhost:9092/clock   # the same, as SeaStreamer's producer takes it
//
// Flags:
//
//	--stream    stream key of the ticks (default: the output URI's, else "clock"); a
//	            value with "://" is a URI with one stream key, used as --output
//	--interval  time between ticks: 1s, 100ms, 10us; 0 sends as fast as possible (default 1s)
//	--count     stop after N ticks; 0 runs until interrupted (default 0)
//	--output    where to send the ticks (default stdio:///<stream>); a file is
//	            created if missing
//
// Ctrl-C (SIGINT) or SIGTERM stops the clock after flushing what it sent.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	_ "github.com/seastream/ss/internal/allbackends"
	"github.com/seastream/ss/streamer"
	"github.com/seastream/ss/streamer/filedriver"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stderr))
}

// run is the command; it returns the exit status: 0, 1 on error, 2 on a
// usage error.
func run(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("clock", flag.ContinueOnError)
	fs.SetOutput(stderr)
	stream := fs.String("stream", "", "stream key of the ticks (default: the output URI's, else \"clock\"), or a URI with one stream key to send them to")
	interval := fs.Duration("interval", time.Second, "time between ticks, e.g. 1s, 100ms; 0 sends as fast as possible")
	count := fs.Int64("count", 0, "stop after this many ticks; 0 runs until interrupted")
	output := fs.String("output", "", "streamer URI to send the ticks to (default stdio:///<stream>)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: clock [--stream KEY|URI] [--interval 1s] [--count N] [--output URI]\n\nSends { \"tick\": N } messages, N counting from 0, one per interval.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "clock: unexpected argument %q\n", fs.Arg(0))
		fs.Usage()
		return 2
	}
	if strings.Contains(*stream, "://") {
		// A URI, as SeaStreamer's producer takes: the stream is its key.
		if *output != "" {
			fmt.Fprintln(stderr, "clock: --stream URI and --output URI both say where to send: give one")
			return 2
		}
		u, err := streamer.ParseURI(*stream)
		if err != nil {
			fmt.Fprintf(stderr, "clock: --stream: %v\n", err)
			return 2
		}
		if len(u.Streams) != 1 {
			fmt.Fprintf(stderr, "clock: --stream %s must name one stream key, e.g. file://clock.ss/clock\n", *stream)
			return 2
		}
		*output, *stream = *stream, ""
	}
	if *interval < 0 || *count < 0 {
		fmt.Fprintln(stderr, "clock: --interval and --count must not be negative")
		return 2
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		stop() // a second signal kills the process
	}()
	if err := tick(ctx, *output, *stream, *interval, *count); err != nil {
		fmt.Fprintf(stderr, "clock: %v\n", err)
		return 1
	}
	return 0
}

// tick sends the ticks; it returns nil when count ticks are sent or ctx is
// cancelled, after flushing.
func tick(ctx context.Context, output, stream string, interval time.Duration, count int64) (err error) {
	if output == "" {
		if stream == "" {
			stream = "clock"
		}
		output = "stdio:///" + stream
	}
	s, err := streamer.Open(ctx, output, streamer.WithDriverOption(filedriver.WithCreate(filedriver.CreateIfMissing)))
	if err != nil {
		return err
	}
	closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	defer func() {
		if cerr := s.Close(closeCtx); err == nil && cerr != nil && !errors.Is(cerr, streamer.ErrClosed) {
			err = cerr
		}
	}()
	key := streamer.StreamKey(stream)
	if key == "" {
		if ks := s.URI().Streams; len(ks) == 1 {
			key = ks[0]
		} else {
			key = "clock"
		}
	}
	p, err := s.NewProducer(ctx, key)
	if err != nil {
		return err
	}
	var ticker *time.Ticker
	if interval > 0 {
		ticker = time.NewTicker(interval)
		defer ticker.Stop()
	}
	var buf []byte
	for n := int64(0); count == 0 || n < count; n++ {
		if n > 0 && ticker != nil {
			select {
			case <-ticker.C:
			case <-ctx.Done():
			}
		}
		if ctx.Err() != nil {
			break
		}
		buf = fmt.Appendf(buf[:0], `{ "tick": %d }`, n)
		if _, err := p.Send(ctx, buf); err != nil {
			if ctx.Err() != nil {
				break
			}
			return err
		}
	}
	return p.End(closeCtx)
}
