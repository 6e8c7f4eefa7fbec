// Command blocking is a processor that runs CPU-bound work in a pool of
// worker goroutines and still writes its output in input order:
// SeaStreamer's blocking example, which fans out to threads (and lets the
// output come out of order). Messages are read into a bounded ring of jobs;
// any free worker takes the next job, and the writer waits for the jobs in
// the order they were read. The ring bounds how far the work runs ahead of
// the output, and holds the consumer back when it is full.
//
//	go run ./cmd/clock --stream clock --interval 100ms --count 30 | go run ./examples/blocking --input stdio:///clock --output stdio:///output --work 300ms
//
// Each message comes out as "[worker N] payload processed". Its work is a
// random share of --work of computing (hashes), so that messages finish out
// of order and the ordering shows.
package main

import (
	"context"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"syscall"
	"time"

	_ "github.com/seastream/ss/adapters/kafka"
	_ "github.com/seastream/ss/adapters/redis"
	_ "github.com/seastream/ss/adapters/stdio"
	"github.com/seastream/ss/streamer"
	"github.com/seastream/ss/streamer/filedriver"
)

func main() {
	input := flag.String("input", "", "streamer URI with the stream keys to read (required)")
	output := flag.String("output", "", "streamer URI with one stream key to write, e.g. stdio:///output (required)")
	workers := flag.Int("workers", 4, "number of worker goroutines")
	work := flag.Duration("work", time.Second, "the most CPU time the work on one message takes")
	flag.Parse()
	if *input == "" || *output == "" || flag.NArg() > 0 || *workers < 1 || *work < 0 {
		fmt.Fprintln(os.Stderr, "blocking: --input URI and --output URI are required; --workers must be at least 1, --work not negative")
		flag.Usage()
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *input, *output, *workers, *work); err != nil {
		fmt.Fprintln(os.Stderr, "blocking:", err)
		os.Exit(1)
	}
}

// A job is one message on its way through a worker. Jobs are reused, so
// nothing is allocated per message.
type job struct {
	msg  streamer.Message
	out  []byte        // the worker's output
	done chan struct{} // receives once out is ready; capacity 1
}

func run(ctx context.Context, input, output string, workers int, work time.Duration) (err error) {
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

	// The ring: free hands out jobs in the order the writer gives them
	// back, which is the order they were read.
	jobs := make([]job, 4*workers)
	free := make(chan *job, len(jobs))
	for i := range jobs {
		jobs[i].done = make(chan struct{}, 1)
		free <- &jobs[i]
	}
	todo := make(chan *job, len(jobs))  // to the workers
	order := make(chan *job, len(jobs)) // to the writer, in input order

	// The consumer's loop. A message's payload never changes once Next
	// returns it, so it is not copied.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	consumeErr := make(chan error, 1)
	go func() {
		defer close(order)
		defer close(todo)
		for msg, err := range c.Messages(ctx) {
			if err != nil {
				consumeErr <- err
				return
			}
			var j *job
			select {
			case j = <-free: // waits while every job is taken
			case <-ctx.Done():
				return
			}
			j.msg = msg
			todo <- j // neither blocks: at most len(jobs) are out
			order <- j
		}
	}()
	var wg sync.WaitGroup
	for i := range workers {
		wg.Go(func() {
			for j := range todo {
				j.out = process(j.out[:0], i, j.msg, work)
				j.done <- struct{}{}
			}
		})
	}
	defer func() {
		cancel()
		for range order { // wait for the consumer's loop to end
		}
		wg.Wait()
	}()

	// The writer.
	for j := range order {
		<-j.done
		_, err := p.Send(ctx, j.out) // Send copies j.out
		if err != nil {
			if ctx.Err() != nil {
				return nil // Ctrl-C
			}
			return err
		}
		free <- j
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

// process is the CPU-bound work of worker i on msg: it hashes for a random
// share of work, then appends "[worker i] payload processed" to buf.
func process(buf []byte, i int, msg streamer.Message, work time.Duration) []byte {
	if work > 0 {
		deadline := time.Now().Add(rand.N(work))
		sum := sha256.Sum256(msg.Payload)
		for time.Now().Before(deadline) {
			for range 100 {
				sum = sha256.Sum256(sum[:])
			}
		}
	}
	buf = append(strconv.AppendInt(append(buf, "[worker "...), int64(i), 10), "] "...)
	return append(append(buf, msg.Payload...), " processed"...)
}
