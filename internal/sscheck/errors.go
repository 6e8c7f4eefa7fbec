package sscheck

import (
	"errors"
	"fmt"

	"github.com/seastream/ss/format"
)

// The kinds of problem a scan reports. A *Problem wraps exactly one of them;
// match it with errors.Is.
var (
	// ErrHeader means the file header is damaged. Damage to one of its
	// parts (the magic bytes and version, the file name length, the padding
	// and final 0x0D, or the beacon interval, which is then taken from where
	// the beacons stand), and to the file name or creation time, is
	// reported and the scan goes on. When nothing sensible can be read (a
	// file shorter than a header, or more damage than that: see Scan), Scan
	// fails with it.
	ErrHeader = errors.New("sscheck: damaged file header")

	// ErrChecksum means a message's payload does not match its checksum. The
	// message is lost; the frame around it is intact, so nothing else is.
	ErrChecksum = errors.New("sscheck: payload checksum mismatch")

	// ErrFrame means a message frame is damaged beyond reading (a bad key,
	// a missing terminator, a size that disagrees with the beacons). The scan
	// resynchronises at the next readable beacon; the bytes up to the first
	// message after it are lost.
	ErrFrame = errors.New("sscheck: damaged message frame")

	// ErrBeacon means the beacon at a multiple of the beacon interval is
	// missing or cannot be read. When the writer's rules give its size, the
	// scan steps over it and nothing is lost; otherwise it resynchronises
	// at the next beacon.
	ErrBeacon = errors.New("sscheck: damaged beacon")

	// ErrRemaining means a readable beacon's count of remaining message bytes
	// disagrees with the message it splices (or is not 0 between two
	// messages). Nothing is lost.
	ErrRemaining = errors.New("sscheck: wrong remaining-bytes count in beacon")

	// ErrMarker means a beacon marker disagrees with the messages before it:
	// its running checksum, maximum sequence number or timestamp, or which
	// stream it is for, both as the writer of the whole file and as a
	// SeaStreamer writer that reopened the file would have written it (see
	// NoteReopen). Nothing is lost.
	ErrMarker = errors.New("sscheck: beacon marker disagrees with the messages before it")

	// ErrOrder, reported only with Strict, means a message's sequence number
	// does not follow the previous message's within its (stream key,
	// shard): it is not exactly one above it (after lost bytes, not above
	// it), or its timestamp is before the previous one's. Without Strict
	// any order is sound, as SeaStreamer's MessageSink writes any shard,
	// sequence number and timestamp (Summary.SeqBack counts the sequence
	// numbers that do not go up). Format v1 has no checksum over message
	// headers, so this is how a damaged sequence number, shard, key or
	// timestamp shows; the damaged header is this message's or the previous
	// one's (the problem names both). Nothing is lost: the message is kept
	// as it reads. The end-of-stream message (stream key
	// SEA_STREAMER_INTERNAL) is not checked.
	ErrOrder = errors.New("sscheck: sequence number out of order")

	// ErrTornTail means the file ends in the middle of a message or a beacon,
	// as when a writer is interrupted. The incomplete bytes are lost.
	ErrTornTail = errors.New("sscheck: the file ends in the middle of a message or beacon (torn write)")
)

// Problem is one thing wrong in a file.
type Problem struct {
	// Offset is where the problem is.
	Offset int64
	// End is the end of the bytes lost with it: messages in [Offset, End)
	// are not kept. End equals Offset when nothing is lost.
	End int64
	// Message is the header of the lost message when exactly one known
	// message is lost (a checksum mismatch).
	Message *format.MessageHeader
	// Err wraps one of the sentinels with the details.
	Err error
}

func (p *Problem) Error() string { return fmt.Sprintf("offset %d: %v", p.Offset, p.Err) }

// Unwrap returns the detailed error, which matches one of the sentinels.
func (p *Problem) Unwrap() error { return p.Err }

// Lost returns how many bytes of the file the problem loses.
func (p *Problem) Lost() int64 { return p.End - p.Offset }

// ErrChanged means the file became shorter while it was being read.
var ErrChanged = errors.New("sscheck: the file shrank while it was being read")

// ErrLocked means a writer has the file open, so it cannot be repaired in
// place.
var ErrLocked = errors.New("sscheck: the file is open by a writer; close it first")

// The kinds of note a scan gives. A *Note wraps exactly one of them; match
// it with errors.Is. A note is not a problem: a file with notes only is
// sound.
var (
	// NoteReopen means SeaStreamer closed the file and reopened it to
	// append (its MessageSink::append, or its producer connecting to the
	// file again): from the note's offset, the beacons' markers rotate over
	// only the streams written since, and the running checksums start again
	// (see reopen.go for exactly how). The markers after it are checked
	// against that writer's state.
	NoteReopen = errors.New("sscheck: SeaStreamer closed and reopened the file here")

	// NoteContinued means that after a writer that reopened the file, the
	// markers carry the whole file's state again, as ssfile's Append writes
	// them after recovering a file SeaStreamer reopened.
	NoteContinued = errors.New("sscheck: the markers carry the whole file's state again (a writer that recovered the whole file appended)")
)

// Note is something a scan found that is not a problem.
type Note struct {
	// Offset is where it starts.
	Offset int64
	// Err wraps one of the note kinds with the details.
	Err error
}

func (n *Note) Error() string { return fmt.Sprintf("offset %d: %v", n.Offset, n.Err) }

// Unwrap returns the detailed note, which matches one of the kinds.
func (n *Note) Unwrap() error { return n.Err }
