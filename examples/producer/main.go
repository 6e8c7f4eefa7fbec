// Command producer sends "tick 0", "tick 1", ... (JSON strings) to a stream,
// one per interval: SeaStreamer's producer example.
//
//	go run ./examples/producer --stream file:///tmp/hello.ss/hello --count 10 --interval 100ms
//	go run ./examples/producer --stream stdio:///hello
//	go run ./examples/producer --stream kafka://localhost:9092/hello
//	go run ./examples/producer --stream redis://localhost:6379/hello
//
// A file is created if missing, and gets an end-of-stream message when the
// producer finishes (?eos=false leaves it out), so that a consumer or
// processor reading the file stops there, as one reading a pipe stops at its
// end. Ctrl-C stops the producer after flushing what it sent.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	// Backends other than file:// register their scheme when imported.
	_ "github.com/seastream/ss/adapters/kafka"
	_ "github.com/seastream/ss/adapters/redis"
	_ "github.com/seastream/ss/adapters/stdio"
	"github.com/seastream/ss/streamer"
	"github.com/seastream/ss/streamer/filedriver"
)

func main() {
	stream := flag.String("stream", "", "streamer URI with one stream key, e.g. file:///tmp/hello.ss/hello or kafka://localhost:9092/hello (required)")
	count := flag.Int("count", 100, "number of ticks to send; 0 sends until interrupted")
	interval := flag.Duration("interval", time.Second, "time between ticks; 0 sends as fast as possible")
	flag.Parse()
	if *stream == "" || flag.NArg() > 0 || *count < 0 || *interval < 0 {
		fmt.Fprintln(os.Stderr, "producer: --stream URI is required; --count and --interval must not be negative")
		flag.Usage()
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *stream, *count, *interval); err != nil {
		fmt.Fprintln(os.Stderr, "producer:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, uri string, count int, interval time.Duration) (err error) {
	s, err := streamer.Open(ctx, uri,
		streamer.WithDriverOption(filedriver.WithCreate(filedriver.CreateIfMissing)),
		streamer.WithDriverOption(filedriver.WithEOSOnClose(true)))
	if err != nil {
		return err
	}
	// Closing flushes what was sent, even after Ctrl-C cancelled ctx.
	defer func() { err = errors.Join(err, s.Close(context.WithoutCancel(ctx))) }()
	if len(s.URI().Streams) != 1 {
		return fmt.Errorf("--stream %s must name one stream key, e.g. stdio:///hello", uri)
	}
	p, err := s.NewProducer(ctx, "") // the URI's stream
	if err != nil {
		return err
	}
	var buf []byte
	for tick := 0; count == 0 || tick < count; tick++ {
		if tick > 0 && interval > 0 {
			select {
			case <-time.After(interval):
			case <-ctx.Done():
				return nil
			}
		}
		buf = append(strconv.AppendInt(append(buf[:0], `"tick `...), int64(tick), 10), '"')
		// Send queues the message and returns: it blocks only when the
		// backend's buffer is full.
		if _, err := p.Send(ctx, buf); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
	}
	return nil
}
