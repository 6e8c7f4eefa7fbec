package filedriver

import (
	"context"
	"errors"
	"io"
	"os"
	"testing"

	"github.com/seastream/ss/internal/testkit"
	"github.com/seastream/ss/ssfile"
	"github.com/seastream/ss/streamer/driver"
)

// TestCopyTruncate: a file truncated under the shared writer (logrotate's
// copytruncate) fails the receipts with ssfile.ErrShrunk instead of leaving
// a file with a hole for a header; the next producer starts the file afresh.
func TestCopyTruncate(t *testing.T) {
	ctx := testkit.Context(t)
	path := tempFile(t)
	c := open(t, path, "create=if-missing")
	p := newProducer(t, c)
	send(t, ctx, p, driver.Header{StreamKey: "s"}, "before")
	if err := os.Truncate(path, 0); err != nil { // what copytruncate does after copying
		t.Fatal(err)
	}
	pd, err := p.Send(ctx, driver.Header{StreamKey: "s"}, []byte("lost"))
	if err == nil {
		_, err = pd.Wait(ctx)
	}
	if !errors.Is(err, ssfile.ErrShrunk) || !errors.Is(err, ssfile.ErrWriterFailed) {
		t.Fatalf("receipt after the file was truncated: %v, want ssfile.ErrShrunk", err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Size() != 0 {
		t.Fatalf("the writer wrote to the truncated file: %v, %v", fi.Size(), err)
	}
	h := send(t, ctx, newProducer(t, c), driver.Header{StreamKey: "s"}, "after")
	if h.Seq != 1 {
		t.Fatalf("seq %d in a file started afresh", h.Seq)
	}
	if err := c.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if got := filePayloads(t, path); len(got) != 1 || got[0] != "after" {
		t.Fatalf("file holds %q, want [after]", got)
	}
}

// filePayloads reads the whole file; a torn or damaged tail fails the test.
func filePayloads(t *testing.T, path string) []string {
	t.Helper()
	r, err := ssfile.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var out []string
	for {
		m, err := r.Next(context.Background())
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("reading %s after %d messages: %v", path, len(out), err)
		}
		if !m.IsEndOfStream() {
			out = append(out, string(m.Payload))
		}
	}
}
