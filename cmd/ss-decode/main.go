// Command ss-decode prints a SeaStreamer .ss file as text, exactly as
// SeaStreamer's ss-decode does, with extras for following and filtering.
//
// Usage:
//
//	ss-decode --file F [--format log|ndjson] [--header-only]
//	          [--follow] [--stream KEY]... [--shard N]... [--since TIME]
//	ss-decode --file DIR [--segment N] [the same flags]
//
// Flags:
//
//	--file F         the file or stream directory to decode (required)
//	--segment N      of a stream directory, only segment N
//	--format FMT     log (default) or ndjson
//	--header-only    leave out the payloads
//	--follow         keep printing as the file grows, like tail -f, until
//	                 Ctrl-C or the end-of-stream message
//	--stream KEY     only this stream; repeat it or give a comma list
//	--shard N        only this shard; repeat it or give a comma list
//	--since TIME     only messages at or after TIME, found with the beacon
//	                 seek: RFC 3339, 2023-06-05T13:55:53.001 (UTC), a date,
//	                 or Unix milliseconds
//
// A stream directory (package ssdir) is decoded segment by segment, oldest
// first, each exactly as the file it is: its header line ("# {json}"), its
// messages, and its beacons' markers as comments, as they stand in that
// segment. So the output for a directory is, byte for byte, the outputs for
// its segments one after the other (SeaStreamer's ss-decode run on each
// segment file in turn gives the same), and each header line says where a
// segment starts. --segment N prints only segment N. With --since, the
// segments whose messages are all before TIME (as the seed of the segment
// after says) are left out, header line included. With --follow, the last
// segment is followed, and when the writer rolls over to a new segment (it
// is looked for at the poll interval), the rest of the last one is printed
// and decoding goes on with the new one, until Ctrl-C or an end-of-stream
// message; a segment retention deleted before it could be printed is
// skipped with a warning.
//
// Exit status: 0 when the file was decoded, also when it ends in the middle
// of a message (a warning says where) and when the reader of a pipe goes away
// (ss-decode ... | head); 1 at a damaged message, whose offset and reason go
// to standard error, after every line before it; 2 for bad flags.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/seastream/ss/internal/ssdecode"
	"github.com/seastream/ss/ssfile"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("ss-decode", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o ssdecode.Options
	var formatName, since string
	var segment uint64
	fs.StringVar(&o.Path, "file", "", "decode this `file` or stream directory")
	fs.Uint64Var(&segment, "segment", 0, "of a stream directory, decode only segment `N`")
	fs.StringVar(&formatName, "format", "log", "the output `format`: log or ndjson")
	fs.BoolVar(&o.HeaderOnly, "header-only", false, "if set, skip printing the payload")
	fs.BoolVar(&o.Follow, "follow", false, "keep printing as the file grows, like tail -f")
	fs.Func("stream", "only this stream `key` (repeatable, or a comma list)", func(s string) error {
		for _, k := range strings.Split(s, ",") {
			o.Streams = append(o.Streams, strings.TrimSpace(k))
		}
		return nil
	})
	fs.Func("shard", "only this `shard` (repeatable, or a comma list)", func(s string) error {
		for _, part := range strings.Split(s, ",") {
			n, err := strconv.ParseUint(strings.TrimSpace(part), 10, 64)
			if err != nil {
				return fmt.Errorf("%q is not a shard number", part)
			}
			o.Shards = append(o.Shards, n)
		}
		return nil
	})
	fs.StringVar(&since, "since", "", "only messages at or after this `time` (RFC 3339, 2023-06-05T13:55:53.001 in UTC, a date, or Unix ms)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "ss-decode: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	var err error
	if o.Format, err = ssdecode.ParseFormat(formatName); err != nil {
		fmt.Fprintf(stderr, "ss-decode: %v\n", err)
		return 2
	}
	if since != "" {
		if o.Since, err = ssdecode.ParseTime(since); err != nil {
			fmt.Fprintf(stderr, "ss-decode: %v\n", err)
			return 2
		}
	}
	if err := o.Validate(); err != nil {
		fmt.Fprintf(stderr, "ss-decode: %v\n", err)
		fs.Usage()
		return 2
	}

	// Writes to a closed pipe fail with EPIPE instead of killing the
	// process, so that ss-decode ... | head ends quietly.
	signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE)
	ctx := context.Background()
	if o.Follow {
		var stop context.CancelFunc
		ctx, stop = signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
		defer stop()
	}
	warn := func(path string, w *ssdecode.Warning) { fmt.Fprintf(stderr, "ss-decode: warning: %s: %v\n", path, w) }
	if fi, serr := os.Stat(o.Path); serr == nil && fi.IsDir() {
		err = decodeDir(ctx, o, segment, stdout, warn)
	} else if segment != 0 {
		fmt.Fprintf(stderr, "ss-decode: --segment is for a stream directory; %s is not one\n", o.Path)
		return 2
	} else {
		err = ssdecode.Run(ctx, o, stdout, func(w *ssdecode.Warning) { warn(o.Path, w) })
	}
	switch {
	case err == nil, errors.Is(err, syscall.EPIPE):
		return 0
	case errors.Is(err, ssfile.ErrCorrupt):
		fmt.Fprintf(stderr, "ss-decode: %v\nss-decode: run ss-verify for every problem in the file, ss-repair to keep its valid messages\n", err)
	default:
		fmt.Fprintf(stderr, "ss-decode: %v\n", err)
	}
	return 1
}
