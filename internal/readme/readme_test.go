package readme

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// root is the repository root, where README.md and go.mod are.
var root = filepath.Join("..", "..")

// block is one fenced code block of the README.
type block struct {
	lang string // the word after the opening fence
	line int    // the line of the opening fence
	text string
}

// blocks returns the fenced code blocks of a Markdown file.
func blocks(t *testing.T, path string) []block {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []block
	var cur *block
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case cur == nil && strings.HasPrefix(line, "```"):
			cur = &block{lang: strings.TrimSpace(strings.TrimPrefix(line, "```")), line: n}
		case cur != nil && strings.TrimSpace(line) == "```":
			out = append(out, *cur)
			cur = nil
		case cur != nil:
			cur.text += line + "\n"
		}
	}
	if cur != nil {
		t.Fatalf("%s:%d: code block never closed", path, cur.line)
	}
	return out
}

// TestMain builds the commands first, outside any test's deadline: the shell
// blocks `go run` them, and a cold build takes minutes on a busy machine.
func TestMain(m *testing.M) {
	cmd := exec.Command("go", "build", "./cmd/...")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "go build ./cmd/...: %v\n%s", err, out)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

// TestGoBlocks builds and runs every ```go block of the README as a program,
// in an empty directory; a ```output block right after it is what the
// program must print.
func TestGoBlocks(t *testing.T) {
	bs := blocks(t, filepath.Join(root, "README.md"))
	n := 0
	for i, b := range bs {
		if b.lang != "go" {
			continue
		}
		n++
		t.Run(fmt.Sprintf("line%d", b.line), func(t *testing.T) {
			if !strings.HasPrefix(b.text, "package main\n") {
				t.Fatalf("README.md:%d: a Go block must be a whole program (package main), so that it can be run as written", b.line)
			}
			bin := build(t, b.text)
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, bin)
			cmd.Dir = t.TempDir()
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Run(); err != nil {
				t.Fatalf("README.md:%d: the program failed: %v\nstdout:\n%s\nstderr:\n%s", b.line, err, stdout.String(), stderr.String())
			}
			if i+1 < len(bs) && bs[i+1].lang == "output" {
				if got, want := stdout.String(), bs[i+1].text; got != want {
					t.Fatalf("README.md:%d: the program printed\n%s\nthe README (line %d) says\n%s", b.line, got, bs[i+1].line, want)
				}
			}
		})
	}
	if n == 0 {
		t.Fatal("README.md has no Go block: this test would check nothing")
	}
}

// build compiles src as a program of this module and returns the binary. The
// source goes in a directory of its own under this package, whose name starts
// with "_" so that ./... never sees it.
func build(t *testing.T, src string) string {
	t.Helper()
	dir, err := os.MkdirTemp(".", "_readme-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "prog")
	cmd := exec.Command("go", "build", "-o", bin, "./"+filepath.Base(dir))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// TestShellBlocks runs every ```sh block of the README with bash -e from the
// repository root, line by line as a user would paste it, but for `go test`
// lines: that command is what runs this test.
func TestShellBlocks(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("no bash")
	}
	n := 0
	for _, b := range blocks(t, filepath.Join(root, "README.md")) {
		if b.lang != "sh" {
			continue
		}
		var script []string
		for _, l := range strings.Split(b.text, "\n") {
			if strings.HasPrefix(strings.TrimSpace(l), "go test") {
				continue
			}
			script = append(script, l)
		}
		n++
		t.Run(fmt.Sprintf("line%d", b.line), func(t *testing.T) {
			before := untracked(t)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, "bash", "-euo", "pipefail", "-c", strings.Join(script, "\n"))
			cmd.Dir = root
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("README.md:%d: %v\n%s", b.line, err, out)
			}
			if after := untracked(t); after != before {
				t.Errorf("README.md:%d leaves files in the repository that git does not ignore:\n%s", b.line, after)
			}
		})
	}
	if n == 0 {
		t.Fatal("README.md has no sh block: this test would check nothing")
	}
}

// untracked lists the files git neither tracks nor ignores, or "" outside a
// git checkout.
func untracked(t *testing.T) string {
	t.Helper()
	cmd := exec.Command("git", "ls-files", "--others", "--exclude-standard")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		return ""
	}
	return string(out)
}

// TestCICallsTheTestCommand: .ci/run runs the README's test command, so that
// what a user runs is what CI checks.
func TestCICallsTheTestCommand(t *testing.T) {
	var readme string
	for _, b := range blocks(t, filepath.Join(root, "README.md")) {
		for _, l := range strings.Split(b.text, "\n") {
			if strings.HasPrefix(l, "go test") && readme == "" {
				readme = strings.TrimSpace(strings.SplitN(l, "#", 2)[0])
			}
		}
	}
	if readme == "" {
		t.Fatal("README.md has no go test command")
	}
	ci, err := os.ReadFile(filepath.Join(root, ".ci", "run"))
	if err != nil {
		t.Fatal(err)
	}
	want := "TEST_CMD=(" + readme + ")"
	if !bytes.Contains(ci, []byte("\n"+want+"\n")) {
		t.Fatalf(".ci/run does not set %s: CI must run the README's test command", want)
	}
}
