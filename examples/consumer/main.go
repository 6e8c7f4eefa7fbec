// Command consumer prints every message of one or more streams, from the
// earliest, as "[timestamp | stream | seq | shard] payload": SeaStreamer's
// consumer example.
//
//	go run ./examples/consumer --stream file:///tmp/hello.ss/hello
//	go run ./examples/consumer --stream kafka://localhost:9092/hello
//	go run ./examples/producer --stream stdio:///hello --count 3 | go run ./examples/consumer --stream stdio:///hello
//
// It follows the streams until they end (an end-of-stream message in a file,
// the end of standard input) or Ctrl-C.
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
)

func main() {
	stream := flag.String("stream", "", "streamer URI with the stream keys to read, e.g. file:///tmp/hello.ss/hello (required)")
	flag.Parse()
	if *stream == "" || flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "consumer: --stream URI is required")
		flag.Usage()
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *stream); err != nil {
		fmt.Fprintln(os.Stderr, "consumer:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, uri string) (err error) {
	s, err := streamer.Open(ctx, uri)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, s.Close(context.WithoutCancel(ctx))) }()
	c, err := s.NewConsumer(ctx, nil, streamer.WithAutoStreamReset(streamer.ResetEarliest))
	if err != nil {
		return err
	}
	for msg, err := range c.Messages(ctx) { // ends quietly with the stream
		if err != nil {
			if ctx.Err() != nil {
				return nil // Ctrl-C
			}
			return err
		}
		// One write per line, so that a pipeline shows each as it comes.
		if _, err := fmt.Printf("%s %s\n", msg.Header, msg.Payload); err != nil {
			return err
		}
	}
	return nil
}
