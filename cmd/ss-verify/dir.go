package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/seastream/ss/format"
	"github.com/seastream/ss/internal/sscheck"
	"github.com/seastream/ss/ssdir"
)

// verifyDir verifies every segment of the stream directory dir, each from
// its seed, and that the seeds chain: each segment's seed is the state the
// segment before it ended with.
func verifyDir(dir string, stdout, stderr io.Writer, opts []sscheck.Option) int {
	segs, err := ssdir.Segments(dir)
	if err != nil {
		fmt.Fprintf(stderr, "ss-verify: %s: %v\n", dir, err)
		return 2
	}
	if len(segs) == 0 {
		fmt.Fprintf(stderr, "ss-verify: %s: no segment files (NNNNNNNNNNNNNNNNNNNN.ss) in the directory\n", dir)
		return 2
	}
	status := 0
	var prev *sscheck.State // the state the segment before ended with, nil when not known
	var prevN uint64
	var messages int64
	bad := 0
	oldest := true // the segment is the oldest left: nothing is known before it
	for i, seg := range segs {
		fi, err := os.Stat(seg.Path)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			fmt.Fprintf(stdout, "%s: note: deleted (by retention) while the directory was verified\n", seg.Path)
			prev, oldest = nil, oldest || i == 0
			continue
		case err == nil && i == len(segs)-1 && fi.Size() < format.HeaderSize:
			// ssdir creates a segment, then its writer writes the header.
			fmt.Fprintf(stdout, "%s: note: being created (%d bytes, less than a header): not verified\n", seg.Path, fi.Size())
			continue
		}
		from, st := seedFor(dir, seg.Number, oldest, prev, prevN, stdout)
		oldest = false
		r := verifyFile(seg.Path, stdout, stderr, append(opts[:len(opts):len(opts)], from...))
		status = max(status, st, r.status)
		if st != 0 || r.status != 0 {
			bad++
		}
		messages += r.sum.Messages
		prev, prevN = r.sum.End, seg.Number
		if r.status == 2 {
			prev = nil
		}
	}
	if bad == 0 {
		fmt.Fprintf(stdout, "%s: OK: %d segments (%d to %d), %d messages\n", dir, len(segs), segs[0].Number, segs[len(segs)-1].Number, messages)
	} else {
		fmt.Fprintf(stdout, "%s: %d of %d segments have problems (%d valid messages in all)\n", dir, bad, len(segs), messages)
	}
	return status
}

// seedFor returns the scan option giving the state segment n of dir goes
// on from, and a status of 1 when its seed is damaged or does not chain
// (printed as a problem of the seed file). first says n is the oldest
// segment left, so nothing is known of the segments before it; prev is the
// state segment prevN ended with, nil when not known.
func seedFor(dir string, n uint64, first bool, prev *sscheck.State, prevN uint64, stdout io.Writer) ([]sscheck.Option, int) {
	path := ssdir.SeedPath(dir, n)
	seed, err := ssdir.ReadSeed(dir, n)
	switch {
	case err == nil:
	case errors.Is(err, fs.ErrNotExist) && n == 1:
		return nil, 0 // a first segment goes on from nothing
	case errors.Is(err, fs.ErrNotExist) && prev != nil && prevN == n-1:
		fmt.Fprintf(stdout, "%s: note: no seed file; the segment is checked from the state segment %d ended with, as the directory's writer and readers rebuild it\n", path, prevN)
		return []sscheck.Option{sscheck.From(*prev)}, 0
	case errors.Is(err, fs.ErrNotExist):
		fmt.Fprintf(stdout, "%s: the seed file is missing and the segment before is not there to rebuild it from: the markers of streams written before segment %d cannot be checked\n", path, n)
		return nil, 1
	default:
		fmt.Fprintf(stdout, "%s: the seed file is damaged: %v\n", path, err)
		if prev != nil && prevN == n-1 {
			return []sscheck.Option{sscheck.From(*prev)}, 1
		}
		return nil, 1
	}
	st := seed
	status := 0
	switch {
	case first:
		// The segments before were deleted (retention): the seed cannot be
		// checked, and is what the segment goes on from.
	case prevN != n-1:
		fmt.Fprintf(stdout, "%s: segment %d is missing: segment %d comes after segment %d\n", path, n-1, n, prevN)
		status = 1
	case prev == nil:
		fmt.Fprintf(stdout, "%s: note: the seed cannot be checked against segment %d, which lost bytes\n", path, prevN)
	default:
		if gives, ended := chains(*prev, st); gives != "" {
			fmt.Fprintf(stdout, "%s: the seed does not chain: it gives %s; segment %d ended with %s\n", path, gives, prevN, ended)
			status = 1
		}
	}
	return []sscheck.Option{sscheck.From(st)}, status
}

// chains compares the state a segment ended with and the seed of the next
// one, and says how they differ: what the seed gives and what the segment
// ended with ("" when they agree). The end-of-stream message's stream is
// left out: a writer may leave it out of a seed.
func chains(end, seed sscheck.State) (gives, ended string) {
	if end.MarkersWritten != seed.MarkersWritten {
		return fmt.Sprintf("%d markers written", seed.MarkersWritten), fmt.Sprintf("%d", end.MarkersWritten)
	}
	a, b := userStreams(end), userStreams(seed)
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return b[i].String(), a[i].String()
		}
	}
	if len(a) != len(b) {
		return fmt.Sprintf("%d streams", len(b)), fmt.Sprintf("%d", len(a))
	}
	return "", ""
}

// streamState is one stream of a state, comparable.
type streamState struct {
	key      string
	shard    uint64
	seq, ts  uint64
	checksum uint16
}

func userStreams(s sscheck.State) []streamState {
	var out []streamState
	for _, b := range s.Streams {
		if b.Key != format.InternalStreamKey {
			out = append(out, streamState{b.Key, b.Shard, b.SeqNo, b.Timestamp, uint16(b.Checksum)})
		}
	}
	return out
}

func (s streamState) String() string {
	return fmt.Sprintf("stream %s shard %d at seq %d, timestamp %d, running checksum 0x%04X", s.key, s.shard, s.seq, s.ts, s.checksum)
}

// segmentSeed returns the scan option for a segment file given alone: the
// seed file beside it (NNNNNNNNNNNNNNNNNNNN.seed), so that it checks as
// strictly as in its directory. A file not named as a segment, the first
// segment and a segment without a seed are checked as files on their own.
func segmentSeed(path string, stdout io.Writer) ([]sscheck.Option, int) {
	dir, n, ok := ssdir.SegmentOf(path)
	if !ok {
		return nil, 0
	}
	seed, err := ssdir.ReadSeed(dir, n)
	switch {
	case err == nil:
		return []sscheck.Option{sscheck.From(seed)}, 0
	case errors.Is(err, fs.ErrNotExist):
		if n > 1 {
			if _, err := os.Stat(ssdir.SeedPath(dir, n-1)); err == nil {
				fmt.Fprintf(stdout, "%s: note: no seed file beside the segment; it is checked as a file on its own (verify its directory to check it from the segment before)\n", path)
			}
		}
		return nil, 0
	}
	fmt.Fprintf(stdout, "%s: the seed file is damaged: %v\n", ssdir.SeedPath(dir, n), err)
	return nil, 1
}
