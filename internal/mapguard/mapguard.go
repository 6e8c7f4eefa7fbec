// Package mapguard turns the memory fault of reading a file mapping past the
// end of a file that shrank into an error, for the packages that read .ss
// files through mmap (ssfile, internal/sscheck).
package mapguard

import "runtime/debug"

// Run runs fn, which reads a file mapping, and returns fault instead of
// crashing the process when a read raises a memory fault (SIGBUS: the file
// was cut shorter than the mapping). Any other panic goes on.
func Run(fault error, fn func() error) (err error) {
	old := Enter()
	defer func() {
		Exit(old)
		if r := recover(); r != nil {
			err = Fault(r, fault)
		}
	}()
	return fn()
}

// Enter and Exit are Run for a caller that guards a whole function with a
// deferred call of its own (a hot path that Run's closure and second defer
// would cost too much in): Enter makes a memory fault of this goroutine a
// panic and returns what Exit restores; the deferred function calls Exit,
// then Fault with what recover returned, when not nil.
//
//	old := mapguard.Enter()
//	defer func() {
//		mapguard.Exit(old)
//		if r := recover(); r != nil {
//			err = mapguard.Fault(r, fault)
//		}
//	}()
func Enter() (old bool) { return debug.SetPanicOnFault(true) }

// Exit restores what Enter changed.
func Exit(old bool) { debug.SetPanicOnFault(old) }

// Fault returns fault when r, a value recover returned, is a memory fault,
// and panics with r again otherwise.
func Fault(r any, fault error) error {
	if _, ok := r.(interface{ Addr() uintptr }); ok {
		return fault
	}
	panic(r)
}
