package sscheck

import (
	"fmt"
	"os"

	"github.com/seastream/ss/internal/fmap"
	"github.com/seastream/ss/internal/mapguard"
	"github.com/seastream/ss/internal/regfile"
)

// ScanFile scans the file at path (see Scan, and its options) through a read-only memory
// mapping, so that memory use does not grow with the file. If the file shrinks
// while it is read, ScanFile returns an error matching ErrChanged instead of
// crashing.
func ScanFile(path string, v Visitor, opts ...Option) (Summary, error) {
	data, closeFn, err := mapFile(path)
	if err != nil {
		return Summary{}, err
	}
	defer closeFn()
	var sum Summary
	err = guard(func() error {
		var err error
		sum, err = scanWith(data, v, releaser(data), opts)
		return err
	})
	return sum, err
}

// releaser returns a function that drops the pages of a range of a file
// mapping from the process (they are read again from the page cache if
// touched), or nil for data that is not mapped.
func releaser(data []byte) func(lo, hi int64) {
	if len(data) == 0 {
		return nil
	}
	return func(lo, hi int64) { fmap.Release(data, lo, hi) }
}

// ErrNotRegular means the path names a named pipe, a device, a directory or
// anything else than a regular file: ScanFile and Repair refuse it before
// opening it for data, so that a named pipe cannot block them. It is
// ssfile.ErrNotRegular.
var ErrNotRegular = regfile.ErrNotRegular

// mapFile maps the file at path read-only.
func mapFile(path string) ([]byte, func(), error) {
	f, err := regfile.Open(path, os.O_RDONLY, 0)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	return mapOpen(f, path)
}

// mapOpen maps the regular file f, opened at path, read-only. The mapping
// outlives f.
func mapOpen(f *os.File, path string) ([]byte, func(), error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	if fi.Size() == 0 {
		return nil, func() {}, nil
	}
	m, err := fmap.Map(f, fi.Size())
	if err != nil {
		return nil, nil, fmt.Errorf("sscheck: %w", err)
	}
	return m, func() { _ = fmap.Unmap(m) }, nil
}

// guard runs fn, which reads a mapping, and turns the fault (SIGBUS) that
// reading past the end of a file that shrank raises into ErrChanged.
func guard(fn func() error) error { return mapguard.Run(ErrChanged, fn) }
