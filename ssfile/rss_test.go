//go:build unix

package ssfile

import (
	"context"
	"errors"
	"io"
	"path/filepath"
	"testing"

	"github.com/seastream/ss/format"
	"github.com/seastream/ss/internal/testkit"
)

// TestReaderMemoryIsBounded reads a 200 MiB file and checks that the
// resident set does not grow with it: pages behind the position are released.
func TestReaderMemoryIsBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 200 MiB")
	}
	path := filepath.Join(t.TempDir(), "big.ss")
	w, err := Create(path)
	if err != nil {
		t.Fatal(err)
	}
	payload := make([]byte, 64<<10)
	for i := 0; i < 3200; i++ {
		if err := w.Write(format.MessageHeader{StreamKey: "big", SeqNo: uint64(i)}, payload); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()
	r, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	before := testkit.PeakRSS()
	for {
		_, err := r.Next(context.Background())
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if grew := testkit.PeakRSS() - before; grew > 100<<20 {
		t.Fatalf("peak RSS grew by %d MiB reading a 200 MiB file", grew>>20)
	}
}
