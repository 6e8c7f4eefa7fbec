package reliability

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// The command-line tools, built once per test run into toolDir.
var (
	toolDir  string
	toolMu   sync.Mutex
	toolBins = map[string]string{}
)

// buildTool builds ./cmd/<name> and returns the binary's path. It skips the
// test when the command does not exist in this checkout.
func buildTool(t testing.TB, name string) string {
	t.Helper()
	toolMu.Lock()
	defer toolMu.Unlock()
	if bin, ok := toolBins[name]; ok {
		if bin == "" {
			t.Fatalf("cmd/%s did not build (see the first test that needed it)", name)
		}
		return bin
	}
	src := filepath.Join("..", "cmd", name)
	if _, err := os.Stat(src); errors.Is(err, os.ErrNotExist) {
		t.Skipf("cmd/%s does not exist in this checkout", name)
	}
	if toolDir == "" {
		dir, err := os.MkdirTemp("", "reliability-tools")
		if err != nil {
			t.Fatal(err)
		}
		toolDir = dir
	}
	bin := filepath.Join(toolDir, name)
	toolBins[name] = ""
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/"+name)
	cmd.Dir = ".."
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building cmd/%s: %v\n%s", name, err, out)
	}
	toolBins[name] = bin
	return bin
}

func removeTools() {
	if toolDir != "" {
		os.RemoveAll(toolDir)
	}
}

// toolRun is the outcome of one run of a tool.
type toolRun struct {
	code           int
	stdout, stderr string
	hung           bool // killed after toolTimeout
}

// toolTimeout bounds every run of a tool: a run that takes longer hung.
const toolTimeout = 30 * time.Second

// panicked reports whether the Go runtime aborted the tool: a panic or a
// fatal error, which exit with status 2 and a trace.
func (r toolRun) panicked() bool {
	return r.code == 2 && (strings.Contains(r.stderr, "panic:") || strings.Contains(r.stderr, "fatal error:") || strings.Contains(r.stderr, "goroutine "))
}

func runTool(bin string, args ...string) (toolRun, error) {
	ctx, cancel := context.WithTimeout(context.Background(), toolTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := toolRun{stdout: stdout.String(), stderr: stderr.String()}
	var exit *exec.ExitError
	switch {
	case ctx.Err() != nil:
		r.code, r.hung = -1, true
	case errors.As(err, &exit):
		r.code = exit.ExitCode()
	case err != nil:
		return r, fmt.Errorf("running %s: %w", filepath.Base(bin), err)
	}
	return r, nil
}
