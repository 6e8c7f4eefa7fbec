package ssdir

import (
	"os"
	"path/filepath"
	"testing"
)

// TestAppendAfterCrashLeftovers: Append on a directory a crash left at each
// step of a rollover (a seed being written, a seed without its segment, a
// segment with half a header) or inside a write (a torn tail) opens with
// every complete message once, and goes on.
func TestAppendAfterCrashLeftovers(t *testing.T) {
	for _, tc := range []struct {
		name  string
		crash func(t *testing.T, dir string, last Segment)
	}{
		{"seed being written", func(t *testing.T, dir string, last Segment) {
			os.WriteFile(filepath.Join(dir, "."+filepath.Base(seedPath(dir, last.Number+1))+tmpExt), []byte(`{"vers`), 0o644)
		}},
		{"seed without its segment", func(t *testing.T, dir string, last Segment) {
			if err := writeSeed(dir, last.Number+1, State{}, true); err != nil {
				t.Fatal(err)
			}
		}},
		{"segment with half a header", func(t *testing.T, dir string, last Segment) {
			if err := writeSeed(dir, last.Number+1, State{}, true); err != nil {
				t.Fatal(err)
			}
			os.WriteFile(segmentPath(dir, last.Number+1), []byte{0x53, 0x73, 0x01}, 0o644)
		}},
		{"seed left by a deletion cut short", func(t *testing.T, dir string, last Segment) {
			segs, _ := Segments(dir)
			if err := os.Remove(segs[0].Path); err != nil { // and not its seed
				t.Fatal(err)
			}
		}},
		{"torn tail", func(t *testing.T, dir string, last Segment) {
			f, err := os.OpenFile(last.Path, os.O_WRONLY|os.O_APPEND, 0)
			if err != nil {
				t.Fatal(err)
			}
			f.Write([]byte{2, 's', '0', 0, 0, 0})
			f.Close()
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			w, err := Append(dir, WithSegmentSize(4096))
			if err != nil {
				t.Fatal(err)
			}
			writeN(t, w, 0, 200)
			last := w.Segment()
			w.Close()
			tc.crash(t, dir, last)
			w, err = Append(dir, WithSegmentSize(4096))
			if err != nil {
				t.Fatal(err)
			}
			writeN(t, w, 200, 400)
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			entries, _ := os.ReadDir(dir)
			for _, e := range entries {
				if n, ext, ok := parseName(e.Name()); ok && ext == seedExt {
					if _, err := os.Stat(segmentPath(dir, n)); err != nil {
						t.Errorf("seed %s left without its segment", e.Name())
					}
				} else if !ok && e.Name() != lockName {
					t.Errorf("%s left in the directory", e.Name())
				}
			}
			if tc.name == "seed left by a deletion cut short" {
				return // the first segment's messages are gone with it
			}
			readAll(t, dir, 400)
		})
	}
}
