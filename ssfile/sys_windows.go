//go:build windows

package ssfile

import (
	"os"

	"golang.org/x/sys/windows"
)

// fileSize returns the size of f without allocating, as f.Stat would.
func fileSize(f *os.File) (int64, error) {
	var fi windows.ByHandleFileInformation
	if err := windows.GetFileInformationByHandle(windows.Handle(f.Fd()), &fi); err != nil {
		return 0, err
	}
	return int64(fi.FileSizeHigh)<<32 | int64(fi.FileSizeLow), nil
}

// releasePages does nothing: Windows has no madvise(MADV_DONTNEED) for a
// file mapping (its nearest, DiscardVirtualMemory, is for private memory).
// A Reader's working set then grows with the part of the file it has read,
// rather than staying about one beacon interval, until Windows trims it under
// memory pressure (the pages are the file's: trimming them loses nothing).
func releasePages([]byte) {}
