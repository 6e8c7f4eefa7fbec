package kafka

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/seastream/ss/streamer/driver"
)

// runs returns the records of a batch as a fetch gives them: runs of n
// records per partition, cycling over parts partitions, rounds times.
func runs(parts, n, rounds int) []*kgo.Record {
	var out []*kgo.Record
	next := make([]int64, parts)
	ts := time.UnixMilli(1_700_000_000_000)
	for range rounds {
		for p := range parts {
			for range n {
				out = append(out, &kgo.Record{Topic: "t", Partition: int32(p), Offset: next[p], LeaderEpoch: 3, Timestamp: ts})
				next[p]++
			}
		}
	}
	return out
}

// bufferedConsumer returns a consumer whose batch holds recs, as after a
// poll; Next must not be called once they are out (there is no client).
func bufferedConsumer(mode driver.ConsumerMode, recs []*kgo.Record) *Consumer {
	k := &Consumer{mode: mode, s: &settings{}, returned: make(map[string]map[int32]kgo.EpochOffset)}
	k.life, k.kill = context.WithCancel(context.Background())
	k.closeCh = k.life.Done()
	if mode == driver.LoadBalanced {
		k.owned = map[string]map[int32]bool{"t": {}}
		for _, r := range recs {
			k.owned["t"][r.Partition] = true
		}
	}
	k.out.Store(&handout{recs: append([]*kgo.Record(nil), recs...)})
	return k
}

// TestHandOutConcurrentCommit: Next hands out every record once, in order,
// while another goroutine snapshots the positions to commit and drops the
// batch (keeping what is still owned, as a revocation of another partition
// does); the positions never go back and end after the last record.
func TestHandOutConcurrentCommit(t *testing.T) {
	recs := runs(3, 40, 50)
	k := bufferedConsumer(driver.Resumable, recs)
	ctx := testContext(t)
	got := make(chan []driver.MessageID, 1)
	go func() {
		var ids []driver.MessageID
		for range recs {
			m, err := k.Next(ctx)
			if err != nil {
				t.Error(err)
				break
			}
			ids = append(ids, m.ID())
		}
		got <- ids
	}()
	last := map[int32]int64{}
	var ids []driver.MessageID
	for i := 0; ids == nil; i++ {
		offsets, err := k.toCommit()
		if err != nil {
			t.Fatal(err)
		}
		for p, o := range offsets["t"] {
			if o.Offset < last[p] || o.Epoch != 3 {
				t.Fatalf("partition %d: position %+v after %d", p, o, last[p])
			}
			last[p] = o.Offset
		}
		if i%3 == 0 {
			k.mu.Lock()
			k.dropBatch(false)
			k.mu.Unlock()
		}
		select {
		case ids = <-got:
		default:
		}
	}
	if len(ids) != len(recs) {
		t.Fatalf("Next returned %d records, want %d", len(ids), len(recs))
	}
	for i, r := range recs {
		if want := (driver.MessageID{Stream: "t", Shard: driver.ShardID(r.Partition), Seq: driver.SeqNo(r.Offset)}); ids[i] != want {
			t.Fatalf("record %d: %v, want %v", i, ids[i], want)
		}
	}
	checkFinalPositions(t, k, 3, 2000)
}

// TestHandOutRevocation: when the group takes a partition away while Next
// hands out records, each of that partition's records is either handed out
// before the revocation and counted in the offset committed for its next
// owner, or never handed out; the other partitions lose nothing.
func TestHandOutRevocation(t *testing.T) {
	for round := range 30 {
		recs := runs(3, 25, 20)
		k := bufferedConsumer(driver.LoadBalanced, recs)
		ctx := testContext(t)
		started := make(chan struct{})
		got := make(chan []driver.MessageID, 1)
		go func() {
			var ids []driver.MessageID
			kept := 0 // records of partitions 0 and 2: 2*25*20
			for kept < 1000 {
				m, err := k.Next(ctx)
				if err != nil {
					t.Error(err)
					break
				}
				if len(ids) == round {
					close(started)
				}
				ids = append(ids, m.ID())
				if m.Shard != 1 {
					kept++
				}
			}
			if len(ids) <= round {
				close(started)
			}
			got <- ids
		}()
		<-started
		offsets, closing := k.disown(map[string][]int32{"t": {1}})
		if closing {
			t.Fatal("disown reports closing")
		}
		ids := <-got
		var p1 []driver.SeqNo
		for _, id := range ids {
			if id.Shard == 1 {
				p1 = append(p1, id.Seq)
			}
		}
		for i, s := range p1 {
			if s != driver.SeqNo(i) {
				t.Fatalf("round %d: partition 1 handed out %v, not a prefix", round, p1)
			}
		}
		o, ok := offsets["t"][1]
		switch {
		case len(p1) == 0 && ok:
			t.Fatalf("round %d: nothing of partition 1 handed out, but %+v committed for it", round, o)
		case len(p1) > 0 && (!ok || o.Offset != int64(len(p1))):
			t.Fatalf("round %d: partition 1 handed out up to %d, committed %+v (%v)", round, len(p1), o, ok)
		}
		if len(ids)-len(p1) != 1000 {
			t.Fatalf("round %d: %d records of partitions 0 and 2, want 1000", round, len(ids)-len(p1))
		}
		after, err := k.toCommit()
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := after["t"][1]; ok || after["t"][0].Offset != 500 || after["t"][2].Offset != 500 {
			t.Fatalf("round %d: positions after the revocation: %+v", round, after)
		}
	}
}

// checkFinalPositions checks that the positions to commit are at end on
// each of the parts partitions of topic "t".
func checkFinalPositions(t *testing.T, k *Consumer, parts int32, end int64) {
	t.Helper()
	offsets, err := k.toCommit()
	if err != nil {
		t.Fatal(err)
	}
	for p := range parts {
		if o := offsets["t"][p]; o.Offset != end {
			t.Fatalf("final position of partition %d: %+v, want %d", p, o, end)
		}
	}
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// BenchmarkNextBuffered measures what Next costs per message on top of
// franz-go: handing out polled records and keeping positions for Commit
// (refilled in batches of 1000, the default prefetch, without a broker).
func BenchmarkNextBuffered(b *testing.B) {
	recs := runs(2, 500, 1)
	k := bufferedConsumer(driver.Resumable, nil)
	ctx := context.Background()
	for i := range b.N {
		if i%len(recs) == 0 {
			k.mu.Lock()
			k.settle()
			k.replace(recs)
			k.mu.Unlock()
		}
		if _, err := k.Next(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// TestTransientGroupErr: group session failures franz-go recovers from
// (broker restart, coordinator moving) keep Next waiting; others are its
// errors.
func TestTransientGroupErr(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	noHost := &net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{Err: "no such host", Name: "nohost", IsNotFound: true}}
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{&kgo.ErrGroupSession{Err: fmt.Errorf("unable to dial: %w", refused)}, true},
		{&kgo.ErrGroupSession{Err: io.EOF}, true},
		{&kgo.ErrGroupSession{Err: kerr.CoordinatorNotAvailable}, true},
		{&kgo.ErrGroupSession{Err: kerr.NotCoordinator}, true},
		{&kgo.ErrGroupSession{Err: kerr.GroupAuthorizationFailed}, false},
		{&kgo.ErrGroupSession{Err: kerr.InvalidSessionTimeout}, false},
		{&kgo.ErrGroupSession{Err: fmt.Errorf("unable to dial: %w", noHost)}, false},
		{&kgo.ErrGroupSession{}, false},
		{fmt.Errorf("unable to dial: %w", refused), false}, // not a group session failure
		{kerr.CoordinatorNotAvailable, false},
	} {
		if got := transientGroupErr(tc.err); got != tc.want {
			t.Errorf("transientGroupErr(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

// TestHandOutConcurrentNext: several goroutines call Next at once (the
// consumer is a driver.ConcurrentNext) while another drops the batch now and
// then, as revocations do: every record is handed out exactly once, each
// goroutine sees each partition's records in order, and the positions to
// commit end after the last record.
func TestHandOutConcurrentNext(t *testing.T) {
	recs := runs(3, 40, 50)
	k := bufferedConsumer(driver.Resumable, recs)
	ctx := testContext(t)
	var left atomic.Int64 // Nexts still allowed: one per record, none beyond
	left.Store(int64(len(recs)))
	const goroutines = 4
	got := make([][]driver.MessageID, goroutines)
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for left.Add(-1) >= 0 {
				m, err := k.Next(ctx)
				if err != nil {
					t.Error(err)
					return
				}
				got[g] = append(got[g], m.ID())
			}
		}()
	}
	stop := make(chan struct{})
	dropped := make(chan struct{})
	go func() {
		defer close(dropped)
		for {
			select {
			case <-stop:
				return
			default:
			}
			k.mu.Lock()
			k.dropBatch(false)
			k.mu.Unlock()
			if _, err := k.toCommit(); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	wg.Wait()
	close(stop)
	<-dropped
	seen := make(map[driver.MessageID]int)
	for g, ids := range got {
		last := map[driver.ShardID]driver.SeqNo{}
		for _, id := range ids {
			seen[id]++
			if prev, ok := last[id.Shard]; ok && id.Seq <= prev {
				t.Fatalf("goroutine %d: partition %d: offset %d after %d", g, id.Shard, id.Seq, prev)
			}
			last[id.Shard] = id.Seq
		}
	}
	if len(seen) != len(recs) {
		t.Fatalf("%d distinct records handed out, want %d", len(seen), len(recs))
	}
	for id, n := range seen {
		if n != 1 {
			t.Fatalf("%v handed out %d times", id, n)
		}
	}
	checkFinalPositions(t, k, 3, 2000)
}
