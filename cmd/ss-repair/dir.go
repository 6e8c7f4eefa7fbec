package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/seastream/ss/internal/regfile"
	"github.com/seastream/ss/internal/sscheck"
	"github.com/seastream/ss/ssdir"
)

// repairDir repairs every segment of the stream directory dir, oldest
// first, into the directory o.Out or in place, and rechains the seeds: a
// segment goes on from the state the repaired segment before it ended
// with, so that the repaired directory verifies clean.
func repairDir(dir string, o sscheck.RepairOptions, stdout, stderr io.Writer) int {
	out := o.Out
	if o.InPlace {
		out = dir
		// The directory's LOCK (see ssdir) keeps its writer out while the
		// segments and seeds are rewritten: a writer would go on from the
		// state it holds, not the repaired one.
		lock, err := regfile.OpenLocked(filepath.Join(dir, "LOCK"), os.O_RDWR|os.O_CREATE, 0o644, ssdir.ErrLocked)
		if err != nil {
			fmt.Fprintf(stderr, "ss-repair: %s: %v (a writer has the directory open; close it first)\n", dir, err)
			return 1
		}
		defer lock.Close()
	} else if err := outDir(dir, out, o.Force); err != nil {
		fmt.Fprintf(stderr, "ss-repair: %v\n", err)
		return 1
	}
	segs, err := ssdir.Segments(dir)
	if err != nil {
		fmt.Fprintf(stderr, "ss-repair: %v\n", err)
		return 1
	}
	if len(segs) == 0 {
		fmt.Fprintf(stderr, "ss-repair: %s: no segment files (NNNNNNNNNNNNNNNNNNNN.ss) in the directory\n", dir)
		return 1
	}
	status := 0
	var chain *sscheck.State // the state the next repaired segment goes on from, nil when not known
	var prevEnd *sscheck.State
	var prevN uint64
	var kept, dropped int64
	written, rechained := 0, 0
	for _, seg := range segs {
		from := inputSeed(dir, seg.Number, prevEnd, prevN, stdout)
		outFrom := from
		if chain != nil && prevN == seg.Number-1 {
			outFrom = chain
		}
		ro := sscheck.RepairOptions{Force: o.Force, From: from, OutFrom: outFrom, InPlace: o.InPlace}
		target := seg.Path
		if !o.InPlace {
			target = filepath.Join(out, filepath.Base(seg.Path))
			ro.Out = target
		}
		sum, ok := repairFile(seg.Path, ro, stdout, stderr)
		prevEnd, prevN, chain = sum.End, seg.Number, nil
		if !ok {
			status = 1 // left out (or as it was, in place): the next one goes on from its own seed
			continue
		}
		written++
		kept += sum.Messages
		dropped += sum.LostMessages
		changed, err := writeSeed(dir, out, seg.Number, outFrom)
		if err != nil {
			fmt.Fprintf(stderr, "ss-repair: %v\n", err)
			status = 1
			continue
		}
		if changed {
			fmt.Fprintf(stdout, "%s: the seed is rewritten: the segment goes on from the state the repaired segment before it ended with\n", ssdir.SeedPath(out, seg.Number))
			rechained++
		}
		// What the repaired segment ends with, read back from it.
		var opts []sscheck.Option
		if outFrom != nil {
			opts = append(opts, sscheck.From(*outFrom))
		}
		if osum, err := sscheck.ScanFile(target, sscheck.Visitor{}, opts...); err == nil && osum.Problems == 0 {
			chain = osum.End
		} else {
			fmt.Fprintf(stderr, "ss-repair: %s: the repaired segment does not read back clean (%v, %d problems); the next one goes on from its own seed\n", target, err, osum.Problems)
			status = 1
		}
	}
	fmt.Fprintf(stdout, "%s: wrote %s: %d of %d segments, kept %d messages, dropped %d damaged messages, %d seeds rewritten\n", dir, out, written, len(segs), kept, dropped, rechained)
	return status
}

// outDir makes the output directory out, refusing the input itself and,
// without force, one that already holds segments.
func outDir(dir, out string, force bool) error {
	if din, err := os.Stat(dir); err == nil {
		if dout, err := os.Stat(out); err == nil && os.SameFile(din, dout) {
			return fmt.Errorf("repair: the output %s is the input; repair in place to replace it", out)
		}
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return fmt.Errorf("repair: %w", err)
	}
	if segs, err := ssdir.Segments(out); err != nil {
		return err
	} else if len(segs) > 0 && !force {
		return fmt.Errorf("repair: %s already holds segments: %w (force to replace them)", out, fs.ErrExist)
	}
	return nil
}

// inputSeed returns the state segment n of dir goes on from as written:
// its seed, or when that is missing or damaged the state the segment before
// ended with (prevEnd, of segment prevN), or nothing.
func inputSeed(dir string, n uint64, prevEnd *sscheck.State, prevN uint64, stdout io.Writer) *sscheck.State {
	seed, err := ssdir.ReadSeed(dir, n)
	if err == nil {
		st := seed
		return &st
	}
	if !errors.Is(err, fs.ErrNotExist) {
		fmt.Fprintf(stdout, "%s: the seed file is damaged (%v); it is rewritten\n", ssdir.SeedPath(dir, n), err)
	}
	if prevEnd != nil && prevN == n-1 {
		return prevEnd
	}
	return nil
}

// writeSeed writes st (nil: no stream) as the seed of repaired segment n
// into out, and says whether it differs from the seed of segment n in the
// input directory in: in place (in is out), only then.
func writeSeed(in, out string, n uint64, st *sscheck.State) (changed bool, err error) {
	var want sscheck.State
	if st != nil {
		want = *st
	}
	old, err := ssdir.ReadSeed(in, n)
	changed = err != nil || !same(old, want)
	if errors.Is(err, fs.ErrNotExist) && n == 1 && st == nil {
		changed = false // a first segment without a seed goes on from nothing
	}
	if in == out && !changed {
		return false, nil
	}
	return changed, ssdir.WriteSeed(out, n, want)
}

func same(a, b sscheck.State) bool {
	if a.MarkersWritten != b.MarkersWritten || len(a.Streams) != len(b.Streams) {
		return false
	}
	for i := range a.Streams {
		if a.Streams[i] != b.Streams[i] {
			return false
		}
	}
	return true
}

// segmentSeed returns the seed beside a segment file given alone
// (NNNNNNNNNNNNNNNNNNNN.seed), so that its markers are checked and rebuilt
// as its directory's writer wrote them; nil for a file not named as a
// segment or without a seed.
func segmentSeed(path string) (*sscheck.State, error) {
	dir, n, ok := ssdir.SegmentOf(path)
	if !ok {
		return nil, nil
	}
	seed, err := ssdir.ReadSeed(dir, n)
	switch {
	case err == nil:
		st := seed
		return &st, nil
	case errors.Is(err, fs.ErrNotExist):
		return nil, nil
	}
	return nil, fmt.Errorf("%s: the seed file is damaged: %w", ssdir.SeedPath(dir, n), err)
}
