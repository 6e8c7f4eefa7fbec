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
