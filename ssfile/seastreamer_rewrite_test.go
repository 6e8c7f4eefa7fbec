package ssfile

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestRewriteSeaStreamerSession rewrites the file SeaStreamer's MessageSink
// wrote in one session, at interval 1000 (not a multiple of 1 KiB: an
// explicit interval, issue 14 items 5 and 8), with the same header and
// messages: the Writer must give SeaStreamer's bytes back exactly. The file
// was written by the program in internal/sscheck/testdata/seastreamer/gen.
func TestRewriteSeaStreamerSession(t *testing.T) {
	path := filepath.Join("..", "internal", "sscheck", "testdata", "seastreamer", "sink-noreopen-1000.ss")
	r, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	msgs := readAll(t, r)
	if n := len(msgs); n < 2 || !msgs[n-1].IsEndOfStream() {
		t.Fatalf("%d messages, the last not an end-of-stream message", n)
	}
	// The end-of-stream message is written as the others are, with its
	// timestamp: WithEndOfStream would stamp the time of this Close.
	out := rewrite(t, r.Header(), msgs)
	if !bytes.Equal(out, data) {
		i := 0
		for i < len(out) && i < len(data) && out[i] == data[i] {
			i++
		}
		t.Fatalf("rewritten: %d bytes, SeaStreamer's %d; first difference at offset %d", len(out), len(data), i)
	}
}
