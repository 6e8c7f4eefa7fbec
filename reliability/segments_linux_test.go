package reliability

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/seastream/ss/format"
	"github.com/seastream/ss/internal/sscheck"
	"github.com/seastream/ss/ssdir"
	"github.com/seastream/ss/ssfile"
)

// Small segments and retention: a kill lands in a rollover or a deletion
// as often as in a write.
func dirKillOptions() []ssdir.Option {
	return []ssdir.Option{ssdir.WithSegmentSize(8 << 10), ssdir.WithRetention(ssdir.Retention{Segments: 40}),
		ssdir.WithFileOptions(ssfile.WithBeaconInterval(1024), ssfile.WithBufferSize(4096))}
}

func dirKillPayload(seq uint64) []byte {
	n := int(seq*7919) % 700
	return append(fmt.Appendf(nil, "msg-%d-", seq), bytes.Repeat([]byte{byte(seq)}, n)...)
}

// dirWriterRole appends to the stream directory dir forever, syncing every
// five messages and printing "synced <seq>" after each sync, until killed.
func dirWriterRole(dir string) error {
	w, err := ssdir.Append(dir, dirKillOptions()...)
	if err != nil {
		return err
	}
	st, _ := w.Stream("kill", 0)
	seq := st.SeqNo
	out := bufio.NewWriter(os.Stdout)
	for i := 0; ; i++ {
		seq++
		if err := w.Write(format.MessageHeader{StreamKey: "kill", SeqNo: seq, Timestamp: uint64(time.Now().UnixMilli())}, dirKillPayload(seq)); err != nil {
			return err
		}
		if i%5 == 4 {
			if err := w.Sync(); err != nil {
				return err
			}
			fmt.Fprintln(out, "synced", seq)
			out.Flush()
		}
	}
}

// TestStreamDirectoryKills kills a writer process of a stream directory
// with SIGKILL at random moments (200 times; 20 with -short), in writes,
// rollovers and deletions, while one follower reads the whole run live:
// the follower gets every message once, in order, across rollovers,
// deletions and restarts; after the last kill every synced message is in
// the directory once, and every segment left verifies, strictly, from its
// seed.
func TestStreamDirectoryKills(t *testing.T) {
	kills := 200
	if testing.Short() {
		kills = 20
	}
	dir := t.TempDir()
	ctx := context.Background()
	follower, err := ssdir.Open(dir, ssdir.WithMode(ssfile.LiveReplay), ssdir.WithPollInterval(10*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer follower.Close()
	var (
		rng      = rand.New(rand.NewPCG(21, 22))
		synced   uint64
		followed uint64 // the follower's last seq
	)
	for k := range kills {
		c := startChild(t, ctx, "dirwriter", pathEnv+"="+dir)
		if line, ok := <-c.lines; !ok || !strings.HasPrefix(line, "synced ") {
			c.cmd.Wait()
			t.Fatalf("kill %d: the writer said %q, %s", k, line, c.stderr.String())
		} else {
			n, _ := strconv.ParseUint(strings.TrimPrefix(line, "synced "), 10, 64)
			synced = max(synced, n)
		}
		time.Sleep(time.Duration(rng.IntN(30000)) * time.Microsecond) // the random moment, not synchronisation
		c.cmd.Process.Signal(syscall.SIGKILL)
		for line := range c.lines {
			n, err := strconv.ParseUint(strings.TrimPrefix(line, "synced "), 10, 64)
			if err != nil {
				t.Fatalf("kill %d: the writer said %q", k, line)
			}
			synced = max(synced, n)
		}
		c.cmd.Wait()
		for followed < synced { // the follower catches up with what was synced
			m, err := follower.Next(ctx)
			if err != nil {
				t.Fatalf("kill %d: follower after seq %d: %v", k, followed, err)
			}
			if m.SeqNo != followed+1 || !bytes.Equal(m.Payload, dirKillPayload(m.SeqNo)) {
				t.Fatalf("kill %d: follower got seq %d after %d", k, m.SeqNo, followed)
			}
			followed = m.SeqNo
		}
	}
	w, err := ssdir.Append(dir, dirKillOptions()...)
	if err != nil {
		t.Fatalf("append after the last kill: %v", err)
	}
	last, _ := w.Stream("kill", 0)
	lastSegment := w.Segment().Number
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if last.SeqNo < synced {
		t.Fatalf("the directory ends at seq %d, but %d was synced", last.SeqNo, synced)
	}
	r, err := ssdir.Open(dir)
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
		if m.SeqNo != seq+1 || !bytes.Equal(m.Payload, dirKillPayload(m.SeqNo)) {
			t.Fatalf("replay: seq %d after %d", m.SeqNo, seq)
		}
		seq = m.SeqNo
	}
	if seq != last.SeqNo {
		t.Fatalf("replay ends at seq %d, the writer's state at %d", seq, last.SeqNo)
	}
	segs, err := ssdir.Segments(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range segs {
		st, err := ssdir.ReadSeed(dir, s.Number)
		if err != nil {
			t.Fatalf("%s: seed: %v", s.Path, err)
		}
		sum, err := sscheck.ScanFile(s.Path, sscheck.Visitor{}, sscheck.Strict(), sscheck.From(sscheck.State{Streams: st.Streams, MarkersWritten: st.MarkersWritten}))
		if err != nil || sum.Problems > 0 {
			t.Fatalf("%s: sscheck from its seed: %d problems, %v", s.Path, sum.Problems, err)
		}
	}
	t.Logf("%d kills, %d messages synced, %d segments left of %d, holding seq %d to %d", kills, synced, len(segs), lastSegment, first, seq)
	writeSection(t, "segments", "### Stream directories\n\n"+
		"TestStreamDirectoryKills: a writer process of a stream directory (`ssdir`: 8 KiB segments, retention of 40 segments, beacon interval 1024, Sync every 5 messages) killed with SIGKILL at random moments (0-30 ms after its first sync) while one follower (LiveReplay) reads the whole run.\n\n"+
		"| what was tried | how many times | what happened |\n|---|---|---|\n"+
		fmt.Sprintf("| writer killed in writes, rollovers and deletions; the next writer process goes on in the same directory | %d kills, %d messages synced, %d segments written, %d deleted by retention | the follower read every message once, in order, across every rollover, deletion and restart (no repeat, no gap: either fails the test); after the last kill every synced message was in the directory (seq %d to %d in the %d segments left) and every segment left verified strictly from its seed |\n",
			kills, synced, lastSegment, lastSegment-uint64(len(segs)), first, seq, len(segs)))
}
