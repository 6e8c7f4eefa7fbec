package testkit

import (
	"testing"
	"time"
)

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
