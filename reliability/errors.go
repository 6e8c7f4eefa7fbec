package reliability

import (
	"errors"
	"fmt"
)

// Problems that Verify reports, besides the format package's errors
// (format.ErrChecksum, format.ErrTerminator, format.ErrInvalidStreamKey, …),
// which a Problem wraps as they are.
var (
	// ErrTornTail means the file ends inside a message frame or a beacon.
	ErrTornTail = errors.New("reliability: the file ends inside a message or beacon")

	// ErrFrameSize means a frame's payload size field does not agree with the
	// file: the frame would run past the end of the file, or a beacon inside
	// it counts a different number of bytes left.
	ErrFrameSize = errors.New("reliability: message size does not agree with the file")

	// ErrRemaining means a beacon's remaining-byte count is wrong: not zero
	// between two messages, or not what is left of the message it splices.
	ErrRemaining = errors.New("reliability: beacon remaining-byte count is wrong")

	// ErrMarker means a beacon marker does not describe its stream: it names
	// a stream never written, or its sequence number or timestamp is not the
	// highest of its stream so far, or the beacon carries more markers than
	// its writer puts in one, or (Strict) not the streams the round-robin
	// rotation picks.
	ErrMarker = errors.New("reliability: beacon marker does not match the messages before it")

	// ErrRunningChecksum means a marker's running checksum differs from the
	// one recomputed from the message checksums of its stream.
	ErrRunningChecksum = errors.New("reliability: beacon marker running checksum does not match the messages before it")

	// ErrSeqOrder means a message's sequence number is not above the previous
	// one of its (stream key, shard), or (Strict) not exactly one above.
	ErrSeqOrder = errors.New("reliability: sequence number out of order")

	// ErrTimeOrder means (Strict) a message's timestamp is before the
	// previous one of its (stream key, shard).
	ErrTimeOrder = errors.New("reliability: timestamp goes backwards")

	// ErrBeaconInterval means the header's beacon interval is readable but
	// wrong: there is no beacon where it places the first ones.
	ErrBeaconInterval = errors.New("reliability: the header's beacon interval does not match the beacons")

	// ErrUnreadable means Verify skipped bytes it could not decode, between
	// damage and the next valid frame or beacon.
	ErrUnreadable = errors.New("reliability: bytes skipped, no valid message or beacon in them")
)

// Problem is one thing Verify found wrong, and where: the offset of the
// frame, beacon or header it is in.
type Problem struct {
	Offset int64
	Err    error
}

func (p *Problem) Error() string {
	return fmt.Sprintf("reliability: at offset %d: %v", p.Offset, p.Err)
}

// Unwrap returns the cause, for errors.Is and errors.As.
func (p *Problem) Unwrap() error { return p.Err }
