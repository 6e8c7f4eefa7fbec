package reliability

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/seastream/ss/ssdir"
	"github.com/seastream/ss/ssfile"
)

// Issue 12: archiving a live Redis stream into a stream directory runs for
// days in bounded memory, with progress. TestArchiveLongRun runs the real
// ss-relay for SS_ARCHIVE_DURATION against the Redis server of
// SS_REDIS_URL:
//
//	SS_REDIS_URL=redis://127.0.0.1:6379 SS_ARCHIVE_DURATION=24h go test -count=1 -timeout 0 -run TestArchiveLongRun -v ./reliability/
//
// (add SS_WRITE_RESULTS=1 to write the "archive" section of RESULTS.md).

const (
	archivePayloadSize  = 256
	archiveSegmentSize  = 4 << 20
	archiveRetention    = 64 << 20
	archiveProgressTick = 10 * time.Second
	archiveDefaultRate  = 2000
)

// archivePayload is message seq of the run: its sequence number, then a
// filler that depends on it, 256 bytes in all.
func archivePayload(seq uint64) []byte {
	p := fmt.Appendf(make([]byte, 0, archivePayloadSize), "seq=%016d;", seq)
	return append(p, bytes.Repeat([]byte{'a' + byte(seq%26)}, archivePayloadSize-len(p))...)
}

// archiveSeq reads the sequence number of a payload of archivePayload.
func archiveSeq(p []byte) (uint64, bool) {
	s, ok := bytes.CutPrefix(p, []byte("seq="))
	if !ok || len(s) < 17 || s[16] != ';' {
		return 0, false
	}
	n, err := strconv.ParseUint(string(s[:16]), 10, 64)
	return n, err == nil
}

// archiveSample is what the test saw at one moment of the run; memory in
// KiB.
type archiveSample struct {
	at             time.Duration // since the relay started
	rss, hwm, anon int64         // the relay's VmRSS, VmHWM, RssAnon
	segments       int           // segments present
	written        uint64        // the newest segment's number: segments written
	diskBytes      int64         // the segments' total size
	produced       uint64        // messages sent to Redis so far
	redisMem       int64         // Redis used_memory, KiB
	xlen           int64         // entries in the Redis stream
}

// statusOf reads the given fields of /proc/PID/status, in KiB.
func statusOf(pid int, fields ...string) (map[string]int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return nil, err
	}
	out := make(map[string]int64)
	for line := range strings.SplitSeq(string(b), "\n") {
		name, rest, ok := strings.Cut(line, ":")
		if !ok || !slices.Contains(fields, name) {
			continue
		}
		if n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64); err == nil {
			out[name] = n
		}
	}
	return out, nil
}

// archiveProducer XADDs archivePayload(1), (2), ... to a Redis stream at a
// steady rate, trimming the stream to about keep entries as it goes.
type archiveProducer struct {
	client *goredis.Client
	stream string
	keep   int64

	mu   sync.Mutex
	sent uint64
}

func (p *archiveProducer) produced() uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.sent
}

// send XADDs the messages after the last sent up to to, in one pipeline.
func (p *archiveProducer) send(ctx context.Context, to uint64) error {
	from := p.produced() + 1
	if to < from {
		return nil
	}
	pipe := p.client.Pipeline()
	for seq := from; seq <= to; seq++ {
		pipe.XAdd(ctx, &goredis.XAddArgs{Stream: p.stream, MaxLen: p.keep, Approx: true, Values: []any{"msg", archivePayload(seq)}})
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("XADD %d to %d: %w", from, to, err)
	}
	p.mu.Lock()
	p.sent = to
	p.mu.Unlock()
	return nil
}

// run produces at rate messages a second until ctx is done: every 10 ms,
// whatever the elapsed time makes due since start (at most a second's worth
// in one pipeline).
func (p *archiveProducer) run(ctx context.Context, rate int) error {
	start := time.Now()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	base := p.produced()
	for {
		select {
		case <-ctx.Done():
			return nil
		case now := <-tick.C:
			due := base + uint64(now.Sub(start).Seconds()*float64(rate))
			if due > p.produced()+uint64(rate) {
				due = p.produced() + uint64(rate)
			}
			if err := p.send(ctx, due); err != nil {
				if ctx.Err() != nil {
					return nil // stopped during a pipeline: its messages count as not sent
				}
				return err
			}
		}
	}
}

// archiveRelayLog reads ss-relay's stderr: it counts the progress lines and
// keeps the last, the summary's count, and the other lines (the first 100).
type archiveRelayLog struct {
	mu       sync.Mutex
	progress int
	last     string
	relayed  int64 // from the summary; -1 until it is printed
	other    []string
	done     chan struct{}
}

func readRelayLog(r io.Reader) *archiveRelayLog {
	l := &archiveRelayLog{relayed: -1, done: make(chan struct{})}
	go func() {
		defer close(l.done)
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			line := sc.Text()
			l.mu.Lock()
			switch {
			case relayTicks.MatchString(line):
				l.progress++
				l.last = line
			case relaySummary.MatchString(line):
				l.relayed, _ = strconv.ParseInt(relaySummary.FindStringSubmatch(line)[1], 10, 64)
			case len(l.other) < 100:
				l.other = append(l.other, line)
			}
			l.mu.Unlock()
		}
	}()
	return l
}

func (l *archiveRelayLog) snapshot() (progress int, last string, relayed int64, other []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.progress, l.last, l.relayed, slices.Clone(l.other)
}

// lastArchived returns the sequence number of the last message in the
// directory's newest segment that holds one (0 if none): read in Replay,
// up to the end written so far.
func lastArchived(dir string) uint64 {
	segs, err := ssdir.Segments(dir)
	if err != nil {
		return 0
	}
	for i := len(segs) - 1; i >= 0 && i >= len(segs)-3; i-- {
		r, err := ssfile.Open(segs[i].Path, ssfile.WithMode(ssfile.Replay))
		if err != nil {
			continue // being created, or deleted by retention
		}
		var last uint64
		for {
			m, err := r.Next(context.Background())
			if err != nil {
				break // the end written so far (io.EOF, or a frame being written)
			}
			if n, ok := archiveSeq(m.Payload); ok {
				last = n
			}
		}
		r.Close()
		if last > 0 {
			return last
		}
	}
	return 0
}

// archiveCheck is what the directory holds once the relay has exited.
type archiveCheck struct {
	retained    int
	first, last uint64
}

// checkArchive reads the whole directory (ssdir, Replay) and checks that it
// holds the messages of stream from some sequence number to want, each once,
// in order, with the payload written.
func checkArchive(dir, stream string, want uint64) (archiveCheck, error) {
	var c archiveCheck
	r, err := ssdir.Open(dir)
	if err != nil {
		return c, err
	}
	defer r.Close()
	var lastID uint64
	for {
		m, err := r.Next(context.Background())
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return c, fmt.Errorf("after seq %d: %w", c.last, err)
		}
		if m.IsEndOfStream() {
			continue
		}
		seq, ok := archiveSeq(m.Payload)
		switch {
		case m.StreamKey != stream:
			return c, fmt.Errorf("after seq %d: a message of stream %q", c.last, m.StreamKey)
		case !ok || !bytes.Equal(m.Payload, archivePayload(seq)):
			return c, fmt.Errorf("after seq %d: payload %.40q is not one the producer sent", c.last, m.Payload)
		case c.retained > 0 && seq <= c.last:
			return c, fmt.Errorf("seq %d after %d: duplicated or out of order", seq, c.last)
		case c.retained > 0 && seq != c.last+1:
			return c, fmt.Errorf("seq %d after %d: %d messages missing", seq, c.last, seq-c.last-1)
		case c.retained > 0 && m.SeqNo <= lastID:
			return c, fmt.Errorf("seq %d: Redis id %d after %d", seq, m.SeqNo, lastID)
		}
		if c.retained == 0 {
			c.first = seq
		}
		c.last, lastID = seq, m.SeqNo
		c.retained++
	}
	if c.last != want {
		return c, fmt.Errorf("the directory ends at seq %d, the producer's last was %d", c.last, want)
	}
	return c, nil
}

// sizeText is n bytes in MiB, or in GiB from 1 GiB on.
func sizeText(n int64) string {
	if n >= 1<<30 {
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	}
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}

// medianRSS is the median VmRSS of samples, in KiB.
func medianRSS(samples []archiveSample) int64 {
	rss := make([]int64, len(samples))
	for i, s := range samples {
		rss[i] = s.rss
	}
	slices.Sort(rss)
	return rss[len(rss)/2]
}

// sampleAt returns the sample at fraction f of the run (the nearest one
// taken by then).
func sampleAt(samples []archiveSample, f float64) archiveSample {
	i := int(f*float64(len(samples))+0.5) - 1
	return samples[min(max(i, 0), len(samples)-1)]
}

func TestArchiveLongRun(t *testing.T) {
	durationEnv, redisURL := os.Getenv("SS_ARCHIVE_DURATION"), strings.TrimSuffix(os.Getenv("SS_REDIS_URL"), "/")
	if durationEnv == "" || redisURL == "" {
		t.Skip("set SS_ARCHIVE_DURATION (e.g. 30m) and SS_REDIS_URL (e.g. redis://127.0.0.1:6379) to run the long archive run")
	}
	duration, err := time.ParseDuration(durationEnv)
	if err != nil || duration <= 0 {
		t.Fatalf("SS_ARCHIVE_DURATION=%q: want a positive duration such as 30m", durationEnv)
	}
	rate := archiveDefaultRate
	if v := os.Getenv("SS_ARCHIVE_RATE"); v != "" {
		if rate, err = strconv.Atoi(v); err != nil || rate <= 0 {
			t.Fatalf("SS_ARCHIVE_RATE=%q: want messages a second, such as 2000", v)
		}
	}
	if dl, ok := t.Deadline(); ok && time.Until(dl) < duration+5*time.Minute {
		t.Fatalf("SS_ARCHIVE_DURATION=%v does not fit in the test's -timeout: give -timeout 0 (or at least %v)", duration, (duration + 5*time.Minute).Round(time.Minute))
	}
	// A sample a minute; a short run samples 30 times.
	every := min(time.Minute, max((duration/30).Round(time.Second), time.Second))

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	opts, err := goredis.ParseURL(redisURL)
	if err != nil {
		t.Fatalf("SS_REDIS_URL: %v", err)
	}
	client := goredis.NewClient(opts)
	defer client.Close()
	if err := client.Ping(ctx).Err(); err != nil {
		t.Fatalf("Redis at %s: %v", redisURL, err)
	}
	stream := fmt.Sprintf("ss-archive-%d", time.Now().UnixNano())
	defer client.Del(context.Background(), stream)
	// The stream keeps about a minute of messages: a relay that falls
	// further behind loses messages, which the check finds as a gap.
	prod := &archiveProducer{client: client, stream: stream, keep: max(int64(rate)*60, 10000)}
	if err := prod.send(ctx, 1); err != nil { // the stream exists before the relay starts
		t.Fatal(err)
	}

	relay := buildTool(t, "ss-relay")
	dir := filepath.Join(t.TempDir(), "archive")
	output := fmt.Sprintf("file://%s/?segment_size=%dMiB&retention_bytes=%dMiB", dir, archiveSegmentSize>>20, archiveRetention>>20)
	cmd := exec.Command(relay, "--input", redisURL+"/"+stream, "--offset", "start", "--output", output,
		"--progress", "--progress-interval", archiveProgressTick.String())
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	started := time.Now()
	defer cmd.Process.Kill() // a failed run; a passing one has exited
	relayLog := readRelayLog(stderr)
	exited := make(chan error, 1)
	go func() {
		<-relayLog.done // Wait closes the pipe: read it all first
		exited <- cmd.Wait()
	}()

	prodCtx, stopProducer := context.WithCancel(ctx)
	defer stopProducer()
	produced := make(chan error, 1)
	go func() { produced <- prod.run(prodCtx, rate) }()

	var samples []archiveSample
	sample := func() error {
		st, err := statusOf(cmd.Process.Pid, "VmRSS", "VmHWM", "RssAnon")
		if err != nil {
			return fmt.Errorf("ss-relay's memory: %w", err)
		}
		s := archiveSample{at: time.Since(started), rss: st["VmRSS"], hwm: st["VmHWM"], anon: st["RssAnon"], produced: prod.produced()}
		if segs, err := ssdir.Segments(dir); err == nil && len(segs) > 0 {
			s.segments, s.written = len(segs), segs[len(segs)-1].Number
			for _, g := range segs {
				s.diskBytes += g.Size
			}
		}
		if info, err := client.InfoMap(ctx, "memory").Result(); err == nil {
			n, _ := strconv.ParseInt(info["Memory"]["used_memory"], 10, 64)
			s.redisMem = n >> 10
		}
		s.xlen, _ = client.XLen(ctx, stream).Result()
		samples = append(samples, s)
		return nil
	}
	tick := time.NewTicker(every)
	end := time.After(duration)
run:
	for {
		select {
		case <-tick.C:
			if err := sample(); err != nil {
				t.Fatal(err)
			}
			s := samples[len(samples)-1]
			_, last, _, _ := relayLog.snapshot()
			t.Logf("%v: ss-relay RSS %s (peak %s, anonymous %s); %d segments (%d written), %.1f MiB; %d produced, Redis %s, %d entries; %s",
				s.at.Round(time.Second), mib(s.rss), mib(s.hwm), mib(s.anon), s.segments, s.written, float64(s.diskBytes)/(1<<20), s.produced, mib(s.redisMem), s.xlen, last)
		case err := <-produced:
			t.Fatalf("the producer stopped: %v", err)
		case err := <-exited:
			_, _, _, other := relayLog.snapshot()
			t.Fatalf("ss-relay exited during the run: %v\n%s", err, strings.Join(other, "\n"))
		case <-end:
			break run
		}
	}
	tick.Stop()
	if err := sample(); err != nil { // the 100% sample
		t.Fatal(err)
	}
	stopProducer()
	if err := <-produced; err != nil {
		t.Fatalf("the producer: %v", err)
	}
	lastSeq := prod.produced()

	// The relay catches up: the directory's last message is the last sent.
	caughtUp := time.Now()
	for deadline := time.Now().Add(2 * time.Minute); lastArchived(dir) != lastSeq; {
		if time.Now().After(deadline) {
			t.Fatalf("2 minutes after the producer stopped at seq %d, the directory ends at seq %d", lastSeq, lastArchived(dir))
		}
		<-time.After(100 * time.Millisecond) // poll the condition
	}
	catchUp := time.Since(caughtUp)

	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case err = <-exited:
	case <-time.After(time.Minute):
		t.Fatal("ss-relay did not exit within a minute of SIGINT")
	}
	progress, lastProgress, relayed, other := relayLog.snapshot()
	if err != nil {
		t.Fatalf("ss-relay after SIGINT: %v\n%s", err, strings.Join(other, "\n"))
	}
	if relayed != int64(lastSeq) {
		t.Errorf("ss-relay says it relayed %d messages, the producer sent %d", relayed, lastSeq)
	}
	if want := int(duration/archiveProgressTick) / 2; progress < want {
		t.Errorf("ss-relay printed %d progress lines in %v, want at least %d (one every %v)", progress, duration, want, archiveProgressTick)
	}
	if len(other) > 0 {
		t.Logf("ss-relay also said:\n%s", strings.Join(other, "\n"))
	}

	check, err := checkArchive(dir, stream, lastSeq)
	if err != nil {
		t.Errorf("the archive: %v", err)
	}
	segs, err := ssdir.Segments(dir)
	if err != nil || len(segs) == 0 {
		t.Fatalf("the directory's segments: %d, %v", len(segs), err)
	}
	written := segs[len(segs)-1].Number
	deleted := written - uint64(len(segs))
	var disk int64
	for _, s := range segs {
		disk += s.Size
	}
	// Retention deletes the oldest segments while the total passes
	// retention_bytes; the newest segment may pass segment_size by a message.
	if disk > archiveRetention+2*archiveSegmentSize {
		t.Errorf("the directory holds %d bytes in %d segments, retention_bytes is %d", disk, len(segs), archiveRetention)
	}

	// Memory growth. The rule: the median VmRSS of the last quarter of the
	// samples must not pass the median of the second quarter (the relay
	// warmed up, its buffers and the Go heap at their working size) by more
	// than 25% plus 8 MiB. Memory that grows with the messages relayed, the
	// segments rolled over or deleted, or the time run, passes it on a long
	// run; noise of the garbage collector's pacing does not.
	n := len(samples)
	if n < 4 {
		t.Fatalf("%d samples: too few to compare quarters", n)
	}
	second, fourth := medianRSS(samples[n/4:n/2]), medianRSS(samples[3*n/4:])
	limit := second + second/4 + 8<<10
	growth := float64(fourth-second) / float64(second)
	if fourth > limit {
		t.Errorf("ss-relay's RSS grew: median %s in the last quarter of the run, %s in the second (limit %s)", mib(fourth), mib(second), mib(limit))
	}
	var peak, anonPeak, redisPeak, xlenPeak int64
	for _, s := range samples {
		peak, anonPeak = max(peak, s.hwm), max(anonPeak, s.anon)
		redisPeak, xlenPeak = max(redisPeak, s.redisMem), max(xlenPeak, s.xlen)
	}

	lost := "nothing lost, nothing duplicated: sequence numbers contiguous, each payload the one sent, Redis ids increasing, the last the last produced"
	if t.Failed() {
		lost = "FAILED (see the test log)"
	}
	q := func(f float64) string {
		s := sampleAt(samples, f)
		return fmt.Sprintf("%s (%v)", mib(s.rss), s.at.Round(time.Second))
	}
	raceText := "without -race"
	if raceEnabled {
		raceText = "with -race"
	}
	text := "### Archive: Redis → stream directory, long run\n\n" +
		"TestArchiveLongRun (issue 12): the real `ss-relay` binary (built without -race; the test ran " + raceText + ") reads a fresh Redis stream live (`--input redis://…/STREAM --offset start`) and writes a stream directory (`--output 'file://DIR/?segment_size=4MiB&retention_bytes=64MiB' --progress --progress-interval 10s`), while the test XADDs at a steady rate and trims the stream to about a minute of messages (`MAXLEN ~`). Its memory is VmRSS, VmHWM and RssAnon from /proc/PID/status, sampled every " + every.String() + ". At the end the producer stops, the test waits until the directory's last message is the last produced, stops the relay with SIGINT (it must exit 0), and reads every retained message back with ssdir. It fails on a gap or a duplicate, and when the median RSS of the last quarter of the samples passes that of the second quarter by more than 25% plus 8 MiB. Run by `SS_REDIS_URL=… SS_ARCHIVE_DURATION=" + duration.String() + " SS_ARCHIVE_RATE=" + strconv.Itoa(rate) + " SS_WRITE_RESULTS=1 go test -count=1 -timeout 0 -run TestArchiveLongRun ./reliability/`.\n\n" +
		table([]string{"what was tried", "how much", "what happened"}, [][]string{{
			fmt.Sprintf("%d msg/s of %d-byte payloads carrying a sequence number, for %v; segments of %d MiB, retention_bytes %d MiB", rate, archivePayloadSize, duration, archiveSegmentSize>>20, archiveRetention>>20),
			fmt.Sprintf("%d messages relayed (%s of payload); %d segments written, %d deleted by retention, %d left (%.1f MiB); %d progress lines; %d samples", relayed, sizeText(relayed*archivePayloadSize), written, deleted, len(segs), float64(disk)/(1<<20), progress, n),
			fmt.Sprintf("peak RSS (VmHWM) %s, largest anonymous part (RssAnon) %s; RSS at 25%% %s, 50%% %s, 75%% %s, 100%% %s; median of the last quarter %s against %s in the second: %+.1f%% (limit +25%% + 8 MiB); Redis peak used_memory %s, stream at most %d entries; caught up %v after the producer stopped, exited 0 on SIGINT; the %d messages retained (seq %d to %d): %s",
				mib(peak), mib(anonPeak), q(0.25), q(0.5), q(0.75), q(1), mib(fourth), mib(second), 100*growth, mib(redisPeak), xlenPeak, catchUp.Round(time.Millisecond), check.retained, check.first, check.last, lost),
		}})
	t.Logf("last progress line: %s", lastProgress)
	t.Logf("the archive section:\n%s", text)
	if !t.Failed() {
		writeSection(t, "archive", text)
	}
}
