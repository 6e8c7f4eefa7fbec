package testkit

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestStride(t *testing.T) {
	if testing.Short() {
		for _, c := range []struct{ n, short, want int }{{10, 100, 1}, {1000, 100, 11}, {7000, 200, 35}, {5, 0, 1}} {
			if got := Stride(c.n, c.short); got != c.want {
				t.Errorf("Stride(%d, %d) = %d under -short, want %d", c.n, c.short, got, c.want)
			}
		}
		if got := Count(1000, 200); got != 200 {
			t.Errorf("Count(1000, 200) = %d under -short, want 200", got)
		}
		return
	}
	if got := Stride(1000, 100); got != 1 {
		t.Errorf("Stride(1000, 100) = %d, want 1 (every case) without -short", got)
	}
	if got := Count(1000, 200); got != 1000 {
		t.Errorf("Count(1000, 200) = %d, want 1000 without -short", got)
	}
}

// TestGrowthRatio: work four times as long gives a ratio near 4, far from
// quadratic's 16.
func TestGrowthRatio(t *testing.T) {
	r := GrowthRatio(5, spin(2_000_000), spin(8_000_000))
	t.Logf("ratio %.2f", r)
	if r < 2 || r > 8 {
		t.Errorf("GrowthRatio of 4× the work = %.1f, want about 4", r)
	}
}

// TestGrowthRatioOfLeavesPrepareOut: a Prepare far costlier than the work
// (as restoring a large file can be) does not count.
func TestGrowthRatioOfLeavesPrepareOut(t *testing.T) {
	r := GrowthRatioOf(5, Work{Prepare: spin(1), Run: spin(2_000_000)}, Work{Prepare: spin(50_000_000), Run: spin(8_000_000)})
	t.Logf("ratio %.2f", r)
	if r < 2 || r > 8 {
		t.Errorf("GrowthRatioOf 4× the work after a costly Prepare = %.1f, want about 4", r)
	}
}

var sink uint64

// spin returns CPU-bound work proportional to n.
func spin(n int) func() {
	return func() {
		x := uint64(1)
		for i := range n {
			x = x*6364136223846793005 + uint64(i)
		}
		sink = x
	}
}

// TestContext: the context has the documented bound and ends with the test.
func TestContext(t *testing.T) {
	var ctx context.Context
	t.Run("inner", func(t *testing.T) {
		ctx = Context(t)
		deadline, ok := ctx.Deadline()
		if left := time.Until(deadline); !ok || left > ContextBound || left < ContextBound-10*time.Second {
			t.Errorf("deadline in %v (set %v), want about %v", left, ok, ContextBound)
		}
		if ctx.Err() != nil {
			t.Errorf("ended during the test: %v", ctx.Err())
		}
	})
	if !errors.Is(ctx.Err(), context.Canceled) {
		t.Errorf("after the test: %v, want context.Canceled", ctx.Err())
	}
}

// TestVectors: the module's sample files are found from this package's
// directory, two levels below the root, and each starts with a header.
func TestVectors(t *testing.T) {
	vs := Vectors(t)
	if len(vs) < 2 {
		t.Fatalf("%d sample files, want testdata/*.ss (at least 2)", len(vs))
	}
	for i, v := range vs {
		if len(v) < 2 || v[0] != 0x53 || v[1] != 0x73 {
			t.Errorf("sample %d starts % x, want the .ss magic \"Ss\"", i, v[:min(len(v), 2)])
		}
	}
}
