package reliability

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seastream/ss/streamer"
	"github.com/seastream/ss/streamer/filedriver"
)

// TestLoadStreamer runs the file backend through the streamer API: four
// producers (one shared writer) send to two streams while a LoadBalanced
// group of three consumers (round-robin, in this process: with two pairs a
// shared group would keep one member standing by; TestGroupsAcrossProcesses
// covers those) and one RealTime consumer read. The group gets
// every message exactly once between its members, each member in order per
// (stream, shard); the RealTime consumer gets them all, in order. Messages
// are checked as they arrive, a few bits each, so that a long run measures
// the backend's memory rather than the test's.
func TestLoadStreamer(t *testing.T) {
	d := loadDuration(t)
	const producers, members = 4, 3
	before := runtime.NumGoroutine()
	stopRSS := sampleRSS()
	mux := new(streamer.Mux)
	if err := mux.Register(filedriver.Scheme, filedriver.Driver{}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), d+2*time.Minute)
	defer cancel()
	path := filepath.Join(t.TempDir(), "app.ss")
	s, err := mux.Open(ctx, "file://"+path+"/orders,payments?create=if-missing&group_mode=round-robin")
	if err != nil {
		t.Fatal(err)
	}

	// Consumers: members 0..2 of group g, then the RealTime one.
	var consumers []*streamer.Consumer
	for range members {
		c, err := s.NewConsumer(ctx, loadKeys, streamer.WithMode(streamer.LoadBalanced), streamer.WithGroup("g"), streamer.WithAutoStreamReset(streamer.ResetEarliest))
		if err != nil {
			t.Fatal(err)
		}
		consumers = append(consumers, c)
	}
	solo, err := s.NewConsumer(ctx, loadKeys, streamer.WithAutoStreamReset(streamer.ResetEarliest))
	if err != nil {
		t.Fatal(err)
	}
	consumers = append(consumers, solo)
	group, realtime := newChecker(producers), newChecker(producers)
	orders := make([]*order, len(consumers))
	var groupN, soloN atomic.Int64
	poke := make(chan struct{}, 1)
	cctx, stopConsumers := context.WithCancel(ctx)
	var cwg sync.WaitGroup
	for i, c := range consumers {
		orders[i] = newOrder()
		cwg.Add(1)
		go func() {
			defer cwg.Done()
			who, chk, n, contiguous := fmt.Sprintf("member %d", i), group, &groupN, false
			if i == members {
				who, chk, n, contiguous = "RealTime consumer", realtime, &soloN, true
			}
			for {
				m, err := c.Next(cctx)
				if err != nil {
					if cctx.Err() == nil {
						t.Errorf("%s: %v", who, err)
					}
					return
				}
				chk.check(who, orders[i], m, contiguous)
				n.Add(1)
				select {
				case poke <- struct{}{}:
				default:
				}
			}
		}()
	}

	// Producers.
	sent := make([]int, producers)
	pctx, stopProducers := context.WithTimeout(ctx, d)
	var pwg sync.WaitGroup
	for i := range producers {
		p, err := s.NewProducer(ctx, loadKeys[i%2])
		if err != nil {
			t.Fatal(err)
		}
		pwg.Add(1)
		go func() {
			defer pwg.Done()
			for n := 0; pctx.Err() == nil; n++ {
				if _, err := p.Send(pctx, []byte(fmt.Sprintf("p%d-%d", i, n))); err != nil {
					if pctx.Err() == nil {
						t.Errorf("producer %d: %v", i, err)
					}
					break
				}
				sent[i]++
			}
			if err := p.Flush(ctx); err != nil {
				t.Errorf("producer %d flush: %v", i, err)
			}
		}()
	}
	pwg.Wait()
	stopProducers()
	total := int64(0)
	perStream := make([]uint64, len(loadKeys))
	for i, n := range sent {
		total += int64(n)
		perStream[i%2] += uint64(n)
	}
	// Wait until the consumers have it all, or ctx ends.
	for groupN.Load() < total || soloN.Load() < total {
		select {
		case <-poke:
		case <-ctx.Done():
			t.Fatalf("timed out: the group received %d, the RealTime consumer %d, of %d sent", groupN.Load(), soloN.Load(), total)
		}
	}
	stopConsumers()
	cwg.Wait()
	for _, c := range consumers {
		if err := c.Close(ctx); err != nil {
			t.Error(err)
		}
	}
	if err := s.Close(ctx); err != nil {
		t.Error(err)
	}
	peak := stopRSS()

	perMember := make([]int, members)
	for i := range members {
		perMember[i] = orders[i].received
		if perMember[i] == 0 {
			t.Errorf("member %d received nothing", i)
		}
	}
	if n := groupN.Load(); n != total {
		t.Errorf("the group received %d messages, %d were sent", n, total)
	}
	if n := soloN.Load(); n != total {
		t.Errorf("the RealTime consumer received %d messages, %d were sent", n, total)
	}
	group.complete(t, "group", sent, perStream)
	realtime.complete(t, "RealTime consumer", sent, perStream)

	waitGoroutines(t, before)
	checkRSS(t, "the process", peak)
	t.Logf("%d messages; group members got %v; peak RSS %v", total, perMember, peak)
	addLoadRow(t, "streamer", []string{
		fmt.Sprintf("streamer.Open(\"file://…\"): %d producers (one shared writer) on 2 streams; a LoadBalanced group (round-robin) of %d consumers and one RealTime consumer", producers, members),
		fmt.Sprintf("%d messages (%.0f/s); the group's members got %v", total, float64(total)/d.Seconds(), perMember),
		fmt.Sprintf("%s: the group got each message once between its members, each member in order per (stream, shard), the RealTime consumer every message in order; peak RSS %v; goroutines back to %d", verdict(t), peak, before),
	})
}

// loadKeys are the streams of the streamer load test.
var loadKeys = []streamer.StreamKey{"orders", "payments"}

// bitset is a growing set of small integers, safe for concurrent use.
type bitset struct {
	mu   sync.Mutex
	bits []uint64
}

// add adds i and reports whether it was there already.
func (b *bitset) add(i uint64) (dup bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	w := int(i / 64)
	if w >= len(b.bits) {
		b.bits = append(b.bits, make([]uint64, w+1-len(b.bits)+len(b.bits)/2)...)
	}
	dup = b.bits[w]&(1<<(i%64)) != 0
	b.bits[w] |= 1 << (i % 64)
	return dup
}

// firstMissing returns the smallest i in [from, to) not in the set, or to.
func (b *bitset) firstMissing(from, to uint64) uint64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	for i := from; i < to; i++ {
		if w := int(i / 64); w >= len(b.bits) || b.bits[w]&(1<<(i%64)) == 0 {
			return i
		}
	}
	return to
}

// checker checks messages as they arrive, holding a few bits per message:
// seqs per stream and payloads per producer must each arrive once, and in
// order for one consumer.
type checker struct {
	seqs     []bitset // per stream: the sequence numbers received
	payloads []bitset // per producer: the n of the payloads "p<producer>-<n>" received
	mu       sync.Mutex
	errs     []string
}

func newChecker(producers int) *checker {
	return &checker{seqs: make([]bitset, len(loadKeys)), payloads: make([]bitset, producers)}
}

func (c *checker) fail(format string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.errs) < 10 {
		c.errs = append(c.errs, fmt.Sprintf(format, args...))
	}
}

// order is what one consumer has seen, to check its own order.
type order struct {
	lastSeq  map[streamer.StreamKey]uint64
	lastN    map[int]int
	received int
}

func newOrder() *order {
	return &order{lastSeq: make(map[streamer.StreamKey]uint64), lastN: make(map[int]int)}
}

// check records m, received by the consumer whose order is o. With
// contiguous, each stream must go 1, 2, 3, … for this consumer.
func (c *checker) check(who string, o *order, m streamer.Message, contiguous bool) {
	si := slices.Index(loadKeys, m.StreamKey)
	pi, n, ok := parsePayload(string(m.Payload))
	if si < 0 || m.Shard != 0 || !ok || pi >= len(c.payloads) {
		c.fail("%s: unexpected message %v %q", who, m.Header, m.Payload)
		return
	}
	seq := uint64(m.Seq)
	if last := o.lastSeq[m.StreamKey]; seq <= last || contiguous && seq != last+1 {
		c.fail("%s: %s seq %d after %d", who, m.StreamKey, seq, last)
	}
	o.lastSeq[m.StreamKey] = seq
	if last, seen := o.lastN[pi]; seen && n <= last || contiguous && n != last+1 && (seen || n != 0) {
		c.fail("%s: producer %d's message %d after %d", who, pi, n, last)
	}
	o.lastN[pi] = n
	if c.seqs[si].add(seq) {
		c.fail("%s: %s seq %d delivered twice", who, m.StreamKey, seq)
	}
	if c.payloads[pi].add(uint64(n)) {
		c.fail("%s: producer %d's message %d delivered twice", who, pi, n)
	}
	o.received++
}

// complete checks that every message sent arrived.
func (c *checker) complete(t *testing.T, who string, sent []int, perStream []uint64) {
	t.Helper()
	for _, e := range c.errs {
		t.Errorf("%s", e)
	}
	for i, n := range sent {
		if m := c.payloads[i].firstMissing(0, uint64(n)); m != uint64(n) {
			t.Errorf("%s: producer %d's message %d of %d never arrived", who, i, m, n)
		}
	}
	for si, n := range perStream {
		if m := c.seqs[si].firstMissing(1, n+1); m != n+1 {
			t.Errorf("%s: %s seq %d of %d never arrived", who, loadKeys[si], m, n)
		}
	}
}

func parsePayload(p string) (producer, n int, ok bool) {
	a, b, ok := strings.Cut(strings.TrimPrefix(p, "p"), "-")
	if !ok {
		return 0, 0, false
	}
	x, err1 := strconv.Atoi(a)
	y, err2 := strconv.Atoi(b)
	return x, y, err1 == nil && err2 == nil
}
