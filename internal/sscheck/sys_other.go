//go:build !unix

package sscheck

// lockExclusive is a no-op where flock is not available.
func lockExclusive(string) (func(), error) { return func() {}, nil }

// dropPages is a no-op where madvise is not available.
func dropPages([]byte) {}
