//go:build !unix

package testkit

import "testing"

// FIFO skips the test: named pipes here are not files a path in a
// directory can name (Windows keeps them under \\.\pipe\), so a .ss path
// cannot be one.
func FIFO(t testing.TB) string {
	t.Helper()
	t.Skip("no named pipes in the file system on this system")
	return ""
}
