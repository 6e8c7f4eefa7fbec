package filedriver

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"

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
	u, err := driver.ParseURI("file://" + path)
	if err != nil {
		return err
	}
	c, err := Driver{}.Open(ctx, u, driver.ConnectOptions{})
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
	}
	return fmt.Errorf("unknown role %q", role)
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
	if !ch.lines.Scan() || ch.lines.Text() != want {
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
// no Close), the group is free and resumes from its last commit.
func TestResumableAcrossProcesses(t *testing.T) {
	ctx := testCtx(t)
	path := tempFile(t)
	c := open(t, path, "create")
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
