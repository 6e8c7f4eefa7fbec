package reliability

import (
	"cmp"
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

// got is a message a consumer received, in little memory: its stream (0:
// orders, 1: payments), shard and seq, and the producer and number its
// payload "p<producer>-<n>" names (-1 when it is not of that form).
type got struct {
	stream   uint8
	shard    uint32
	seq      uint64
	producer int32
	n        int32
}

var loadKeys = []streamer.StreamKey{"orders", "payments"}

func newGot(m streamer.Message) got {
	g := got{shard: uint32(m.Shard), seq: uint64(m.Seq), producer: -1}
	if m.StreamKey == loadKeys[1] {
		g.stream = 1
	}
	if pi, n, ok := parsePayload(string(m.Payload)); ok {
		g.producer, g.n = int32(pi), int32(n)
	}
	return g
}

// TestLoadStreamer runs the file backend through the streamer API: four
// producers (one shared writer) send to two streams while a LoadBalanced
// group of three consumers and one RealTime consumer read. The group gets
// every message exactly once between its members, each member in order per
// (stream, shard); the RealTime consumer gets them all, in order.
func TestLoadStreamer(t *testing.T) {
	d := loadDuration(t)
	const producers, members = 4, 3
	before := runtime.NumGoroutine()
	resetPeakRSS()
	mux := new(streamer.Mux)
	if err := mux.Register(filedriver.Scheme, filedriver.Driver{}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), d+2*time.Minute)
	defer cancel()
	path := filepath.Join(t.TempDir(), "app.ss")
	s, err := mux.Open(ctx, "file://"+path+"/orders,payments?create=if-missing")
	if err != nil {
		t.Fatal(err)
	}
	keys := loadKeys

	// Consumers: members 0..2 of group g, then the RealTime one.
	var consumers []*streamer.Consumer
	for range members {
		c, err := s.NewConsumer(ctx, keys, streamer.WithMode(streamer.LoadBalanced), streamer.WithGroup("g"), streamer.WithAutoStreamReset(streamer.ResetEarliest))
		if err != nil {
			t.Fatal(err)
		}
		consumers = append(consumers, c)
	}
	solo, err := s.NewConsumer(ctx, keys, streamer.WithAutoStreamReset(streamer.ResetEarliest))
	if err != nil {
		t.Fatal(err)
	}
	consumers = append(consumers, solo)
	received := make([][]got, len(consumers))
	var groupN, soloN atomic.Int64
	poke := make(chan struct{}, 1)
	cctx, stopConsumers := context.WithCancel(ctx)
	var cwg sync.WaitGroup
	for i, c := range consumers {
		cwg.Add(1)
		go func() {
			defer cwg.Done()
			for {
				m, err := c.Next(cctx)
				if err != nil {
					if cctx.Err() == nil {
						t.Errorf("consumer %d: %v", i, err)
					}
					return
				}
				received[i] = append(received[i], newGot(m))
				if i < members {
					groupN.Add(1)
				} else {
					soloN.Add(1)
				}
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
		p, err := s.NewProducer(ctx, keys[i%2])
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
	for _, n := range sent {
		total += int64(n)
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

	// The group: every message once between the members, each in order.
	perMember := make([]int, members)
	var all []got
	for i := range members {
		perMember[i] = len(received[i])
		checkOrder(t, fmt.Sprintf("member %d", i), received[i], false)
		if len(received[i]) == 0 {
			t.Errorf("member %d received nothing", i)
		}
		all = append(all, received[i]...)
	}
	sortBySeq(all)
	for i := 1; i < len(all); i++ {
		if a, b := all[i-1], all[i]; a.stream == b.stream && a.shard == b.shard && a.seq == b.seq {
			t.Errorf("%s shard %d seq %d delivered twice in the group", loadKeys[a.stream], a.shard, a.seq)
			break
		}
	}
	if int64(len(all)) != total {
		t.Errorf("the group received %d messages, %d were sent", len(all), total)
	}
	checkProducers(t, "group", all, sent)
	// The RealTime consumer: all of them, seq 1, 2, 3, … per stream.
	checkOrder(t, "RealTime consumer", received[members], true)
	checkProducers(t, "RealTime consumer", received[members], sent)

	waitGoroutines(t, before)
	peak := peakRSS()
	checkRSS(t, "the process", peak)
	t.Logf("%d messages; group members got %v; peak RSS %s", total, perMember, mib(peak))
	addLoadRow(t, "streamer", []string{
		fmt.Sprintf("streamer.Open(\"file://…\"): %d producers (one shared writer) on 2 streams; a LoadBalanced group of %d consumers and one RealTime consumer", producers, members),
		fmt.Sprintf("%d messages (%.0f/s); the group's members got %v", total, float64(total)/d.Seconds(), perMember),
		fmt.Sprintf("%s: the group got each message once between its members, each member in order per (stream, shard), the RealTime consumer every message in order; peak RSS %s (with the test's record of every message); goroutines back to %d", verdict(t), mib(peak), before),
	})
}

// checkOrder checks that sequence numbers go up per (stream, shard), by
// exactly one when contiguous.
func checkOrder(t *testing.T, who string, msgs []got, contiguous bool) {
	t.Helper()
	type id struct {
		stream uint8
		shard  uint32
	}
	last := make(map[id]uint64)
	for _, g := range msgs {
		k := id{g.stream, g.shard}
		if g.seq <= last[k] || contiguous && g.seq != last[k]+1 {
			t.Errorf("%s: %s shard %d seq %d after %d", who, loadKeys[g.stream], g.shard, g.seq, last[k])
			return
		}
		last[k] = g.seq
	}
}

// checkProducers checks that msgs hold, for each producer, the payloads
// p<i>-0 … p<i>-<sent-1> exactly once each, in order of sequence numbers.
func checkProducers(t *testing.T, who string, msgs []got, sent []int) {
	t.Helper()
	ms := slices.Clone(msgs)
	sortBySeq(ms)
	next := make([]int32, len(sent))
	for _, g := range ms {
		if g.producer < 0 || int(g.producer) >= len(sent) {
			t.Errorf("%s: a message with an unexpected payload (%s seq %d)", who, loadKeys[g.stream], g.seq)
			return
		}
		if g.n != next[g.producer] {
			t.Errorf("%s: producer %d's message %d where %d comes next (lost, repeated or out of order)", who, g.producer, g.n, next[g.producer])
			return
		}
		next[g.producer]++
	}
	for i := range sent {
		if int(next[i]) != sent[i] {
			t.Errorf("%s: %d of producer %d's %d messages", who, next[i], i, sent[i])
		}
	}
}

func sortBySeq(ms []got) {
	slices.SortFunc(ms, func(a, b got) int {
		return cmp.Or(cmp.Compare(a.stream, b.stream), cmp.Compare(a.shard, b.shard), cmp.Compare(a.seq, b.seq))
	})
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
