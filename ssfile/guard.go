package ssfile

import "github.com/seastream/ss/internal/mapguard"

// guard runs fn, which reads a file mapping, and turns the memory fault a
// read past the end of a file that shrank would raise (SIGBUS) into
// ErrTruncated. Without it the fault would crash the process.
func guard(fn func() error) error { return mapguard.Run(ErrTruncated, fn) }
