// Package fmap maps regular files read-only and hands back the pages of the
// parts already read: the one way ssfile and internal/sscheck map .ss files.
// Reading a mapping past the end of a file that shrank raises a memory
// fault; package mapguard turns it into an error.
package fmap

import (
	"fmt"
	"os"

	"github.com/edsrzf/mmap-go"
)

// Map maps the first size bytes of f read-only. size may exceed the file's
// size, to leave room for a file that grows; bytes past its end must not be
// touched. A size of 0 gives a nil mapping. The mapping outlives f.
func Map(f *os.File, size int64) ([]byte, error) {
	if size == 0 {
		return nil, nil
	}
	if size < 0 || int64(int(size)) != size {
		return nil, fmt.Errorf("mapping %s: %d bytes cannot be mapped here", f.Name(), size)
	}
	m, err := mmap.MapRegion(f, int(size), mmap.RDONLY, 0, 0)
	if err != nil {
		return nil, fmt.Errorf("mapping %s: %w", f.Name(), err)
	}
	return m, nil
}

// Unmap releases a mapping Map returned, whole. After it the mapping must
// not be touched.
func Unmap(m []byte) error {
	if m == nil {
		return nil
	}
	mm := mmap.MMap(m)
	return mm.Unmap()
}

// Release hands back to the kernel the whole pages of m that lie in
// [lo, hi): they are read again from the page cache if touched, so no data
// is lost, and the process's resident memory stays that of what it reads
// now rather than of everything it has read. m must start on a page, as a
// mapping does. Where the system offers no way to do it (windows, wasm),
// nothing happens.
func Release(m []byte, lo, hi int64) {
	page := int64(os.Getpagesize())
	lo = (max(lo, 0) + page - 1) / page * page
	hi = min(hi, int64(len(m))) / page * page
	if lo < hi {
		release(m[lo:hi])
	}
}
