package kafka_test

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
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/seastream/ss/streamer"
)

// scriptEnv names the variable holding the absolute path of
// scripts/kafka.sh, whose restart command stops the broker and starts it
// again keeping its data (.ci/run exports it).
const scriptEnv = "SS_KAFKA_SCRIPT"

// Sizes of the restart test: messages acknowledged before the restart and
// after it, and messages each consumer reads before it.
const (
	restartAckedBefore = 300
	restartAckedAfter  = 300
	restartReadBefore  = 100
	restartCommitEvery = 40
)

// TestBrokerRestart restarts the broker while a producer sends to a
// two-partition topic and consumers of each kind read it, then checks:
//
//   - no Next fails: consumers wait for the broker and go on;
//   - the producer: every message whose receipt succeeded is stored exactly
//     once, and receipts of one partition come in the order sent (a message
//     whose receipt failed is sent again, and that copy must be stored);
//   - a Resumable consumer reading through the restart (committing as it
//     goes) receives every stored message once, in order per partition;
//   - a Resumable consumer that committed and closed before the restart is
//     followed, after it, by one of the same group that starts exactly after
//     the committed messages and then receives the rest once each;
//   - a LoadBalanced consumer reading through the restart receives every
//     message; the group may hand out again messages that were not committed
//     when it lost its partitions (at least once), never committed ones.
func TestBrokerRestart(t *testing.T) {
	brokers, script := os.Getenv(brokersEnv), os.Getenv(scriptEnv)
	if brokers == "" || script == "" {
		t.Skipf("set %s and %s (the absolute path of scripts/kafka.sh, as .ci/run exports them) to restart the broker mid-stream", brokersEnv, scriptEnv)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	var bg sync.WaitGroup // the producer and readers, stopped by cancel
	defer func() {
		cancel()
		bg.Wait()
	}()
	s := open(t, "kafka://"+brokers+"?partitions=2")
	var admin *kgo.Client
	if !s.As(&admin) {
		t.Fatal("As(*kgo.Client) failed on the Streamer")
	}
	k := topic(t, "restart")
	p, err := s.NewProducer(ctx, k)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Route(ctx, k, []byte("x")); err != nil { // creates the topic
		t.Fatal(err)
	}

	prod := &restartProducer{p: p, k: k, acked: map[string]streamer.Header{}}
	stopProducing := make(chan struct{})
	prodDone := make(chan error, 1)
	bg.Add(1)
	go func() {
		defer bg.Done()
		prodDone <- prod.run(ctx, t, stopProducing)
	}()

	newConsumer := func(mode streamer.ConsumerMode, group string) *streamer.Consumer {
		c, err := s.NewConsumer(ctx, []streamer.StreamKey{k}, streamer.WithMode(mode),
			streamer.WithGroup(group), streamer.WithAutoStreamReset(streamer.ResetEarliest))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	gResume, gThrough, gBalanced := string(topic(t, "g-resume")), string(topic(t, "g-through")), string(topic(t, "g-balanced"))
	through := &restartReader{name: "Resumable", c: newConsumer(streamer.Resumable, gThrough)}
	balanced := &restartReader{name: "LoadBalanced", c: newConsumer(streamer.LoadBalanced, gBalanced),
		group: gBalanced, topic: string(k), admin: admin}
	readersDone := make(chan struct{})
	var readers sync.WaitGroup
	for _, r := range []*restartReader{through, balanced} {
		readers.Add(1)
		bg.Add(1)
		go func() {
			defer bg.Done()
			defer readers.Done()
			r.run(ctx, t)
		}()
	}
	bg.Add(1)
	go func() {
		defer bg.Done()
		readers.Wait()
		close(readersDone)
	}()

	// Before the restart: a Resumable consumer reads some, commits, closes.
	first := newConsumer(streamer.Resumable, gResume)
	committed := map[streamer.ShardID]streamer.SeqNo{0: 0, 1: 0} // offset after the last message read
	for range restartReadBefore {
		m, err := first.Next(ctx)
		if err != nil {
			t.Fatalf("Next before the restart: %v", err)
		}
		committed[m.Shard] = m.Seq + 1
	}
	if err := first.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := first.Close(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(ctx, t, "messages acknowledged before the restart", func() bool { return prod.ackedCount() >= restartAckedBefore })
	waitFor(ctx, t, "readers going before the restart", func() bool {
		return through.count() >= restartReadBefore && balanced.count() >= restartReadBefore
	})

	ackedAtRestart := prod.ackedCount()
	t0 := time.Now()
	out, err := exec.CommandContext(ctx, "bash", script, "restart").CombinedOutput()
	t.Logf("%s restart (%v, %d messages acknowledged before):\n%s", script, time.Since(t0).Round(time.Millisecond), ackedAtRestart, out)
	if err != nil {
		t.Fatalf("restart: %v", err)
	}
	waitFor(ctx, t, "messages acknowledged after the restart", func() bool {
		return prod.ackedCount() >= ackedAtRestart+restartAckedAfter
	})
	close(stopProducing)
	if err := <-prodDone; err != nil {
		t.Fatalf("producer: %v", err)
	}
	// A last message per partition tells the readers where the stream ends.
	for sh := range streamer.ShardID(2) {
		prod.sendUntilStored(ctx, t, "end/"+strconv.Itoa(int(sh)), sh)
	}
	select {
	case <-readersDone:
	case <-ctx.Done():
		t.Fatalf("readers did not reach the end: Resumable has %d messages, LoadBalanced %d", through.count(), balanced.count())
	}

	// The producer's promises.
	stored := prod.check(t)

	// The Resumable consumer that read through the restart: all, once, in order.
	through.checkOnce(t, stored, prod.failed, nil)
	// The LoadBalanced one: all, duplicates only of what was not committed.
	balanced.checkAtLeastOnce(t, stored)

	// A Resumable consumer of the group that committed before the restart
	// starts where it was.
	again := &restartReader{name: "Resumable after the restart", c: newConsumer(streamer.Resumable, gResume)}
	again.run(ctx, t)
	again.checkOnce(t, stored, prod.failed, committed)

	for _, r := range []*restartReader{through, balanced, again} {
		if err := r.c.Close(ctx); err != nil {
			t.Errorf("%s: Close: %v", r.name, err)
		}
		t.Logf("%s: %d messages, %d commits (%d failed while the broker was away)", r.name, r.count(), r.commits, r.commitErrs)
		if len(r.nextErrs) > 0 {
			t.Errorf("%s: Next failed during the restart instead of waiting for the broker: %v", r.name, r.nextErrs)
		}
	}
	t.Logf("producer: %d acknowledged, %d receipts failed and were sent again: %v", len(prod.acked), len(prod.failed), prod.failed)
}

// waitFor waits until cond holds, checking it whenever a short timer
// fires, within ctx.
func waitFor(ctx context.Context, t *testing.T, what string, cond func() bool) {
	t.Helper()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-tick.C:
		case <-ctx.Done():
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// restartProducer sends numbered messages to alternate partitions, a window
// at a time, and waits for their receipts; a message whose receipt failed
// is sent again (payload "id/attempt").
type restartProducer struct {
	p *streamer.Producer
	k streamer.StreamKey

	mu     sync.Mutex
	acked  map[string]streamer.Header  // payload -> receipt
	order  [2][]streamer.SeqNo         // receipts per partition, in the order sent
	failed []string                    // payloads whose receipt failed
	tried  map[string]streamer.ShardID // every payload sent
}

func (r *restartProducer) ackedCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.acked)
}

// run sends until stop is closed and nothing is left to send again.
func (r *restartProducer) run(ctx context.Context, t *testing.T, stop <-chan struct{}) error {
	type msg struct {
		id, attempt int
	}
	pace := time.NewTicker(2 * time.Millisecond) // about 5,000 messages/s at most
	defer pace.Stop()
	var again []msg
	next := 0
	for {
		stopping := false
		select {
		case <-stop:
			stopping = true
		default:
		}
		window := again
		again = nil
		for !stopping && len(window) < 10 {
			window = append(window, msg{id: next})
			next++
		}
		if len(window) == 0 {
			return nil
		}
		receipts := make([]streamer.Receipt, len(window))
		for i, m := range window {
			payload := fmt.Sprintf("%d/%d", m.id, m.attempt)
			shard := streamer.ShardID(m.id % 2)
			r.mu.Lock()
			if r.tried == nil {
				r.tried = map[string]streamer.ShardID{}
			}
			r.tried[payload] = shard
			r.mu.Unlock()
			rc, err := r.p.Send(ctx, []byte(payload), streamer.WithShard(shard))
			if err != nil {
				if ctx.Err() != nil {
					return err
				}
				t.Logf("send %s: %v (sending it again)", payload, err)
			}
			receipts[i] = rc
		}
		for i, rc := range receipts {
			m := window[i]
			payload := fmt.Sprintf("%d/%d", m.id, m.attempt)
			h, err := rc.Wait(ctx) // ErrNoReceipt if the send failed
			if ctx.Err() != nil {
				return ctx.Err()
			}
			r.mu.Lock()
			if err != nil {
				t.Logf("receipt of %s: %v (sending it again)", payload, err)
				r.failed = append(r.failed, payload)
				again = append(again, msg{m.id, m.attempt + 1})
			} else {
				r.acked[payload] = h
				r.order[h.Shard] = append(r.order[h.Shard], h.Seq)
			}
			r.mu.Unlock()
		}
		select {
		case <-pace.C:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// sendUntilStored sends payload to shard until a receipt succeeds.
func (r *restartProducer) sendUntilStored(ctx context.Context, t *testing.T, payload string, shard streamer.ShardID) {
	for ctx.Err() == nil {
		rc, err := r.p.Send(ctx, []byte(payload), streamer.WithShard(shard))
		if err == nil {
			var h streamer.Header
			if h, err = rc.Wait(ctx); err == nil {
				r.mu.Lock()
				r.acked[payload] = h
				r.order[shard] = append(r.order[shard], h.Seq)
				r.tried[payload] = shard
				r.mu.Unlock()
				return
			}
		}
		t.Logf("send %s: %v (sending it again)", payload, err)
	}
	t.Fatalf("send %s: %v", payload, ctx.Err())
}

// check verifies the receipts and returns the stored messages by ID.
func (r *restartProducer) check(t *testing.T) map[streamer.MessageID]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	for sh, seqs := range r.order {
		for i := 1; i < len(seqs); i++ {
			if seqs[i] <= seqs[i-1] {
				t.Fatalf("partition %d: receipt %d has offset %d after %d: not in the order sent", sh, i, seqs[i], seqs[i-1])
			}
		}
	}
	stored := make(map[streamer.MessageID]string, len(r.acked))
	for payload, h := range r.acked {
		if h.StreamKey != r.k || h.Shard != r.tried[payload] {
			t.Fatalf("receipt of %q: %s, want shard %d of %s", payload, h, r.tried[payload], r.k)
		}
		if other, dup := stored[h.ID()]; dup {
			t.Fatalf("receipts of %q and %q name the same message %v", payload, other, h.ID())
		}
		stored[h.ID()] = payload
	}
	return stored
}

// restartReader reads a consumer until it has seen both end markers,
// committing every restartCommitEvery messages (Resumable, LoadBalanced),
// and keeps what it received. Next errors other than ctx's and ErrClosed
// are recorded (the test fails on them) and Next is called again.
type restartReader struct {
	name string
	c    *streamer.Consumer

	// LoadBalanced: where to read the group's committed offsets from.
	group, topic string
	admin        *kgo.Client

	mu         sync.Mutex
	msgs       []streamer.Message
	commits    int
	commitErrs int
	nextErrs   []string
	// committed holds, when each message arrived, the offsets the broker
	// had stored for the group (LoadBalanced): redelivery below them is a
	// violation.
	committed   map[int32]int64
	belowCommit []string
}

func (r *restartReader) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.msgs)
}

func (r *restartReader) run(ctx context.Context, t *testing.T) {
	ends := 0
	seen := map[streamer.MessageID]bool{}
	for ends < 2 {
		m, err := r.c.Next(ctx)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, streamer.ErrClosed) {
				t.Errorf("%s: Next: %v after %d messages", r.name, err, r.count())
				return
			}
			r.mu.Lock()
			r.nextErrs = append(r.nextErrs, err.Error())
			n := len(r.nextErrs)
			r.mu.Unlock()
			if n > 1000 {
				t.Errorf("%s: Next keeps failing: %v", r.name, err)
				return
			}
			continue
		}
		m = m.Clone()
		if strings.HasPrefix(string(m.Payload), "end/") && !seen[m.ID()] {
			ends++
		}
		r.mu.Lock()
		if seen[m.ID()] && r.committed != nil && int64(m.Seq) < r.committed[int32(m.Shard)] {
			r.belowCommit = append(r.belowCommit, fmt.Sprintf("%v (committed %d)", m.ID(), r.committed[int32(m.Shard)]))
		}
		seen[m.ID()] = true
		r.msgs = append(r.msgs, m)
		n := len(r.msgs)
		r.mu.Unlock()
		if r.c.Mode() != streamer.RealTime && n%restartCommitEvery == 0 {
			r.commit(ctx)
		}
	}
}

// commit commits with a bound and, for a group, reads back what the broker
// stored.
func (r *restartReader) commit(ctx context.Context) {
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	err := r.c.Commit(cctx)
	r.mu.Lock()
	r.commits++
	if err != nil {
		r.commitErrs++
	}
	r.mu.Unlock()
	if err != nil || r.admin == nil {
		return
	}
	offsets, err := groupOffsets(cctx, r.admin, r.group, r.topic)
	if err != nil {
		return // keep the last known offsets: fewer redeliveries count as violations
	}
	r.mu.Lock()
	if r.committed == nil {
		r.committed = map[int32]int64{}
	}
	for p, o := range offsets {
		r.committed[p] = max(r.committed[p], o)
	}
	r.mu.Unlock()
}

// checkOnce checks that r received every stored message at or after from
// (the first offset of each shard; nil: all) exactly once, in offset order per partition, and
// nothing else but copies whose receipt failed (failed: such a copy may
// have been stored anyway, e.g. when the broker wrote it but its reply was
// lost).
func (r *restartReader) checkOnce(t *testing.T, stored map[streamer.MessageID]string, failed []string, from map[streamer.ShardID]streamer.SeqNo) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	last := map[streamer.ShardID]streamer.SeqNo{}
	firsts := map[streamer.ShardID]streamer.SeqNo{}
	got := map[streamer.MessageID]bool{}
	for _, m := range r.msgs {
		if l, ok := last[m.Shard]; ok && m.Seq <= l {
			t.Fatalf("%s: partition %d: offset %d after %d (duplicate or out of order)", r.name, m.Shard, m.Seq, l)
		}
		if _, ok := firsts[m.Shard]; !ok {
			firsts[m.Shard] = m.Seq
		}
		last[m.Shard] = m.Seq
		got[m.ID()] = true
		if want, ok := stored[m.ID()]; ok && want != string(m.Payload) {
			t.Fatalf("%s: %v is %q, its receipt said %q", r.name, m.ID(), m.Payload, want)
		}
		if _, ok := stored[m.ID()]; !ok && !slices.Contains(failed, string(m.Payload)) {
			t.Fatalf("%s: received %v %q, which no receipt names and no failed send explains", r.name, m.ID(), m.Payload)
		}
	}
	for sh, seq := range from {
		if firsts[sh] != seq {
			t.Fatalf("%s: partition %d starts at offset %d, want %d (after the committed messages)", r.name, sh, firsts[sh], seq)
		}
	}
	for id, payload := range stored {
		if id.Seq >= from[id.Shard] && !got[id] {
			t.Fatalf("%s: stored message %v %q not received", r.name, id, payload)
		}
	}
}

// checkAtLeastOnce checks that r received every stored message, and
// received none again below what the group had committed.
func (r *restartReader) checkAtLeastOnce(t *testing.T, stored map[streamer.MessageID]string) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	got := map[streamer.MessageID]int{}
	for _, m := range r.msgs {
		got[m.ID()]++
	}
	for id, payload := range stored {
		if got[id] == 0 {
			t.Fatalf("%s: stored message %v %q not received", r.name, id, payload)
		}
	}
	if len(r.belowCommit) > 0 {
		t.Fatalf("%s: committed messages received again: %v", r.name, r.belowCommit)
	}
}

// groupOffsets returns the offsets the broker stores for group on topic's
// partitions 0 and 1.
func groupOffsets(ctx context.Context, cl *kgo.Client, group, topic string) (map[int32]int64, error) {
	req := kmsg.NewPtrOffsetFetchRequest()
	req.Group = group
	rt := kmsg.NewOffsetFetchRequestTopic()
	rt.Topic = topic
	rt.Partitions = []int32{0, 1}
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return nil, err
	}
	out := map[int32]int64{}
	if err := kerr.ErrorForCode(resp.ErrorCode); err != nil {
		return nil, err
	}
	for _, t := range resp.Topics { // before v8
		for _, p := range t.Partitions {
			if err := kerr.ErrorForCode(p.ErrorCode); err != nil {
				return nil, err
			}
			out[p.Partition] = p.Offset
		}
	}
	for _, g := range resp.Groups {
		if err := kerr.ErrorForCode(g.ErrorCode); err != nil {
			return nil, err
		}
		for _, t := range g.Topics {
			for _, p := range t.Partitions {
				if err := kerr.ErrorForCode(p.ErrorCode); err != nil {
					return nil, err
				}
				out[p.Partition] = p.Offset
			}
		}
	}
	return out, nil
}
