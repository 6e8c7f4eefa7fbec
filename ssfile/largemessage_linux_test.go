package ssfile

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/seastream/ss/format"
	"github.com/seastream/ss/internal/testkit"
)

// TestLargeMessageFullDisk: a message streamed in chunks that runs out of
// space midway leaves no part of it behind: the file ends where the last
// Flush left it, after a complete frame.
func TestLargeMessageFullDisk(t *testing.T) {
	dir := testkit.Tmpfs(t, "4m")
	path := filepath.Join(dir, "x.ss")
	w, err := Create(path, WithBeaconInterval(1024))
	if err != nil {
		t.Fatal(err)
	}
	small := rec{format.MessageHeader{StreamKey: "s", SeqNo: 1, Timestamp: 1}, []byte("kept")}
	if err := w.Write(small.h, small.payload); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	testkit.FillDisk(t, dir, 1<<20+300<<10) // room for the first chunk, not the second
	werr := w.Write(format.MessageHeader{StreamKey: "big", SeqNo: 1, Timestamp: 2}, make([]byte, 8<<20))
	if werr == nil {
		werr = w.Flush()
	}
	if !errors.Is(werr, syscall.ENOSPC) || !errors.Is(werr, ErrWriterFailed) {
		t.Fatalf("error %v, want ENOSPC and ErrWriterFailed", werr)
	}
	w.Close()
	if got, err := os.Stat(path); err != nil || got.Size() != st.Size() {
		t.Fatalf("file size %d (%v), want %d, the size at the last Flush", got.Size(), err, st.Size())
	}
	checkMessages(t, path, []rec{small})
}
