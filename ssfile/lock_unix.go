//go:build unix

package ssfile

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// lockFile takes an exclusive advisory lock (flock) on f, so that a second
// writer, in any process, fails instead of interleaving its bytes. The lock
// goes with the file descriptor: closing f, or the process dying, releases it.
func lockFile(f *os.File) error {
	err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
	if errors.Is(err, unix.EWOULDBLOCK) {
		return fmt.Errorf("%w: %s", ErrLocked, f.Name())
	}
	if err != nil {
		return fmt.Errorf("ssfile: locking %s: %w", f.Name(), err)
	}
	return nil
}

func syncData(f *os.File) error { return unix.Fdatasync(int(f.Fd())) }

// fileSize returns the size of f without allocating.
func fileSize(f *os.File) (int64, error) {
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return 0, err
	}
	return st.Size, nil
}

// releasePages tells the kernel a read-only file mapping's pages are not
// needed now; they are read back from the page cache if touched again.
func releasePages(b []byte) { _ = unix.Madvise(b, unix.MADV_DONTNEED) }
