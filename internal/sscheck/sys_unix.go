//go:build unix

package sscheck

import "golang.org/x/sys/unix"

// dropPages releases the pages of part of a read-only file mapping. Reading
// them again faults them back in from the page cache, so no data is lost.
func dropPages(b []byte) { _ = unix.Madvise(b, unix.MADV_DONTNEED) }
