package fmap

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

func TestMapReleaseKeepsData(t *testing.T) {
	page := os.Getpagesize()
	want := make([]byte, 5*page+123)
	for i := range want {
		want[i] = byte(i * 7)
	}
	path := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(path, want, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	m, err := Map(f, int64(len(want)))
	f.Close() // the mapping outlives the file
	if err != nil {
		t.Fatal(err)
	}
	defer Unmap(m)
	if !bytes.Equal(m, want) {
		t.Fatal("mapping differs from the file")
	}
	// Unaligned bounds, bounds past the end, an empty and an inverted range.
	Release(m, 1, int64(3*page+5))
	Release(m, int64(4*page), 1<<40)
	Release(m, 10, 10)
	Release(m, 100, 50)
	if !bytes.Equal(m, want) {
		t.Fatal("released pages read back differently")
	}
}

func TestMapEmpty(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "empty"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m, err := Map(f, 0)
	if err != nil || m != nil {
		t.Fatalf("Map(0) = %v, %v; want nil, nil", m, err)
	}
	if err := Unmap(m); err != nil {
		t.Fatal(err)
	}
	if _, err := Map(f, -1); err == nil {
		t.Fatal("Map(-1) succeeded")
	}
}
