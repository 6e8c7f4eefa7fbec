package ssfile

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
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/seastream/ss/format"
)

// The crash test re-runs this test binary as a writer process.
const crashWriterEnv = "SSFILE_CRASH_WRITER"

func TestMain(m *testing.M) {
	if path := os.Getenv(crashWriterEnv); path != "" {
		crashWriter(path)
		return
	}
	if path := os.Getenv(tailWriterEnv); path != "" {
		n, _ := strconv.Atoi(os.Getenv(tailCountEnv))
		if err := tailWriter(path, n); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}
	os.Exit(m.Run())
}

func crashPayload(seq uint64) []byte {
	n := int(seq*7919) % 700
	return append([]byte(fmt.Sprintf("msg-%d-", seq)), bytes.Repeat([]byte{byte(seq)}, n)...)
}

// crashWriter appends messages forever, syncing every few, and prints the
// last synced sequence number after each sync. It is killed from outside.
func crashWriter(path string) {
	w, err := Append(path, WithAnyBeaconInterval(512), WithBufferSize(4096))
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	st, _ := w.Stream("crash", 0)
	seq := st.SeqNo
	out := bufio.NewWriter(os.Stdout)
	for i := 0; ; i++ {
		seq++
		if err := w.Write(format.MessageHeader{StreamKey: "crash", SeqNo: seq, Timestamp: uint64(time.Now().UnixMilli())}, crashPayload(seq)); err != nil {
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

// TestCrashSafety kills a writer process with SIGKILL at random moments, 200
// times. After each kill: Append works, every message synced before the kill
// is there exactly once and in order, the file decodes cleanly, and a reader
// that followed the file during the run never got a damaged message.
func TestCrashSafety(t *testing.T) {
	kills := 200
	if testing.Short() {
		kills = 20
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "crash.ss")
	rng := rand.New(rand.NewPCG(11, 12))
	var synced uint64
	for k := 0; k < kills; k++ {
		cmd := exec.Command(exe, "-test.run=^$")
		cmd.Env = append(os.Environ(), crashWriterEnv+"="+path)
		stdout, _ := cmd.StdoutPipe()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := bufio.NewScanner(stdout)
		// Wait for the first sync, so that the file exists, then kill at
		// a random moment after it.
		if !lines.Scan() {
			cmd.Wait()
			t.Fatalf("kill %d: writer printed nothing", k)
		}
		follower, ferr := Open(path, WithMode(LiveReplay))
		if ferr != nil {
			t.Fatalf("kill %d: follower: %v", k, ferr)
		}
		followed := make(chan error, 1)
		ctx, cancel := context.WithCancel(context.Background())
		go func() { followed <- follow(ctx, follower) }()
		time.Sleep(time.Duration(rng.IntN(30000)) * time.Microsecond) // the random moment, not synchronisation
		cmd.Process.Signal(syscall.SIGKILL)
		for lines.Scan() { // what was synced before the kill
			f := strings.Fields(lines.Text())
			if len(f) == 2 && f[0] == "synced" {
				n, _ := strconv.ParseUint(f[1], 10, 64)
				synced = max(synced, n)
			} else {
				t.Fatalf("kill %d: writer said %q", k, lines.Text())
			}
		}
		cmd.Wait()
		cancel()
		if err := <-followed; err != nil {
			t.Fatalf("kill %d: follower: %v", k, err)
		}
		follower.Close()
		w, err := Append(path, WithAnyBeaconInterval(512))
		if err != nil {
			t.Fatalf("kill %d: append after the kill: %v", k, err)
		}
		w.Close()
	}
	// Everything is there once, in order, with the right payloads.
	r, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var seq uint64
	for {
		m, err := r.Next(context.Background())
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("after seq %d: %v", seq, err)
		}
		seq++
		if m.SeqNo != seq || !bytes.Equal(m.Payload, crashPayload(seq)) {
			t.Fatalf("got seq %d, want %d", m.SeqNo, seq)
		}
	}
	if seq < synced {
		t.Fatalf("file ends at seq %d, but %d was synced", seq, synced)
	}
	t.Logf("%d kills, %d messages, last synced %d", kills, seq, synced)
}

// follow reads a file as it is written until ctx is done, checking that every
// message it gets is the next one of the stream. A torn tail is expected (the
// writer is killed mid-write): it just waits there.
func follow(ctx context.Context, r *Reader) error {
	var last uint64
	for {
		m, err := r.Next(ctx)
		if err != nil {
			if errors.Is(err, context.Canceled) {
				return nil
			}
			return err
		}
		if last != 0 && m.SeqNo != last+1 {
			return fmt.Errorf("follower got seq %d after %d", m.SeqNo, last)
		}
		if !bytes.Equal(m.Payload, crashPayload(m.SeqNo)) {
			return fmt.Errorf("follower got a wrong payload for seq %d", m.SeqNo)
		}
		last = m.SeqNo
	}
}
