//go:build !unix

package regfile

import (
	"errors"
	"os"
)

var errWouldBlock = errors.New("the file is locked")

// lock is a no-op where flock is not available.
func lock(*os.File) error { return nil }
