package reliability

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/seastream/ss/format"
	"github.com/seastream/ss/internal/sscheck"
	"github.com/seastream/ss/internal/testkit"
	"github.com/seastream/ss/ssfile"
	"github.com/seastream/ss/streamer"
	"github.com/seastream/ss/streamer/filedriver"
)

// TestOperationsCost is the second half of issue 11 (items 6 to 10): work
// that grew faster than the data, calls that hung, memory, and the smaller
// items. Like TestOperations, each subtest gives a row with what it
// measured and fails when a figure is out of bounds.
func TestOperationsCost(t *testing.T) {
	runOps(t, "operations-cost", "### Real operations: time, memory, hangs\n\n"+
		"Issue 11, items 6 to 10. \"Growth\" is the CPU time for 4× the data over the time for 1× (median of rounds, `internal/testkit.GrowthRatio`): about 4 is linear, 16 quadratic; the test fails above 10.\n\n",
		[]opsCase{
			{"torn-tail", opsTornTail},
			{"large-message", opsLargeMessage},
			{"not-regular", opsNotRegular},
			{"commit-kills", opsCommitKills},
			{"commit-cost", opsCommitCost},
			{"relay", opsRelay},
		})
}

// bigTornFile writes three messages and then a fourth of tail+4096 bytes
// of zeros, cut cut bytes into its frame and followed by zeros up to tail
// bytes: a crash inside a large message, on a file system that had
// extended the file when cut < tail. Cut inside the header, no frame size
// says where the damage ends, and the readers search the zeros for valid
// data after it: the search that was quadratic.
func bigTornFile(t *testing.T, tail, cut int64) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), fmt.Sprintf("torn%d-%d.ss", tail, cut))
	w, err := ssfile.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if err := w.Write(format.MessageHeader{StreamKey: "s", SeqNo: uint64(i + 1), Timestamp: 1}, []byte("hello")); err != nil {
			t.Fatal(err)
		}
	}
	start := w.Size()
	if err := w.Write(format.MessageHeader{StreamKey: "s", SeqNo: 4, Timestamp: 1}, make([]byte, tail+4096)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, start+cut); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, start+tail); err != nil {
		t.Fatal(err)
	}
	return path
}

// opsTornTail is item 6: a large torn tail (a crash inside a big message)
// read by a Replay, recovered by Append, and checked by sscheck (ss-verify,
// ss-repair): time linear in the tail.
func opsTornTail(t *testing.T) opsRow {
	n := int64(testkit.Count(4<<20, 1<<20))
	replay := func(path string) func() {
		return func() {
			r, err := ssfile.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			var got int
			for {
				_, err := r.Next(context.Background())
				if err != nil {
					if !errors.Is(err, ssfile.ErrTornTail) && !errors.Is(err, ssfile.ErrCorrupt) || got != 3 {
						t.Fatalf("%d messages, then %v; want 3 and the damage reported", got, err)
					}
					return
				}
				got++
			}
		}
	}
	// Append's recovery cuts the torn tail off, so each call starts from a
	// restored copy: Prepare, left out of the time (rewriting 16 MiB under
	// a loaded page cache made the ratio flaky).
	appendTo := func(path string) testkit.Work {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return testkit.Work{
			Prepare: func() {
				if err := os.WriteFile(path, data, 0o644); err != nil {
					t.Fatal(err)
				}
			},
			Run: func() {
				w, err := ssfile.Append(path)
				if err != nil {
					t.Fatal(err)
				}
				if err := w.Close(); err != nil {
					t.Fatal(err)
				}
			},
		}
	}
	verify := func(path string) func() {
		return func() {
			sum, err := sscheck.ScanFile(path, sscheck.Visitor{})
			if err != nil || sum.Messages != 3 {
				t.Fatalf("sscheck: %d messages, %v", sum.Messages, err)
			}
		}
	}
	rounds := 5
	var layouts []string
	for _, layout := range []struct {
		name string
		cut  func(tail int64) int64
	}{
		{"cut inside the payload", func(tail int64) int64 { return tail }},
		{"cut 10 bytes into the header, zeros after", func(int64) int64 { return 10 }},
	} {
		small, large := bigTornFile(t, n, layout.cut(n)), bigTornFile(t, 4*n, layout.cut(4*n))
		var cells []string
		for _, c := range []struct {
			name        string
			small, larg testkit.Work
		}{
			{"Replay", testkit.Work{Run: replay(small)}, testkit.Work{Run: replay(large)}},
			{"Append's recovery", appendTo(small), appendTo(large)},
			{"sscheck (ss-verify, ss-repair)", testkit.Work{Run: verify(small)}, testkit.Work{Run: verify(large)}},
		} {
			ratio := testkit.GrowthRatioOf(rounds, c.small, c.larg)
			if c.larg.Prepare != nil {
				c.larg.Prepare()
			}
			start := time.Now()
			c.larg.Run()
			took := time.Since(start)
			if ratio > 10 {
				t.Errorf("%s, %s: growth %.1f for a torn tail 4 times as long: want linear", layout.name, c.name, ratio)
			}
			cells = append(cells, fmt.Sprintf("%s growth %.1f, %v", c.name, ratio, took.Round(100*time.Microsecond)))
		}
		layouts = append(layouts, layout.name+": "+strings.Join(cells, ", "))
	}
	return opsRow{"6. a large torn tail",
		fmt.Sprintf("a crash inside a large message of zeros, %d MiB and %d MiB of it on disk (times: for the larger)", n>>20, 4*n>>20),
		fmt.Sprintf("%d rounds each", rounds),
		strings.Join(layouts, "; ") + " (under -race when run so)"}
}

// opsLargeMessage is item 7: one large message written at interval 1024,
// where each beacon inserted used to move the rest of the frame. Time linear
// in the size, memory bounded by the Writer's buffers.
func opsLargeMessage(t *testing.T) opsRow {
	n := testkit.Count(16<<20, 4<<20)
	payload := make([]byte, 4*n)
	for i := range payload {
		payload[i] = byte(i * 7)
	}
	write := func(size int) func() {
		return func() {
			path := filepath.Join(t.TempDir(), "big.ss")
			w, err := ssfile.Create(path, ssfile.WithBeaconInterval(1024))
			if err != nil {
				t.Fatal(err)
			}
			if err := w.Write(format.MessageHeader{StreamKey: "big", SeqNo: 1, Timestamp: 1}, payload[:size]); err != nil {
				t.Fatal(err)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			os.Remove(path)
		}
	}
	ratio := testkit.GrowthRatio(3, write(n), write(4*n))
	if ratio > 10 {
		t.Errorf("writing a message 4 times as large takes %.1f times the CPU time: want linear", ratio)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	write(4 * n)()
	took := time.Since(start)
	runtime.ReadMemStats(&after)
	allocated := after.TotalAlloc - before.TotalAlloc
	if allocated > 16<<20 {
		t.Errorf("writing one %d MiB message allocated %d MiB: want the Writer's buffers, not copies of the payload", 4*n>>20, allocated>>20)
	}
	// Back through file://: a consumer's copy of the payload is the one
	// copy it makes.
	path := filepath.Join(t.TempDir(), "big.ss")
	ctx := opsCtx(t)
	s, err := streamer.Open(ctx, "file://"+path, streamer.WithCreate(streamer.CreateIfMissing), streamer.WithBeaconInterval(1024))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(ctx)
	p, err := s.NewProducer(ctx, "big")
	if err != nil {
		t.Fatal(err)
	}
	c, err := s.NewConsumer(ctx, []streamer.StreamKey{"big"}, streamer.WithAutoStreamReset(streamer.ResetEarliest))
	if err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	runtime.ReadMemStats(&before)
	r, err := p.Send(ctx, payload)
	if err == nil {
		_, err = r.Wait(ctx)
	}
	if err != nil {
		t.Fatal(err)
	}
	m, err := c.Next(ctx)
	if err != nil || len(m.Payload) != len(payload) || m.Payload[len(payload)-1] != payload[len(payload)-1] {
		t.Fatalf("read back %d bytes, %v", len(m.Payload), err)
	}
	runtime.ReadMemStats(&after)
	roundTrip := after.TotalAlloc - before.TotalAlloc
	if roundTrip > uint64(len(payload))+32<<20 {
		t.Errorf("a %d MiB message sent and consumed through file:// allocated %d MiB", len(payload)>>20, roundTrip>>20)
	}
	return opsRow{"7. one large message",
		fmt.Sprintf("one message of %d MiB and %d MiB written by ssfile.Writer at beacon interval 1024; the larger sent and consumed through file://", n>>20, 4*n>>20),
		"3 rounds each",
		fmt.Sprintf("growth %.1f (linear); %.0f MiB/s for %d MiB (under -race when run so); the write allocated %.1f MiB; the file:// round trip %.0f MiB (the consumer's copy of the payload, %d MiB, and the Writer's buffers)", ratio, float64(4*n)/took.Seconds()/(1<<20), 4*n>>20, float64(allocated)/(1<<20), float64(roundTrip)/(1<<20), 4*n>>20)}
}

// opsNotRegular is item 8: every entry point given a named pipe (open(2)
// of which blocks until a writer comes), a device or a procfs file.
func opsNotRegular(t *testing.T) opsRow {
	ctx := opsCtx(t)
	paths := map[string]string{"named pipe": testkit.FIFO(t), "device": "/dev/zero", "procfs": "/proc/self/status"}
	calls := []struct {
		name string
		call func(path string) error
	}{
		{"ssfile.Open", func(p string) error { return closeOK(ssfile.Open(p)) }},
		{"ssfile.Append", func(p string) error { return closeOK(ssfile.Append(p)) }},
		{"ssfile.Create", func(p string) error { return closeOK(ssfile.Create(p)) }},
		{"sscheck.ScanFile", func(p string) error { _, err := sscheck.ScanFile(p, sscheck.Visitor{}); return err }},
		{"sscheck.Repair", func(p string) error {
			_, err := sscheck.Repair(p, sscheck.RepairOptions{Out: filepath.Join(t.TempDir(), "out.ss")}, nil)
			return err
		}},
		{"streamer.Open(file://…) and a consumer", func(p string) error {
			s, err := streamer.Open(ctx, "file://"+p+"/s")
			if err != nil {
				return err
			}
			defer s.Close(ctx)
			c, err := s.NewConsumer(ctx, nil)
			if err == nil {
				c.Close(ctx)
			}
			return err
		}},
	}
	tools := []string{"ss-decode", "ss-verify", "ss-repair"}
	var tried int
	var slowest time.Duration
	exits := map[string]bool{}
	for what, path := range paths {
		for _, c := range calls {
			start := time.Now()
			err := testkit.Returns(t, func() error { return c.call(path) })
			slowest = max(slowest, time.Since(start))
			tried++
			if !errors.Is(err, ssfile.ErrNotRegular) && !errors.Is(err, sscheck.ErrNotRegular) {
				t.Errorf("%s on a %s: %v; want an error matching ErrNotRegular", c.name, what, err)
			}
		}
		for _, tool := range tools {
			args := map[string][]string{
				"ss-decode": {"--file", path},
				"ss-verify": {path},
				"ss-repair": {"--file", path, "--out", filepath.Join(t.TempDir(), "out.ss")},
			}[tool]
			start := time.Now()
			run, err := runTool(buildTool(t, tool), args...)
			slowest = max(slowest, time.Since(start))
			tried++
			if err != nil || run.hung || run.code == 0 || run.panicked() || !strings.Contains(run.stderr, "not a regular file") {
				t.Errorf("%s on a %s: exit %d (hung %v), stderr %q, %v; want a failure saying it is not a regular file", tool, what, run.code, run.hung, run.stderr, err)
			}
			exits[fmt.Sprintf("%s %d", tool, run.code)] = true
		}
	}
	return opsRow{"8. a named pipe, a device or a procfs file as the path",
		"ssfile.Open, Append and Create, sscheck's scan and repair, a file:// consumer, and the ss-decode, ss-verify and ss-repair binaries, on a FIFO, /dev/zero and /proc/self/status",
		fmt.Sprint(tried, " calls"),
		fmt.Sprintf("every one refused with ErrNotRegular (the tools with \"not a regular file\" and exit status %s); none blocked: the slowest answered in %v (a tool's run included)", strings.Join(slices.Sorted(maps.Keys(exits)), ", "), slowest.Round(time.Millisecond))}
}

func closeOK[T interface{ Close() error }](c T, err error) error {
	if err == nil {
		c.Close()
	}
	return err
}

// committerEnv names the file of the committer role.
const committerEnv = "SS_COMMITTER_PATH"

// committerRole reads stream a of the file as Resumable group g and commits
// after every message, printing each committed sequence number once its
// Commit has returned (and "first N" for the first message it got), until
// it is killed.
func committerRole() error {
	ctx := context.Background()
	s, err := streamer.Open(ctx, "file://"+os.Getenv(committerEnv))
	if err != nil {
		return err
	}
	c, err := s.NewConsumer(ctx, []streamer.StreamKey{"a"}, streamer.WithMode(streamer.Resumable), streamer.WithGroup("g"), streamer.WithAutoStreamReset(streamer.ResetEarliest))
	if err != nil {
		return err
	}
	for first := true; ; first = false {
		m, err := c.Next(ctx)
		if err != nil {
			return err
		}
		if first {
			fmt.Println("first", m.Seq)
		}
		if err := c.Commit(ctx); err != nil {
			return err
		}
		fmt.Println(m.Seq)
	}
}

// opsCommitKills is item 9's crash part: a process committing after every
// message is killed (SIGKILL) at random moments. No temporary file of the
// offsets store may pile up, and each restart resumes right after the last
// commit acknowledged (or the one after it, which may have completed
// unseen).
func opsCommitKills(t *testing.T) opsRow {
	ctx := opsCtx(t)
	path := filepath.Join(t.TempDir(), "app.ss")
	kills := testkit.Count(100, 20)
	w, err := ssfile.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	total := kills*60 + 100
	for i := 1; i <= total; i++ {
		if err := w.Write(format.MessageHeader{StreamKey: "a", SeqNo: uint64(i), Timestamp: uint64(i)}, []byte("m")); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(9, 9))
	last := uint64(0) // last commit acknowledged
	var unseen int
	for k := range kills {
		ch := startChild(t, ctx, "committer", committerEnv+"="+path)
		want := 1 + rng.IntN(50)
		var got int
		for line := range ch.lines {
			if f, ok := strings.CutPrefix(line, "first "); ok {
				first, _ := strconv.ParseUint(f, 10, 64)
				if first != last+1 && first != last+2 {
					t.Fatalf("kill %d: resumed at %d, the last commit acknowledged was %d", k, first, last)
				}
				if first == last+2 {
					unseen++
				}
				continue
			}
			seq, err := strconv.ParseUint(line, 10, 64)
			if err != nil {
				t.Fatalf("committer said %q", line)
			}
			last = seq
			if got++; got == want {
				break
			}
		}
		if got != want {
			ch.cmd.Wait()
			t.Fatalf("kill %d: the committer stopped after %d commits: %s", k, got, ch.stderr.String())
		}
		ch.cmd.Process.Signal(syscall.SIGKILL)
		// What it committed and said between the last line read and the
		// kill.
		for line := range ch.lines {
			if seq, err := strconv.ParseUint(line, 10, 64); err == nil {
				last = seq
			}
		}
		ch.cmd.Wait()
	}
	// One clean start, then count what is left beside the file.
	ch := startChild(t, ctx, "committer", committerEnv+"="+path)
	for line := range ch.lines {
		if !strings.HasPrefix(line, "first ") {
			break
		}
	}
	ch.cmd.Process.Signal(syscall.SIGKILL)
	ch.cmd.Wait()
	matches, _ := filepath.Glob(filepath.Join(filepath.Dir(path), "*tmp*"))
	if len(matches) > 0 {
		t.Errorf("%d temporary files left after %d kills: %q", len(matches), kills, matches)
	}
	return opsRow{"9. processes killed while committing",
		"a process reading with a Resumable consumer and committing after every message, killed with SIGKILL after 1 to 50 commits, then restarted",
		fmt.Sprint(kills, " kills"),
		fmt.Sprintf("%d temporary files of the offsets store left; every restart resumed right after the last commit acknowledged (%d times at the one after it, a commit done but not yet acknowledged when the kill came)", len(matches), unseen)}
}

// opsCommitCost is item 9's cost part: a Resumable Commit after one message,
// once the group has read 1, 1,000 or 20,000 streams. What a commit writes
// must not grow with the streams untouched since the last commit. An empty
// stream key is refused by ssfile as by the streamer.
func opsCommitCost(t *testing.T) opsRow {
	ctx := opsCtx(t)
	var cells []string
	var wrote []int64
	for _, streams := range []int{1, 1000, 20000} {
		path := filepath.Join(t.TempDir(), "app.ss")
		w, err := ssfile.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		for i := range streams {
			if err := w.Write(format.MessageHeader{StreamKey: fmt.Sprintf("s%d", i), SeqNo: 1, Timestamp: 1}, []byte("m")); err != nil {
				t.Fatal(err)
			}
		}
		for i := range 11 {
			if err := w.Write(format.MessageHeader{StreamKey: "s0", SeqNo: uint64(i + 2), Timestamp: 1}, []byte("m")); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		s, err := streamer.Open(ctx, "file://"+path)
		if err != nil {
			t.Fatal(err)
		}
		c, err := s.NewConsumer(ctx, []streamer.StreamKey{streamer.Wildcard}, streamer.WithMode(streamer.Resumable), streamer.WithGroup("g"), streamer.WithAutoStreamReset(streamer.ResetEarliest))
		if err != nil {
			t.Fatal(err)
		}
		for range streams {
			if _, err := c.Next(ctx); err != nil {
				t.Fatal(err)
			}
		}
		if err := c.Commit(ctx); err != nil {
			t.Fatal(err)
		}
		log := filedriver.OffsetsPath(path, "g") + ".log"
		size := func() int64 {
			fi, err := os.Stat(log)
			if err != nil {
				t.Fatal(err)
			}
			return fi.Size()
		}
		var times []time.Duration
		before := size()
		for range 10 {
			if _, err := c.Next(ctx); err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			if err := c.Commit(ctx); err != nil {
				t.Fatal(err)
			}
			times = append(times, time.Since(start))
		}
		per := (size() - before) / 10
		wrote = append(wrote, per)
		slices.Sort(times)
		cells = append(cells, fmt.Sprintf("%d streams: %d bytes, %v", streams, per, times[len(times)/2].Round(10*time.Microsecond)))
		s.Close(ctx)
	}
	if wrote[2] > 2*wrote[0] {
		t.Errorf("a commit after one message writes %v bytes for 1, 1,000 and 20,000 streams read: it grows with the streams untouched", wrote)
	}
	w, err := ssfile.Create(filepath.Join(t.TempDir(), "k.ss"))
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	keyErr := w.Write(format.MessageHeader{SeqNo: 1}, []byte("x"))
	if !errors.Is(keyErr, format.ErrInvalidStreamKey) {
		t.Errorf("ssfile Writer.Write with an empty key: %v, want format.ErrInvalidStreamKey", keyErr)
	}
	return opsRow{"9. Resumable Commit cost; an empty stream key",
		"a Commit after one message, the group having read 1, 1,000 or 20,000 streams (bytes appended to the offsets log per commit, median time of 10 with its fsync); ssfile Writer.Write with an empty key",
		"10 commits each",
		strings.Join(cells, "; ") + "; the empty key refused with format.ErrInvalidStreamKey, as any invalid key"}
}

var (
	relaySummary = regexp.MustCompile(`^ss-relay: relayed (\d+) messages .*, interrupted$`)
	relayTicks   = regexp.MustCompile(`^ss-relay: (\d+) messages, `)
)

// opsRelay is item 10: ss-relay relaying a file into itself under other
// spellings, the count it prints on Ctrl-C, a stream key that matches
// nothing, and a file input with a torn tail.
func opsRelay(t *testing.T) opsRow {
	relay, clock := buildTool(t, "ss-relay"), buildTool(t, "clock")
	dir := t.TempDir()
	same := filepath.Join(dir, "same.ss")
	ticks, err := exec.Command(clock, "--count", "5", "--interval", "0").Output()
	if err != nil {
		t.Fatal(err)
	}
	archive := exec.Command(relay, "--input", "stdio:///clock", "--output", "file://"+same+"/clock")
	archive.Stdin = strings.NewReader(string(ticks))
	if out, err := archive.CombinedOutput(); err != nil {
		t.Fatalf("archiving: %v\n%s", err, out)
	}
	if err := os.Symlink(same, filepath.Join(dir, "link.ss")); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	spellings := []string{"file://./same.ss/clock", "file://" + same + "/clock", "file://sub/../same.ss/clock", "file://link.ss/clock"}
	said := []string{"file://./same.ss/clock", "file://<dir>/same.ss/clock", "file://sub/../same.ss/clock", "file://link.ss/clock (a symlink)"}
	fi, _ := os.Stat(same)
	refused := 0
	for _, out := range spellings {
		cmd := exec.Command(relay, "--input", "file://same.ss/clock", "--output", out, "--replay")
		cmd.Dir = dir
		msg, err := cmd.CombinedOutput()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 2 || !strings.Contains(string(msg), "feedback loop") {
			t.Errorf("relaying file://same.ss/clock into %s: %v, %q; want exit 2 refusing a feedback loop", out, err, msg)
			continue
		}
		refused++
	}
	if after, _ := os.Stat(same); after.Size() != fi.Size() {
		t.Errorf("the file grew from %d to %d bytes", fi.Size(), after.Size())
	}

	// Ctrl-C: the count printed is what the output file holds.
	runs := testkit.Count(10, 3)
	exact := 0
	for run := range runs {
		out := filepath.Join(t.TempDir(), "live.ss")
		n, err := interruptRelay(relay, clock, out, 10+run*7)
		if err != nil {
			t.Fatal(err)
		}
		held := len(readPayloads(t, out))
		if held != n {
			t.Errorf("run %d: ss-relay said %d messages on Ctrl-C, the output holds %d", run, n, held)
			continue
		}
		exact++
	}

	// A stream key that matches nothing; a torn tail.
	note, err := exec.Command(relay, "--input", "file://"+same+"/clokc", "--replay").CombinedOutput()
	if err != nil || !strings.Contains(string(note), "no message of stream(s) clokc") {
		t.Errorf("a stream that matches nothing: %v, %q; want a note", err, note)
	}
	data, err := os.ReadFile(same)
	if err != nil {
		t.Fatal(err)
	}
	torn := filepath.Join(dir, "torn.ss")
	if err := os.WriteFile(torn, data[:len(data)-3], 0o644); err != nil {
		t.Fatal(err)
	}
	warn, err := exec.Command(relay, "--input", "file://"+torn+"/clock", "--replay").CombinedOutput()
	if err != nil || !strings.Contains(string(warn), "warning: "+torn+": the file ends in the middle of a message") {
		t.Errorf("a torn tail: %v, %q; want the warning", err, warn)
	}
	return opsRow{"10. ss-relay",
		fmt.Sprintf("file://same.ss/clock relayed into %s; Ctrl-C during a live relay (clock → file), the count printed against the output; a stream key that matches nothing; a file input with a torn tail", strings.Join(said, ", ")),
		fmt.Sprintf("%d spellings, %d interrupts", len(spellings), runs),
		fmt.Sprintf("refused at once (exit 2, \"feedback loop\") %d/%d, the file unchanged; the count printed on Ctrl-C equal to the messages in the output %d/%d; \"no message of stream(s) clokc\" said; the torn tail warned of as ss-decode does", refused, len(spellings), exact, runs)}
}

// interruptRelay relays a live clock into a file, interrupts ss-relay once
// its progress shows at least after messages, and returns the count of its
// summary.
func interruptRelay(relay, clock, out string, after int) (int, error) {
	ck := exec.Command(clock, "--interval", "1ms")
	rl := exec.Command(relay, "--input", "stdio:///clock", "--output", "file://"+out+"/clock", "--progress", "--progress-interval", "10ms")
	pr, pw, err := os.Pipe()
	if err != nil {
		return 0, err
	}
	ck.Stdout, rl.Stdin = pw, pr
	stderr, err := rl.StderrPipe()
	if err != nil {
		return 0, err
	}
	if err := rl.Start(); err != nil {
		return 0, err
	}
	if err := ck.Start(); err != nil {
		return 0, err
	}
	pr.Close()
	pw.Close()
	defer func() { ck.Process.Kill(); ck.Wait() }()
	sc := bufio.NewScanner(stderr)
	var all []string
	for sc.Scan() {
		all = append(all, sc.Text())
		if m := relayTicks.FindStringSubmatch(sc.Text()); m != nil {
			if n, _ := strconv.Atoi(m[1]); n >= after {
				break
			}
		}
	}
	if err := rl.Process.Signal(syscall.SIGINT); err != nil {
		return 0, err
	}
	n := -1
	for sc.Scan() {
		all = append(all, sc.Text())
		if m := relaySummary.FindStringSubmatch(sc.Text()); m != nil {
			n, _ = strconv.Atoi(m[1])
		}
	}
	if err := rl.Wait(); err != nil {
		return 0, fmt.Errorf("ss-relay after SIGINT: %v\n%s", err, strings.Join(all, "\n"))
	}
	if n < 0 {
		return 0, fmt.Errorf("no summary in:\n%s", strings.Join(all, "\n"))
	}
	return n, nil
}
