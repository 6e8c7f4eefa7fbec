//go:build unix

package ssfile

import (
	"os"

	"golang.org/x/sys/unix"
)

// fileSize returns the size of f without allocating.
func fileSize(f *os.File) (int64, error) {
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return 0, err
	}
	return st.Size, nil
}
