// Package mapguard turns the memory fault of reading a file mapping past the
// end of a file that shrank into an error, for the packages that read .ss
// files through mmap (ssfile, internal/sscheck).
package mapguard

import "runtime/debug"

// Run runs fn, which reads a file mapping, and returns fault instead of
// crashing the process when a read raises a memory fault (SIGBUS: the file
// was cut shorter than the mapping). Any other panic goes on.
func Run(fault error, fn func() error) (err error) {
	old := debug.SetPanicOnFault(true)
	defer func() {
		debug.SetPanicOnFault(old)
		if r := recover(); r != nil {
			if _, ok := r.(interface{ Addr() uintptr }); ok {
				err = fault
				return
			}
			panic(r)
		}
	}()
	return fn()
}
