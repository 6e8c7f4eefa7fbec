package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/seastream/ss/ssdir"
)

// TestDirArchiveAndReplay: a stream archived into a stream directory that
// rolls over, relayed on into another with other segment sizes, and replayed
// from either, gives clock's lines back byte for byte; a second run appends
// with its own numbering; relaying a directory into itself is refused.
func TestDirArchiveAndReplay(t *testing.T) {
	tmp := t.TempDir()
	arch, copy := filepath.Join(tmp, "arch"), filepath.Join(tmp, "copy")
	clockOut, _ := runOK(t, command(t, "clock", "--count", "300", "--interval", "0"), "")
	runOK(t, command(t, "ss-relay", "--input", "stdio:///clock", "--output", "file://"+arch+"/?segment_size=4096"), clockOut)
	if segs, err := ssdir.Segments(arch); err != nil || len(segs) < 3 {
		t.Fatalf("%d segments (%v), want a directory that rolled over", len(segs), err)
	}
	replay := func(dir string) string {
		out, _ := runOK(t, command(t, "ss-relay", "--input", "file://"+dir+"/clock", "--offset", "start", "--replay"), "")
		return out
	}
	if got := replay(arch); got != clockOut {
		t.Errorf("replayed directory:\n%.500s\nclock wrote:\n%.500s", got, clockOut)
	}
	runOK(t, command(t, "ss-relay", "--input", "file://"+arch+"/clock", "--offset", "start", "--replay",
		"--output", "file://"+copy+"/?segment_size=8192"), "")
	if got := replay(copy); got != clockOut {
		t.Errorf("replayed copy:\n%.500s\nclock wrote:\n%.500s", got, clockOut)
	}

	more, _ := runOK(t, command(t, "clock", "--count", "3", "--interval", "0"), "")
	runOK(t, command(t, "ss-relay", "--input", "stdio:///clock", "--output", "file://"+arch+"/"), more)
	if got := replay(arch); got != clockOut+more {
		t.Errorf("directory after a second run ends:\n%s\nwant:\n%s", got[max(0, len(got)-300):], more)
	}

	cmd := command(t, "ss-relay", "--input", "file://"+arch+"/clock", "--output", "file://"+arch+"//clock", "--replay")
	if status, stderr := runStatus(t, cmd, ""); status != 2 || !strings.Contains(stderr, "feedback loop") {
		t.Errorf("into itself: status %d, stderr %q", status, stderr)
	}
}
