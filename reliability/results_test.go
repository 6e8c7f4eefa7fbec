package reliability

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// The figures in RESULTS.md are written by the tests that measure them, when
// SS_WRITE_RESULTS=1: each test writes its section to results/<name>.md, and
// TestMain puts the sections together. A section from an earlier run stays
// until its test runs again (fuzz.md comes from fuzz.sh).
var sectionOrder = []string{"torn", "torn-tools", "bitrot", "bitrot-tools", "bitrot-append", "load", "operations", "operations-cost", "segments", "archive", "groups", "badinput", "fuzz"}

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
	b.WriteString("# Reliability results\n\n" +
		"Measured by the tests of package reliability and by `reliability/fuzz.sh`; each section is written by the\n" +
		"test that took the measurement (`SS_WRITE_RESULTS=1`), so the figures are the run's own. This run: `" + resultsCommand() + "`\n" +
		"(" + runtime.Version() + ", " + fmt.Sprint(runtime.NumCPU()) + " cores shared with other work, " + time.Now().UTC().Format("2006-01-02") + "). What was tried, how many times, what happened.\n\n")
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

// resultsCommand is the command line of this run, as far as the settings
// that change the figures go.
func resultsCommand() string {
	var env []string
	for _, k := range []string{"SS_FULL", "SS_LOAD_DURATION", "SS_BITROT_CASES", "SS_WRITE_RESULTS"} {
		if v := os.Getenv(k); v != "" {
			env = append(env, k+"="+v)
		}
	}
	race := ""
	if raceEnabled {
		race = " -race"
	}
	return strings.Join(append(env, "go test"+race+" ./reliability/"), " ")
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
