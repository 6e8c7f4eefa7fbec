//go:build unix

package redis

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/seastream/ss/streamer/driver"
)

// The tests of this file change the cluster of SS_REDIS_CLUSTER_URL under
// a running producer and consumers: TestClusterMasterCrash kills a master,
// TestClusterSlotMigration moves a slot to another master. Each leaves the
// cluster healthy (every node up, cluster_state:ok, a replica in sync for
// every master), so that the tests after them run as usual; a moved slot
// stays where it went.

// steady is a producer sending the messages "0", "1", "2"... with header h
// in a loop until stopped. It waits for every 20th receipt, so that it goes
// at the server's pace, and counts the receipts resolved by then (a batch
// resolves after those before it).
type steady struct {
	e *env
	p *Producer
	h driver.Header

	mu    sync.Mutex
	sent  []driver.Pending // sent[i]: message i's receipt
	acked []int            // the messages acknowledged, in order

	stop chan struct{}
	done chan struct{}
}

func (e *env) startSteady(p *Producer, h driver.Header) *steady {
	s := &steady{e: e, p: p, h: h, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		for i := 0; ; i++ {
			select {
			case <-s.stop:
				return
			default:
			}
			pe, err := p.Send(e.ctx, h, []byte(strconv.Itoa(i)))
			if err != nil {
				e.t.Errorf("Send: %v", err)
				return
			}
			s.mu.Lock()
			s.sent = append(s.sent, pe)
			s.mu.Unlock()
			if i%20 == 19 {
				_, _ = pe.Wait(e.ctx)
				s.mu.Lock()
				for j := i - 19; j <= i; j++ {
					if _, err := s.sent[j].Wait(e.ctx); err == nil {
						s.acked = append(s.acked, j)
					}
				}
				s.mu.Unlock()
			}
		}
	}()
	e.t.Cleanup(s.end)
	return s
}

// count returns how many messages have been sent.
func (s *steady) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.sent)
}

// waitCount waits until n messages have been sent.
func (s *steady) waitCount(n int) {
	s.e.t.Helper()
	s.e.eventually(fmt.Sprintf("%d messages sent", n), func() bool {
		select {
		case <-s.done:
			s.e.t.Fatalf("the producer stopped after %d messages", s.count())
		default:
		}
		return s.count() >= n
	})
}

// waitAcked waits until n messages from message since on have been
// acknowledged.
func (s *steady) waitAcked(since, n int) {
	s.e.t.Helper()
	s.e.eventually(fmt.Sprintf("%d messages from %d on acknowledged", n, since), func() bool {
		select {
		case <-s.done:
			s.e.t.Fatalf("the producer stopped after %d messages", s.count())
		default:
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		j, _ := slices.BinarySearch(s.acked, since)
		return len(s.acked)-j >= n
	})
}

func (s *steady) end() {
	select {
	case <-s.stop:
	default:
		close(s.stop)
	}
	<-s.done
}

// finish stops the producer and waits for every receipt: errs[i] is
// message i's failure, nil if it was acknowledged.
func (s *steady) finish() (errs []error, failed int) {
	s.e.t.Helper()
	s.end()
	errs = make([]error, len(s.sent))
	for i, pe := range s.sent {
		if _, errs[i] = pe.Wait(s.e.ctx); errs[i] != nil {
			failed++
			if failed <= 3 {
				s.e.t.Logf("receipt %d failed: %v", i, errs[i])
			}
		}
	}
	return errs, failed
}

// readNumbers reads k until every message of want has come (or 30s have
// passed), and returns the numbers received, in order, and the errors Next
// returned meanwhile.
func (e *env) readNumbers(k *Consumer, want map[int]bool) (got []int, errs []error) {
	e.t.Helper()
	missing := len(want)
	seen := make(map[int]bool)
	ctx, cancel := context.WithTimeout(e.ctx, 30*time.Second)
	defer cancel()
	for missing > 0 {
		m, err := k.Next(ctx)
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			errs = append(errs, err)
			continue
		}
		i, err := strconv.Atoi(string(m.Payload))
		if err != nil {
			continue
		}
		got = append(got, i)
		if want[i] && !seen[i] {
			missing--
		}
		seen[i] = true
	}
	return got, errs
}

// checkNumbers checks that got (what a consumer received, or a stream
// holds) is in increasing order, without duplicates, and holds every
// message of want; it returns how many of got are not in want.
func checkNumbers(t *testing.T, what string, got []int, want map[int]bool) (extra int) {
	t.Helper()
	seen := make(map[int]bool, len(got))
	dups, disorder := 0, 0
	for j, i := range got {
		if seen[i] {
			dups++
			if dups <= 3 {
				t.Errorf("%s: message %d twice", what, i)
			}
		} else if j > 0 && i < got[j-1] {
			disorder++
			if disorder <= 3 {
				t.Errorf("%s: message %d after %d", what, i, got[j-1])
			}
		}
		seen[i] = true
		if !want[i] {
			extra++
		}
	}
	missing := 0
	for i := range want {
		if !seen[i] {
			missing++
		}
	}
	if dups+disorder+missing > 0 {
		t.Errorf("%s: %d messages, %d duplicates, %d out of order, %d of %d wanted missing", what, len(got), dups, disorder, missing, len(want))
	}
	return extra
}

// nodeClient returns a client of the one node at addr.
func (e *env) nodeClient(addr string) *goredis.Client {
	c := goredis.NewClient(&goredis.Options{Addr: addr, MaxRetries: -1})
	e.t.Cleanup(func() { c.Close() })
	return c
}

// nodeAt returns the line of CLUSTER NODES of the node at addr and of its
// replica (in a cluster of one replica per master).
func (e *env) nodeAt(addr string) (node, replica clusterNode) {
	e.t.Helper()
	nodes := e.clusterNodes()
	for _, n := range nodes {
		if n.addr == addr {
			node = n
		}
	}
	for _, n := range nodes {
		if !n.isMaster && node.id != "" && n.master == node.id {
			replica = n
		}
	}
	if node.id == "" || replica.id == "" {
		e.t.Fatalf("no replica of %s in\n%v", addr, nodes)
	}
	return node, replica
}

// restartArgs returns the command that starts the node of c again as it
// runs now (its data lost: the tests' nodes do not persist), with the
// process id to kill, or skips if the node is not a process of this machine.
func (e *env) restartArgs(c *goredis.Client) (pid int, exe string, args []string) {
	e.t.Helper()
	info, err := c.Info(e.ctx, "server").Result()
	if err != nil {
		e.t.Fatalf("INFO server: %v", err)
	}
	for line := range strings.Lines(info) {
		k, v, _ := strings.Cut(strings.TrimSpace(line), ":")
		switch k {
		case "process_id":
			pid, _ = strconv.Atoi(v)
		case "executable":
			exe = v
		}
	}
	if comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid)); err != nil || !strings.HasPrefix(string(comm), "redis-server") {
		e.t.Skipf("the node (pid %d) is not a redis-server process of this machine", pid)
	}
	if err := syscall.Kill(pid, 0); err != nil {
		e.t.Skipf("cannot signal the node (pid %d): %v", pid, err)
	}
	if _, err := os.Stat(exe); err != nil {
		if exe, err = exec.LookPath("redis-server"); err != nil {
			e.t.Skipf("no redis-server to restart the node with: %v", err)
		}
	}
	for _, name := range []string{"bind", "port", "protected-mode", "pidfile", "logfile", "dir", "save", "appendonly",
		"cluster-enabled", "cluster-config-file", "cluster-node-timeout", "repl-diskless-sync-delay"} {
		v, err := c.ConfigGet(e.ctx, name).Result()
		if err != nil {
			e.t.Fatalf("CONFIG GET %s: %v", name, err)
		}
		if _, ok := v[name]; ok {
			args = append(args, "--"+name, v[name])
		}
	}
	return pid, exe, append(args, "--daemonize", "yes")
}

// TestClusterMasterCrash: the master of a stream's key is killed (SIGKILL)
// while a producer sends to the key and a RealTime consumer reads it; its
// replica takes over when the cluster notices (cluster-node-timeout, 2s in
// scripts/redis-cluster.sh; set to 2s on every node for the test if it is
// longer), and the killed node is started again, rejoining as the new
// master's replica.
//
// Redis replicates asynchronously and the adapter does not wait for
// replicas (no WAIT after XADD; see "Failover" in the package
// documentation): the XADDs the master acknowledged in the moment before
// it died, before its replica received them, are lost with it. The test
// measures that loss instead of asserting none: the messages acknowledged
// and lost are one run of the messages sent before the replica took over
// (the replica has a prefix of its master's writes), and nothing sent after
// is lost. Every acknowledged message that survived is in the stream once,
// in order, and reaches the RealTime consumer that read through the crash
// (which may also have received some of the lost ones before the crash) and
// a new one reading from the start, each once and in order.
//
// TestClusterMasterCrashReplicas runs it with replicas=1 (WithReplicas),
// where no acknowledged message may be lost.
func TestClusterMasterCrash(t *testing.T) { clusterMasterCrash(t, 0) }

// TestClusterMasterCrashReplicas: TestClusterMasterCrash with a producer
// that waits for one replica (WAIT 1 after each pipeline): no acknowledged
// message is lost. Between the promotion and the killed node's return as
// its replica the new master has none, so receipts fail meanwhile
// (ErrNotReplicated); the node is restarted as soon as the replica took
// over.
func TestClusterMasterCrashReplicas(t *testing.T) { clusterMasterCrash(t, 1) }

func clusterMasterCrash(t *testing.T, replicas int) {
	e := newClusterServer(t).env(t, "")
	// Healthy, not only ok: a node an earlier test restarted may still be
	// syncing from its master, and the victim needs a replica to promote.
	e.waitClusterHealthy()
	e.fastNodeTimeout()
	stream := e.key("s")
	key := shardKey(stream, 0, false)
	var opts []any
	if replicas > 0 {
		opts = []any{WithReplicas(replicas, 500*time.Millisecond)}
	}
	p := e.producer(driver.ProducerOptions{Extra: opts})
	h := driver.Header{StreamKey: stream}
	e.send(p, h, "first")
	rt := e.consumer([]driver.StreamKey{stream}, driver.ConsumerOptions{AutoStreamReset: driver.ResetEarliest})

	from := e.masterOf(key)
	victim, replica := e.nodeAt(from)
	vc := e.nodeClient(from)
	pid, exe, args := e.restartArgs(vc)

	const before, minAfter = 2000, 2000
	s := e.startSteady(p, h)
	s.waitCount(before)
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatalf("kill %d: %v", pid, err)
	}
	killedAt, start := s.count(), time.Now()
	restarted := false
	restart := func() {
		if restarted {
			return
		}
		restarted = true
		out, err := exec.Command(exe, args...).CombinedOutput()
		if err != nil {
			t.Errorf("restart %s: %v\n%s", from, err, out)
		}
	}
	t.Cleanup(restart) // even if the test fails: the tests after it need the node

	rc := e.nodeClient(replica.addr)
	e.eventually(replica.addr+" promoted", func() bool {
		role, _ := rc.Do(e.ctx, "role").Slice()
		return len(role) > 0 && fmt.Sprint(role[0]) == "master" && e.masterOf(key) == replica.addr
	})
	promotedAt := s.count()
	t.Logf("killed %s (pid %d, master of %s) after message %d; %s took over %v later, at message %d",
		from, pid, key, killedAt, replica.addr, time.Since(start).Round(time.Millisecond), promotedAt)
	if replicas > 0 {
		restart() // the new master needs its replica to acknowledge anything
	}
	s.waitAcked(promotedAt, minAfter)
	errs, failed := s.finish()

	// The killed node comes back as the replica of its successor.
	restart()
	e.eventually(from+" back as a replica", func() bool {
		role, _ := vc.Do(e.ctx, "role").Slice()
		return len(role) > 0 && fmt.Sprint(role[0]) == "slave"
	})
	e.waitClusterHealthy()
	if n, _ := e.nodeAt(replica.addr); !n.isMaster || n.id == victim.id {
		t.Errorf("%s is not the master after the restart", replica.addr)
	}

	acked := make(map[int]bool)
	for i, err := range errs {
		if err == nil {
			acked[i] = true
		}
	}
	t.Logf("replicas=%d: %d messages sent, %d acknowledged, %d failed", replicas, len(errs), len(acked), failed)
	if len(acked) < len(errs)/2 {
		t.Fatalf("only %d of %d receipts resolved", len(acked), len(errs))
	}

	stored := e.stored(key)
	in := make(map[int]bool, len(stored))
	for _, i := range stored {
		in[i] = true
	}
	// The acknowledged messages lost: one run, sent before the promotion.
	var lost []int
	runs := 0
	for i := range errs {
		if !acked[i] {
			continue
		}
		if !in[i] {
			if len(lost) == 0 || !lostBefore(lost[len(lost)-1], i, acked, in) {
				runs++
			}
			lost = append(lost, i)
			if i >= promotedAt {
				t.Errorf("message %d, sent after the promotion, acknowledged and lost", i)
			}
		}
	}
	if runs > 1 {
		t.Errorf("the acknowledged messages lost are %d separate runs, not one: %v", runs, lost)
	}
	if len(lost) > 0 && replicas > 0 {
		t.Errorf("replicas=%d: %d acknowledged messages lost (%d..%d)", replicas, len(lost), lost[0], lost[len(lost)-1])
	} else if len(lost) > 0 {
		t.Logf("LOST: %d acknowledged messages (%d..%d), acknowledged by %s before it was killed but not replicated",
			len(lost), lost[0], lost[len(lost)-1], from)
	} else {
		t.Logf("no acknowledged message lost")
	}
	survived := make(map[int]bool, len(acked))
	for i := range acked {
		if in[i] {
			survived[i] = true
		}
	}
	checkNumbers(t, "the stream", stored, survived)

	got, rerrs := e.readNumbers(rt, survived)
	extra := checkNumbers(t, "the RealTime consumer through the crash", got, survived)
	t.Logf("the RealTime consumer through the crash: %d messages (%d not acknowledged or lost), %d errors from Next", len(got), extra, len(rerrs))
	for j, err := range rerrs[:min(len(rerrs), 3)] {
		t.Logf("Next error %d: %v", j, err)
	}
	after := e.consumer([]driver.StreamKey{stream}, driver.ConsumerOptions{AutoStreamReset: driver.ResetEarliest})
	got, aerrs := e.readNumbers(after, survived)
	if len(aerrs) > 0 {
		t.Errorf("a consumer started after the crash: %d errors from Next, the first: %v", len(aerrs), aerrs[0])
	}
	if extra := checkNumbers(t, "a consumer started after the crash", got, survived); extra != len(stored)-len(survived) {
		t.Errorf("a consumer started after the crash got %d messages without receipts, the stream holds %d", extra, len(stored)-len(survived))
	}
}

// lostBefore reports whether every acknowledged message between a and b (a
// < b) is lost too, that is, whether b continues a's run of lost messages.
func lostBefore(a, b int, acked, in map[int]bool) bool {
	for i := a + 1; i < b; i++ {
		if acked[i] && in[i] {
			return false
		}
	}
	return true
}

// fastNodeTimeout sets cluster-node-timeout to 2s on every node if it is
// longer (so that a failed master's replica takes over within seconds), and
// restores it after the test.
func (e *env) fastNodeTimeout() {
	e.t.Helper()
	const fast = 2000
	var mu sync.Mutex
	old := make(map[string]string)
	err := e.clusterClient().ForEachShard(e.ctx, func(ctx context.Context, c *goredis.Client) error {
		v, err := c.ConfigGet(ctx, "cluster-node-timeout").Result()
		if err != nil {
			return err
		}
		if ms, _ := strconv.Atoi(v["cluster-node-timeout"]); ms > fast {
			if err := c.ConfigSet(ctx, "cluster-node-timeout", strconv.Itoa(fast)).Err(); err != nil {
				return err
			}
			mu.Lock()
			old[c.Options().Addr] = v["cluster-node-timeout"]
			mu.Unlock()
		}
		return nil
	})
	if err != nil {
		e.t.Fatalf("cluster-node-timeout: %v", err)
	}
	e.t.Cleanup(func() {
		for addr, v := range old {
			c := goredis.NewClient(&goredis.Options{Addr: addr})
			_ = c.ConfigSet(context.Background(), "cluster-node-timeout", v).Err()
			c.Close()
		}
	})
}

// infoCount returns the first number of the line name of INFO section on c
// ("errorstat_ASK:count=3", "cmdstat_asking:calls=3,..."), 0 if there is none.
func (e *env) infoCount(c *goredis.Client, section, name string) int {
	e.t.Helper()
	info, err := c.Info(e.ctx, section).Result()
	if err != nil {
		e.t.Fatalf("INFO %s: %v", section, err)
	}
	for line := range strings.Lines(info) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), name+":"); ok {
			_, v, _ = strings.Cut(v, "=")
			v, _, _ = strings.Cut(v, ",")
			n, _ := strconv.Atoi(v)
			return n
		}
	}
	return 0
}

// TestClusterSlotMigration: while a producer sends to a stream's key and
// RealTime and Resumable consumers read it, the key's slot moves to another
// master as redis-cli --cluster reshard moves one: CLUSTER SETSLOT
// IMPORTING on the target and MIGRATING on the source, MIGRATE of the
// slot's keys, then SETSLOT NODE on every master. The XADDs and reads sent
// while the slot migrates are answered ASK (the key has left the source)
// and once it has moved MOVED; the cluster client follows both, and
// neither means the command ran, so the producer's rule (an XADD is never
// sent again after a connection failure) loses nothing here. TRYAGAIN does
// not arise: every command names one key.
//
// Asserted: every receipt resolves (no error reaches the producer's
// caller), no consumer's Next fails, and every message is in the stream
// and reaches both consumers once, in order.
func TestClusterSlotMigration(t *testing.T) { clusterSlotMigration(t, 0) }

// TestClusterSlotMigrationReplicas: TestClusterSlotMigration with a
// producer that waits for one replica (WAIT after each node's part of a
// pipeline, and after each part redirected by ASK or MOVED): the same
// assertions, so no receipt fails.
func TestClusterSlotMigrationReplicas(t *testing.T) { clusterSlotMigration(t, 1) }

func clusterSlotMigration(t *testing.T, replicas int) {
	e := newClusterServer(t).env(t, "")
	if replicas > 0 {
		e.waitClusterHealthy() // every replica in sync, or WAIT times out
	} else {
		e.waitClusterOK()
	}
	stream := e.key("s")
	key := shardKey(stream, 0, false)
	var opts []any
	if replicas > 0 {
		opts = []any{WithReplicas(replicas, 2*time.Second)}
	}
	p := e.producer(driver.ProducerOptions{Extra: opts})
	h := driver.Header{StreamKey: stream}
	e.send(p, h, "first")
	rt := e.consumer([]driver.StreamKey{stream}, driver.ConsumerOptions{AutoStreamReset: driver.ResetEarliest})
	rs := e.consumer([]driver.StreamKey{stream}, driver.ConsumerOptions{Mode: driver.Resumable, Group: string(e.key("r")), AutoStreamReset: driver.ResetEarliest})

	slot, err := e.client.ClusterKeySlot(e.ctx, key).Result()
	if err != nil {
		t.Fatalf("CLUSTER KEYSLOT: %v", err)
	}
	from := e.masterOf(key)
	var src, dst clusterNode
	var masters []clusterNode
	for _, n := range e.clusterNodes() {
		if n.isMaster {
			masters = append(masters, n)
			if n.addr == from {
				src = n
			} else if dst.id == "" {
				dst = n
			}
		}
	}
	if src.id == "" || dst.id == "" {
		t.Fatalf("no master to move slot %d of %s to", slot, from)
	}
	sc, dc := e.nodeClient(src.addr), e.nodeClient(dst.addr)
	do := func(c *goredis.Client, args ...any) {
		t.Helper()
		if err := c.Do(e.ctx, args...).Err(); err != nil {
			t.Fatalf("%s: %v: %v", c.Options().Addr, args, err)
		}
	}

	redirects := func() (ask, asking, moved int) {
		return e.infoCount(sc, "errorstats", "errorstat_ASK"), e.infoCount(dc, "commandstats", "cmdstat_asking"),
			e.infoCount(sc, "errorstats", "errorstat_MOVED")
	}
	ask0, asking0, moved0 := redirects()
	waits0 := e.infoCount(dc, "commandstats", "cmdstat_wait")

	const before, during, minAfter = 2000, 1000, 2000
	s := e.startSteady(p, h)
	s.waitCount(before)
	do(dc, "cluster", "setslot", slot, "importing", src.id)
	do(sc, "cluster", "setslot", slot, "migrating", dst.id)
	migratingAt := s.count()
	dhost, dport, _ := strings.Cut(dst.addr, ":")
	moved := 0
	for {
		keys, err := sc.ClusterGetKeysInSlot(e.ctx, int(slot), 100).Result()
		if err != nil {
			t.Fatalf("CLUSTER GETKEYSINSLOT: %v", err)
		}
		if len(keys) == 0 {
			break
		}
		args := []any{"migrate", dhost, dport, "", 0, 5000, "keys"}
		for _, k := range keys {
			args = append(args, k)
		}
		do(sc, args...)
		moved += len(keys)
	}
	// The key is on the target, its slot still the source's: sends and
	// reads go by ASK for a while.
	migratedAt := s.count()
	s.waitCount(migratedAt + during)
	do(dc, "cluster", "setslot", slot, "node", dst.id)
	do(sc, "cluster", "setslot", slot, "node", dst.id)
	for _, n := range masters {
		if n.id != src.id && n.id != dst.id {
			do(e.nodeClient(n.addr), "cluster", "setslot", slot, "node", dst.id)
		}
	}
	movedAt := s.count()
	e.eventually("the cluster routes "+key+" to "+dst.addr, func() bool { return e.masterOf(key) == dst.addr })
	t.Logf("slot %d (%s, %d keys) moved from %s to %s: MIGRATING at message %d, keys migrated at %d, SETSLOT NODE at %d",
		slot, key, moved, src.addr, dst.addr, migratingAt, migratedAt, movedAt)
	s.waitCount(movedAt + minAfter)
	errs, failed := s.finish()
	e.waitClusterHealthy()
	ask, asking, movedN := redirects()
	t.Logf("redirections: %d ASK from %s, %d ASKING on %s, %d MOVED from %s",
		ask-ask0, src.addr, asking-asking0, dst.addr, movedN-moved0, src.addr)
	if ask == ask0 || asking == asking0 || movedN == moved0 {
		t.Errorf("the slot moved without the clients being redirected by ASK and MOVED")
	}
	if waits := e.infoCount(dc, "commandstats", "cmdstat_wait") - waits0; replicas > 0 && waits == 0 {
		t.Errorf("replicas=%d: no WAIT reached %s, where the redirected XADDs went", replicas, dst.addr)
	} else if replicas > 0 {
		t.Logf("%d WAITs on %s", waits, dst.addr)
	}

	all := make(map[int]bool, len(errs))
	for i := range errs {
		all[i] = true
	}
	t.Logf("%d messages sent, %d receipts failed", len(errs), failed)
	if failed > 0 {
		t.Errorf("%d receipts failed while the slot moved", failed)
	}
	checkNumbers(t, "the stream", e.stored(key), all)
	for name, k := range map[string]*Consumer{"RealTime": rt, "Resumable": rs} {
		got, nerrs := e.readNumbers(k, all)
		checkNumbers(t, name, got, all)
		t.Logf("%s: %d messages, %d errors from Next", name, len(got), len(nerrs))
		for _, err := range nerrs[:min(len(nerrs), 3)] {
			t.Errorf("%s: Next: %v", name, err)
		}
		if k.Group() != "" {
			if err := k.Commit(e.ctx); err != nil {
				t.Errorf("%s: Commit: %v", name, err)
			}
			if pend, err := e.client.XPending(e.ctx, key, k.Group()).Result(); err != nil || pend.Count != 0 {
				t.Errorf("%s: %+v pending after Commit (%v)", name, pend, err)
			}
		}
		if err := k.Close(e.ctx); err != nil && !errors.Is(err, driver.ErrClosed) {
			t.Errorf("%s: Close: %v", name, err)
		}
	}
}
