package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seastream/ss/format"
	"github.com/seastream/ss/internal/sscheck"
	"github.com/seastream/ss/internal/sstest"
	"github.com/seastream/ss/ssdir"
	"github.com/seastream/ss/ssfile"
)

// checkDir checks that every segment of dir reads clean from its seed
// (strictly, when no message was dropped), that the seeds chain, and that
// the directory holds n messages.
func checkDir(t *testing.T, dir string, n int, opts ...sscheck.Option) {
	t.Helper()
	segs, err := ssdir.Segments(dir)
	if err != nil {
		t.Fatal(err)
	}
	var end *sscheck.State
	for _, s := range segs {
		seed, err := ssdir.ReadSeed(dir, s.Number)
		if err != nil {
			t.Fatal(err)
		}
		if end != nil && !same(*end, seed) {
			t.Errorf("the seed of segment %d does not chain", s.Number)
		}
		sum, err := sscheck.ScanFile(s.Path, sscheck.Visitor{}, append(opts, sscheck.From(seed))...)
		if err != nil || sum.Problems != 0 {
			t.Errorf("segment %d: %v, %d problems", s.Number, err, sum.Problems)
		}
		end = sum.End
	}
	r, err := ssdir.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	got := 0
	for {
		if _, err := r.Next(context.Background()); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		got++
	}
	if got != n {
		t.Errorf("%d messages, want %d", got, n)
	}
}

func repairOut(t *testing.T, args ...string) (int, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	status := run(args, &stdout, &stderr)
	return status, stdout.String() + stderr.String()
}

// damage flips a bit in the payload of a message in the middle of the
// segment, which loses that message only.
func damage(t *testing.T, path string) {
	t.Helper()
	r, err := ssfile.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	var m ssfile.Message
	for range 10 {
		if m, err = r.Next(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	r.Close()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	data[m.Offset+int64(format.MessageSize(len(m.StreamKey), len(m.Payload)))-4] ^= 0x01 // the last payload byte
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestDirSound: a sound directory is rewritten byte for byte, seeds
// included.
func TestDirSound(t *testing.T) {
	dir, segs := sstest.Dir(t)
	out := filepath.Join(t.TempDir(), "out")
	if status, text := repairOut(t, "--file", dir, "--out", out); status != 0 || !strings.Contains(text, "0 seeds rewritten") {
		t.Fatalf("exit %d:\n%s", status, text)
	}
	for _, s := range segs {
		for _, name := range []string{filepath.Base(s.Path), filepath.Base(ssdir.SeedPath(dir, s.Number))} {
			a, _ := os.ReadFile(filepath.Join(dir, name))
			b, err := os.ReadFile(filepath.Join(out, name))
			if err != nil || !bytes.Equal(a, b) {
				t.Errorf("%s differs (%v)", name, err)
			}
		}
	}
	checkDir(t, out, 600, sscheck.Strict())
	if status, text := repairOut(t, "--file", dir, "--out", out); status != 1 || !strings.Contains(text, "already holds segments") {
		t.Errorf("again without --force: exit %d:\n%s", status, text)
	}
}

// TestDirDamaged: a damaged segment loses its damaged message only, and
// the seeds after it are rechained, into a new directory or in place.
func TestDirDamaged(t *testing.T) {
	for _, inPlace := range []bool{false, true} {
		t.Run(fmt.Sprintf("in place %v", inPlace), func(t *testing.T) {
			dir, segs := sstest.Dir(t)
			damage(t, segs[2].Path)
			args, out := []string{"--file", dir, "--in-place"}, dir
			if !inPlace {
				out = filepath.Join(t.TempDir(), "out")
				args = []string{"--file", dir, "--out", out}
			}
			status, text := repairOut(t, args...)
			if status != 0 || !strings.Contains(text, segs[2].Path+": offset ") ||
				!strings.Contains(text, ssdir.SeedPath(out, segs[3].Number)+": the seed is rewritten") ||
				!strings.Contains(text, fmt.Sprintf("%d of %d segments, kept 599 messages, dropped 1 damaged messages, %d seeds rewritten", len(segs), len(segs), len(segs)-3)) {
				t.Fatalf("exit %d:\n%s", status, text)
			}
			checkDir(t, out, 599)
		})
	}
}

// TestDirLocked: in place is refused while a writer has the directory
// open.
func TestDirLocked(t *testing.T) {
	dir, _ := sstest.Dir(t)
	w := sstest.OpenDir(t, dir)
	defer w.Close()
	if status, text := repairOut(t, "--file", dir, "--in-place"); status != 1 || !strings.Contains(text, "a writer has the directory open") {
		t.Errorf("exit %d:\n%s", status, text)
	}
}

// TestSegmentAlone: a segment given alone is repaired with the seed
// beside it: a sound one is rewritten byte for byte.
func TestSegmentAlone(t *testing.T) {
	_, segs := sstest.Dir(t)
	s := segs[4]
	out := filepath.Join(t.TempDir(), "seg.ss")
	if status, text := repairOut(t, "--file", s.Path, "--out", out); status != 0 || !strings.Contains(text, "nothing to repair") {
		t.Fatalf("exit %d:\n%s", status, text)
	}
	a, _ := os.ReadFile(s.Path)
	b, _ := os.ReadFile(out)
	if !bytes.Equal(a, b) {
		t.Error("a sound segment was not rewritten byte for byte")
	}
}
