package ssfile

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/seastream/ss/internal/testkit"
)

// TestFullDisk: a write that fails for lack of space leaves the file ending
// where the last successful Flush left it, with none of the messages written
// since; once space is freed, Append goes on from there. With SyncOnFlush
// too, whose Flush also syncs the file.
func TestFullDisk(t *testing.T) {
	t.Run("SyncNever", func(t *testing.T) { testFullDisk(t, SyncNever()) })
	t.Run("SyncOnFlush", func(t *testing.T) { testFullDisk(t, SyncOnFlush()) })
}

func testFullDisk(t *testing.T, durability Durability) {
	dir := testkit.Tmpfs(t, "2m")
	rng := rand.New(rand.NewPCG(11, 1))
	const runs = 20
	for run := range runs {
		path := filepath.Join(dir, "x.ss")
		w, err := Create(path, WithBufferSize(4096), WithBeaconInterval(1024), WithDurability(durability))
		if err != nil {
			t.Fatal(err)
		}
		filler := testkit.FillDisk(t, dir, int64(8<<10+run*1337))
		msgs := randomMessages(rng, 300, 3000)
		committed, i := 0, 0
		var werr error
		for ; i < len(msgs) && werr == nil; i++ {
			werr = w.Write(msgs[i].h, msgs[i].payload)
			if werr == nil && i%7 == 6 {
				if werr = w.Flush(); werr == nil {
					committed = i + 1
				}
			}
		}
		if werr == nil {
			t.Fatalf("run %d: %d messages fit in the space left", run, len(msgs))
		}
		if !errors.Is(werr, syscall.ENOSPC) || !errors.Is(werr, ErrWriterFailed) {
			t.Fatalf("run %d: error %v, want ENOSPC and ErrWriterFailed", run, werr)
		}
		var we *WriteError
		if !errors.As(werr, &we) || we.Path != path {
			t.Fatalf("run %d: error %v, want a *WriteError for %s", run, werr, path)
		}
		if err := w.Write(msgs[0].h, nil); !errors.Is(err, ErrWriterFailed) {
			t.Fatalf("run %d: write after the failure: %v", run, err)
		}
		w.Close()
		if got, err := os.Stat(path); err != nil || got.Size() != w.Flushed() {
			t.Fatalf("run %d: file size %v (%v), want %d", run, got.Size(), err, w.Flushed())
		}
		checkMessages(t, path, msgs[:committed])

		if err := os.Remove(filler); err != nil {
			t.Fatal(err)
		}
		w2, err := Append(path)
		if err != nil {
			t.Fatalf("run %d: append after freeing space: %v", run, err)
		}
		tail := msgs[committed : committed+5]
		for _, m := range tail {
			if err := w2.Write(m.h, m.payload); err != nil {
				t.Fatal(err)
			}
		}
		if err := w2.Close(); err != nil {
			t.Fatal(err)
		}
		checkMessages(t, path, msgs[:committed+5])
		if err := os.Remove(path); err != nil {
			t.Fatal(err)
		}
		t.Logf("run %d: %d of %d messages committed, failed: %v", run, committed, i, werr)
	}
}

// TestCopyTruncate: a file truncated under the Writer (logrotate's
// copytruncate) makes Flush fail with ErrShrunk instead of writing past a
// hole.
func TestCopyTruncate(t *testing.T) {
	for _, bufSize := range []int{1 << 20, 4096} {
		t.Run(fmt.Sprint(bufSize), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "x.ss")
			w, err := Create(path, WithBufferSize(bufSize))
			if err != nil {
				t.Fatal(err)
			}
			msgs := randomMessages(rand.New(rand.NewPCG(3, 3)), 200, 500)
			for _, m := range msgs[:100] {
				if err := w.Write(m.h, m.payload); err != nil {
					t.Fatal(err)
				}
			}
			if err := w.Flush(); err != nil {
				t.Fatal(err)
			}
			if err := os.Truncate(path, 0); err != nil { // what copytruncate does after copying
				t.Fatal(err)
			}
			var werr error
			for _, m := range msgs[100:] {
				if werr = w.Write(m.h, m.payload); werr != nil {
					break
				}
			}
			if werr == nil {
				werr = w.Flush()
			}
			if !errors.Is(werr, ErrShrunk) {
				t.Fatalf("flush after the file was truncated: %v, want ErrShrunk", werr)
			}
			if err := w.Flush(); !errors.Is(err, ErrShrunk) {
				t.Fatalf("second flush: %v, want ErrShrunk", err)
			}
			w.Close()
			if fi, err := os.Stat(path); err != nil || fi.Size() != 0 {
				t.Fatalf("the Writer wrote to the truncated file: size %d (%v)", fi.Size(), err)
			}
			// The file starts afresh.
			w2, err := Append(path)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range msgs[100:] {
				if err := w2.Write(m.h, m.payload); err != nil {
					t.Fatal(err)
				}
			}
			if err := w2.Close(); err != nil {
				t.Fatal(err)
			}
			checkMessages(t, path, msgs[100:])
		})
	}
}
