//go:build !unix

package sscheck

// dropPages is a no-op where madvise is not available.
func dropPages([]byte) {}
