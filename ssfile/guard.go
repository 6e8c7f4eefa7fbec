package ssfile

import (
	"runtime/debug"
)

// guard runs fn, which reads a file mapping, and turns the memory fault a
// read past the end of a file that shrank would raise (SIGBUS) into
// ErrTruncated. Without it the fault would crash the process.
func guard(fn func() error) (err error) {
	old := debug.SetPanicOnFault(true)
	defer func() {
		debug.SetPanicOnFault(old)
		if r := recover(); r != nil {
			if _, ok := r.(interface{ Addr() uintptr }); ok {
				err = ErrTruncated
				return
			}
			panic(r)
		}
	}()
	return fn()
}
