package testkit

import (
	"context"
	"testing"
	"time"
)

// ContextBound is how long the context of Context lasts: far beyond what a
// test takes, so that it only ends a test that hangs, with a deadline error
// rather than the whole binary's timeout.
const ContextBound = 60 * time.Second

// Context returns a context that ends after ContextBound or when the test
// ends, whichever comes first; every wait in a test is bounded by it.
func Context(t testing.TB) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), ContextBound)
	t.Cleanup(cancel)
	return ctx
}
