//go:build !unix

package regfile

import (
	"errors"
	"os"
)

var errWouldBlock = errors.New("the file is locked")

// lock is a no-op where flock is not available.
func lock(*os.File) error { return nil }

// LockWait does nothing where flock is not available: the processes sharing
// a file must then be one.
func LockWait(*os.File) error { return nil }

// Unlock does nothing where flock is not available.
func Unlock(*os.File) {}
