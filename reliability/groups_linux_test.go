package reliability

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/seastream/ss/internal/testkit"
	"github.com/seastream/ss/streamer"
)

// groupHeartbeat is the heartbeat of the groups these tests run: shorter
// than the default so that many rebalances fit in a run.
const groupHeartbeat = "50ms"

// memberRole is a LoadBalanced member of group g reading stream a of the
// file through the streamer API: it prints "m <shard> <seq>" for each
// message Next returns and "c" after every fifth once Commit has returned;
// on SIGTERM it closes and prints "left".
func memberRole(path string) error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s, err := streamer.Open(ctx, "file://"+path+"?heartbeat="+groupHeartbeat)
	if err != nil {
		return err
	}
	c, err := s.NewConsumer(ctx, []streamer.StreamKey{"a"}, streamer.WithMode(streamer.LoadBalanced), streamer.WithGroup("g"), streamer.WithAutoStreamReset(streamer.ResetEarliest))
	if err != nil {
		return err
	}
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM)
	go func() { <-term; cancel() }()
	out := bufio.NewWriter(os.Stdout)
	fmt.Fprintln(out, readyLine)
	out.Flush()
	for i := 1; ; i++ {
		m, err := c.Next(ctx)
		if err != nil && ctx.Err() != nil {
			if err := s.Close(context.Background()); err != nil {
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
			if err := c.Commit(ctx); err != nil && ctx.Err() == nil {
				return err
			}
			fmt.Fprintln(out, "c")
		}
		out.Flush()
	}
}

// heardMember is what the test heard from one member process.
type heardMember struct {
	id        int
	killed    bool
	delivered map[uint64][]uint64 // per shard, in the order returned
	committed map[uint64]uint64   // per shard: the last seq said before its last "c"
	last      map[uint64]uint64
	done      chan struct{}
}

// TestGroupsAcrossProcesses is issue 13's harness: three member processes
// of one LoadBalanced group on a four-shard stream, one of them killed with
// SIGKILL at a random moment (or, every fourth time, closed) and replaced,
// again and again, while a producer writes. Per (stream, shard) every
// message must be delivered, in order within each member; a message may be
// delivered again only if every member that had it but one was killed, and
// had it past its last commit.
func TestGroupsAcrossProcesses(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	path := filepath.Join(t.TempDir(), "group.ss")
	s, err := streamer.Open(ctx, "file://"+path, streamer.WithCreate(streamer.CreateIfMissing))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(ctx)
	p, err := s.NewProducer(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	const shards, members, perEvent = 4, 3, 40
	events := testkit.Count(134, 24) // a quarter are leaves: about 100 kills in full
	var mu sync.Mutex
	got := map[[2]uint64]int{}
	changed := make(chan struct{})
	var heard []*heardMember
	start := func() (*child, *heardMember) {
		ch := startChild(t, ctx, "member", pathEnv+"="+path)
		if line := <-ch.lines; line != readyLine {
			t.Fatalf("member said %q: %s", line, ch.stderr.String())
		}
		hm := &heardMember{delivered: map[uint64][]uint64{}, committed: map[uint64]uint64{}, last: map[uint64]uint64{}, done: make(chan struct{})}
		mu.Lock()
		hm.id = len(heard)
		heard = append(heard, hm)
		mu.Unlock()
		go func() {
			defer close(hm.done)
			for line := range ch.lines {
				f := strings.Fields(line)
				mu.Lock()
				switch {
				case len(f) == 3 && f[0] == "m":
					shard, _ := strconv.ParseUint(f[1], 10, 64)
					seq, _ := strconv.ParseUint(f[2], 10, 64)
					hm.delivered[shard] = append(hm.delivered[shard], seq)
					hm.last[shard] = seq
					got[[2]uint64{shard, seq}]++
					close(changed)
					changed = make(chan struct{})
				case line == "c":
					for s, q := range hm.last {
						hm.committed[s] = q
					}
				}
				mu.Unlock()
			}
		}()
		return ch, hm
	}
	type running struct {
		ch *child
		hm *heardMember
	}
	var live []running
	for range members {
		ch, hm := start()
		live = append(live, running{ch, hm})
	}
	sent := map[uint64]uint64{}
	n := 0
	sendSome := func(k int) {
		for range k {
			shard := uint64(n % shards)
			r, err := p.Send(ctx, fmt.Appendf(nil, "m%d", n), streamer.WithShard(streamer.ShardID(shard)))
			if err == nil {
				_, err = r.Wait(ctx)
			}
			if err != nil {
				t.Fatal(err)
			}
			sent[shard]++
			n++
		}
	}
	rng := rand.New(rand.NewPCG(17, 3))
	kills, leaves := 0, 0
	for ev := range events {
		sendSome(perEvent)
		// Not a synchronisation: lets deliveries run between events, so
		// that kills land at random points of the members' work.
		time.Sleep(time.Duration(rng.IntN(40)) * time.Millisecond)
		i := rng.IntN(len(live))
		m := live[i]
		if ev%4 == 3 {
			m.ch.cmd.Process.Signal(syscall.SIGTERM)
			<-m.hm.done
			if err := m.ch.cmd.Wait(); err != nil {
				t.Fatalf("a member leaving: %v: %s", err, m.ch.stderr.String())
			}
			leaves++
		} else {
			mu.Lock()
			m.hm.killed = true
			mu.Unlock()
			m.ch.cmd.Process.Signal(syscall.SIGKILL)
			<-m.hm.done
			m.ch.cmd.Wait()
			kills++
		}
		ch, hm := start()
		live[i] = running{ch, hm}
	}
	sendSome(200)
	// Wait until every message was delivered.
	for {
		mu.Lock()
		missing := 0
		for shard, last := range sent {
			for q := uint64(1); q <= last; q++ {
				if got[[2]uint64{shard, q}] == 0 {
					missing++
				}
			}
		}
		ch := changed
		mu.Unlock()
		if missing == 0 {
			break
		}
		select {
		case <-ch:
		case <-ctx.Done():
			t.Fatalf("%d messages never delivered", missing)
		}
	}
	for _, m := range live {
		mu.Lock()
		m.hm.killed = true // the last ones may take its pairs before they die too
		mu.Unlock()
		m.ch.cmd.Process.Signal(syscall.SIGKILL)
		<-m.hm.done
		m.ch.cmd.Wait()
	}
	mu.Lock()
	defer mu.Unlock()
	disorder, wrong, repeats, maxRepeat := 0, 0, 0, 0
	for _, hm := range heard {
		for _, qs := range hm.delivered {
			for i := 1; i < len(qs); i++ {
				if qs[i] <= qs[i-1] {
					disorder++
				}
			}
		}
	}
	by := map[[2]uint64][]*heardMember{}
	for _, hm := range heard {
		for shard, qs := range hm.delivered {
			for _, q := range qs {
				k := [2]uint64{shard, q}
				by[k] = append(by[k], hm)
			}
		}
	}
	for k, hms := range by {
		repeats += len(hms) - 1
		maxRepeat = max(maxRepeat, len(hms)-1)
		kept := 0
		for _, hm := range hms {
			if !hm.killed || k[1] <= hm.committed[k[0]] {
				kept++
			}
		}
		if kept > 1 {
			wrong++
		}
	}
	if disorder > 0 || wrong > 0 {
		t.Fatalf("%d messages out of order within a member, %d delivered again though no member had died past its commit", disorder, wrong)
	}
	var perShard []string
	for shard := range uint64(shards) {
		perShard = append(perShard, strconv.FormatUint(sent[shard], 10))
	}
	slices.Sort(perShard)
	row := []string{
		fmt.Sprintf("3 member processes of one LoadBalanced group (file://, pairs, heartbeat %s) on a 4-shard stream while a producer writes; at each event one member is killed with SIGKILL (or, every fourth, closed) and replaced", groupHeartbeat),
		fmt.Sprintf("%d kills, %d leaves, %d member processes, %d messages", kills, leaves, len(heard), n),
		fmt.Sprintf("every message delivered; order kept within every member; %d deliveries were repeats (at most %d of one message), each of a message a killed member had returned after its last commit; none after a leave or a rebalance", repeats, maxRepeat),
	}
	writeSection(t, "groups", "### Consumer groups across processes\n\n"+
		"TestGroupsAcrossProcesses: each member process prints what Next returned and when Commit returned, so the test knows what each had and had committed when it died.\n\n"+
		table([]string{"what was tried", "how many times", "what happened"}, [][]string{row}))
}
