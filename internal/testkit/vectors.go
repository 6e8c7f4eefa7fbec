package testkit

import (
	"os"
	"path/filepath"
	"testing"
)

// Vectors returns the contents of the module's sample files, testdata/*.ss,
// from the test of any package: fuzz targets seed their corpus with them.
// It finds the module root by walking up from the test's directory to
// go.mod (runtime.Caller paths break under -trimpath).
func Vectors(t testing.TB) [][]byte {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("testkit: no go.mod above the test's directory")
		}
		dir = parent
	}
	paths, err := filepath.Glob(filepath.Join(dir, "testdata", "*.ss"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("testkit: no sample files in %s (%v)", filepath.Join(dir, "testdata"), err)
	}
	out := make([][]byte, 0, len(paths))
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}
