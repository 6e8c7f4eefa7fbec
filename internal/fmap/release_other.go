//go:build !unix

package fmap

// release does nothing: Windows has no madvise(MADV_DONTNEED) for a file
// mapping (its nearest, DiscardVirtualMemory, is for private memory), and
// other systems none at all. The working set then grows with the part of
// the file read, until the system trims it under memory pressure (the pages
// are the file's: trimming them loses nothing).
func release([]byte) {}
