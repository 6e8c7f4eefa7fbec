package main

// Regression tests for issue 11 (item 10) and issue 16 (item 6), on the
// built ss-relay.

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// runStatus runs cmd with stdin and returns its exit status and stderr.
func runStatus(t *testing.T, cmd *exec.Cmd, stdin string) (int, string) {
	t.Helper()
	var e bytes.Buffer
	cmd.Stdin, cmd.Stderr = strings.NewReader(stdin), &e
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		return ee.ExitCode(), e.String()
	case err != nil:
		t.Fatalf("%s: %v", cmd, err)
	}
	return 0, e.String()
}

// TestRelayIntoItselfRefused: the same file under another spelling
// (file://same.ss/clock → file://./same.ss/clock) is refused at once, with
// status 2 and the file unchanged; it used to grow without end.
func TestRelayIntoItselfRefused(t *testing.T) {
	dir := t.TempDir()
	clockOut, _ := runOK(t, command(t, "clock", "--count", "3", "--interval", "0"), "")
	runOK(t, command(t, "ss-relay", "--input", "stdio:///clock", "--output", "file://"+filepath.Join(dir, "same.ss")+"/clock"), clockOut)
	before, err := os.Stat(filepath.Join(dir, "same.ss"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := command(t, "ss-relay", "--input", "file://same.ss/clock", "--output", "file://./same.ss/clock", "--replay")
	cmd.Dir = dir
	status, stderr := runStatus(t, cmd, "")
	if status != 2 || !strings.Contains(stderr, "feedback loop") {
		t.Errorf("status %d, stderr %q; want 2 and a feedback loop refused", status, stderr)
	}
	after, err := os.Stat(filepath.Join(dir, "same.ss"))
	if err != nil {
		t.Fatal(err)
	}
	if after.Size() != before.Size() {
		t.Errorf("the file grew from %d to %d bytes", before.Size(), after.Size())
	}
}

// TestUnreachableRedisQuiet: with Redis unreachable, stderr holds our one
// error line, none of go-redis's own ("redis: … pool.go:… failed to dial").
func TestUnreachableRedisQuiet(t *testing.T) {
	status, stderr := runStatus(t, command(t, "ss-relay", "--input", "stdio:///k", "--output", "redis://127.0.0.1:1/k"), "[k] x\n")
	lines := strings.Split(strings.TrimSuffix(stderr, "\n"), "\n")
	if status != 1 || len(lines) != 1 || !strings.HasPrefix(lines[0], "ss-relay: opening the output: ") || strings.Contains(stderr, "pool.go") {
		t.Errorf("status %d, stderr:\n%s\nwant 1 and one line of ours", status, stderr)
	}
}

// TestUnknownStreamSaid: a stream key that matches nothing is said on
// stderr; the status stays 0.
func TestUnknownStreamSaid(t *testing.T) {
	archive := filepath.Join(t.TempDir(), "a.ss")
	clockOut, _ := runOK(t, command(t, "clock", "--count", "2", "--interval", "0"), "")
	runOK(t, command(t, "ss-relay", "--input", "stdio:///clock", "--output", "file://"+archive+"/clock"), clockOut)
	out, stderr := runOK(t, command(t, "ss-relay", "--input", "file://"+archive+"/clokc", "--replay"), "")
	if out != "" || !strings.Contains(stderr, "ss-relay: no message of stream(s) clokc in") {
		t.Errorf("stdout %q, stderr %q; want a note that stream clokc has no message", out, stderr)
	}
}
