// Package regfile opens .ss files for ssfile and internal/sscheck, refusing
// anything that is not a regular file before it can block or do harm, and
// takes the writer's lock so that it holds on the file the path names.
package regfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// ErrNotRegular means the path names a named pipe, a device, a directory, a
// socket, a kernel pseudo-file (/proc, /sys) or anything else than a regular
// file, which cannot be a .ss file.
// Opening a named pipe would block until another program opens its other
// end; a device would be read or written as if it were a file.
var ErrNotRegular = errors.New("not a regular file; give the path of a .ss file")

// Open opens the file at path with flag and perm (as os.OpenFile does) if it
// is a regular file, and fails with an error matching ErrNotRegular if it is
// not. The path is checked before it is opened; it is opened with O_NONBLOCK,
// so that a named pipe put in its place meanwhile cannot block the open, and
// checked again through the open file.
func Open(path string, flag int, perm fs.FileMode) (*os.File, error) {
	if fi, err := os.Stat(path); err == nil {
		if err := regular(path, fi); err != nil {
			return nil, err
		}
		if kind, ok := pseudoPath(path); ok {
			return nil, pseudo(path, kind)
		}
	} else if !errors.Is(err, fs.ErrNotExist) || flag&os.O_CREATE == 0 {
		return nil, err
	}
	f, err := os.OpenFile(path, flag|nonblock, perm)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err == nil {
		err = regular(path, fi)
	}
	if kind, ok := pseudoFD(f.Fd()); ok && err == nil {
		err = pseudo(path, kind)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// pseudo is the error for a file of a kernel pseudo-filesystem, which shows
// as a regular file.
func pseudo(path, kind string) error {
	return fmt.Errorf("%s is a kernel pseudo-file of %s: %w", path, kind, ErrNotRegular)
}

// regular fails with ErrNotRegular, saying what the path is, unless fi is a
// regular file.
func regular(path string, fi fs.FileInfo) error {
	m := fi.Mode()
	if m.IsRegular() {
		return nil
	}
	what := "not a regular file"
	switch {
	case m&fs.ModeNamedPipe != 0:
		what = "a named pipe (FIFO)"
	case m&fs.ModeDevice != 0:
		what = "a device"
	case m.IsDir():
		what = "a directory"
	case m&fs.ModeSocket != 0:
		what = "a socket"
	}
	return fmt.Errorf("%s is %s: %w", path, what, ErrNotRegular)
}

// maxAttempts bounds how often OpenLocked retries when the path keeps being
// replaced under it, as by a repair in a loop.
const maxAttempts = 100

// OpenLocked opens the regular file at path as Open does and takes an
// exclusive advisory lock (flock; on Windows LockFileEx on a byte past any
// data) on it, without waiting: if another process
// or file descriptor holds it, OpenLocked fails with an error matching
// locked. The lock goes with the file descriptor: closing the file, or the
// process dying, releases it.
//
// After taking the lock it checks that the path still names the file it
// locked. A repair replaces a file by renaming a new one over it while
// holding the lock; a writer that opened the old file before the rename and
// locked it after would write into a file no path names. OpenLocked then
// opens the path again.
func OpenLocked(path string, flag int, perm fs.FileMode, locked error) (*os.File, error) {
	for range maxAttempts {
		f, err := Open(path, flag, perm)
		if err != nil {
			return nil, err
		}
		if err := lock(f); err != nil {
			f.Close()
			if errors.Is(err, errWouldBlock) {
				return nil, fmt.Errorf("%w: %s", locked, path)
			}
			return nil, fmt.Errorf("locking %s: %w", path, err)
		}
		mine, err := f.Stat()
		if err != nil {
			f.Close()
			return nil, err
		}
		now, err := os.Stat(path)
		if err == nil && os.SameFile(mine, now) {
			return f, nil
		}
		f.Close()
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		// Replaced or removed since it was opened: open what the path names now.
	}
	return nil, fmt.Errorf("%w: %s was replaced %d times while being opened", locked, path, maxAttempts)
}
