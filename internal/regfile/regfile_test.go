package regfile

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seastream/ss/internal/testkit"
)

// TestOpenRefusesNonRegular: a named pipe, a device, a directory and a
// /proc file are refused, promptly and with what they are, before they can
// block the open or be written to (issue 11, item 8).
func TestOpenRefusesNonRegular(t *testing.T) {
	fifo := testkit.FIFO(t)
	for _, c := range []struct {
		path string
		flag int
		what string
	}{
		{fifo, os.O_RDONLY, "a named pipe"},
		{fifo, os.O_RDWR | os.O_CREATE, "a named pipe"},
		{"/dev/null", os.O_RDWR | os.O_CREATE, "a device"},
		{t.TempDir(), os.O_RDONLY, "a directory"},
		{"/proc/self/status", os.O_RDWR | os.O_CREATE, "procfs"},
	} {
		if _, err := os.Stat(c.path); err != nil {
			t.Logf("%s: %v; skipped", c.path, err)
			continue
		}
		err := testkit.Returns(t, func() error {
			f, err := Open(c.path, c.flag, 0o644)
			if err == nil {
				f.Close()
			}
			return err
		})
		if !errors.Is(err, ErrNotRegular) || !strings.Contains(err.Error(), c.path) || !strings.Contains(err.Error(), c.what) {
			t.Errorf("Open(%s, %#x): %v; want ErrNotRegular naming the path and %q", c.path, c.flag, err, c.what)
		}
	}
}

func TestOpenRegular(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a.ss")
	if _, err := Open(path, os.O_RDONLY, 0); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing file: %v", err)
	}
	f, err := Open(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString("data"); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(path); err != nil || string(b) != "data" {
		t.Fatalf("%q %v", b, err)
	}
}

var errTestLocked = errors.New("locked")

func TestOpenLocked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a.ss")
	f, err := OpenLocked(path, os.O_RDWR|os.O_CREATE, 0o644, errTestLocked)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := OpenLocked(path, os.O_RDONLY, 0, errTestLocked); !errors.Is(err, errTestLocked) {
		t.Fatalf("second lock: %v, want the locked sentinel", err)
	}
	f.Close()
	g, err := OpenLocked(path, os.O_RDONLY, 0, errTestLocked)
	if err != nil {
		t.Fatalf("after the first closed: %v", err)
	}
	g.Close()
}
