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
// Each F is a file, a stream directory (package ssdir) or a segment of one.
// A directory is verified segment by segment, oldest first, each from its
// seed file (the state it goes on from: every stream's sequence number,
// timestamp and running checksum, and the markers written), so a segment
// checks as strictly as a whole file; and the seeds must chain: each one
// must be the state the segment before it ended with. A seed that does not
// chain, is damaged or is missing where the segment before cannot rebuild
// it, and a segment missing between two others, are printed as problems of
// the seed file ("DIR/N.seed: ..."). The oldest segment left after
// retention goes on from its seed unchecked. A missing seed after a sound
// segment is a note: the state is rebuilt from that segment, as the
// directory's writer does. Then a line sums up the directory. A segment
// given alone (NNNNNNNNNNNNNNNNNNNN.ss) is verified from the seed file
// beside it, when there is one.
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
	fs.StringVar(&file, "file", "", "verify this `file`, stream directory or segment")
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

// verify verifies a file, a segment of a stream directory (from the seed
// beside it) or a stream directory.
func verify(path string, stdout, stderr io.Writer, opts []sscheck.Option) int {
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return verifyDir(path, stdout, stderr, opts)
	}
	from, status := segmentSeed(path, stdout)
	return max(status, verifyFile(path, stdout, stderr, append(opts[:len(opts):len(opts)], from...)).status)
}

type result struct {
	status int
	sum    sscheck.Summary
}

// verifyFile verifies one file and prints its problems and summary.
func verifyFile(path string, stdout, stderr io.Writer, opts []sscheck.Option) result {
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
		return result{1, sum}
	case err != nil:
		fmt.Fprintf(stderr, "ss-verify: %s: %v\n", path, err)
		return result{2, sum}
	}
	if sum.Problems == 0 {
		back := ""
		if sum.SeqBack > 0 {
			back = fmt.Sprintf("; %d sequence numbers do not go up (a problem only with --strict)", sum.SeqBack)
		}
		fmt.Fprintf(stdout, "%s: OK: %d messages, %d streams, %d beacons, %d bytes%s\n", path, sum.Messages, sum.Streams, sum.Beacons, sum.Size, back)
		return result{0, sum}
	}
	fmt.Fprintf(stdout, "%s: %d problems: %d valid messages, %d messages and %d bytes lost (ss-repair keeps the valid messages)\n",
		path, sum.Problems, sum.Messages, sum.LostMessages, sum.LostBytes)
	return result{1, sum}
}
