// Command resumable is a processor that commits its position, so that it
// resumes where it stopped when it is run again, or after it is killed:
// SeaStreamer's resumable example. It processes each message at least once:
// it commits a message after its output is stored, so one killed between the
// two processes that message again when it restarts.
//
//	go run ./examples/producer --stream file:///tmp/hello.ss/hello --count 20 --interval 0
//	go run ./examples/resumable --input file:///tmp/hello.ss/hello --output stdio:///hello2 --count 5   # ticks 0 to 4
//	go run ./examples/resumable --input file:///tmp/hello.ss/hello --output stdio:///hello2 --count 5   # ticks 5 to 9
//
// The input must be a backend that keeps positions: file://, kafka:// or
// redis:// (stdio:// cannot). On files the position of group G is kept in
// <file>.G.offsets beside the file; delete it to start again.
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
	input := flag.String("input", "", "streamer URI with the stream keys to read: file://, kafka:// or redis:// (required)")
	output := flag.String("output", "", "streamer URI with one stream key to write, e.g. stdio:///hello2 (required)")
	group := flag.String("group", "resumable", "consumer group: the name under which the position is committed")
	count := flag.Int("count", 0, "stop after processing this many messages; 0 runs until the input ends")
	flag.Parse()
	if *input == "" || *output == "" || flag.NArg() > 0 || *count < 0 {
		fmt.Fprintln(os.Stderr, "resumable: --input URI and --output URI are required; --count must not be negative")
		flag.Usage()
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *input, *output, *group, *count); err != nil {
		fmt.Fprintln(os.Stderr, "resumable:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, input, output, group string, count int) (err error) {
	in, err := streamer.Open(ctx, input)
	if err != nil {
		return fmt.Errorf("--input: %w", err)
	}
	defer func() { err = errors.Join(err, in.Close(context.WithoutCancel(ctx))) }()
	// Without a committed position the group starts at the earliest message.
	c, err := in.NewConsumer(ctx, nil, streamer.WithMode(streamer.Resumable), streamer.WithGroup(group),
		streamer.WithAutoStreamReset(streamer.ResetEarliest))
	if err != nil {
		return fmt.Errorf("--input: %w", err)
	}
	out, err := streamer.Open(ctx, output, streamer.WithDriverOption(filedriver.WithCreate(filedriver.CreateIfMissing)))
	if err != nil {
		return fmt.Errorf("--output: %w", err)
	}
	defer func() { err = errors.Join(err, out.Close(context.WithoutCancel(ctx))) }()
	if len(out.URI().Streams) != 1 {
		return fmt.Errorf("--output %s must name one stream key, e.g. stdio:///hello2", output)
	}
	p, err := out.NewProducer(ctx, "")
	if err != nil {
		return fmt.Errorf("--output: %w", err)
	}

	var buf []byte
	for n := 0; count == 0 || n < count; n++ {
		msg, err := c.Next(ctx)
		if errors.Is(err, streamer.ErrStreamEnded) || ctx.Err() != nil {
			return nil // the end of the input, or Ctrl-C
		}
		if err != nil {
			return err
		}
		buf = append(append(buf[:0], msg.Payload...), " processed"...)
		r, err := p.Send(ctx, buf)
		if err != nil {
			return err
		}
		// Commit only once the output is stored: a crash before this line
		// makes the next run process msg again, never skip it. Committing
		// every message is for the demo; a real processor commits every so
		// many messages or seconds.
		if _, err := r.Wait(ctx); err != nil {
			return err
		}
		if err := c.Commit(ctx); err != nil {
			return err
		}
	}
	return nil
}
