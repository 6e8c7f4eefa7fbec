package ssfile

import (
	"errors"
	"fmt"
)

var (
	// ErrClosed is returned by every method of a closed Writer or Reader.
	ErrClosed = errors.New("ssfile: closed")

	// ErrInvalidOption means an option was given a value it does not take.
	ErrInvalidOption = errors.New("ssfile: invalid option")

	// ErrLocked means another Writer, in this or another process, has the file
	// open. Close it first, or read the file with Open instead.
	ErrLocked = errors.New("ssfile: the file is open by another writer")

	// ErrSizeLimit means a message would take the file past its size limit.
	// Nothing of the message was written; the Writer stays usable.
	ErrSizeLimit = errors.New("ssfile: the message would exceed the file size limit; start a new file or raise WithSizeLimit")

	// ErrCorrupt is matched by errors about damaged file contents: a bad
	// checksum, a broken structure. errors.Is also matches the format error
	// (for example format.ErrChecksum) and errors.As finds the *OffsetError
	// that says where.
	ErrCorrupt = errors.New("ssfile: corrupt data")

	// ErrTornTail means the file ends in the middle of a message: the writer
	// was interrupted. In Replay mode the Reader reports it once at the end.
	// Append cuts it away.
	ErrTornTail = errors.New("ssfile: the file ends in the middle of a message (torn write)")

	// ErrTruncated means the file became shorter while it was being read.
	ErrTruncated = errors.New("ssfile: the file was truncated while being read")

	// ErrRemoved means the followed file was removed.
	ErrRemoved = errors.New("ssfile: the file was removed while being followed")

	// ErrReplaced means the path now names another file than the one followed.
	ErrReplaced = errors.New("ssfile: the file was replaced while being followed")

	// ErrNotFound means a seek target is beyond every message in the file.
	ErrNotFound = errors.New("ssfile: no message matches the seek target")

	// ErrWriterFailed means a write to the file failed (the error also
	// matches its cause, such as syscall.ENOSPC or ErrShrunk). The file was
	// cut back to where the last successful Flush left it; the Writer latched
	// into this state and must be closed and the file reopened with Append.
	ErrWriterFailed = errors.New("ssfile: writing to the file failed; messages not covered by a successful Flush are not in it; close the Writer and reopen the file with Append once the cause is fixed")

	// ErrShrunk means the file became shorter than what the Writer had
	// written to it: another program truncated it, typically logrotate with
	// copytruncate. The Writer latches (ErrWriterFailed) without writing
	// past the hole this would leave; rotate .ss files by renaming them.
	ErrShrunk = errors.New("ssfile: the file was truncated by another program (logrotate copytruncate?) while being written; rotate .ss files by renaming them, not with copytruncate")
)

// OffsetError reports a problem at a place in a file.
type OffsetError struct {
	Path   string
	Offset int64
	Err    error
}

func (e *OffsetError) Error() string {
	if e.Path == "" {
		return fmt.Sprintf("ssfile: at offset %d: %v", e.Offset, e.Err)
	}
	return fmt.Sprintf("ssfile: %s: at offset %d: %v", e.Path, e.Offset, e.Err)
}

func (e *OffsetError) Unwrap() error { return e.Err }

// WriteError is the error of a Writer after a write to its file failed. It
// matches ErrWriterFailed and, through Unwrap, the cause (an *fs.PathError
// for syscall.ENOSPC, ErrShrunk...).
type WriteError struct {
	Path string
	Err  error // the cause
}

func (e *WriteError) Error() string { return ErrWriterFailed.Error() + ": " + e.Err.Error() }

func (e *WriteError) Unwrap() []error { return []error{ErrWriterFailed, e.Err} }

// corrupt wraps a format error so that it matches both ErrCorrupt and itself.
func corrupt(path string, off int64, err error) error {
	return &OffsetError{Path: path, Offset: off, Err: fmt.Errorf("%w: %w", ErrCorrupt, err)}
}
