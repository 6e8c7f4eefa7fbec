// Command ss-repair writes a new SeaStreamer .ss file with every valid
// message of a damaged one, and says what it dropped.
//
// Usage:
//
//	ss-repair --file IN --out OUT [--force]
//	ss-repair --file IN --in-place
//	ss-repair --file DIR --out OUTDIR [--force]
//	ss-repair --file DIR --in-place
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
// A stream directory (package ssdir) is repaired segment by segment, oldest
// first, each as a file, into OUTDIR (created; with the same segment names,
// and an existing segment there replaced only with --force) or in place
// (refused while a writer has the directory open: its LOCK). Each segment's
// markers are checked against the state its seed says it goes on from, and
// rebuilt going on from the state the repaired segment before it ended
// with: when a repair drops messages, the running checksums after it
// change, so the seeds after it are rewritten ("DIR/N.seed: the seed is
// rewritten") and every segment's beacons carry the new state. The
// repaired directory verifies clean with ss-verify. A seed file that is
// missing or damaged is rebuilt the same way. A segment that cannot be
// repaired is left out of OUTDIR (left as it is, in place), the exit
// status is 1, and the segment after it goes on from its own seed. A
// segment given alone as IN (NNNNNNNNNNNNNNNNNNNN.ss) is repaired with the
// seed beside it, so that its markers stay those of its directory.
//
// Committed positions of Resumable consumers (IN.<group>.offsets) are left
// as they are: a repair that dropped messages moves the ones after them, and
// a consumer resuming checks that the message recorded before its committed
// offset is still there; when it is not, it finds its position again by
// sequence number through the beacons, so it goes on with the next message
// and skips none. ss-repair says so when it dropped anything.
//
// Exit status: 0 when the repaired file (every segment of a directory) was
// written, 1 when it could not be (a header of which nothing sensible can
// be read: a file shorter than a header, or damage to more than one part of
// it; an I/O error; a directory a writer has open), 2 for bad flags.
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
	fs.StringVar(&in, "file", "", "repair this `file` or stream directory")
	fs.StringVar(&o.Out, "out", "", "write the repaired file (or directory) to this `path`")
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
	if fi, err := os.Stat(in); err == nil && fi.IsDir() {
		return repairDir(in, o, stdout, stderr)
	}
	from, err := segmentSeed(in)
	if err != nil {
		fmt.Fprintf(stderr, "ss-repair: %v\n", err)
		return 1
	}
	o.From = from
	if _, ok := repairFile(in, o, stdout, stderr); !ok {
		return 1
	}
	return 0
}

// repairFile repairs one file and prints its problems and summary; ok is
// false when the repaired file could not be written.
func repairFile(in string, o sscheck.RepairOptions, stdout, stderr io.Writer) (sum sscheck.Summary, ok bool) {
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
		return sum, false
	}
	out := o.Out
	if o.InPlace {
		out = in
	}
	if sum.Problems == 0 {
		fmt.Fprintf(stdout, "%s: nothing to repair; wrote %s: %d messages\n", in, out, sum.Messages)
		return sum, true
	}
	fmt.Fprintf(stdout, "%s: %d problems; wrote %s: kept %d messages, dropped %d damaged messages and %d bytes in all\n",
		in, sum.Problems, out, sum.Messages, sum.LostMessages, sum.LostBytes)
	if sum.LostMessages > 0 || sum.LostBytes > 0 {
		fmt.Fprintf(stdout, "%s: messages after what was dropped have moved: Resumable consumers find their committed positions again by sequence number when they resume\n", out)
	}
	return sum, true
}
