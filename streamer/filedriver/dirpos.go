package filedriver

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/seastream/ss/format"
)

// Positions. Everything above the reader (a consumer's committed offset in
// the offsets log, the positions of pair files and the group's start, the
// offsets of the items handed to Next) carries a position as one int64,
// ordered as the messages are read, so that the same code compares and
// stores positions for a file and for a stream directory:
//
//   - in a .ss file, a position is the byte offset in the file;
//   - in a stream directory, it is the segment number and the offset in that
//     segment, packed as segment<<36 | offset: the segment in the upper 27
//     bits (segments 1 to 2^27-1, the 20-digit name's number), the offset
//     in the lower 36 (up to 64 GiB; segment_size is at most 8 GiB and a
//     segment passes it by at most one message). A directory position is
//     therefore at least 1<<36, never a plausible offset of a file's
//     offsets store, and positions of later segments are larger.
const (
	dirOffsetBits = 36
	dirOffsetMask = 1<<dirOffsetBits - 1
	maxDirSegment = 1<<(63-dirOffsetBits) - 1
)

// dirPos packs a segment and an offset in it.
func dirPos(segment uint64, off int64) (int64, error) {
	if segment == 0 || segment > maxDirSegment || off < 0 || off > dirOffsetMask {
		return 0, fmt.Errorf("filedriver: segment %d, offset %d does not fit a stream directory position (segments up to %d, offsets below 64 GiB)", segment, off, uint64(maxDirSegment))
	}
	return int64(segment)<<dirOffsetBits | off, nil
}

// splitDirPos unpacks a position of dirPos.
func splitDirPos(pos int64) (segment uint64, off int64) {
	return uint64(pos) >> dirOffsetBits, pos & dirOffsetMask
}

// atSegmentStart reports whether pos is the first message of a segment (or
// of the file).
func atSegmentStart(pos int64, dir bool) bool {
	if !dir {
		return pos == format.HeaderSize
	}
	_, off := splitDirPos(pos)
	return off == format.HeaderSize
}

// segmentFile is the path of segment n of a stream directory, as the
// ssdir package documents its layout (a 20-digit number, .ss).
func segmentFile(dir string, n uint64) string {
	return filepath.Join(dir, fmt.Sprintf("%020d.ss", n))
}

// settled returns pos, or the start of the next segment when pos is the end
// of a segment the writer has moved on from (nothing is written to a
// segment once the next exists). A position committed at the start of the
// next segment survives retention deleting the one read to its end, and
// tells a resume that nothing of it is left to read.
func (c *config) settled(pos int64) int64 {
	if !c.dir {
		return pos
	}
	seg, off := splitDirPos(pos)
	if seg == 0 || off == format.HeaderSize {
		return pos
	}
	fi, err := os.Stat(segmentFile(c.path, seg))
	if err != nil || fi.Size() != off {
		return pos
	}
	if fi, err := os.Stat(segmentFile(c.path, seg+1)); err != nil || fi.Size() < format.HeaderSize {
		return pos // not there, or being created: a reader could not open it yet
	}
	next, err := dirPos(seg+1, format.HeaderSize)
	if err != nil {
		return pos
	}
	return next
}
