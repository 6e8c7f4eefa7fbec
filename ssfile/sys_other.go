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
