package filedriver

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/seastream/ss/internal/testkit"
	"github.com/seastream/ss/ssfile"
	"github.com/seastream/ss/streamer/driver"
)

// readAll reads every message of the file with ssfile, independently of the
// driver.
func readAll(t *testing.T, path string) []ssfile.Message {
	t.Helper()
	r, err := ssfile.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var out []ssfile.Message
	for {
		m, err := r.Next(context.Background())
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("reading %s: %v", path, err)
		}
		m.Payload = bytes.Clone(m.Payload)
		out = append(out, m)
	}
}

func TestRoundTrip(t *testing.T) {
	ctx := testkit.Context(t)
	path := tempFile(t)
	c := open(t, path, "create=if-missing")
	cons := newCons(t, c, earliest, "a")
	p := newProducer(t, c)

	before := time.Now().Truncate(time.Millisecond)
	var receipts []driver.Pending
	for i := range 6 {
		h := driver.Header{StreamKey: "a", Shard: driver.ShardID(i % 2)}
		pend, err := p.Send(ctx, h, fmt.Appendf(nil, "m%d", i))
		if err != nil {
			t.Fatal(err)
		}
		receipts = append(receipts, pend)
	}
	// Another stream of the same file, not subscribed.
	if _, err := p.Send(ctx, driver.Header{StreamKey: "b"}, []byte("other")); err != nil {
		t.Fatal(err)
	}
	if err := p.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	for i, pend := range receipts {
		h, err := pend.Wait(ctx)
		if err != nil {
			t.Fatal(err)
		}
		m := next(t, ctx, cons)
		if string(m.Payload) != fmt.Sprintf("m%d", i) {
			t.Fatalf("message %d: payload %q", i, m.Payload)
		}
		if m.Header != h {
			t.Errorf("message %d: received %v, receipt %v", i, m.Header, h)
		}
		if want := driver.SeqNo(i/2 + 1); h.Seq != want || h.Shard != driver.ShardID(i%2) {
			t.Errorf("message %d: seq %d shard %d, want seq %d shard %d", i, h.Seq, h.Shard, want, i%2)
		}
		if h.Timestamp.Before(before) || h.Timestamp.After(time.Now()) || h.Timestamp.Location() != time.UTC {
			t.Errorf("message %d: timestamp %v, sent after %v", i, h.Timestamp, before)
		}
	}
	// Nothing else arrives for "a": the next message is one sent now.
	send(t, ctx, p, driver.Header{StreamKey: "a"}, "last")
	if m := next(t, ctx, cons); string(m.Payload) != "last" || m.Seq != 4 || m.Shard != 0 {
		t.Fatalf("got %v %q, want seq 4 shard 0 %q", m.Header, m.Payload, "last")
	}
}

func TestExplicitTimestampAndVerbatim(t *testing.T) {
	ctx := testkit.Context(t)
	path := tempFile(t)
	c := open(t, path, "create=if-missing")
	p := newProducer(t, c)
	ts := time.Date(2023, 6, 5, 13, 55, 53, 1_900_000, time.UTC)
	h := send(t, ctx, p, driver.Header{StreamKey: "a", Timestamp: ts}, "x")
	if want := ts.Truncate(time.Millisecond); !h.Timestamp.Equal(want) || h.Seq != 1 {
		t.Fatalf("receipt %v, want seq 1 at %v", h, want)
	}
	v := newProducer(t, c, driver.ProducerOptions{Verbatim: true})
	h = send(t, ctx, v, driver.Header{StreamKey: "a", Seq: 42, Timestamp: ts}, "y")
	if h.Seq != 42 {
		t.Fatalf("verbatim receipt %v, want seq 42", h)
	}
	h = send(t, ctx, v, driver.Header{StreamKey: "z"}, "zero")
	if h.Seq != 0 || h.Timestamp.UnixMilli() != 0 {
		t.Fatalf("verbatim zero header stored as %v", h)
	}
	// A plain producer continues after the highest sequence number.
	if h := send(t, ctx, p, driver.Header{StreamKey: "a"}, "z"); h.Seq != 43 {
		t.Fatalf("after a verbatim seq 42, seq %d, want 43", h.Seq)
	}
	if _, err := p.Send(ctx, driver.Header{StreamKey: "a", Timestamp: time.Date(1969, 1, 1, 0, 0, 0, 0, time.UTC)}, nil); err == nil {
		t.Fatal("a timestamp before 1970 was accepted")
	} else {
		wantErr(t, err, driver.ErrInvalidOption)
	}
	if err := c.Close(ctx); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range readAll(t, path) {
		got = append(got, fmt.Sprintf("%s/%d/%d/%d", m.StreamKey, m.ShardID, m.SeqNo, m.Timestamp))
	}
	ms := ts.UnixMilli()
	want := []string{fmt.Sprintf("a/0/1/%d", ms), fmt.Sprintf("a/0/42/%d", ms), "z/0/0/0"}
	if len(got) != 4 || !slices.Equal(got[:3], want) {
		t.Fatalf("file holds %q, want %q then a/0/43", got, want)
	}
}

func TestSeqContinuesAcrossRestart(t *testing.T) {
	ctx := testkit.Context(t)
	path := tempFile(t)
	for round := range 3 {
		c, err := openErr(path, "create=if-missing")
		if err != nil {
			t.Fatal(err)
		}
		p := newProducer(t, c)
		for i := range 4 {
			for _, sh := range []driver.ShardID{0, 3} {
				h := send(t, ctx, p, driver.Header{StreamKey: "s", Shard: sh}, "x")
				if want := driver.SeqNo(round*4 + i + 1); h.Seq != want {
					t.Fatalf("round %d message %d shard %d: seq %d, want %d", round, i, sh, h.Seq, want)
				}
			}
		}
		if err := p.End(ctx); err != nil {
			t.Fatal(err)
		}
		if err := c.Close(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(readAll(t, path)); n != 24 {
		t.Fatalf("file holds %d messages, want 24", n)
	}
}

// TestSharedWriter checks that producers of several Conns in one process
// share one writer: sequence numbers are contiguous with nothing lost or
// duplicated, and every message is in the file.
func TestSharedWriter(t *testing.T) {
	ctx := testkit.Context(t)
	path := tempFile(t)
	conns := []driver.Conn{open(t, path, "create=if-missing"), open(t, path, ""), open(t, path, "")}
	var producers []driver.Producer
	for _, c := range conns {
		producers = append(producers, newProducer(t, c), newProducer(t, c))
	}
	writers.Lock()
	sw := writers.m[path]
	refs := 0
	if sw != nil {
		refs = sw.refs
	}
	writers.Unlock()
	if refs != len(conns) {
		t.Fatalf("shared writer of %s held by %d Conns, want %d", path, refs, len(conns))
	}

	const per = 300
	var wg sync.WaitGroup
	var mu sync.Mutex
	seqs := map[driver.SeqNo]string{}
	for g, p := range producers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var pend []driver.Pending
			for i := range per {
				pd, err := p.Send(ctx, driver.Header{StreamKey: "k"}, fmt.Appendf(nil, "%d-%d", g, i))
				if err != nil {
					t.Error(err)
					return
				}
				pend = append(pend, pd)
			}
			for i, pd := range pend {
				h, err := pd.Wait(ctx)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				if prev, dup := seqs[h.Seq]; dup {
					t.Errorf("seq %d given to %q and %d-%d", h.Seq, prev, g, i)
				}
				seqs[h.Seq] = fmt.Sprintf("%d-%d", g, i)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	for i := 1; i <= per*len(producers); i++ {
		if _, ok := seqs[driver.SeqNo(i)]; !ok {
			t.Fatalf("seq %d missing: numbering is not contiguous", i)
		}
	}
	for _, c := range conns {
		if err := c.Close(ctx); err != nil {
			t.Fatal(err)
		}
	}
	writers.Lock()
	left := len(writers.m)
	writers.Unlock()
	if left != 0 {
		t.Fatalf("%d writers still registered after every Conn closed", left)
	}
	msgs := readAll(t, path)
	if len(msgs) != per*len(producers) {
		t.Fatalf("file holds %d messages, want %d", len(msgs), per*len(producers))
	}
	for i, m := range msgs {
		if m.SeqNo != uint64(i+1) {
			t.Fatalf("message %d in the file has seq %d: file order differs from numbering", i, m.SeqNo)
		}
		if want := seqs[driver.SeqNo(m.SeqNo)]; string(m.Payload) != want {
			t.Fatalf("seq %d holds %q, its receipt said %q", m.SeqNo, m.Payload, want)
		}
	}
}

func TestFlushAndEnd(t *testing.T) {
	ctx := testkit.Context(t)
	path := tempFile(t)
	c := open(t, path, "create=if-missing&sync=flush")
	p := newProducer(t, c)
	var pend []driver.Pending
	for i := range 100 {
		pd, err := p.Send(ctx, driver.Header{StreamKey: "f"}, fmt.Appendf(nil, "%d", i))
		if err != nil {
			t.Fatal(err)
		}
		pend = append(pend, pd)
	}
	if err := p.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	for i, pd := range pend {
		select {
		case <-pd.(*driver.Future).Done():
		default:
			t.Fatalf("receipt %d unresolved after Flush returned", i)
		}
	}
	// Flushed means visible to an independent reader.
	if n := len(readAll(t, path)); n != 100 {
		t.Fatalf("after Flush the file holds %d messages, want 100", n)
	}
	if err := p.End(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Send(ctx, driver.Header{StreamKey: "f"}, nil); err != driver.ErrProducerEnded {
		t.Fatalf("Send after End: %v, want ErrProducerEnded", err)
	}
	if err := p.Flush(ctx); err != driver.ErrProducerEnded {
		t.Fatalf("Flush after End: %v, want ErrProducerEnded", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	p2 := newProducer(t, c)
	if _, err := p2.Send(cctx, driver.Header{StreamKey: "f"}, nil); err != context.Canceled {
		t.Fatalf("Send with a cancelled ctx: %v", err)
	}
}

// TestSizeLimit fills a file up to its size limit: a message that does not
// fit fails its receipt with ErrSizeLimit and takes no sequence number, and
// the writer stays usable for a smaller one.
func TestSizeLimit(t *testing.T) {
	ctx := testkit.Context(t)
	path := tempFile(t)
	c := open(t, path, "create=if-missing&size_limit=4KiB&beacon_interval=1KiB")
	p := newProducer(t, c)
	outcome := func(payload []byte) (driver.Header, error) {
		pend, err := p.Send(ctx, driver.Header{StreamKey: "big"}, payload)
		if err != nil {
			return driver.Header{}, err
		}
		return pend.Wait(ctx)
	}
	_, err := outcome(make([]byte, 8<<10))
	wantErr(t, err, ssfile.ErrSizeLimit)
	if h := send(t, ctx, p, driver.Header{StreamKey: "big"}, "small"); h.Seq != 1 {
		t.Fatalf("seq %d after a refused message, want 1", h.Seq)
	}
	seq := driver.SeqNo(1)
	for {
		h, err := outcome(make([]byte, 700))
		if err != nil {
			wantErr(t, err, ssfile.ErrSizeLimit)
			break
		}
		if seq++; h.Seq != seq {
			t.Fatalf("seq %d, want %d", h.Seq, seq)
		}
	}
	if h := send(t, ctx, p, driver.Header{StreamKey: "big"}, "x"); h.Seq != seq+1 {
		t.Fatalf("seq %d after a refused message, want %d", h.Seq, seq+1)
	}
	if err := p.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Size() > 4<<10 {
		t.Fatalf("the file has %v bytes (%v), the limit is 4 KiB", fi.Size(), err)
	}
}

// TestProducerAfterConnClose checks that a producer whose Conn closed (the
// portable layer never lets this happen) fails instead of hanging.
func TestProducerAfterConnClose(t *testing.T) {
	ctx := testkit.Context(t)
	c := open(t, tempFile(t), "create")
	p := newProducer(t, c)
	send(t, ctx, p, driver.Header{StreamKey: "a"}, "x")
	if err := c.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Send(ctx, driver.Header{StreamKey: "a"}, nil); err != driver.ErrProducerEnded {
		t.Fatalf("Send: %v", err)
	}
	if err := p.Flush(ctx); err != driver.ErrProducerEnded {
		t.Fatalf("Flush: %v", err)
	}
}

// TestSendCopiesPayload reuses one buffer for every send, overwriting it as
// soon as Send returns: the file holds what each send was given. The sends
// fill many payload chunks (reused once written), some payloads have their
// own copy, and one is larger than all the queue may hold.
func TestSendCopiesPayload(t *testing.T) {
	ctx := testkit.Context(t)
	path := tempFile(t)
	p := newProducer(t, open(t, path, "create"))
	size := func(i int) int {
		switch {
		case i == 1000:
			return maxPendingBytes + 1
		case i%100 == 0:
			return 20 << 10
		}
		return 300
	}
	const n = 3000
	buf := make([]byte, maxPendingBytes+1)
	var pend []driver.Pending
	for i := range n {
		b := buf[:size(i)]
		for j := range b {
			b[j] = byte(i + j)
		}
		pd, err := p.Send(ctx, driver.Header{StreamKey: "s"}, b)
		if err != nil {
			t.Fatal(err)
		}
		clear(b)
		pend = append(pend, pd)
	}
	for i, pd := range pend {
		if h, err := pd.Wait(ctx); err != nil || h.Seq != driver.SeqNo(i+1) {
			t.Fatalf("receipt %d: seq %d, %v", i, h.Seq, err)
		}
	}
	r, err := ssfile.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for i := range n {
		m, err := r.Next(ctx)
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if len(m.Payload) != size(i) {
			t.Fatalf("message %d has %d bytes, want %d", i, len(m.Payload), size(i))
		}
		for j, c := range m.Payload {
			if c != byte(i+j) {
				t.Fatalf("message %d, byte %d: %d, want %d", i, j, c, byte(i+j))
			}
		}
	}
}
