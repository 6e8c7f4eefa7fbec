package reliability

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/seastream/ss/format"
	"github.com/seastream/ss/internal/sscheck"
	"github.com/seastream/ss/internal/testkit"
	"github.com/seastream/ss/ssfile"
	"github.com/seastream/ss/streamer"
	_ "github.com/seastream/ss/streamer/filedriver"
)

// The operations of a long-lived deployment that issue 11 found losing or
// misreading data: each subtest of TestOperations tries one many times and
// gives a row of the "Real operations" section with what it counted. A
// subtest fails on any loss, duplicate, misread or wrong error; the figures
// are what it saw.

// opsRow is one row: the item, what was tried, how many times, what
// happened.
type opsRow struct{ item, tried, times, happened string }

func TestOperations(t *testing.T) {
	runOps(t, "operations", "### Real operations: data\n\n"+
		"What a long-lived deployment meets (issue 11, items 1 to 5), each tried again and again through the public API; a round fails the test on any message lost, duplicated or changed, and on any error that does not match the sentinel named.\n\n",
		[]opsCase{
			{"full-disk", opsFullDisk},
			{"recreated-in-place", opsRecreated},
			{"copytruncate", opsCopyTruncate},
			{"repair-racing-writer", opsRepairRace},
			{"resume-after-repair", opsResumeAfterRepair},
		})
}

// opsCase is one operation of TestOperations or TestOperationsCost.
type opsCase struct {
	name string
	run  func(t *testing.T) opsRow
}

// runOps runs each case as a subtest and, if every one ran and passed,
// writes their rows as section, after intro: a table with rows missing
// would hide what did not run.
func runOps(t *testing.T, section, intro string, cases []opsCase) {
	var cells [][]string
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := c.run(t)
			if !t.Failed() && !t.Skipped() {
				cells = append(cells, []string{r.item, r.tried, r.times, r.happened})
			}
		})
	}
	if t.Failed() || len(cells) < len(cases) {
		return
	}
	writeSection(t, section, intro+table([]string{"item", "what was tried", "times", "what happened"}, cells))
}

// opsCtx bounds one subtest.
func opsCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// readPayloads reads every message of a file with ssfile (Replay) and
// checks it with sscheck; any damage fails the test.
func readPayloads(t *testing.T, path string) []string {
	t.Helper()
	sum, err := sscheck.ScanFile(path, sscheck.Visitor{})
	if err != nil || sum.Problems > 0 {
		t.Fatalf("%s: sscheck: %d problems, %v", path, sum.Problems, err)
	}
	r, err := ssfile.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var out []string
	for {
		m, err := r.Next(context.Background())
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if !m.IsEndOfStream() {
			out = append(out, string(m.Payload))
		}
	}
}

// opsFullDisk is item 1: producing through file:// until the disk is full.
// The file must hold exactly the messages whose receipts succeeded and end
// after a complete frame; once space is freed, a new streamer.Open in the
// same process produces again.
func opsFullDisk(t *testing.T) opsRow {
	ctx := opsCtx(t)
	dir := testkit.Tmpfs(t, "4m")
	rounds := testkit.Count(20, 5)
	var acked, failed, failedInFile, recovered int
	for round := range rounds {
		path := filepath.Join(dir, fmt.Sprintf("full%d.ss", round))
		s, err := streamer.Open(ctx, "file://"+path, streamer.WithCreate(streamer.CreateIfMissing))
		if err != nil {
			t.Fatal(err)
		}
		p, err := s.NewProducer(ctx, "s")
		if err != nil {
			t.Fatal(err)
		}
		filler := testkit.FillDisk(t, dir, int64(8<<10+round*3001))
		pad := strings.Repeat("x", 100+round*37)
		var receipts []streamer.Receipt
		for i := 0; ; i++ {
			if i == 1_000_000 {
				t.Fatal("the disk never filled")
			}
			r, err := p.Send(ctx, fmt.Appendf(nil, "m%d-%s", i, pad))
			if err != nil {
				opsWantFull(t, err)
				break
			}
			receipts = append(receipts, r)
		}
		var want []string
		lost := map[string]bool{}
		for i, r := range receipts {
			payload := fmt.Sprintf("m%d-%s", i, pad)
			if _, err := r.Wait(ctx); err != nil {
				opsWantFull(t, err)
				failed++
				lost[payload] = true
				continue
			}
			want = append(want, payload)
		}
		acked += len(want)
		s.Close(ctx) // fails: the writer failed
		if err := os.Remove(filler); err != nil {
			t.Fatal(err)
		}
		got := readPayloads(t, path)
		for _, g := range got {
			if lost[g] {
				failedInFile++
			}
		}
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Fatalf("round %d: the file holds %d messages, %d receipts succeeded", round, len(got), len(want))
		}
		// Space is back: the same process produces again.
		s2, err := streamer.Open(ctx, "file://"+path)
		if err != nil {
			t.Fatal(err)
		}
		p2, err := s2.NewProducer(ctx, "s")
		if err != nil {
			t.Fatal(err)
		}
		r, err := p2.Send(ctx, []byte("after"))
		if err == nil {
			_, err = r.Wait(ctx)
		}
		if err != nil {
			t.Fatalf("round %d: producing after space was freed: %v", round, err)
		}
		if err := s2.Close(ctx); err != nil {
			t.Fatal(err)
		}
		if got := readPayloads(t, path); len(got) != len(want)+1 || got[len(got)-1] != "after" {
			t.Fatalf("round %d: after recovery the file holds %d messages, want %d", round, len(got), len(want)+1)
		}
		recovered++
		os.Remove(path)
	}
	if failedInFile > 0 {
		t.Fatalf("%d messages whose receipt failed are in the files", failedInFile)
	}
	return opsRow{"1. full disk (ENOSPC)",
		"file:// producer on a 4 MiB tmpfs filled to a few KiB free, sending until Send fails; then the space freed and a new streamer.Open",
		fmt.Sprint(rounds, " rounds"),
		fmt.Sprintf("%d receipts succeeded, %d failed (ENOSPC, ssfile.ErrWriterFailed, the error says to make a new producer); every file ended after a complete frame (sscheck: no problem) and held exactly the %d acknowledged messages, %d of the failed; a new streamer.Open produced again %d/%d times", acked, failed, acked, failedInFile, recovered, rounds)}
}

func opsWantFull(t *testing.T, err error) {
	t.Helper()
	if !errors.Is(err, syscall.ENOSPC) || !errors.Is(err, ssfile.ErrWriterFailed) {
		t.Fatalf("error %v, want ENOSPC and ssfile.ErrWriterFailed", err)
	}
	if msg := err.Error(); strings.Contains(msg, "with Append") || !strings.Contains(msg, "new producer") {
		t.Fatalf("error %q does not tell a streamer user what to do", msg)
	}
}

// opsLabelled writes n messages of stream s, payloads label-0001, ..., with
// a fixed creation time and payload size: a file recreated with other labels
// has frames at the same offsets and the same header bytes.
func opsLabelled(t *testing.T, path, label string, n int) {
	t.Helper()
	w, err := ssfile.Create(path, ssfile.WithCreatedAt(time.UnixMilli(1700000000000)))
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		h := format.MessageHeader{StreamKey: "s", SeqNo: uint64(i + 1), Timestamp: 1700000000000}
		if err := w.Write(h, fmt.Appendf(nil, "%s-%06d", label, i+1)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// opsRecreated is item 2: the followed file recreated in place (same inode,
// truncated and written again, with identical header bytes) under ssfile
// Readers at its end, in its middle, waiting in Next, and under a file://
// consumer with a full prefetch queue.
func opsRecreated(t *testing.T) opsRow {
	ctx := opsCtx(t)
	rounds := testkit.Count(400, 80)
	rng := rand.New(rand.NewPCG(11, 2))
	kinds := []string{"reader at the end", "reader in the middle", "replay in the middle", "reader waiting in Next", "file:// consumer"}
	var replaced, truncated, newHandedOut, changed int
	seen := map[string]int{}
	for round := range rounds {
		kind := kinds[round%len(kinds)]
		seen[kind]++
		path := filepath.Join(t.TempDir(), "x.ss")
		old := 50 + rng.IntN(200)
		opsLabelled(t, path, "old", old)
		var err error
		check := func(payload []byte) {
			if bytes.HasPrefix(payload, []byte("new")) {
				newHandedOut++
			}
		}
		switch kind {
		case "file:// consumer":
			s, oerr := streamer.Open(ctx, "file://"+path, streamer.WithPrefetch(10))
			if oerr != nil {
				t.Fatal(oerr)
			}
			c, cerr := s.NewConsumer(ctx, []streamer.StreamKey{"s"}, streamer.WithAutoStreamReset(streamer.ResetEarliest))
			if cerr != nil {
				t.Fatal(cerr)
			}
			var kept []streamer.Message
			for range old / 2 {
				m, nerr := c.Next(ctx)
				if nerr != nil {
					t.Fatal(nerr)
				}
				kept = append(kept, m)
			}
			opsLabelled(t, path, "new", old+100)
			for {
				var m streamer.Message
				if m, err = c.Next(ctx); err != nil {
					break
				}
				check(m.Payload)
			}
			for i, m := range kept {
				if string(m.Payload) != fmt.Sprintf("old-%06d", i+1) {
					changed++
				}
			}
			s.Close(ctx)
		default:
			mode := ssfile.LiveReplay
			if kind == "replay in the middle" {
				mode = ssfile.Replay
			}
			r, oerr := ssfile.Open(path, ssfile.WithMode(mode), ssfile.WithPollInterval(time.Millisecond))
			if oerr != nil {
				t.Fatal(oerr)
			}
			read := old
			if kind == "reader in the middle" || kind == "replay in the middle" {
				read = 1 + rng.IntN(old-1)
			}
			for range read {
				if _, err := r.Next(ctx); err != nil {
					t.Fatal(err)
				}
			}
			if kind == "reader waiting in Next" {
				got := make(chan error, 1)
				go func() {
					m, err := r.Next(ctx)
					if err == nil {
						check(m.Payload)
						err = errors.New("a message")
					}
					got <- err
				}()
				opsLabelled(t, path, "new", old+100)
				err = <-got
			} else {
				opsLabelled(t, path, "new", old+100)
				for {
					var m ssfile.Message
					if m, err = r.Next(ctx); err != nil {
						break
					}
					check(m.Payload)
				}
			}
			r.Close()
		}
		switch {
		case errors.Is(err, ssfile.ErrReplaced):
			replaced++
		case errors.Is(err, ssfile.ErrTruncated):
			truncated++
		default:
			t.Fatalf("round %d (%s): ended with %v, want ssfile.ErrReplaced or ssfile.ErrTruncated", round, kind, err)
		}
	}
	if newHandedOut > 0 || changed > 0 {
		t.Fatalf("%d messages of the new file handed out, %d returned messages changed", newHandedOut, changed)
	}
	var ways []string
	for _, k := range kinds {
		ways = append(ways, fmt.Sprintf("%s %d", k, seen[k]))
	}
	return opsRow{"2. a file recreated in place under a reader",
		"ssfile.Create on a followed path (same inode, same header bytes, frames at the same offsets): " + strings.Join(ways, ", "),
		fmt.Sprint(rounds, " rounds"),
		fmt.Sprintf("every round ended with an error: ssfile.ErrReplaced %d, ssfile.ErrTruncated %d (the reader saw the file shorter than its position); %d messages of the new file handed out; %d messages a file:// consumer had returned changed afterwards", replaced, truncated, newHandedOut, changed)}
}

// opsCopyTruncate is item 3: logrotate's copytruncate under a live file://
// producer. The sends after the truncation fail with ssfile.ErrShrunk, the
// file is never left with a hole, and the next producer starts it afresh.
func opsCopyTruncate(t *testing.T) opsRow {
	ctx := opsCtx(t)
	rounds := testkit.Count(50, 10)
	var copied, shrunk, afresh int
	for round := range rounds {
		dir := t.TempDir()
		path := filepath.Join(dir, "app.ss")
		s, err := streamer.Open(ctx, "file://"+path, streamer.WithCreate(streamer.CreateIfMissing))
		if err != nil {
			t.Fatal(err)
		}
		p, err := s.NewProducer(ctx, "s")
		if err != nil {
			t.Fatal(err)
		}
		before := 10 + round
		for i := range before {
			if _, err := p.Send(ctx, fmt.Appendf(nil, "before-%d", i)); err != nil {
				t.Fatal(err)
			}
		}
		if err := p.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		// copytruncate: copy, then truncate in place.
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path+".1", data, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Truncate(path, 0); err != nil {
			t.Fatal(err)
		}
		if got := readPayloads(t, path+".1"); len(got) != before {
			t.Fatalf("round %d: the rotated copy holds %d messages, want %d", round, len(got), before)
		}
		copied += before
		r, err := p.Send(ctx, []byte("lost"))
		if err == nil {
			_, err = r.Wait(ctx)
		}
		if !errors.Is(err, ssfile.ErrShrunk) {
			t.Fatalf("round %d: a send after the truncation: %v, want ssfile.ErrShrunk", round, err)
		}
		shrunk++
		if fi, err := os.Stat(path); err != nil || fi.Size() != 0 {
			t.Fatalf("round %d: the writer wrote past the truncation (%v)", round, err)
		}
		p2, err := s.NewProducer(ctx, "s")
		if err != nil {
			t.Fatal(err)
		}
		r, err = p2.Send(ctx, []byte("after"))
		if err == nil {
			_, err = r.Wait(ctx)
		}
		if err != nil {
			t.Fatalf("round %d: a new producer after the truncation: %v", round, err)
		}
		// Closing flushes the first producer again, which reports its
		// failure once more.
		if err := s.Close(ctx); err != nil && !errors.Is(err, ssfile.ErrShrunk) {
			t.Fatal(err)
		}
		if got := readPayloads(t, path); len(got) != 1 || got[0] != "after" {
			t.Fatalf("round %d: the file holds %q, want [after]", round, got)
		}
		afresh++
	}
	return opsRow{"3. logrotate copytruncate under a live writer",
		"file:// producer; the file copied to app.ss.1 and truncated to 0 bytes; a send; then a new producer",
		fmt.Sprint(rounds, " rounds"),
		fmt.Sprintf("the rotated copies held all %d messages flushed before; the send after the truncation failed with ssfile.ErrShrunk %d/%d times and wrote nothing (no hole, no zeroed header); the new producer started the file afresh %d/%d times, readable by ssfile and sscheck", copied, shrunk, rounds, afresh, rounds)}
}

// opsRepairRace is item 4: sscheck.Repair in place (ss-repair --in-place)
// in a loop, racing a writer that cycles Append, Write, Close. Every message
// whose Write and Close succeeded must be in the file exactly once.
func opsRepairRace(t *testing.T) opsRow {
	path := filepath.Join(t.TempDir(), "race.ss")
	w, err := ssfile.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	duration := 2 * time.Second
	if fullRun() {
		duration = 15 * time.Second
	}
	var acked []uint64
	var stop atomic.Bool
	var repairs, busy, writerBusy int
	var wg sync.WaitGroup
	wg.Go(func() {
		for !stop.Load() {
			_, err := sscheck.Repair(path, sscheck.RepairOptions{InPlace: true}, func(*sscheck.Problem) error { return nil })
			switch {
			case errors.Is(err, sscheck.ErrLocked):
				busy++
			case err != nil:
				t.Errorf("repair: %v", err)
				return
			default:
				repairs++
			}
		}
	})
	deadline := time.Now().Add(duration)
	for seq := uint64(1); time.Now().Before(deadline); {
		w, err := ssfile.Append(path)
		if errors.Is(err, ssfile.ErrLocked) {
			writerBusy++
			continue
		}
		if err != nil {
			t.Errorf("append: %v", err)
			break
		}
		h := format.MessageHeader{StreamKey: "race", SeqNo: seq, Timestamp: seq}
		werr := w.Write(h, fmt.Appendf(nil, "message %d", seq))
		if cerr := w.Close(); werr == nil && cerr == nil {
			acked = append(acked, seq)
		}
		seq++
	}
	stop.Store(true)
	wg.Wait()
	count := map[uint64]int{}
	if _, err := sscheck.ScanFile(path, sscheck.Visitor{Message: func(m *sscheck.Message) error {
		count[m.SeqNo]++
		return nil
	}}); err != nil {
		t.Fatal(err)
	}
	var lost, doubled int
	for _, seq := range acked {
		switch {
		case count[seq] == 0:
			lost++
		case count[seq] > 1:
			doubled++
		}
	}
	if lost+doubled > 0 {
		t.Fatalf("%d acknowledged messages lost, %d doubled, of %d", lost, doubled, len(acked))
	}
	return opsRow{"4. ss-repair --in-place racing a writer",
		fmt.Sprintf("sscheck.Repair in place in a loop against a writer cycling ssfile.Append → Write → Close, for %v", duration),
		fmt.Sprintf("%d writer cycles, %d repairs", len(acked), repairs),
		fmt.Sprintf("%d of %d acknowledged messages lost, %d doubled; the repair found the file locked %d times, the writer %d times (ErrLocked, retried)", lost, len(acked), doubled, busy, writerBusy)}
}

// opsResumeAfterRepair is item 5: a Resumable consumer commits, a repair
// drops a damaged message before the committed position, and the consumer
// resumes. It must go on with the next message, not skip or repeat one.
func opsResumeAfterRepair(t *testing.T) opsRow {
	ctx := opsCtx(t)
	rounds := testkit.Count(40, 10)
	rng := rand.New(rand.NewPCG(5, 11))
	payload := func(i int) string { return fmt.Sprintf("msg%05d.%s", i, strings.Repeat("x", (i*37)%300)) }
	const n = 600
	exact := 0
	for round := range rounds {
		path := filepath.Join(t.TempDir(), "app.ss")
		s, err := streamer.Open(ctx, "file://"+path+"?beacon_interval=4KiB", streamer.WithCreate(streamer.CreateIfMissing))
		if err != nil {
			t.Fatal(err)
		}
		p, err := s.NewProducer(ctx, "a")
		if err != nil {
			t.Fatal(err)
		}
		for i := range n {
			if _, err := p.Send(ctx, []byte(payload(i))); err != nil {
				t.Fatal(err)
			}
		}
		if err := p.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		committed := 100 + rng.IntN(n-200)
		opts := []streamer.ConsumerOption{streamer.WithMode(streamer.Resumable), streamer.WithGroup("r"), streamer.WithAutoStreamReset(streamer.ResetEarliest)}
		c, err := s.NewConsumer(ctx, []streamer.StreamKey{"a"}, opts...)
		if err != nil {
			t.Fatal(err)
		}
		for i := range committed {
			m, err := c.Next(ctx)
			if err != nil || string(m.Payload) != payload(i) {
				t.Fatalf("round %d: message %d: %.12q, %v", round, i, m.Payload, err)
			}
		}
		if err := c.Commit(ctx); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(ctx); err != nil {
			t.Fatal(err)
		}
		// Damage one payload before the committed position; repair.
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		damaged, at := 0, -1
		for at < 0 { // a payload a beacon splits is not found whole: another
			damaged = rng.IntN(committed)
			at = bytes.Index(data, []byte(payload(damaged)))
		}
		data[at+3] ^= 0x01
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		sum, err := sscheck.Repair(path, sscheck.RepairOptions{InPlace: true}, func(*sscheck.Problem) error { return nil })
		if err != nil || sum.LostMessages != 1 {
			t.Fatalf("round %d: repair lost %d messages, %v", round, sum.LostMessages, err)
		}
		s, err = streamer.Open(ctx, "file://"+path)
		if err != nil {
			t.Fatal(err)
		}
		c, err = s.NewConsumer(ctx, []streamer.StreamKey{"a"}, opts...)
		if err != nil {
			t.Fatal(err)
		}
		for i := committed; i < n; i++ {
			m, err := c.Next(ctx)
			if err != nil || string(m.Payload) != payload(i) {
				t.Fatalf("round %d: committed at %d, a repair dropped message %d: the resumed consumer got %.12q (%v), want %.12q", round, committed, damaged, m.Payload, err, payload(i))
			}
		}
		s.Close(ctx)
		exact++
	}
	return opsRow{"5. a Resumable consumer after a repair",
		fmt.Sprintf("%d messages of mixed sizes; a Resumable consumer commits at a random message, one payload before it is damaged, ss-repair (sscheck.Repair in place) drops it, the consumer resumes", n),
		fmt.Sprint(rounds, " rounds"),
		fmt.Sprintf("the resumed consumer went on with the message after the committed one, and read every later one, %d/%d times: no message skipped or repeated", exact, rounds)}
}
