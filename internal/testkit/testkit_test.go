package testkit

import "testing"

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
