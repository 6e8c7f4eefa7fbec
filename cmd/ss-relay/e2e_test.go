package main

// End-to-end tests: they build clock and ss-relay and run them in real
// pipelines, connected by OS pipes.

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/seastream/ss/internal/testkit"
)

// binDir holds clock and ss-relay, built by TestMain before any test starts
// its deadline: a cold build takes minutes on a busy machine.
var binDir string

// buildBinaries builds clock and ss-relay into a new temporary directory.
func buildBinaries() (string, error) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("the go command is needed to build the binaries: %w", err)
	}
	dir, err := os.MkdirTemp("", "ss-relay-e2e-")
	if err != nil {
		return "", err
	}
	out, err := exec.Command(gobin, "build", "-o", dir+string(os.PathSeparator),
		"github.com/seastream/ss/cmd/clock", "github.com/seastream/ss/cmd/ss-relay").CombinedOutput()
	if err != nil {
		os.RemoveAll(dir)
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return dir, nil
}

// binaries returns the directory of the built binaries.
func binaries(t *testing.T) string {
	t.Helper()
	if binDir == "" {
		t.Fatal("the binaries were not built (see TestMain)")
	}
	return binDir
}

func TestMain(m *testing.M) {
	dir, err := buildBinaries()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(binDir)
	os.Exit(code)
}

// command returns a command running one of the binaries, killed at the end
// of the test if still running.
func command(t *testing.T, name string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.CommandContext(testkit.Context(t), filepath.Join(binaries(t), name), args...)
	cmd.Env = os.Environ()
	return cmd
}

// runOK runs cmd with stdin and returns its stdout, failing on a non-zero
// exit.
func runOK(t *testing.T, cmd *exec.Cmd, stdin string) (stdout, stderr string) {
	t.Helper()
	var o, e bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = strings.NewReader(stdin), &o, &e
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s: %v\nstderr:\n%s", cmd, err, e.String())
	}
	return o.String(), e.String()
}

var clockLine = regexp.MustCompile(`^\[\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d \| clock \| (\d+)\] \{ "tick": (\d+) \}$`)

// checkTicks checks that lines are clock's lines for ticks 0 to n-1.
func checkTicks(t *testing.T, out string, n int) {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != n {
		t.Fatalf("got %d lines, want %d:\n%s", len(lines), n, out)
	}
	for i, l := range lines {
		m := clockLine.FindStringSubmatch(l)
		if m == nil || m[1] != strconv.Itoa(i) || m[2] != strconv.Itoa(i) {
			t.Fatalf("line %d = %q, want clock's tick %d", i, l, i)
		}
	}
}

// TestPipelineArchiveAndReplay runs
//
//	clock --count 5 | ss-relay --input stdio:///clock --output file://<tmp>/a.ss/clock
//
// then relays the file back to stdio: the lines are clock's, byte for byte
// (stream key, sequence number and timestamp kept).
func TestPipelineArchiveAndReplay(t *testing.T) {
	archive := filepath.Join(t.TempDir(), "a.ss")
	clock := command(t, "clock", "--count", "5", "--interval", "1ms")
	relay := command(t, "ss-relay", "--input", "stdio:///clock", "--output", "file://"+archive+"/clock")
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	var clockOut, clockErr, relayOut, relayErr bytes.Buffer
	clock.Stdout, clock.Stderr = io.MultiWriter(pw, &clockOut), &clockErr
	relay.Stdin, relay.Stdout, relay.Stderr = pr, &relayOut, &relayErr
	if err := relay.Start(); err != nil {
		t.Fatal(err)
	}
	pr.Close()
	if err := clock.Run(); err != nil {
		t.Fatalf("clock: %v\n%s", err, clockErr.String())
	}
	pw.Close()
	if err := relay.Wait(); err != nil {
		t.Fatalf("ss-relay: %v\n%s", err, relayErr.String())
	}
	checkTicks(t, clockOut.String(), 5)
	if relayOut.Len() != 0 || relayErr.Len() != 0 {
		t.Errorf("ss-relay wrote stdout %q, stderr %q", relayOut.String(), relayErr.String())
	}

	replayed, _ := runOK(t, command(t, "ss-relay", "--input", "file://"+archive+"/clock", "--offset", "start", "--replay"), "")
	if replayed != clockOut.String() {
		t.Errorf("replayed archive:\n%s\nclock wrote:\n%s", replayed, clockOut.String())
	}
	// Appending to the archive keeps numbering: a second run adds ticks
	// with their own sequence numbers 0 to 2, after the first five.
	clockOut2, _ := runOK(t, command(t, "clock", "--count", "3", "--interval", "0"), "")
	runOK(t, command(t, "ss-relay", "--input", "stdio:///clock", "--output", "file://"+archive+"/clock"), clockOut2)
	replayed, _ = runOK(t, command(t, "ss-relay", "--input", "file://"+archive+"/clock", "--offset", "start", "--replay"), "")
	if replayed != clockOut.String()+clockOut2 {
		t.Errorf("archive after a second run:\n%s\nwant:\n%s", replayed, clockOut.String()+clockOut2)
	}
}

// TestBadLinesInPipeline: bad lines are reported on stderr with their line
// numbers, and the good ones go through two relays in a pipeline.
func TestBadLinesInPipeline(t *testing.T) {
	input := strings.Join([]string{
		"[k] good 1",
		"[Jan 1, 2022] { \"payload\": \"anything\" }",
		"[k] \xff\xfe not UTF-8",
		"[" + strings.Repeat("x", 250) + "] over-long key",
		"[2022-01-01T00:00:00.123 | k | 41] good 2",
		"[k | 1 | 2 | 3] four parts",
		"raw line, broadcast",
		"[other] another stream",
		"[k] good 3",
	}, "\n") + "\n"
	first := command(t, "ss-relay", "--input", "stdio:///k", "--output", "stdio:///out")
	second := command(t, "ss-relay", "--input", "stdio:///out")
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	var firstErr, secondOut, secondErr bytes.Buffer
	first.Stdin, first.Stdout, first.Stderr = strings.NewReader(input), pw, &firstErr
	second.Stdin, second.Stdout, second.Stderr = pr, &secondOut, &secondErr
	if err := second.Start(); err != nil {
		t.Fatal(err)
	}
	pr.Close()
	if err := first.Run(); err != nil {
		t.Fatalf("first ss-relay: %v\n%s", err, firstErr.String())
	}
	pw.Close()
	if err := second.Wait(); err != nil {
		t.Fatalf("second ss-relay: %v\n%s", err, secondErr.String())
	}

	// The first relay renamed the stream to "out" and kept sequence numbers
	// and the explicit timestamp; the second passed the lines on.
	lines := strings.Split(strings.TrimSuffix(secondOut.String(), "\n"), "\n")
	want := []*regexp.Regexp{
		regexp.MustCompile(`^\[\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d \| out \| 0\] good 1$`),
		regexp.MustCompile(`^\[2022-01-01T00:00:00 \| out \| 41\] good 2$`),
		regexp.MustCompile(`^\[\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d \| out \| 0\] raw line, broadcast$`),
		regexp.MustCompile(`^\[\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d \| out \| 42\] good 3$`),
	}
	if len(lines) != len(want) {
		t.Fatalf("pipeline output:\n%s\nwant %d lines", secondOut.String(), len(want))
	}
	for i, re := range want {
		if !re.MatchString(lines[i]) {
			t.Errorf("line %d = %q, want %s", i, lines[i], re)
		}
	}
	reports := strings.Split(strings.TrimSuffix(firstErr.String(), "\n"), "\n")
	wantReports := []string{
		`stdio: line 2 skipped: stdio: bad meta [Jan 1, 2022]: "Jan 1, 2022" is neither a timestamp`,
		`stdio: line 3 skipped: the line is not valid UTF-8`,
		`stdio: line 4 skipped: stdio: bad meta [xxx`,
		`stdio: line 6 skipped: stdio: bad meta [k | 1 | 2 | 3]: unexpected part "3" after the shard`,
	}
	if len(reports) != len(wantReports) {
		t.Fatalf("reports:\n%s\nwant %d", firstErr.String(), len(wantReports))
	}
	for i, w := range wantReports {
		if !strings.HasPrefix(reports[i], w) {
			t.Errorf("report %d = %q, want prefix %q", i, reports[i], w)
		}
	}
	if !strings.Contains(reports[2], "250 bytes long, the maximum is 249") {
		t.Errorf("over-long key report: %q", reports[2])
	}
	if secondErr.Len() != 0 {
		t.Errorf("second relay stderr: %s", secondErr.String())
	}
}

var progressLine = regexp.MustCompile(`^ss-relay: (\d+) messages, `)
var summaryLine = regexp.MustCompile(`^ss-relay: relayed (\d+) messages .*, interrupted$`)

// TestInterruptFlushes: SIGINT stops a relay fed by a running clock; it
// flushes everything it received and exits 0, and the archive holds exactly
// the ticks it reported, 0 to N-1.
func TestInterruptFlushes(t *testing.T) {
	archive := filepath.Join(t.TempDir(), "live.ss")
	clock := command(t, "clock", "--interval", "1ms")
	relay := command(t, "ss-relay", "--input", "stdio:///clock", "--output", "file://"+archive+"/clock",
		"--progress", "--progress-interval", "20ms")
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	clock.Stdout = pw
	relay.Stdin = pr
	stderr, err := relay.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := relay.Start(); err != nil {
		t.Fatal(err)
	}
	if err := clock.Start(); err != nil {
		t.Fatal(err)
	}
	pr.Close()
	pw.Close()
	t.Cleanup(func() {
		_ = clock.Process.Kill()
		_ = clock.Wait()
	})

	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	// Wait for a progress report of at least 20 messages, then interrupt.
	var all []string
	for l := range lines {
		all = append(all, l)
		if m := progressLine.FindStringSubmatch(l); m != nil {
			if n, _ := strconv.Atoi(m[1]); n >= 20 {
				break
			}
		}
	}
	if err := relay.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	for l := range lines {
		all = append(all, l)
	}
	if err := relay.Wait(); err != nil {
		t.Fatalf("ss-relay after SIGINT: %v\n%s", err, strings.Join(all, "\n"))
	}
	n := -1
	for _, l := range all {
		if m := summaryLine.FindStringSubmatch(l); m != nil {
			n, _ = strconv.Atoi(m[1])
		}
	}
	if n < 20 {
		t.Fatalf("no summary of an interrupted relay of at least 20 messages in:\n%s", strings.Join(all, "\n"))
	}
	replayed, _ := runOK(t, command(t, "ss-relay", "--input", "file://"+archive+"/clock", "--offset", "start", "--replay"), "")
	checkTicks(t, replayed, n)
}

// TestClockInterrupt: SIGINT stops the clock cleanly, with whole lines.
func TestClockInterrupt(t *testing.T) {
	clock := command(t, "clock", "--interval", "1ms", "--stream", "clock")
	out, err := clock.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var clockErr bytes.Buffer
	clock.Stderr = &clockErr
	if err := clock.Start(); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(out)
	first, err := br.ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	if err := clock.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	rest, err := io.ReadAll(br)
	if err != nil {
		t.Fatal(err)
	}
	if err := clock.Wait(); err != nil {
		t.Fatalf("clock after SIGINT: %v\n%s", err, clockErr.String())
	}
	all := first + string(rest)
	checkTicks(t, all, strings.Count(all, "\n"))
}

func TestExitStatus(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		args   []string
		status int
		stderr string
	}{
		{[]string{}, 2, "--input is required"},
		{[]string{"--input", "stdio:///k", "--offset", "middle"}, 2, "--offset must be start or end"},
		{[]string{"--input", "stdio:///k", "--since", "yesterday"}, 2, "--since: invalid time"},
		{[]string{"--input", "stdio:///k", "--output", "stdio:///a,b"}, 2, "must name one stream key"},
		{[]string{"--input", "file://" + dir + "/missing.ss/k"}, 1, "opening the input"},
		{[]string{"--input", "nosuch:///k"}, 1, "unknown URI scheme"},
		{[]string{"--input", "stdio:///k", "--output", "file://" + dir + "/out.ss/k?bogus=1"}, 1, "unknown option"},
		{[]string{"--help"}, 0, "Usage: ss-relay"},
	} {
		cmd := command(t, "ss-relay", c.args...)
		var e bytes.Buffer
		cmd.Stdin, cmd.Stderr = strings.NewReader(""), &e
		err := cmd.Run()
		status := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			status = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		if status != c.status || !strings.Contains(e.String(), c.stderr) {
			t.Errorf("ss-relay %q: status %d, stderr %q; want %d and %q", c.args, status, e.String(), c.status, c.stderr)
		}
	}
	for _, c := range []struct {
		args   []string
		status int
	}{
		{[]string{"--interval", "-1s"}, 2},
		{[]string{"extra"}, 2},
		{[]string{"--output", "nosuch:///x"}, 1},
	} {
		err := command(t, "clock", c.args...).Run()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != c.status {
			t.Errorf("clock %q: %v, want status %d", c.args, err, c.status)
		}
	}
}
