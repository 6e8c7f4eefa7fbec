package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/seastream/ss/format"
	"github.com/seastream/ss/ssfile"
	"github.com/seastream/ss/streamer"
)

// The group benchmarks run this binary again as member processes.
const groupMemberEnv = "SSBENCH_GROUP_MEMBER" // path of the .ss file

// groupMember is a LoadBalanced member of group g reading stream a: it
// prints "s <shard>" when it returns a message of a shard it had returned
// none of for 100 ms (it has just taken the shard), and "n <count>" every
// 4096 messages and when 50 ms pass without one.
func groupMember(path string) error {
	ctx := context.Background()
	s, err := streamer.Open(ctx, "file://"+path)
	if err != nil {
		return err
	}
	c, err := s.NewConsumer(ctx, []streamer.StreamKey{"a"}, streamer.WithMode(streamer.LoadBalanced), streamer.WithGroup("g"), streamer.WithAutoStreamReset(streamer.ResetEarliest))
	if err != nil {
		return err
	}
	out := bufio.NewWriter(os.Stdout)
	fmt.Fprintln(out, "ready")
	out.Flush()
	seen := map[streamer.ShardID]time.Time{}
	n := 0
	for {
		wait, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		m, err := c.Next(wait)
		cancel()
		if errors.Is(err, context.DeadlineExceeded) {
			fmt.Fprintln(out, "n", n)
			out.Flush()
			continue
		}
		if err != nil {
			return err
		}
		n++
		if now := time.Now(); now.Sub(seen[m.Shard]) > 100*time.Millisecond {
			fmt.Fprintln(out, "s", m.Shard)
			out.Flush()
			seen[m.Shard] = now
		} else {
			seen[m.Shard] = now
		}
		if n%4096 == 0 {
			fmt.Fprintln(out, "n", n)
			out.Flush()
		}
	}
}

// memberProc is a running member process and what it said.
type memberProc struct {
	cmd    *exec.Cmd
	mu     sync.Mutex
	count  int
	shards map[uint64]time.Time // when it last said it took each shard
	heard  chan struct{}        // closed and replaced at each line
	done   chan struct{}
}

func startMember(b *testing.B, path string) *memberProc {
	b.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$", "-test.bench=^$")
	cmd.Env = append(os.Environ(), groupMemberEnv+"="+path)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	m := &memberProc{cmd: cmd, shards: map[uint64]time.Time{}, heard: make(chan struct{}), done: make(chan struct{})}
	sc := bufio.NewScanner(stdout)
	if !sc.Scan() || sc.Text() != "ready" {
		b.Fatalf("member said %q", sc.Text())
	}
	go func() {
		defer close(m.done)
		for sc.Scan() {
			now := time.Now()
			f := strings.Fields(sc.Text())
			if len(f) != 2 {
				continue
			}
			v, _ := strconv.Atoi(f[1])
			m.mu.Lock()
			switch f[0] {
			case "n":
				m.count = v
			case "s":
				m.shards[uint64(v)] = now
			}
			close(m.heard)
			m.heard = make(chan struct{})
			m.mu.Unlock()
		}
	}()
	b.Cleanup(m.kill)
	return m
}

func (m *memberProc) kill() {
	m.cmd.Process.Signal(syscall.SIGKILL)
	m.cmd.Wait()
	<-m.done
}

// writeShards writes n messages of 256 B to stream a, round-robin over
// four shards.
func writeShards(b *testing.B, path string, n int) {
	b.Helper()
	w, err := ssfile.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	p := payload(256)
	for i := range n {
		h := format.MessageHeader{StreamKey: "a", ShardID: uint64(i % 4), SeqNo: uint64(i/4 + 1), Timestamp: 1700000000000}
		if err := w.Write(h, p); err != nil {
			b.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkGroupProcesses consumes a four-shard stream of b.N messages as
// one LoadBalanced group through file://: one member process alone, and
// three member processes sharing the pairs. msgs/s is the group's aggregate
// rate, from the members' start to the last message.
func BenchmarkGroupProcesses(b *testing.B) {
	for _, members := range []int{1, 3} {
		b.Run(fmt.Sprintf("members=%d", members), func(b *testing.B) {
			path := filepath.Join(b.TempDir(), "group.ss")
			writeShards(b, path, b.N)
			b.ResetTimer()
			start := time.Now()
			var ms []*memberProc
			for range members {
				ms = append(ms, startMember(b, path))
			}
			for {
				total := 0
				var wait []chan struct{}
				for _, m := range ms {
					m.mu.Lock()
					total += m.count
					wait = append(wait, m.heard)
					m.mu.Unlock()
				}
				if total >= b.N {
					break
				}
				select {
				case <-wait[0]:
				case <-wait[len(wait)-1]:
				case <-time.After(100 * time.Millisecond):
				}
			}
			el := time.Since(start)
			b.StopTimer()
			b.ReportMetric(float64(b.N)/el.Seconds(), "msgs/s")
		})
	}
}

// BenchmarkGroupRebalance measures the time from killing (SIGKILL) a member
// of a three-member group that holds a shard to another member returning a
// message of that shard, while a producer writes 4,000 messages a second
// to four shards: the rebalance as the application sees it, with the
// default heartbeat. Each b.N is one kill.
func BenchmarkGroupRebalance(b *testing.B) {
	ctx := context.Background()
	path := filepath.Join(b.TempDir(), "group.ss")
	s, err := streamer.Open(ctx, "file://"+path, streamer.WithCreate(streamer.CreateIfMissing))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close(ctx)
	p, err := s.NewProducer(ctx, "a")
	if err != nil {
		b.Fatal(err)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-t.C:
			}
			for k := range 4 {
				if _, err := p.Send(ctx, []byte("x"), streamer.WithShard(streamer.ShardID(k))); err != nil {
					b.Error(err)
					return
				}
			}
			p.Flush(ctx)
		}
	})
	defer func() { close(stop); wg.Wait() }()
	ms := []*memberProc{startMember(b, path), startMember(b, path), startMember(b, path)}
	var total time.Duration
	var worst time.Duration
	b.ResetTimer()
	for i := range b.N {
		// The victim: the member that took shard i%4 last.
		shard := uint64(i % 4)
		var victim *memberProc
		for victim == nil {
			var latest time.Time
			for _, m := range ms {
				m.mu.Lock()
				if at, ok := m.shards[shard]; ok && at.After(latest) {
					victim, latest = m, at
				}
				m.mu.Unlock()
			}
			if victim == nil {
				time.Sleep(10 * time.Millisecond) // polling what the members said: not a synchronisation of the system measured
			}
		}
		killed := time.Now()
		victim.kill()
		var took time.Duration
		for took == 0 {
			var wait []chan struct{}
			for _, m := range ms {
				if m == victim {
					continue
				}
				m.mu.Lock()
				if at, ok := m.shards[shard]; ok && at.After(killed) {
					took = at.Sub(killed)
				}
				wait = append(wait, m.heard)
				m.mu.Unlock()
			}
			if took == 0 {
				select {
				case <-wait[0]:
				case <-wait[1]:
				case <-time.After(5 * time.Second):
					b.Fatalf("kill %d: shard %d not taken over in 5s", i, shard)
				}
			}
		}
		total += took
		worst = max(worst, took)
		for j, m := range ms {
			if m == victim {
				ms[j] = startMember(b, path)
			}
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms/rebalance")
	b.ReportMetric(float64(worst.Milliseconds()), "max-ms")
}
