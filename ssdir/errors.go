package ssdir

import "errors"

var (
	// ErrLocked means another Writer, in this or another process, has the
	// directory open.
	ErrLocked = errors.New("ssdir: the stream directory is open by another writer")
	// ErrSegmentDeleted means a Reader had to move to a segment that
	// retention had already deleted: the messages in it are gone for this
	// reader. WithSkipDeleted makes it go on from the oldest segment left.
	ErrSegmentDeleted = errors.New("ssdir: the next segment was deleted by retention before the reader reached it")
	// ErrClosed means the Writer or Reader was closed.
	ErrClosed = errors.New("ssdir: closed")
	// ErrInvalidOption means an option's value is out of range.
	ErrInvalidOption = errors.New("ssdir: invalid option")
	// ErrNotDir means the path is not a stream directory.
	ErrNotDir = errors.New("ssdir: not a directory")
)
