//go:build unix

package sscheck

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// lockExclusive takes the advisory lock (flock) a writer holds on an open
// .ss file, so that repairing in place does not race a writer.
func lockExclusive(path string) (func(), error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("sscheck: repair: %w", err)
	}
	err = unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
	if err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w: %s", ErrLocked, path)
		}
		return nil, fmt.Errorf("sscheck: repair: locking %s: %w", path, err)
	}
	return func() { f.Close() }, nil
}

// dropPages releases the pages of part of a read-only file mapping. Reading
// them again faults them back in from the page cache, so no data is lost.
func dropPages(b []byte) { _ = unix.Madvise(b, unix.MADV_DONTNEED) }
