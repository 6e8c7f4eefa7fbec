package main

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seastream/ss/internal/ssdecode"
	"github.com/seastream/ss/internal/sstest"
)

func decodeOut(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	status := run(args, &stdout, &stderr)
	return status, stdout.String(), stderr.String()
}

// TestDir: a directory decodes as its segments one after the other, each
// as the file it is; --segment picks one.
func TestDir(t *testing.T) {
	dir, segs := sstest.Dir(t)
	for _, extra := range [][]string{nil, {"--format", "ndjson"}, {"--header-only"}} {
		var want strings.Builder
		for _, s := range segs {
			status, out, errs := decodeOut(t, append([]string{"--file", s.Path}, extra...)...)
			if status != 0 {
				t.Fatalf("segment %d: exit %d: %s", s.Number, status, errs)
			}
			want.WriteString(out)
		}
		status, got, errs := decodeOut(t, append([]string{"--file", dir}, extra...)...)
		if status != 0 || got != want.String() {
			t.Errorf("%v: exit %d %s; the directory's output is not its segments' one after the other", extra, status, errs)
		}
		if n := strings.Count(got, "message "); extra == nil && n != 600 {
			t.Errorf("%d messages printed, want 600", n)
		}
	}
	s := segs[2]
	_, want, _ := decodeOut(t, "--file", s.Path)
	if status, got, errs := decodeOut(t, "--file", dir, "--segment", fmt.Sprint(s.Number)); status != 0 || got != want {
		t.Errorf("--segment %d: exit %d %s; output:\n%s", s.Number, status, errs, got)
	}
	if status, _, errs := decodeOut(t, "--file", dir, "--segment", "9999"); status != 1 || !strings.Contains(errs, "no segment 9999 (it has segments 1 to ") {
		t.Errorf("--segment 9999: exit %d, %s", status, errs)
	}
	if status, _, errs := decodeOut(t, "--file", s.Path, "--segment", "1"); status != 2 || !strings.Contains(errs, "is not one") {
		t.Errorf("--segment of a file: exit %d, %s", status, errs)
	}
}

// TestDirSince: --since prints every message at or after the time, and
// leaves out the segments before it, header lines included.
func TestDirSince(t *testing.T) {
	dir, segs := sstest.Dir(t)
	status, out, errs := decodeOut(t, "--file", dir, "--since", fmt.Sprint(sstest.DirRecord(400).Header.Timestamp))
	if status != 0 {
		t.Fatalf("exit %d: %s", status, errs)
	}
	var msgs []string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "[") {
			msgs = append(msgs, l)
		}
	}
	if len(msgs) != 200 || !strings.Contains(msgs[0], "message 400 ") || !strings.Contains(msgs[199], "message 599 ") {
		t.Errorf("%d messages, from %q", len(msgs), msgs[0])
	}
	if n := strings.Count(out, `# {"file_name"`); n >= len(segs)/2 {
		t.Errorf("%d header lines of %d segments: the segments before --since were decoded", n, len(segs))
	}
}

// syncBuffer is an output that tells when it holds a string.
type syncBuffer struct {
	mu    sync.Mutex
	b     bytes.Buffer
	wrote chan struct{}
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, err := s.b.Write(p)
	select {
	case s.wrote <- struct{}{}:
	default:
	}
	return n, err
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// waitFor waits until the output holds what, failing if done (the decoder
// ended) comes first.
func (s *syncBuffer) waitFor(t *testing.T, what string, done <-chan error) {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for !strings.Contains(s.String(), what) {
		select {
		case <-s.wrote:
		case err := <-done:
			t.Fatalf("the decoder ended (%v) before %q was printed:\n%s", err, what, s.String())
		case <-deadline:
			t.Fatalf("no %q in the output after 30 s:\n%s", what, s.String())
		}
	}
}

// TestDirFollow: following a directory goes on into each new segment as
// the writer rolls over, with no gap and no duplicate: the output is the
// directory's, decoded once written.
func TestDirFollow(t *testing.T) {
	dir := t.TempDir()
	w := sstest.OpenDir(t, dir)
	sstest.Write(t, w, sstest.DirRecords(0, 30))
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := &syncBuffer{wrote: make(chan struct{}, 1)}
	done := make(chan error)
	o := ssdecode.Options{Path: dir, Follow: true, PollInterval: 5 * time.Millisecond, FlushInterval: time.Millisecond}
	go func() {
		done <- decodeDir(ctx, o, 0, out, func(path string, w *ssdecode.Warning) { t.Errorf("warning: %s: %v", path, w) })
	}()
	out.waitFor(t, "message 29 ", done)
	for from := 30; from < 600; from += 57 {
		sstest.Write(t, w, sstest.DirRecords(from, min(from+57, 600)))
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	out.waitFor(t, "message 599 ", done)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	_, want, _ := decodeOut(t, "--file", dir)
	if got := out.String(); got != want {
		t.Errorf("followed output differs from the directory's:\n%s", firstDiff(want, got))
	}
}

func firstDiff(want, got string) string {
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := range min(len(wl), len(gl)) {
		if wl[i] != gl[i] {
			return fmt.Sprintf("line %d: got %q, want %q", i+1, gl[i], wl[i])
		}
	}
	return fmt.Sprintf("%d lines, want %d", len(gl), len(wl))
}
