//go:build windows

package regfile

import (
	"os"

	"golang.org/x/sys/windows"
)

var errWouldBlock error = windows.ERROR_LOCK_VIOLATION

// lockRange is where the lock goes: one byte at the largest file offset.
// Windows locks byte ranges, and mandatorily: other handles can neither read
// nor write a locked range. A lock on the data would stop readers in other
// processes; one past any data a file can hold stops only other lockers, as
// flock does. The offset is 2^63-1, the largest a signed file offset can be.
var lockRange = windows.Overlapped{Offset: 0xffffffff, OffsetHigh: 0x7fffffff}

// lock takes the exclusive lock on f without waiting; held by another
// handle, in this process or another, it fails with ERROR_LOCK_VIOLATION.
// Closing the handle, or the process ending, releases it.
func lock(f *os.File) error {
	ol := lockRange
	return windows.LockFileEx(windows.Handle(f.Fd()),
		windows.LOCKFILE_EXCLUSIVE_LOCK|windows.LOCKFILE_FAIL_IMMEDIATELY, 0, 1, 0, &ol)
}

// LockWait takes the exclusive lock on f, waiting for it (a commit log that
// several processes append to holds it only for one append).
func LockWait(f *os.File) error {
	ol := lockRange
	return windows.LockFileEx(windows.Handle(f.Fd()), windows.LOCKFILE_EXCLUSIVE_LOCK, 0, 1, 0, &ol)
}

// Unlock releases the lock on f.
func Unlock(f *os.File) {
	ol := lockRange
	_ = windows.UnlockFileEx(windows.Handle(f.Fd()), 0, 1, 0, &ol)
}
