// Command ss-demo is the quick start: it records a stream into a local .ss
// file, replays it, and seeks back to a point in time, with no server.
//
//	go run ./cmd/ss-demo [-file demo.ss] [-n 10000]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"time"

	"github.com/seastream/ss/format"
	"github.com/seastream/ss/ssfile"
)

func main() {
	path := flag.String("file", "demo.ss", "the .ss file to write (overwritten)")
	n := flag.Int("n", 10000, "how many messages to record")
	flag.Parse()
	log.SetFlags(0)
	if err := run(*path, *n); err != nil {
		log.Fatal(err)
	}
}

func run(path string, n int) error {
	ctx := context.Background()
	start := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

	// Record: one message every 10ms of event time, over two streams.
	w, err := ssfile.Create(path, ssfile.WithEndOfStream())
	if err != nil {
		return err
	}
	for i := 1; i <= n; i++ {
		key := []string{"orders", "payments"}[i%2]
		ts := start.Add(time.Duration(i) * 10 * time.Millisecond)
		payload := fmt.Sprintf(`{"n":%d,"stream":%q}`, i, key)
		h := format.MessageHeader{StreamKey: key, SeqNo: uint64(i/2 + 1), Timestamp: uint64(ts.UnixMilli())}
		if err := w.Write(h, []byte(payload)); err != nil {
			return err
		}
	}
	if err := w.Close(); err != nil {
		return err
	}
	fi, _ := os.Stat(path)
	fmt.Printf("recorded %d messages into %s (%d bytes)\n", n, path, fi.Size())

	// Replay everything, verifying every checksum.
	r, err := ssfile.Open(path)
	if err != nil {
		return err
	}
	defer r.Close()
	count := 0
	for m, err := range r.Messages(ctx) {
		if err != nil {
			return err
		}
		if !m.IsEndOfStream() {
			count++
		}
	}
	fmt.Printf("replayed %d messages\n", count)

	// Seek to a point in time through the beacons, and read from there.
	at := start.Add(time.Duration(n/2) * 10 * time.Millisecond)
	if err := r.Seek(ssfile.TimeTarget("orders", 0, at)); err != nil {
		return err
	}
	fmt.Printf("after %s:\n", at.Format(time.RFC3339Nano))
	for i := 0; i < 3; i++ {
		m, err := r.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		fmt.Printf("  [%s | %s | %d] %s\n", m.Time().Format("15:04:05.000"), m.StreamKey, m.SeqNo, m.Payload)
	}
	return nil
}
