// Command ss-repair writes a new SeaStreamer .ss file with every valid
// message of a damaged one, and says what it dropped.
//
// Usage:
//
//	ss-repair --file IN --out OUT [--force]
//	ss-repair --file IN --in-place
//
// It keeps every message whose frame is intact and whose payload matches its
// checksum, in order, with the header of the input (file name, creation time,
// beacon interval), and rebuilds the beacons by the writer's rules. A damaged
// header is rewritten as the rest of it and the file confirm: bad magic
// bytes, version, padding or terminator are written right, and a damaged name
// length or beacon interval is replaced by the one bit away from it under
// which the beacons stand where they should and the file reads soundly. A
// sound file is rewritten byte for byte. It cuts a torn tail, drops a message whose
// payload fails its checksum, and skips an unreadable frame by resuming at the
// messages after it, or when they cannot be found at the next readable
// beacon. A message whose sequence number is out of order is kept (its
// header or its neighbour's may be damaged; nothing tells which). Each
// problem is printed on standard output as "IN: offset N: what", with what
// it cost, then a summary.
//
// The input is never modified unless --in-place, which writes a temporary
// file and renames it over the input (refused while a writer has the file
// open). OUT is written the same way, so a crash never leaves a partial file;
// an existing OUT is replaced only with --force.
//
// Committed positions of Resumable consumers (IN.<group>.offsets) are left
// as they are: a repair that dropped messages moves the ones after them, and
// a consumer resuming checks that the message recorded before its committed
// offset is still there; when it is not, it finds its position again by
// sequence number through the beacons, so it goes on with the next message
// and skips none. ss-repair says so when it dropped anything.
//
// Exit status: 0 when the repaired file was written, 1 when it could not be
// (a header of which nothing sensible can be read: a file shorter than a
// header, or damage to more than one part of it; an I/O error), 2 for bad
// flags.
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
	fs := flag.NewFlagSet("ss-repair", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var in string
	var o sscheck.RepairOptions
	fs.StringVar(&in, "file", "", "repair this `file`")
	fs.StringVar(&o.Out, "out", "", "write the repaired file to this `path`")
	fs.BoolVar(&o.Force, "force", false, "replace the output file if it exists")
	fs.BoolVar(&o.InPlace, "in-place", false, "replace the input file (through a temporary file and a rename)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	switch {
	case fs.NArg() > 0:
		fmt.Fprintf(stderr, "ss-repair: unexpected argument %q\n", fs.Arg(0))
		return 2
	case in == "":
		fmt.Fprintln(stderr, "ss-repair: no --file given")
		fs.Usage()
		return 2
	case o.Out == "" && !o.InPlace:
		fmt.Fprintln(stderr, "ss-repair: give --out PATH, or --in-place to replace the input")
		return 2
	case o.Out != "" && o.InPlace:
		fmt.Fprintln(stderr, "ss-repair: give --out or --in-place, not both")
		return 2
	}
	sum, err := sscheck.Repair(in, o, func(p *sscheck.Problem) error {
		lost := "nothing lost"
		switch {
		case p.Message != nil:
			lost = fmt.Sprintf("dropped 1 message (%d bytes)", p.Lost())
		case p.Lost() > 0:
			lost = fmt.Sprintf("dropped bytes %d to %d (%d bytes)", p.Offset, p.End, p.Lost())
		}
		_, err := fmt.Fprintf(stdout, "%s: %v: %s\n", in, p, lost)
		return err
	})
	if err != nil {
		fmt.Fprintf(stderr, "ss-repair: %v\n", err)
		return 1
	}
	out := o.Out
	if o.InPlace {
		out = in
	}
	if sum.Problems == 0 {
		fmt.Fprintf(stdout, "%s: nothing to repair; wrote %s: %d messages\n", in, out, sum.Messages)
		return 0
	}
	fmt.Fprintf(stdout, "%s: %d problems; wrote %s: kept %d messages, dropped %d damaged messages and %d bytes in all\n",
		in, sum.Problems, out, sum.Messages, sum.LostMessages, sum.LostBytes)
	if sum.LostMessages > 0 || sum.LostBytes > 0 {
		fmt.Fprintf(stdout, "%s: messages after what was dropped have moved: Resumable consumers find their committed positions again by sequence number when they resume\n", out)
	}
	return 0
}
