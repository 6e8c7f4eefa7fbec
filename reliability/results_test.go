package reliability

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The figures in RESULTS.md are written by the tests that measure them, when
// SS_WRITE_RESULTS=1: each test writes its section to results/<name>.md, and
// TestMain puts the sections together. A section from an earlier run stays
// until its test runs again (fuzz.md comes from fuzz.sh).
var sectionOrder = []string{"torn", "torn-tools", "bitrot", "bitrot-tools", "load", "badinput", "fuzz"}

func writeResults() bool { return os.Getenv("SS_WRITE_RESULTS") == "1" }

// fullRun reports whether SS_FULL=1 asks for the long run: every case
// everywhere, more bit flips (see the tests).
func fullRun() bool { return os.Getenv("SS_FULL") == "1" }

// writeSection records a section of RESULTS.md.
func writeSection(t testing.TB, name, text string) {
	t.Helper()
	if !writeResults() {
		return
	}
	if err := os.MkdirAll("results", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join("results", name+".md"), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestMain(m *testing.M) {
	if helperMain() {
		return
	}
	code := m.Run()
	removeTools()
	if writeResults() {
		if err := assembleResults(); err != nil {
			fmt.Fprintln(os.Stderr, "writing RESULTS.md:", err)
			code = 1
		}
	}
	os.Exit(code)
}

func assembleResults() error {
	var b strings.Builder
	b.WriteString(`# Reliability results

Measured by the tests of package reliability (` + "`SS_WRITE_RESULTS=1 go test -race ./reliability/`" + `)
and by ` + "`reliability/fuzz.sh`" + `; each section below is written by the test that took the
measurement, on the machine and run it names. What was tried, how many times, what happened.

`)
	for _, name := range sectionOrder {
		text, err := os.ReadFile(filepath.Join("results", name+".md"))
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			return err
		}
		b.Write(text)
		if !strings.HasSuffix(string(text), "\n") {
			b.WriteString("\n")
		}
		b.WriteString("\n")
	}
	return os.WriteFile("RESULTS.md", []byte(strings.TrimRight(b.String(), "\n")+"\n"), 0o644)
}

// table renders a markdown table.
func table(header []string, rows [][]string) string {
	var b strings.Builder
	b.WriteString("| " + strings.Join(header, " | ") + " |\n|")
	for range header {
		b.WriteString("---|")
	}
	b.WriteString("\n")
	for _, r := range rows {
		for i := range r {
			r[i] = strings.ReplaceAll(r[i], "|", `\|`)
			r[i] = strings.ReplaceAll(r[i], "\n", " ")
		}
		b.WriteString("| " + strings.Join(r, " | ") + " |\n")
	}
	return b.String()
}

func pct(n, of int) string {
	if of == 0 {
		return "–"
	}
	return fmt.Sprintf("%.1f%%", 100*float64(n)/float64(of))
}
