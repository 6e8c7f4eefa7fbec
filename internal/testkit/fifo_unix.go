//go:build unix

package testkit

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// FIFO makes a named pipe in a temporary directory and returns its path.
// When the test ends it opens the pipe's other end, so that a call that
// blocked opening it returns and the test cannot hang.
func FIFO(t testing.TB) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "pipe.ss")
	if err := syscall.Mkfifo(path, 0o644); err != nil {
		t.Skipf("no named pipes here: %v", err)
	}
	t.Cleanup(func() {
		// O_RDWR never blocks on Linux and releases both readers and writers.
		if f, err := os.OpenFile(path, os.O_RDWR|syscall.O_NONBLOCK, 0); err == nil {
			f.Close()
		}
	})
	return path
}

// Returns runs fn and returns its error, failing the test if fn has not
// returned after a bound far beyond what an answer takes (a call that blocks
// forever on old code).
func Returns(t testing.TB, fn func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- fn() }()
	select {
	case err := <-done:
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("the call did not return within 10s: it blocked")
		return nil
	}
}
