//go:build !unix && !windows

package ssfile

import "os"

// fileSize returns the size of f. Here it allocates the FileInfo, as no
// system call for it is exposed without one.
func fileSize(f *os.File) (int64, error) {
	fi, err := f.Stat()
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}

// releasePages does nothing where madvise is not available: a Reader's
// resident memory grows with the part of the file it has read.
func releasePages([]byte) {}
