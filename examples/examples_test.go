package examples_test

// End-to-end tests: they build the examples once and run them, alone and in
// pipelines connected by OS pipes, on files and standard I/O. go test's cache
// does not see changes to the examples' main.go files: use -count=1.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

var examples = []string{"producer", "consumer", "processor", "resumable", "buffered", "blocking"}

// bin holds the built examples. TestMain builds them before any test starts
// its deadline: a cold build takes minutes on a busy machine.
var bin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "examples-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	args := []string{"build", "-o", dir + string(os.PathSeparator)}
	for _, e := range examples {
		args = append(args, "github.com/seastream/ss/examples/"+e)
	}
	if out, err := exec.Command("go", args...).CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building the examples: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	bin = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// command returns a command running one of the examples, killed when the
// test ends if still running.
func command(t *testing.T, name string, args ...string) *exec.Cmd {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return exec.CommandContext(ctx, filepath.Join(bin, name), args...)
}

// run runs cmd and returns its standard output, failing the test on a
// non-zero exit or anything on standard error.
func run(t *testing.T, cmd *exec.Cmd) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil || stderr.Len() > 0 {
		t.Fatalf("%s: %v\nstderr:\n%s", cmd, err, stderr.String())
	}
	return stdout.String()
}

// pipeline runs cmds with the standard output of each piped into the next
// by OS pipes, and returns the standard output of the last.
func pipeline(t *testing.T, cmds ...*exec.Cmd) string {
	t.Helper()
	stderr := make([]bytes.Buffer, len(cmds))
	var stdout bytes.Buffer
	for i, cmd := range cmds {
		cmd.Stderr = &stderr[i]
		if i+1 < len(cmds) {
			r, w, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			cmd.Stdout, cmds[i+1].Stdin = w, r
		} else {
			cmd.Stdout = &stdout
		}
	}
	for _, cmd := range cmds {
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// The child has its copies of the pipe's ends; close ours, so that
		// each reader sees the end of input when its writer exits.
		if f, ok := cmd.Stdin.(*os.File); ok {
			f.Close()
		}
		if f, ok := cmd.Stdout.(*os.File); ok {
			f.Close()
		}
	}
	for i, cmd := range cmds {
		if err := cmd.Wait(); err != nil || stderr[i].Len() > 0 {
			t.Fatalf("%s: %v\nstderr:\n%s", cmd, err, stderr[i].String())
		}
	}
	return stdout.String()
}

// lines splits out into lines, each matching re, and returns the submatches
// of each.
func lines(t *testing.T, out string, re *regexp.Regexp) [][]string {
	t.Helper()
	var subs [][]string
	for l := range strings.Lines(out) {
		m := re.FindStringSubmatch(strings.TrimSuffix(l, "\n"))
		if m == nil {
			t.Fatalf("line %q does not match %s; all output:\n%s", l, re, out)
		}
		subs = append(subs, m)
	}
	return subs
}

// checkTicks checks that there are n lines and that the last submatch of
// each is its tick: 0, 1, ... n-1.
func checkTicks(t *testing.T, subs [][]string, n int) {
	t.Helper()
	if len(subs) != n {
		t.Fatalf("got %d lines, want %d: %q", len(subs), n, subs)
	}
	for i, m := range subs {
		if m[len(m)-1] != strconv.Itoa(i) {
			t.Fatalf("line %d is %q, want tick %d", i, m[0], i)
		}
	}
}

const ts = `\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d`

// TestStdioPipeline runs
//
//	producer --stream stdio:///hello1 --count 5 --interval 1ms | processor --input stdio:///hello1 --output stdio:///hello2
func TestStdioPipeline(t *testing.T) {
	out := pipeline(t,
		command(t, "producer", "--stream", "stdio:///hello1", "--count", "5", "--interval", "1ms"),
		command(t, "processor", "--input", "stdio:///hello1", "--output", "stdio:///hello2"))
	subs := lines(t, out, regexp.MustCompile(`^\[`+ts+` \| hello2 \| (\d+)\] "tick (\d+)" processed$`))
	checkTicks(t, subs, 5)
	for i, m := range subs {
		if m[1] != strconv.Itoa(i) {
			t.Errorf("line %d has seq %s", i, m[1])
		}
	}
}

// TestStdioDocPipeline runs the pipeline of adapters/stdio's package doc:
//
//	producer --stream stdio:///tick --count 5 --interval 100ms | processor --input stdio:///tick --output stdio:///out | consumer --stream stdio:///out
func TestStdioDocPipeline(t *testing.T) {
	out := pipeline(t,
		command(t, "producer", "--stream", "stdio:///tick", "--count", "5", "--interval", "100ms"),
		command(t, "processor", "--input", "stdio:///tick", "--output", "stdio:///out"),
		command(t, "consumer", "--stream", "stdio:///out"))
	subs := lines(t, out, regexp.MustCompile(`^\[`+ts+`\.000 \| out \| (\d+) \| 0\] "tick (\d+)" processed$`))
	checkTicks(t, subs, 5)
}

// produce writes n ticks into a new file and returns its URI, stream hello.
func produce(t *testing.T, n int) string {
	t.Helper()
	uri := "file://" + filepath.Join(t.TempDir(), "in.ss") + "/hello"
	run(t, command(t, "producer", "--stream", uri, "--count", strconv.Itoa(n), "--interval", "0"))
	return uri
}

// TestFilePipeline: producer → file → processor → file → consumer, each
// stopping at the end-of-stream message the one before it wrote.
func TestFilePipeline(t *testing.T) {
	in := produce(t, 20)
	out := "file://" + filepath.Join(t.TempDir(), "out.ss") + "/hello2"
	run(t, command(t, "processor", "--input", in, "--output", out))
	got := run(t, command(t, "consumer", "--stream", out))
	checkTicks(t, lines(t, got, regexp.MustCompile(`^\[`+ts+`\.\d{3} \| hello2 \| \d+ \| 0\] "tick (\d+)" processed$`)), 20)

	// The consumer reads the input too, from the start.
	got = run(t, command(t, "consumer", "--stream", in))
	checkTicks(t, lines(t, got, regexp.MustCompile(`^\[`+ts+`\.\d{3} \| hello \| \d+ \| 0\] "tick (\d+)"$`)), 20)
}

// TestResumable: each run of resumable goes on where the one before stopped.
func TestResumable(t *testing.T) {
	in := produce(t, 10)
	line := regexp.MustCompile(`^\[` + ts + ` \| out \| \d+\] "tick (\d+)" processed$`)
	var all [][]string
	for _, args := range [][]string{{"--count", "4"}, {"--count", "4"}, {}} {
		out := run(t, command(t, "resumable", append([]string{"--input", in, "--output", "stdio:///out"}, args...)...))
		subs := lines(t, out, line)
		if len(args) > 0 && len(subs) != 4 {
			t.Fatalf("resumable %q wrote %d lines, want 4:\n%s", args, len(subs), out)
		}
		all = append(all, subs...)
	}
	checkTicks(t, all, 10)
	// Once everything is committed, a run has nothing left to do.
	if out := run(t, command(t, "resumable", "--input", in, "--output", "stdio:///out")); out != "" {
		t.Errorf("a run after the end of the input wrote:\n%s", out)
	}
}

// TestBuffered: the messages come out in order, in batches numbered from 0;
// while one batch takes its time, the next one queues.
func TestBuffered(t *testing.T) {
	in := produce(t, 30)
	out := run(t, command(t, "buffered", "--input", in, "--output", "stdio:///out", "--delay", "20ms"))
	subs := lines(t, out, regexp.MustCompile(`^\[`+ts+` \| out \| \d+\] \[batch (\d+)\] "tick (\d+)" processed$`))
	checkTicks(t, subs, 30)
	batch := 0
	for _, m := range subs {
		n, _ := strconv.Atoi(m[1])
		if n != batch && n != batch+1 {
			t.Fatalf("line %q after batch %d", m[0], batch)
		}
		batch = n
	}
	if batch+1 >= len(subs) {
		t.Errorf("%d messages came in %d batches: no batching", len(subs), batch+1)
	}
}

// TestBlocking: work of random length on 4 workers, output in input order,
// by more than one worker.
func TestBlocking(t *testing.T) {
	in := produce(t, 40)
	out := run(t, command(t, "blocking", "--input", in, "--output", "stdio:///out", "--workers", "4", "--work", "10ms"))
	subs := lines(t, out, regexp.MustCompile(`^\[`+ts+` \| out \| \d+\] \[worker ([0-3])\] "tick (\d+)" processed$`))
	checkTicks(t, subs, 40)
	workers := map[string]bool{}
	for _, m := range subs {
		workers[m[1]] = true
	}
	if len(workers) < 2 {
		t.Errorf("only workers %v did any work", workers)
	}
}

// TestServerPipeline runs producer → processor → consumer through Redis and
// Kafka, when SS_REDIS_URL (redis://127.0.0.1:6379) or SS_KAFKA_BROKERS
// (127.0.0.1:9092) names a server: the processor and the consumer follow
// their streams, and are interrupted once the consumer has printed every
// tick.
func TestServerPipeline(t *testing.T) {
	servers := map[string]string{}
	if u := os.Getenv("SS_REDIS_URL"); u != "" {
		servers["redis"] = strings.TrimSuffix(u, "/")
	}
	if b := os.Getenv("SS_KAFKA_BROKERS"); b != "" {
		servers["kafka"] = "kafka://" + b
	}
	if len(servers) == 0 {
		t.Skip("set SS_REDIS_URL=redis://127.0.0.1:6379 or SS_KAFKA_BROKERS=127.0.0.1:9092 to run the examples against a server")
	}
	for name, base := range servers {
		t.Run(name, func(t *testing.T) {
			suffix := strconv.FormatInt(time.Now().UnixNano(), 36)
			in, out := base+"/examples-in-"+suffix, base+"/examples-out-"+suffix
			processor := command(t, "processor", "--input", in, "--output", out)
			consumer := command(t, "consumer", "--stream", out)
			var processorErr, consumerErr bytes.Buffer
			processor.Stderr, consumer.Stderr = &processorErr, &consumerErr
			stdout, err := consumer.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			for _, cmd := range []*exec.Cmd{processor, consumer} {
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
			}
			run(t, command(t, "producer", "--stream", in, "--count", "5", "--interval", "1ms"))
			// The consumer's lines, until the fifth.
			var got strings.Builder
			buf := make([]byte, 4096)
			for strings.Count(got.String(), "\n") < 5 {
				n, err := stdout.Read(buf)
				got.Write(buf[:n])
				if err != nil {
					t.Fatalf("consumer: %v after:\n%s\nstderr: %s\nprocessor's stderr: %s", err, got.String(), consumerErr.String(), processorErr.String())
				}
			}
			for _, cmd := range []*exec.Cmd{processor, consumer} {
				if err := cmd.Process.Signal(os.Interrupt); err != nil {
					t.Fatal(err)
				}
			}
			if err := processor.Wait(); err != nil {
				t.Errorf("processor after Ctrl-C: %v\n%s", err, processorErr.String())
			}
			rest, _ := io.ReadAll(stdout)
			got.Write(rest)
			if err := consumer.Wait(); err != nil {
				t.Errorf("consumer after Ctrl-C: %v\n%s", err, consumerErr.String())
			}
			key := regexp.QuoteMeta("examples-out-" + suffix)
			checkTicks(t, lines(t, got.String(), regexp.MustCompile(`^\[`+ts+`\.\d{3} \| `+key+` \| \d+ \| 0\] "tick (\d+)" processed$`)), 5)
		})
	}
}

// TestResumableKilled: a run killed with SIGKILL at any moment loses
// nothing. The next run starts at most one message after the last one the
// killed run wrote (a message is committed after its output is written), and
// not before its first.
func TestResumableKilled(t *testing.T) {
	in := produce(t, 200)
	line := regexp.MustCompile(`^\[` + ts + ` \| out \| \d+\] "tick (\d+)" processed$`)
	killed := command(t, "resumable", "--input", in, "--output", "stdio:///out")
	stdout, err := killed.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := killed.Start(); err != nil {
		t.Fatal(err)
	}
	var got []byte
	buf := make([]byte, 4096)
	for bytes.Count(got, []byte("\n")) < 5 {
		n, err := stdout.Read(buf)
		got = append(got, buf[:n]...)
		if err != nil {
			t.Fatalf("resumable: %v after:\n%s", err, got)
		}
	}
	if err := killed.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	rest, _ := io.ReadAll(stdout)
	got = append(got, rest...)
	killed.Wait()
	first := lines(t, string(got[:bytes.LastIndexByte(got, '\n')+1]), line)
	checkTicks(t, first, len(first))
	last, _ := strconv.Atoi(first[len(first)-1][1])

	second := lines(t, run(t, command(t, "resumable", "--input", in, "--output", "stdio:///out")), line)
	if len(second) == 0 {
		if last != 199 {
			t.Fatalf("the killed run wrote ticks 0 to %d, and the next one nothing", last)
		}
		return
	}
	resumed, _ := strconv.Atoi(second[0][1])
	if resumed < 1 || resumed > last+1 {
		t.Fatalf("the killed run wrote ticks 0 to %d, and the next one resumed at %d", last, resumed)
	}
	for i, m := range second {
		if m[1] != strconv.Itoa(resumed+i) || resumed+len(second) != 200 {
			t.Fatalf("the run after the kill wrote ticks %s to %s (%d lines), want %d to 199", second[0][1], second[len(second)-1][1], len(second), resumed)
		}
	}
	t.Logf("killed after tick %d; resumed at %d", last, resumed)
}

// TestBadArguments: each example says what is wrong with its arguments.
func TestBadArguments(t *testing.T) {
	for _, c := range []struct {
		args   []string
		status int
		stderr string
	}{
		{[]string{"producer"}, 2, "--stream URI is required"},
		{[]string{"producer", "--stream", "stdio:///a,b"}, 1, "must name one stream key"},
		{[]string{"consumer"}, 2, "--stream URI is required"},
		{[]string{"processor", "--input", "stdio:///a"}, 2, "--output URI are required"},
		{[]string{"processor", "--input", "stdio:///a", "--output", "stdio:///"}, 1, "must name one stream key"},
		{[]string{"processor", "--input", "nosuch:///a", "--output", "stdio:///b"}, 1, "--input: "},
		{[]string{"resumable", "--input", "stdio:///a", "--output", "stdio:///b"}, 1, "Resumable consumers on stdio"},
		{[]string{"buffered", "--input", "stdio:///a", "--output", "stdio:///b", "--delay", "-1s"}, 2, "must not be negative"},
		{[]string{"blocking", "--input", "stdio:///a", "--output", "stdio:///b", "--workers", "0"}, 2, "at least 1"},
	} {
		cmd := command(t, c.args[0], c.args[1:]...)
		var stderr bytes.Buffer
		cmd.Stdin, cmd.Stderr = strings.NewReader(""), &stderr
		err := cmd.Run()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != c.status || !strings.Contains(stderr.String(), c.stderr) {
			t.Errorf("%q: %v, stderr %q; want status %d and %q", c.args, err, stderr.String(), c.status, c.stderr)
		}
	}
}
