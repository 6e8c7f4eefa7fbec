package filedriver

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// TestCreateMakesParentDirectories: create=true (and create=only) create the
// file's missing parent directories, as a user of file://./data/app.ss
// expects on a fresh checkout; without create nothing is made.
func TestCreateMakesParentDirectories(t *testing.T) {
	for _, q := range []string{"create=true", "create=if-missing", "create=only"} {
		t.Run(q, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "data", "deeper", "app.ss")
			open(t, path, q)
			if fi, err := os.Stat(path); err != nil || !fi.Mode().IsRegular() {
				t.Fatalf("after Open(%s): %v, %v", q, fi, err)
			}
		})
	}
	t.Run("never", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "data")
		_, err := openErr(filepath.Join(dir, "app.ss"), "")
		if !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("Open without create: %v, want fs.ErrNotExist", err)
		}
		if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("Open without create made %s: %v", dir, err)
		}
	})
}
