// Command buffered is a processor that works in batches: SeaStreamer's
// buffered example. One goroutine consumes as fast as it can into a bounded
// queue; the main loop takes everything queued at once (waiting only when the
// queue is empty), processes it as one batch, and writes it. Batches grow
// when the input outpaces the processing and shrink to one message when it
// does not, so neither loop waits for a fixed batch size to fill. A full
// queue holds the consumer back, so it is a rate limiter too.
//
//	go run ./cmd/clock --stream clock --interval 100ms --count 30 | go run ./examples/buffered --input stdio:///clock --output stdio:///output
//
// Each message comes out as "[batch N] payload processed". --delay is the
// time each batch takes (a database insert, say), whatever its size.
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

	_ "github.com/seastream/ss/adapters/kafka"
	_ "github.com/seastream/ss/adapters/redis"
	_ "github.com/seastream/ss/adapters/stdio"
	"github.com/seastream/ss/streamer"
	"github.com/seastream/ss/streamer/filedriver"
)

// queueSize bounds the queue between the consumer and the batches, and so
// the size of a batch.
const queueSize = 1024

func main() {
	input := flag.String("input", "", "streamer URI with the stream keys to read (required)")
	output := flag.String("output", "", "streamer URI with one stream key to write, e.g. stdio:///output (required)")
	delay := flag.Duration("delay", time.Second, "time the processing of one batch takes")
	flag.Parse()
	if *input == "" || *output == "" || flag.NArg() > 0 || *delay < 0 {
		fmt.Fprintln(os.Stderr, "buffered: --input URI and --output URI are required; --delay must not be negative")
		flag.Usage()
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *input, *output, *delay); err != nil {
		fmt.Fprintln(os.Stderr, "buffered:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, input, output string, delay time.Duration) (err error) {
	in, err := streamer.Open(ctx, input)
	if err != nil {
		return fmt.Errorf("--input: %w", err)
	}
	defer func() { err = errors.Join(err, in.Close(context.WithoutCancel(ctx))) }()
	c, err := in.NewConsumer(ctx, nil, streamer.WithAutoStreamReset(streamer.ResetEarliest))
	if err != nil {
		return fmt.Errorf("--input: %w", err)
	}
	out, err := streamer.Open(ctx, output,
		streamer.WithDriverOption(filedriver.WithCreate(filedriver.CreateIfMissing)),
		streamer.WithDriverOption(filedriver.WithEOSOnClose(true)))
	if err != nil {
		return fmt.Errorf("--output: %w", err)
	}
	defer func() { err = errors.Join(err, out.Close(context.WithoutCancel(ctx))) }()
	if len(out.URI().Streams) != 1 {
		return fmt.Errorf("--output %s must name one stream key, e.g. stdio:///output", output)
	}
	p, err := out.NewProducer(ctx, "")
	if err != nil {
		return fmt.Errorf("--output: %w", err)
	}

	// The consumer's loop. A message's payload never changes once Next
	// returns it, so messages are queued uncopied.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	queue := make(chan streamer.Message, queueSize)
	consumeErr := make(chan error, 1)
	go func() {
		defer close(queue)
		for msg, err := range c.Messages(ctx) {
			if err != nil {
				consumeErr <- err
				return
			}
			select {
			case queue <- msg: // waits while the queue is full
			case <-ctx.Done():
				return
			}
		}
	}()
	defer func() {
		cancel()
		for range queue { // wait for the consumer's loop to end
		}
	}()

	// The batches' loop.
	batch := make([]streamer.Message, 0, queueSize)
	var buf []byte
	for n := 0; ; n++ {
		msg, ok := <-queue // wait for something to do
		if !ok {
			break
		}
		batch = append(batch[:0], msg)
	take: // everything queued now, without waiting
		for len(batch) < cap(batch) {
			select {
			case msg, ok := <-queue:
				if !ok {
					break take
				}
				batch = append(batch, msg)
			default:
				break take
			}
		}
		if buf, err = process(ctx, p, n, batch, buf, delay); err != nil {
			if ctx.Err() != nil {
				return nil // Ctrl-C
			}
			return err
		}
	}
	select {
	case err := <-consumeErr:
		if ctx.Err() == nil {
			return err
		}
	default:
	}
	return nil
}

// process handles batch number n: it takes delay, as a slow operation on the
// whole batch would, then sends each message as "[batch n] payload processed".
// buf is scratch space, returned for reuse.
func process(ctx context.Context, p *streamer.Producer, n int, batch []streamer.Message, buf []byte, delay time.Duration) ([]byte, error) {
	select {
	case <-time.After(delay):
	case <-ctx.Done():
		return buf, ctx.Err()
	}
	for _, msg := range batch {
		buf = append(strconv.AppendInt(append(buf[:0], "[batch "...), int64(n), 10), "] "...)
		buf = append(append(buf, msg.Payload...), " processed"...)
		// Send does not wait for the message to be stored.
		if _, err := p.Send(ctx, buf); err != nil {
			return buf, err
		}
	}
	return buf, nil
}
