//go:build linux || aix || solaris

package ssfile

import (
	"os"

	"golang.org/x/sys/unix"
)

// syncData makes f's data durable: fdatasync writes the data and the
// metadata needed to read it back (the size), not the times; on Linux, with
// the write barriers ext4 and XFS use by default, it also flushes the drive's
// write cache.
func syncData(f *os.File) error { return unix.Fdatasync(int(f.Fd())) }
