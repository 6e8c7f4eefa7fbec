package bench

import (
	"os"

	"golang.org/x/sys/unix"
)

// syncData is what ssfile's writer calls to sync a file: fdatasync.
func syncData(f *os.File) error { return unix.Fdatasync(int(f.Fd())) }
