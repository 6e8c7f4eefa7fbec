// Command processor reads a stream from the earliest message, appends
// " processed" to each message and sends it to another stream: SeaStreamer's
// processor example.
//
//	go run ./examples/processor --input file:///tmp/hello.ss/hello --output file:///tmp/hello2.ss/hello2
//	go run ./examples/producer --stream stdio:///hello1 --count 3 | go run ./examples/processor --input stdio:///hello1 --output stdio:///hello2
//	go run ./examples/processor --input kafka://localhost:9092/hello1 --output kafka://localhost:9092/hello2
//
// The output may be on another backend than the input. An output file is
// created if missing and gets an end-of-stream message when the processor
// finishes. The processor stops when its input ends (an end-of-stream message
// in a file, the end of standard input) or at Ctrl-C, after flushing.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	_ "github.com/seastream/ss/adapters/kafka"
	_ "github.com/seastream/ss/adapters/redis"
	_ "github.com/seastream/ss/adapters/stdio"
	"github.com/seastream/ss/streamer"
	"github.com/seastream/ss/streamer/filedriver"
)

func main() {
	input := flag.String("input", "", "streamer URI with the stream keys to read, e.g. kafka://localhost:9092/hello1 (required)")
	output := flag.String("output", "", "streamer URI with one stream key to write, e.g. stdio:///hello2 (required)")
	flag.Parse()
	if *input == "" || *output == "" || flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "processor: --input URI and --output URI are required")
		flag.Usage()
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *input, *output); err != nil {
		fmt.Fprintln(os.Stderr, "processor:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, input, output string) (err error) {
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
	// Closing the output flushes what was sent, even after Ctrl-C.
	defer func() { err = errors.Join(err, out.Close(context.WithoutCancel(ctx))) }()
	if len(out.URI().Streams) != 1 {
		return fmt.Errorf("--output %s must name one stream key, e.g. stdio:///hello2", output)
	}
	p, err := out.NewProducer(ctx, "")
	if err != nil {
		return fmt.Errorf("--output: %w", err)
	}

	var buf []byte
	for msg, err := range c.Messages(ctx) { // ends quietly with the input
		if err != nil {
			if ctx.Err() != nil {
				return nil // Ctrl-C
			}
			return err
		}
		buf = process(buf[:0], msg)
		// Send copies buf and returns without waiting for the message to be
		// stored, so buf can be reused at once.
		if _, err := p.Send(ctx, buf); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
	}
	return nil
}

// process appends the processed message to buf. In a real processor this is
// where the work is.
func process(buf []byte, msg streamer.Message) []byte {
	return append(append(buf, msg.Payload...), " processed"...)
}
