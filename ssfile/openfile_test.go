package ssfile

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/seastream/ss/format"
	"github.com/seastream/ss/internal/regfile"
	"github.com/seastream/ss/internal/testkit"
)

// TestRefusesNotRegular: Open, Create and Append given a named pipe, a
// device, a directory or a /proc file fail at once with ErrNotRegular,
// saying what the path is, instead of blocking in open(2) (a pipe) or
// failing with "illegal seek" or "truncate /dev/zero: invalid argument"
// (issue 11, item 8).
func TestRefusesNotRegular(t *testing.T) {
	fifo := testkit.FIFO(t)
	calls := map[string]func(string) error{
		"Open":   func(p string) error { return closeIf(Open(p)) },
		"Append": func(p string) error { return closeIf(Append(p)) },
		"Create": func(p string) error { return closeIf(Create(p)) },
	}
	for _, c := range []struct{ path, what string }{
		{fifo, "named pipe"},
		{"/dev/zero", "device"},
		{t.TempDir(), "directory"},
		{"/proc/self/status", "procfs"},
	} {
		if _, err := os.Stat(c.path); err != nil {
			t.Logf("%s: %v; skipped", c.path, err)
			continue
		}
		for name, call := range calls {
			err := testkit.Returns(t, func() error { return call(c.path) })
			if !errors.Is(err, ErrNotRegular) || !strings.Contains(err.Error(), c.path) || !strings.Contains(err.Error(), c.what) {
				t.Errorf("%s(%s): %v; want ErrNotRegular naming the path and %q", name, c.path, err, c.what)
			}
		}
	}
}

// closeIf closes what an open that should have failed returned.
func closeIf[T io.Closer](c T, err error) error {
	if err == nil {
		c.Close()
	}
	return err
}

// TestWriteRefusesEmptyStreamKey: the streamer API refuses an empty stream
// key, so the Writer does too, with the format's error, and stays usable
// (issue 11, item 9).
func TestWriteRefusesEmptyStreamKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a.ss")
	w, err := Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(format.MessageHeader{SeqNo: 1}, []byte("x")); !errors.Is(err, format.ErrInvalidStreamKey) {
		t.Fatalf("empty key: %v, want format.ErrInvalidStreamKey", err)
	}
	if err := w.Write(format.MessageHeader{StreamKey: "s", SeqNo: 1}, []byte("x")); err != nil {
		t.Fatalf("after the refusal: %v", err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	checkMessages(t, path, []rec{{format.MessageHeader{StreamKey: "s", SeqNo: 1}, []byte("x")}})
}

// TestAppendFollowsReplacedFile: another process replaces the file as a
// repair does (take the lock, copy, rename the copy over the path, let go)
// while a writer cycles Append, Write, Close. A writer that opened the old
// file before the rename and locked it after must not write into it: every
// acknowledged message is in the file at the path (issue 11, item 4).
func TestAppendFollowsReplacedFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a.ss")
	w, err := Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	var done atomic.Bool
	var wg sync.WaitGroup
	wg.Add(1)
	replaced := 0
	go func() {
		defer wg.Done()
		for i := 0; !done.Load(); i++ {
			ok, err := replaceLocked(path, fmt.Sprintf("%s.%d", path, i))
			if err != nil {
				t.Error(err)
				return
			}
			if ok {
				replaced++
			}
		}
	}()
	var want []rec
	n := testkit.Count(200, 50)
	for seq := uint64(1); seq <= uint64(n); {
		w, err := Append(path)
		if errors.Is(err, ErrLocked) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		r := rec{format.MessageHeader{StreamKey: "s", SeqNo: seq}, fmt.Appendf(nil, "m%d", seq)}
		if err := w.Write(r.h, r.payload); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		want = append(want, r)
		seq++
	}
	done.Store(true)
	wg.Wait()
	t.Logf("%d messages, the file replaced %d times", len(want), replaced)
	checkMessages(t, path, want)
}

// replaceLocked does what an in-place repair does to the file at path: it
// locks it, copies it to tmp and renames tmp over it before letting go. It
// reports false if a writer held the lock.
func replaceLocked(path, tmp string) (bool, error) {
	f, err := regfile.OpenLocked(path, os.O_RDONLY, 0, ErrLocked)
	if errors.Is(err, ErrLocked) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	defer f.Close()
	data, err := io.ReadAll(f)
	if err != nil {
		return false, err
	}
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return false, err
	}
	return true, os.Rename(tmp, path)
}
