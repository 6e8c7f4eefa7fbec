//go:build !unix && !windows

package regfile

import (
	"errors"
	"os"
)

var errWouldBlock = errors.New("the file is locked")

// lock does nothing: this system (Plan 9, WebAssembly) has no file lock.
// OpenLocked then does not keep a second writer out, and two writers of one
// file, or a writer and a repair, corrupt it. Only one process may write a
// file here.
func lock(*os.File) error { return nil }

// LockWait does nothing, as lock: the processes appending to one file must
// then be one.
func LockWait(*os.File) error { return nil }

// Unlock does nothing, as lock.
func Unlock(*os.File) {}
