// Command ss-decode prints a SeaStreamer .ss file as text, exactly as
// SeaStreamer's ss-decode does, with extras for following and filtering.
//
// Usage:
//
//	ss-decode --file F [--format log|ndjson] [--header-only]
//	          [--follow] [--stream KEY]... [--shard N]... [--since TIME]
//
// Flags:
//
//	--file F         the file to decode (required)
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
	fs.StringVar(&o.Path, "file", "", "decode this `file`")
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
	warn := func(w *ssdecode.Warning) { fmt.Fprintf(stderr, "ss-decode: warning: %s: %v\n", o.Path, w) }
	err = ssdecode.Run(ctx, o, stdout, warn)
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
