package toolstest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/seastream/ss/format"
	"github.com/seastream/ss/ssfile"
)

// singleSession are the files the generator writes in one session of
// MessageSink: our Writer given their header and messages must write their
// bytes back exactly.
var singleSession = map[string]bool{"sink-noreopen-1000.ss": true, "sink-many-1m.ss": true}

// TestSeaStreamerWrites runs the program in
// internal/sscheck/testdata/seastreamer/gen, built from SeaStreamer's crates
// (scripts/seastreamer.sh install; SS_SEASTREAMER_GEN names it), so that
// SeaStreamer itself writes the files here: with its MessageSink and its
// producer, at intervals 128, 640, 1000, 1024 and 1 MiB, hundreds of
// streams, end-of-stream messages, files closed and reopened. Each must
// verify; decode exactly as SeaStreamer's own ss-decode prints it (when
// SS_REFERENCE_DECODE names it); take an Append that goes on from it and
// still verify; and, for those written in one session, come back byte for
// byte from our Writer.
func TestSeaStreamerWrites(t *testing.T) {
	gen := os.Getenv("SS_SEASTREAMER_GEN")
	if gen == "" {
		t.Skip("set SS_SEASTREAMER_GEN to the generator built by scripts/seastreamer.sh install")
	}
	dir := t.TempDir()
	if out, err := exec.Command(gen, dir, "--large").CombinedOutput(); err != nil {
		t.Fatalf("the generator: %v\n%s", err, out)
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.ss"))
	if err != nil || len(files) < 10 {
		t.Fatalf("the generator wrote %d files, %v", len(files), err)
	}
	ref := os.Getenv("SS_REFERENCE_DECODE")
	for _, path := range files {
		name := filepath.Base(path)
		t.Run(name, func(t *testing.T) {
			if r := tool(t, "ss-verify", path); r.code != 0 {
				t.Fatalf("ss-verify: exit %d\n%s%s", r.code, r.stdout, r.stderr)
			}
			if ref != "" {
				want, err := exec.Command(ref, "--file", path).Output()
				if err != nil {
					t.Fatalf("SeaStreamer's ss-decode: %v", err)
				}
				if got := tool(t, "ss-decode", "--file", path); got.stdout != string(want) {
					t.Errorf("ss-decode differs from SeaStreamer's:\n%s", firstDiff(string(want), got.stdout))
				}
			}
			if singleSession[name] {
				rewriteExactly(t, path)
			}
			appendAfter(t, path)
		})
	}
}

// rewriteExactly writes the messages of the file at path again with its
// header and checks the bytes are the file's.
func rewriteExactly(t *testing.T, path string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	r, err := ssfile.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	h := r.Header()
	out := filepath.Join(t.TempDir(), "rewritten.ss")
	w, err := ssfile.Create(out, ssfile.WithAnyBeaconInterval(h.BeaconInterval), ssfile.WithFileName(h.FileName),
		ssfile.WithCreatedAt(time.UnixMilli(int64(h.CreatedAt))))
	if err != nil {
		t.Fatal(err)
	}
	for {
		m, err := r.Next(context.Background())
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		// The end-of-stream message too, as written, with its timestamp.
		if err := w.Write(m.MessageHeader, m.Payload); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, data) {
		i := 0
		for i < len(got) && i < len(data) && got[i] == data[i] {
			i++
		}
		t.Fatalf("rewritten: %d bytes, SeaStreamer's %d; first difference at offset %d", len(got), len(data), i)
	}
}

// appendAfter copies the file, appends one message to each of its streams
// with ssfile.Append, and checks the result verifies.
func appendAfter(t *testing.T, path string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	cp := filepath.Join(t.TempDir(), filepath.Base(path))
	if err := os.WriteFile(cp, data, 0o644); err != nil {
		t.Fatal(err)
	}
	w, err := ssfile.Append(cp)
	if err != nil {
		t.Fatalf("Append: %v", err)
	}
	streams := w.Streams()
	for _, s := range streams {
		if s.Key == format.InternalStreamKey {
			continue
		}
		h := format.MessageHeader{StreamKey: s.Key, ShardID: s.Shard, SeqNo: s.SeqNo + 1, Timestamp: s.Timestamp}
		if err := w.Write(h, []byte("appended by ss")); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if r := tool(t, "ss-verify", cp); r.code != 0 || !strings.Contains(r.stdout, "OK") {
		t.Fatalf("ss-verify after Append: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}
