// Command ss-verify checks SeaStreamer .ss files: every payload against its
// checksum, the structure of every message frame and beacon, every beacon
// marker (running checksum, maximum sequence number and timestamp, and the
// writer's round-robin) against the messages before it, and with --strict
// the order of sequence numbers in each (stream key, shard). It reads the
// files through a memory mapping and never changes them.
//
// Usage:
//
//	ss-verify [--quiet] [--strict] --file F
//	ss-verify [--quiet] [--strict] F...
//
// Any order of sequence numbers and timestamps is sound: SeaStreamer's
// MessageSink writes any shard, sequence number and timestamp (the summary
// counts the sequence numbers that do not go up), and relays keep Kafka
// offsets with their gaps. --strict checks what holds for files written by
// SeaStreamer's producers, package streamer or any writer that numbers each
// (stream key, shard) 1, 2, 3, …: each sequence number is one more than the
// previous one, and timestamps never go back. Format v1 has no checksum over
// message headers, so these checks are what finds most damaged sequence
// numbers, shards, keys and timestamps.
//
// A file SeaStreamer closed and reopened to append is sound: its markers
// start again at the reopen (rotating over the streams written since, with
// running checksums restarted as SeaStreamer's MessageSink or producer
// restarts them), which is printed as "F: note: offset N: ..." with the
// exit status 0.
//
// Each problem is printed on standard output as "F: offset N: what", then a
// summary line per file. Damage does not stop the check: after an unreadable
// frame it resumes at the messages after it, or when they cannot be found
// at the next readable beacon, as ss-repair does.
//
// Exit status: 0 when every file is sound, 1 when a problem was found (a torn
// tail included), 2 for bad flags or a file that cannot be opened.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/seastream/ss/internal/sscheck"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("ss-verify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var file string
	var quiet, strict bool
	fs.StringVar(&file, "file", "", "verify this `file`")
	fs.BoolVar(&quiet, "quiet", false, "print nothing; only the exit status tells")
	fs.BoolVar(&strict, "strict", false, "also require each sequence number to be one more than the previous one of its (stream key, shard), and timestamps never to go back")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	files := fs.Args()
	if file != "" {
		files = append([]string{file}, files...)
	}
	if len(files) == 0 {
		fmt.Fprintln(stderr, "ss-verify: no file given")
		fs.Usage()
		return 2
	}
	if quiet {
		stdout = io.Discard
	}
	var opts []sscheck.Option
	if strict {
		opts = append(opts, sscheck.Strict())
	}
	status := 0
	for _, f := range files {
		status = max(status, verify(f, stdout, stderr, opts))
	}
	return status
}

func verify(path string, stdout, stderr io.Writer, opts []sscheck.Option) int {
	sum, err := sscheck.ScanFile(path, sscheck.Visitor{
		Problem: func(p *sscheck.Problem) error {
			_, err := fmt.Fprintf(stdout, "%s: %v\n", path, p)
			return err
		},
		Note: func(n *sscheck.Note) error {
			_, err := fmt.Fprintf(stdout, "%s: note: %v\n", path, n)
			return err
		},
	}, opts...)
	switch {
	case errors.Is(err, sscheck.ErrHeader):
		fmt.Fprintf(stdout, "%s: offset 0: %v\n", path, err)
		return 1
	case err != nil:
		fmt.Fprintf(stderr, "ss-verify: %s: %v\n", path, err)
		return 2
	}
	if sum.Problems == 0 {
		back := ""
		if sum.SeqBack > 0 {
			back = fmt.Sprintf("; %d sequence numbers do not go up (a problem only with --strict)", sum.SeqBack)
		}
		fmt.Fprintf(stdout, "%s: OK: %d messages, %d streams, %d beacons, %d bytes%s\n", path, sum.Messages, sum.Streams, sum.Beacons, sum.Size, back)
		return 0
	}
	fmt.Fprintf(stdout, "%s: %d problems: %d valid messages, %d messages and %d bytes lost (ss-repair keeps the valid messages)\n",
		path, sum.Problems, sum.Messages, sum.LostMessages, sum.LostBytes)
	return 1
}
