package ssdir

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/seastream/ss/format"
	"github.com/seastream/ss/ssfile"
)

// The kill test re-runs this test binary as a writer process.
const killWriterEnv = "SSDIR_KILL_WRITER"

func TestMain(m *testing.M) {
	if dir := os.Getenv(killWriterEnv); dir != "" {
		killWriter(dir)
		return
	}
	os.Exit(m.Run())
}

// Small segments and retention: a kill lands in a rollover or a deletion
// as often as in a write.
func killOptions() []Option {
	return []Option{WithSegmentSize(8 << 10), WithRetention(Retention{Segments: 40}),
		WithFileOptions(ssfile.WithBeaconInterval(1024), ssfile.WithBufferSize(4096))}
}

func killPayload(seq uint64) []byte {
	n := int(seq*7919) % 700
	return append(fmt.Appendf(nil, "msg-%d-", seq), bytes.Repeat([]byte{byte(seq)}, n)...)
}

// killWriter appends forever, syncing every few messages and printing the
// last synced sequence number after each sync, until it is killed.
func killWriter(dir string) {
	w, err := Append(dir, killOptions()...)
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	st, _ := w.Stream("kill", 0)
	seq := st.SeqNo
	out := bufio.NewWriter(os.Stdout)
	for i := 0; ; i++ {
		seq++
		if err := w.Write(format.MessageHeader{StreamKey: "kill", SeqNo: seq, Timestamp: uint64(time.Now().UnixMilli())}, killPayload(seq)); err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
		if i%5 == 4 {
			if err := w.Sync(); err != nil {
				fmt.Println("error", err)
				os.Exit(1)
			}
			fmt.Fprintln(out, "synced", seq)
			out.Flush()
		}
	}
}

// TestKilledWriter kills a writer process of a stream directory with
// SIGKILL at random moments, 200 times, while one follower reads the whole
// run live: the follower gets every message once, in order, across the
// rollovers, deletions and restarts; after the last kill the directory opens
// with every synced message once, and every segment left reads cleanly.
func TestKilledWriter(t *testing.T) {
	kills := 200
	if testing.Short() {
		kills = 20
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	follower, err := Open(dir, WithMode(ssfile.LiveReplay), WithPollInterval(10*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer follower.Close()
	var (
		rng      = rand.New(rand.NewPCG(21, 22))
		synced   uint64
		followed uint64 // the follower's last seq
	)
	ctx := context.Background()
	for k := range kills {
		cmd := exec.Command(exe, "-test.run=^$")
		cmd.Env = append(os.Environ(), killWriterEnv+"="+dir)
		stdout, _ := cmd.StdoutPipe()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := bufio.NewScanner(stdout)
		if !lines.Scan() {
			cmd.Wait()
			t.Fatalf("kill %d: the writer printed nothing", k)
		}
		time.Sleep(time.Duration(rng.IntN(30000)) * time.Microsecond) // the random moment, not synchronisation
		cmd.Process.Signal(syscall.SIGKILL)
		for ok := true; ok; ok = lines.Scan() {
			f := strings.Fields(lines.Text())
			if len(f) != 2 || f[0] != "synced" {
				t.Fatalf("kill %d: the writer said %q", k, lines.Text())
			}
			n, _ := strconv.ParseUint(f[1], 10, 64)
			synced = max(synced, n)
		}
		cmd.Wait()
		// The follower catches up with what was synced before the kill.
		for followed < synced {
			m, err := follower.Next(ctx)
			if err != nil {
				t.Fatalf("kill %d: follower after seq %d: %v", k, followed, err)
			}
			if m.SeqNo != followed+1 || !bytes.Equal(m.Payload, killPayload(m.SeqNo)) {
				t.Fatalf("kill %d: follower got seq %d after %d", k, m.SeqNo, followed)
			}
			followed = m.SeqNo
		}
	}
	w, err := Append(dir, killOptions()...)
	if err != nil {
		t.Fatalf("append after the last kill: %v", err)
	}
	last, _ := w.Stream("kill", 0)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if last.SeqNo < synced {
		t.Fatalf("the directory ends at seq %d, but %d was synced", last.SeqNo, synced)
	}
	// What retention left reads once, in order, up to the end.
	r, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var seq, first uint64
	for {
		m, err := r.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("after seq %d: %v", seq, err)
		}
		if seq == 0 {
			first, seq = m.SeqNo, m.SeqNo-1
		}
		if m.SeqNo != seq+1 || !bytes.Equal(m.Payload, killPayload(m.SeqNo)) {
			t.Fatalf("got seq %d after %d", m.SeqNo, seq)
		}
		seq = m.SeqNo
	}
	if seq != last.SeqNo {
		t.Fatalf("replay ends at seq %d, the writer's state at %d", seq, last.SeqNo)
	}
	segs, _ := Segments(dir)
	t.Logf("%d kills, %d messages synced, %d segments left holding seq %d to %d", kills, synced, len(segs), first, seq)
}
