package filedriver

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/seastream/ss/internal/testkit"
	"github.com/seastream/ss/streamer/driver"
)

// The test binary doubles as the other process of the cross-process tests:
// with childEnv set it runs that role instead of the tests.
const (
	childEnv     = "SS_FILEDRIVER_CHILD"
	childPathEnv = "SS_FILEDRIVER_CHILD_PATH"
)

func TestMain(m *testing.M) {
	if role := os.Getenv(childEnv); role != "" {
		if err := runChild(role, os.Getenv(childPathEnv)); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// runChild runs a role. "resumable": read 3 messages of stream a as
// Resumable group r, commit, say "ready", and hold the group until killed.
func runChild(role, path string) error {
	ctx := context.Background()
	u, err := driver.ParseURI("file://" + path + "?heartbeat=20ms")
	if err != nil {
		return err
	}
	var copts driver.ConnectOptions
	if os.Getenv("SS_FILEDRIVER_CHILD_DEBUG") != "" {
		copts.Logger = slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	c, err := Driver{}.Open(ctx, u, copts)
	if err != nil {
		return err
	}
	switch role {
	case "resumable":
		cons, err := c.NewConsumer(ctx, []driver.StreamKey{"a"}, resumable("r"))
		if err != nil {
			return err
		}
		for range 3 {
			if _, err := cons.Next(ctx); err != nil {
				return err
			}
		}
		if err := cons.Commit(ctx); err != nil {
			return err
		}
		fmt.Println("ready")
		select {} // until killed
	case "member":
		return runMember(ctx, c)
	}
	return fmt.Errorf("unknown role %q", role)
}

// runMember is a LoadBalanced member of group g reading stream a: it prints
// "m <shard> <seq>" for each message Next returns and "c" after every
// fifth, once Commit has returned; on SIGTERM it closes and prints "left".
func runMember(ctx context.Context, c driver.Conn) error {
	cons, err := c.NewConsumer(ctx, []driver.StreamKey{"a"}, driver.ConsumerOptions{Mode: driver.LoadBalanced, Group: "g", AutoStreamReset: driver.ResetEarliest})
	if err != nil {
		return err
	}
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM)
	ctx, cancel := context.WithCancel(ctx)
	go func() { <-term; cancel() }()
	out := bufio.NewWriter(os.Stdout)
	fmt.Fprintln(out, "ready")
	out.Flush()
	for i := 1; ; i++ {
		m, err := cons.Next(ctx)
		if err != nil && ctx.Err() != nil {
			if err := cons.Close(context.Background()); err != nil {
				return err
			}
			fmt.Fprintln(out, "left")
			return out.Flush()
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "m %d %d\n", m.Shard, m.Seq)
		if i%5 == 0 {
			out.Flush() // what was returned is said before the commit
			if err := cons.Commit(ctx); err != nil && ctx.Err() == nil {
				return err
			}
			fmt.Fprintln(out, "c")
		}
		out.Flush()
	}
}

// child is a running role.
type child struct {
	cmd   *exec.Cmd
	lines *bufio.Scanner
}

func startChild(t *testing.T, role, path string) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+role, childPathEnv+"="+path)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ch := &child{cmd: cmd, lines: bufio.NewScanner(out)}
	t.Cleanup(ch.kill)
	return ch
}

// expect reads the child's next line, which must be want.
func (ch *child) expect(t *testing.T, want string) {
	t.Helper()
	for ch.lines.Scan() && strings.HasPrefix(ch.lines.Text(), "time=") { // debug logs
	}
	if ch.lines.Text() != want {
		t.Fatalf("the child said %q (%v), want %q", ch.lines.Text(), ch.lines.Err(), want)
	}
}

func (ch *child) kill() {
	if ch.cmd.ProcessState == nil {
		_ = ch.cmd.Process.Signal(syscall.SIGKILL)
		_ = ch.cmd.Wait()
	}
}

// TestResumableAcrossProcesses: a Resumable group held by another process
// is refused with ErrGroupBusy naming that process; once it dies (SIGKILL,
// no Close), the group is free and resumes from its last commit. On a .ss
// file and on a stream directory.
func TestResumableAcrossProcesses(t *testing.T) {
	t.Run("file", func(t *testing.T) { resumableAcrossProcesses(t, tempFile(t), "create") })
	t.Run("dir", func(t *testing.T) { resumableAcrossProcesses(t, tempDir(t), "create&segment_size=4KiB") })
}

func resumableAcrossProcesses(t *testing.T, path, query string) {
	ctx := testkit.Context(t)
	c := open(t, path, query)
	sendN(t, ctx, newProducer(t, c), "a", "m", 10)
	ch := startChild(t, "resumable", path)
	ch.expect(t, "ready")
	_, err := c.NewConsumer(ctx, []driver.StreamKey{"a"}, resumable("r"))
	if !errors.Is(err, ErrGroupBusy) || !strings.Contains(err.Error(), "pid "+strconv.Itoa(ch.cmd.Process.Pid)) {
		t.Fatalf("while another process holds the group: %v, want ErrGroupBusy naming pid %d", err, ch.cmd.Process.Pid)
	}
	ch.kill()
	cons := newCons(t, c, resumable("r"), "a")
	if got := payloads(t, ctx, cons, 2); got[0] != "m3" || got[1] != "m4" {
		t.Fatalf("after the holder died, resumed with %q, want m3 m4", got)
	}
}
