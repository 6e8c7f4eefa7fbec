package reliability

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seastream/ss/format"
	"github.com/seastream/ss/internal/testkit"
	"github.com/seastream/ss/ssfile"
)

// loadDuration is how long a load test produces: SS_LOAD_DURATION (a Go
// duration), 1s by default.
func loadDuration(t testing.TB) time.Duration {
	s := os.Getenv("SS_LOAD_DURATION")
	if s == "" {
		return time.Second
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		t.Fatalf("SS_LOAD_DURATION=%q: want a positive duration such as 20s", s)
	}
	return d
}

// loadStreams is the (stream key, shard) written by producer i: each pair
// has a single producer, so that its sequence numbers are its order.
func loadStream(i int) (string, uint64) { return fmt.Sprintf("s%d", i%3), uint64(i / 3) }

func streamName(key string, shard uint64) string { return fmt.Sprintf("%s/%d", key, shard) }

// payloadFor is the payload of message seq of a stream: 0 to 299 bytes that
// a reader can recompute, so that any change is seen.
func payloadFor(key string, shard, seq uint64) []byte {
	h := fnv.New64a()
	fmt.Fprintf(h, "%s/%d/%d", key, shard, seq)
	seed := h.Sum64()
	rng := rand.New(rand.NewPCG(seed, seed>>7))
	p := make([]byte, int(seed%300))
	for i := range p {
		p[i] = byte(rng.Uint32())
	}
	return p
}

// produce writes to w from n goroutines, one per (stream, shard), going on
// from what the file holds, until ctx ends, flushing every 16 messages. It
// returns the last sequence number written per stream.
func produce(ctx context.Context, w *ssfile.Writer, n int) (map[string]uint64, error) {
	var mu sync.Mutex
	last := make(map[string]uint64)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			key, shard := loadStream(i)
			st, _ := w.Stream(key, shard)
			seq := st.SeqNo
			defer func() {
				mu.Lock()
				last[streamName(key, shard)] = seq
				mu.Unlock()
			}()
			for k := 0; ctx.Err() == nil; k++ {
				h := format.MessageHeader{StreamKey: key, ShardID: shard, SeqNo: seq + 1, Timestamp: uint64(time.Now().UnixMilli())}
				if err := w.Write(h, payloadFor(key, shard, seq+1)); err != nil {
					errs[i] = err
					return
				}
				seq++
				if k%16 == 15 {
					if err := w.Flush(); err != nil {
						errs[i] = err
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	return last, errors.Join(errs...)
}

// followResult is what a follower saw.
type followResult struct {
	Last     map[string]uint64 `json:"last"` // last sequence number per stream
	Messages int               `json:"messages"`
	Bytes    int64             `json:"bytes"`
	EOS      bool              `json:"eos"` // it reached the end-of-stream message
	Errors   []string          `json:"errors,omitempty"`
	RSS      rssPeak           `json:"rss"`
}

func (r *followResult) fail(format string, args ...any) {
	if len(r.Errors) < 10 {
		r.Errors = append(r.Errors, fmt.Sprintf(format, args...))
	}
}

// follow reads path in LiveReplay mode until the end-of-stream message,
// checking that each stream's sequence numbers go up by one from 1 (nothing
// lost, nothing repeated, in order) and that every payload is the one
// written.
func follow(ctx context.Context, path string) followResult {
	res := followResult{Last: make(map[string]uint64)}
	r, err := ssfile.Open(path, ssfile.WithMode(ssfile.LiveReplay))
	if err != nil {
		res.fail("open: %v", err)
		return res
	}
	defer r.Close()
	for {
		m, err := r.Next(ctx)
		if err != nil {
			res.fail("next after %d messages: %v", res.Messages, err)
			return res
		}
		if m.IsEndOfStream() {
			res.EOS = true
			return res
		}
		name := streamName(m.StreamKey, m.ShardID)
		if want := res.Last[name] + 1; m.SeqNo != want {
			res.fail("%s: seq %d, want %d", name, m.SeqNo, want)
		}
		if !bytes.Equal(m.Payload, payloadFor(m.StreamKey, m.ShardID, m.SeqNo)) {
			res.fail("%s seq %d: the payload differs from the one written", name, m.SeqNo)
		}
		res.Last[name] = m.SeqNo
		res.Messages++
		res.Bytes += int64(len(m.Payload))
	}
}

// checkFollowers checks that every follower saw exactly what was written.
func checkFollowers(t *testing.T, written map[string]uint64, results []followResult) {
	t.Helper()
	total := uint64(0)
	for _, n := range written {
		total += n
	}
	for i, r := range results {
		for _, e := range r.Errors {
			t.Errorf("follower %d: %s", i, e)
		}
		if !r.EOS {
			t.Errorf("follower %d did not reach the end-of-stream message", i)
		}
		if uint64(r.Messages) != total {
			t.Errorf("follower %d read %d messages, %d were written", i, r.Messages, total)
		}
		for name, n := range written {
			if r.Last[name] != n {
				t.Errorf("follower %d: %s ends at seq %d, written up to %d", i, name, r.Last[name], n)
			}
		}
	}
}

// rssPeak is the peak resident memory of a process, in KiB: in all, and
// its anonymous part (heap, stacks: what the program holds) apart from
// file-backed pages (the .ss file's pages mapped by readers, which are the
// page cache and which the kernel can drop).
type rssPeak struct {
	Total int64 `json:"total_kb"` // VmHWM: the peak of VmRSS
	Anon  int64 `json:"anon_kb"`  // the largest RssAnon sampled
	File  int64 `json:"file_kb"`  // the largest RssFile sampled
}

func (p rssPeak) String() string {
	return fmt.Sprintf("%s (anonymous %s, file pages %s)", mib(p.Total), mib(p.Anon), mib(p.File))
}

// procStatus reads the given fields of /proc/self/status, in KiB.
func procStatus(fields ...string) map[string]int64 {
	out := make(map[string]int64)
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return out
	}
	for _, line := range strings.Split(string(b), "\n") {
		name, rest, ok := strings.Cut(line, ":")
		if !ok || !slices.Contains(fields, name) {
			continue
		}
		if n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64); err == nil {
			out[name] = n
		}
	}
	return out
}

// sampleRSS resets the peak RSS of the process (Linux: /proc/self/clear_refs)
// and samples its anonymous and file-backed parts every 20 ms until stop,
// which returns the peaks. (VmHWM alone cannot tell a program holding memory
// from readers whose mappings have the file's pages resident.)
func sampleRSS() (stop func() rssPeak) {
	_ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
	var peak rssPeak
	sample := func() {
		st := procStatus("RssAnon", "RssFile")
		peak.Anon = max(peak.Anon, st["RssAnon"])
		peak.File = max(peak.File, st["RssFile"])
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			sample()
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	return func() rssPeak {
		close(done)
		<-finished
		sample()
		peak.Total = procStatus("VmHWM")["VmHWM"]
		if peak.Total == 0 {
			peak.Total = testkit.PeakRSS() >> 10
		}
		return peak
	}
}

// waitGoroutines waits, a bounded time, until no more goroutines run than
// before, and fails if they do not come back down.
func waitGoroutines(t *testing.T, before int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Errorf("%d goroutines after the test, %d before:\n%s", runtime.NumGoroutine(), before, buf[:runtime.Stack(buf, true)])
			return
		}
		<-time.After(10 * time.Millisecond) // poll the condition
	}
}

func mib(kb int64) string { return fmt.Sprintf("%.0f MiB", float64(kb)/1024) }

// anonCeiling is far above the anonymous memory any load test needs (in
// KiB): more means memory grows with the run.
const anonCeiling = 512 << 10

func checkRSS(t *testing.T, who string, p rssPeak) {
	t.Helper()
	if p.Anon > anonCeiling {
		t.Errorf("%s: peak anonymous memory %s, over %s", who, mib(p.Anon), mib(anonCeiling))
	}
}

var loadRows = struct {
	sync.Mutex
	rows map[string][]string
}{rows: make(map[string][]string)}

// addLoadRow records a row of the load section, which the tests write in a
// fixed order whichever ran.
func addLoadRow(t *testing.T, name string, row []string) {
	loadRows.Lock()
	defer loadRows.Unlock()
	loadRows.rows[name] = row
	var rows [][]string
	for _, n := range []string{"inprocess", "crossprocess", "streamer"} {
		if r, ok := loadRows.rows[n]; ok {
			rows = append(rows, r)
		}
	}
	writeSection(t, "load", fmt.Sprintf("### Load\n\nEach run produced for %v (SS_LOAD_DURATION), %d cores shared with other work. Followers check that every (stream, shard) goes 1, 2, 3, … with the payloads written: nothing lost, nothing duplicated, order kept. Peak RSS is VmHWM, split into the largest anonymous and file-backed parts sampled every 20 ms: anonymous memory is what the program holds (it must stay bounded: under %s); file pages are the .ss file's pages mapped by readers, or read by ssfile.Append's recovery scan, which is page cache the kernel can reclaim and which grows with the file.\n\n", loadDuration(t), runtime.NumCPU(), mib(anonCeiling))+
		table([]string{"what was tried", "how much", "what happened"}, rows))
}

// TestLoadInProcess: six goroutines write through one ssfile.Writer while
// four LiveReplay readers follow the file; the writer ends it with an
// end-of-stream message. Every reader sees every message exactly once, in
// order per (stream, shard); memory stays bounded and no goroutine is left.
func TestLoadInProcess(t *testing.T) {
	d := loadDuration(t)
	const producers, readers = 6, 4
	before := runtime.NumGoroutine()
	stopRSS := sampleRSS()
	path := filepath.Join(t.TempDir(), "load.ss")
	w, err := ssfile.Create(path, ssfile.WithBeaconInterval(4096), ssfile.WithEndOfStream())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), d+2*time.Minute)
	defer cancel()
	results := make([]followResult, readers)
	var wg sync.WaitGroup
	for i := range readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = follow(ctx, path)
		}()
	}
	start := time.Now()
	pctx, stop := context.WithTimeout(ctx, d)
	written, err := produce(pctx, w, producers)
	stop()
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	elapsed := time.Since(start)
	peak := stopRSS()
	checkFollowers(t, written, results)
	waitGoroutines(t, before)
	checkRSS(t, "the process", peak)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, n := range written {
		total += int(n)
	}
	t.Logf("%d messages, %d MiB, in %v; peak RSS %v", total, fi.Size()>>20, elapsed, peak)
	addLoadRow(t, "inprocess", []string{
		fmt.Sprintf("one process: %d goroutines writing through one ssfile.Writer (6 (stream, shard), flush every 16), %d LiveReplay readers following", producers, readers),
		fmt.Sprintf("%d messages (%.0f/s), %d MiB file; each read by %d readers", total, float64(total)/d.Seconds(), fi.Size()>>20, readers),
		fmt.Sprintf("%s; peak RSS of the process %v; goroutines back to %d", verdict(t), peak, before),
	})
}

func verdict(t *testing.T) string {
	if t.Failed() {
		return "FAILED (see the test log)"
	}
	return "nothing lost, nothing duplicated, order kept"
}

// Roles of the test binary when a load test runs it as a child process.
const (
	roleEnv   = "SS_RELIABILITY_ROLE"
	pathEnv   = "SS_LOAD_PATH"
	forEnv    = "SS_LOAD_FOR"
	eosEnv    = "SS_LOAD_EOS"
	readyLine = "ready"
)

// helperMain runs the role a test started this binary for, and exits; it
// returns false when the binary runs as a test.
func helperMain() bool {
	role := os.Getenv(roleEnv)
	if role == "" {
		return false
	}
	path := os.Getenv(pathEnv)
	var out any
	var err error
	switch role {
	case "writer":
		out, err = writerRole(path)
	case "reader":
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		stop := sampleRSS() // of this process image: getrusage's counts the parent's at the fork
		res := follow(ctx, path)
		res.RSS = stop()
		cancel()
		out = res
	case "committer":
		err = committerRole()
	case "member":
		err = memberRole(path)
	case "dirwriter":
		err = dirWriterRole(path)
	default:
		err = fmt.Errorf("unknown role %q", role)
	}
	if out != nil {
		_ = json.NewEncoder(os.Stdout).Encode(out)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(0)
	return true
}

// writerResult is what a writer process reports.
type writerResult struct {
	Last map[string]uint64 `json:"last"`
	RSS  rssPeak           `json:"rss"`
}

// writerRole appends to path for SS_LOAD_FOR, from six goroutines, and
// closes it, with an end-of-stream message if SS_LOAD_EOS=1. It prints
// readyLine once it holds the file.
func writerRole(path string) (*writerResult, error) {
	d, err := time.ParseDuration(os.Getenv(forEnv))
	if err != nil {
		return nil, err
	}
	opts := []ssfile.Option{}
	if os.Getenv(eosEnv) == "1" {
		opts = append(opts, ssfile.WithEndOfStream())
	}
	stop := sampleRSS()
	w, err := ssfile.Append(path, opts...)
	if err != nil {
		return nil, err
	}
	fmt.Println(readyLine)
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	last, err := produce(ctx, w, 6)
	err = errors.Join(err, w.Close())
	return &writerResult{Last: last, RSS: stop()}, err
}

// child is a running child process of a role.
type child struct {
	role   string
	cmd    *exec.Cmd
	lines  chan string
	stderr bytes.Buffer
}

func startChild(t *testing.T, ctx context.Context, role string, env ...string) *child {
	t.Helper()
	c := &child{role: role, cmd: exec.CommandContext(ctx, os.Args[0], "-test.run=^$"), lines: make(chan string, 16)}
	c.cmd.Env = append(os.Environ(), append([]string{roleEnv + "=" + role}, env...)...)
	c.cmd.Stderr = &c.stderr
	out, err := c.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(c.lines)
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			c.lines <- sc.Text()
		}
		_, _ = io.Copy(io.Discard, out)
	}()
	return c
}

// wait waits for the child to exit and decodes its last output line into v.
func (c *child) wait(t *testing.T, v any) {
	t.Helper()
	var last string
	for l := range c.lines {
		last = l
	}
	if err := c.cmd.Wait(); err != nil {
		t.Fatalf("%s child: %v\n%s", c.role, err, c.stderr.String())
	}
	if err := json.Unmarshal([]byte(last), v); err != nil {
		t.Fatalf("child output %q: %v", last, err)
	}
}

// TestLoadCrossProcess: three writer processes take turns on one file (one
// writer at a time across processes: each reopens it with Append, going on
// from where the previous one stopped), while three reader processes follow
// it from the beginning. A writer in another process while one runs gets
// ErrLocked. Every reader sees every message exactly once, in order.
func TestLoadCrossProcess(t *testing.T) {
	d := loadDuration(t)
	const writers, readers = 3, 3
	path := filepath.Join(t.TempDir(), "xload.ss")
	w, err := ssfile.Create(path, ssfile.WithBeaconInterval(4096))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), d+3*time.Minute)
	defer cancel()
	var followers []*child
	for range readers {
		followers = append(followers, startChild(t, ctx, "reader", pathEnv+"="+path))
	}
	written := make(map[string]uint64)
	var writerRSS []rssPeak
	locked := 0
	for i := range writers {
		eos := "0"
		if i == writers-1 {
			eos = "1"
		}
		wc := startChild(t, ctx, "writer", pathEnv+"="+path, forEnv+"="+(d/writers).String(), eosEnv+"="+eos)
		if l, ok := <-wc.lines; !ok || l != readyLine {
			wc.wait(t, new(any))
			t.Fatalf("writer %d did not start: %q", i, l)
		}
		// The file is taken: another writer, here, must be refused.
		if w, err := ssfile.Append(path); !errors.Is(err, ssfile.ErrLocked) {
			if err == nil {
				w.Close()
			}
			t.Errorf("a second writer while writer %d runs: %v, want ssfile.ErrLocked", i, err)
		} else {
			locked++
		}
		var res writerResult
		wc.wait(t, &res)
		writerRSS = append(writerRSS, res.RSS)
		for k, v := range res.Last {
			written[k] = v
		}
	}
	results := make([]followResult, readers)
	var readerRSS []rssPeak
	for i, c := range followers {
		c.wait(t, &results[i])
		readerRSS = append(readerRSS, results[i].RSS)
	}
	checkFollowers(t, written, results)
	for i, kb := range writerRSS {
		checkRSS(t, fmt.Sprintf("writer %d", i), kb)
	}
	for i, kb := range readerRSS {
		checkRSS(t, fmt.Sprintf("reader %d", i), kb)
	}
	total := 0
	for _, n := range written {
		total += int(n)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d messages, %d MiB; writers' peak RSS %v, readers' %v", total, fi.Size()>>20, writerRSS, readerRSS)
	addLoadRow(t, "crossprocess", []string{
		fmt.Sprintf("across processes: %d writer processes taking turns (ssfile.Append, 6 goroutines each), %d reader processes following (LiveReplay) throughout", writers, readers),
		fmt.Sprintf("%d messages, %d MiB file; each read by %d processes; %d attempts at a second writer", total, fi.Size()>>20, readers, writers),
		fmt.Sprintf("%s, across the writers' hand-overs; the second writer got ErrLocked %d/%d times; peak RSS: writers %s, readers %s", verdict(t), locked, writers, rssList(writerRSS), rssList(readerRSS)),
	})
}

func rssList(ps []rssPeak) string {
	var s []string
	for _, p := range ps {
		s = append(s, p.String())
	}
	return strings.Join(s, "; ")
}
