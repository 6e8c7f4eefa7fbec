package filedriver

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/seastream/ss/format"
	"github.com/seastream/ss/internal/testkit"
	"github.com/seastream/ss/streamer/driver"
)

func TestRealTimeLatestSkipsOldMessages(t *testing.T) {
	ctx := testkit.Context(t)
	c := open(t, tempFile(t), "create")
	p := newProducer(t, c)
	sendN(t, ctx, p, "a", "old", 3)
	cons := newCons(t, c, driver.ConsumerOptions{}, "a")
	sendN(t, ctx, p, "a", "new", 2)
	if got := payloads(t, ctx, cons, 2); !slices.Equal(got, seq("new", 0, 2)) {
		t.Fatalf("latest consumer got %q", got)
	}
}

func TestReplayEndsAtTheEnd(t *testing.T) {
	ctx := testkit.Context(t)
	path := tempFile(t)
	c := open(t, path, "create")
	p := newProducer(t, c)
	sendN(t, ctx, p, "a", "m", 5)
	cons := newCons(t, c, driver.ConsumerOptions{AutoStreamReset: driver.ResetEarliest, Replay: true}, "a")
	sendN(t, ctx, p, "a", "later", 2) // after the replay started: not part of it
	if got := payloads(t, ctx, cons, 5); !slices.Equal(got, seq("m", 0, 5)) {
		t.Fatalf("replay got %q", got)
	}
	for range 2 { // it stays ended
		wantErr(t, nextErr(t, ctx, cons), driver.ErrStreamEnded)
	}
	// Rewinding a replay starts it again.
	if err := cons.Rewind(ctx, driver.SeqAt(4)); err != nil {
		t.Fatal(err)
	}
	if got := payloads(t, ctx, cons, 2); !slices.Equal(got, []string{"m3", "m4"}) {
		t.Fatalf("replay rewound to seq 4 got %q", got)
	}
	wantErr(t, nextErr(t, ctx, cons), driver.ErrStreamEnded)

	_, err := c.NewConsumer(ctx, []driver.StreamKey{"a"}, driver.ConsumerOptions{Replay: true})
	wantErr(t, err, driver.ErrInvalidOption)
}

func TestEndOfStream(t *testing.T) {
	ctx := testkit.Context(t)
	path := tempFile(t)
	reader := open(t, path, "create")
	live := newCons(t, reader, driver.ConsumerOptions{}, driver.Wildcard)
	w, err := openErr(path, "eos=true")
	if err != nil {
		t.Fatal(err)
	}
	p := newProducer(t, w)
	sendN(t, ctx, p, "a", "m", 3)
	if err := p.End(ctx); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if got := payloads(t, ctx, live, 3); !slices.Equal(got, seq("m", 0, 3)) {
		t.Fatalf("got %q", got)
	}
	wantErr(t, nextErr(t, ctx, live), driver.ErrStreamEnded)
	if n := len(readAll(t, path)); n != 4 {
		t.Fatalf("file holds %d messages, want 3 and the end-of-stream message", n)
	}

	// A new writer removes the end-of-stream message and carries on; a
	// reader from the beginning sees every message and no end.
	w2 := open(t, path, "")
	p2 := newProducer(t, w2)
	h := send(t, ctx, p2, driver.Header{StreamKey: "a"}, "m3")
	if h.Seq != 4 {
		t.Fatalf("seq after reopening: %d, want 4", h.Seq)
	}
	all := newCons(t, reader, earliest, "a")
	if got := payloads(t, ctx, all, 4); !slices.Equal(got, seq("m", 0, 4)) {
		t.Fatalf("got %q", got)
	}
}

// TestFollowAfterRecovery checks that a live consumer keeps following a file
// whose end-of-stream message a new writer cut away.
func TestFollowAfterRecovery(t *testing.T) {
	ctx := testkit.Context(t)
	path := tempFile(t)
	w, err := openErr(path, "create&eos=true")
	if err != nil {
		t.Fatal(err)
	}
	sendN(t, ctx, newProducer(t, w), "a", "m", 2)
	reader := open(t, path, "")
	cons := newCons(t, reader, earliest, "a")
	if got := payloads(t, ctx, cons, 2); !slices.Equal(got, seq("m", 0, 2)) {
		t.Fatalf("got %q", got)
	}
	// The consumer now waits after m1; closing writes EOS, which ends it.
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
	wantErr(t, nextErr(t, ctx, cons), driver.ErrStreamEnded)
	// A live consumer opened after the end-of-stream message: the next writer
	// cuts the file back under it, and it must go on.
	tail := newCons(t, reader, driver.ConsumerOptions{}, "a")
	w2 := open(t, path, "")
	sendN(t, ctx, newProducer(t, w2), "a", "n", 3)
	got := payloads(t, ctx, tail, 3)
	if !slices.Equal(got, seq("n", 0, 3)) {
		t.Fatalf("after recovery the live consumer got %q", got)
	}
}

func TestWildcardAndFilters(t *testing.T) {
	ctx := testkit.Context(t)
	c := open(t, tempFile(t), "create")
	all := newCons(t, c, earliest, driver.Wildcard)
	two := newCons(t, c, earliest, "b", "c")
	p := newProducer(t, c)
	for i, k := range []driver.StreamKey{"a", "b", "c", "b", "a"} {
		send(t, ctx, p, driver.Header{StreamKey: k}, fmt.Sprintf("%s%d", k, i))
	}
	if got := payloads(t, ctx, all, 5); !slices.Equal(got, []string{"a0", "b1", "c2", "b3", "a4"}) {
		t.Fatalf("wildcard got %q", got)
	}
	if got := payloads(t, ctx, two, 3); !slices.Equal(got, []string{"b1", "c2", "b3"}) {
		t.Fatalf("b,c got %q", got)
	}
}

func TestCloseAndCancel(t *testing.T) {
	ctx := testkit.Context(t)
	c := open(t, tempFile(t), "create")
	for _, opts := range []driver.ConsumerOptions{{}, {Mode: driver.LoadBalanced, Group: "g"}, {Mode: driver.Resumable, Group: "r"}} {
		cons, err := c.NewConsumer(ctx, []driver.StreamKey{"a"}, opts)
		if err != nil {
			t.Fatal(err)
		}
		cctx, cancel := context.WithCancel(ctx)
		errc := make(chan error, 1)
		go func() { _, err := cons.Next(cctx); errc <- err }()
		cancel()
		if err := <-errc; !errors.Is(err, context.Canceled) {
			t.Fatalf("%v: Next with a cancelled ctx: %v", opts.Mode, err)
		}
		go func() { _, err := cons.Next(ctx); errc <- err }()
		if err := cons.Close(ctx); err != nil {
			t.Fatalf("%v: Close: %v", opts.Mode, err)
		}
		if err := <-errc; !errors.Is(err, driver.ErrClosed) {
			t.Fatalf("%v: blocked Next after Close: %v", opts.Mode, err)
		}
		for name, err := range map[string]error{
			"Next":   func() error { _, err := cons.Next(ctx); return err }(),
			"Seek":   cons.Seek(ctx, time.Now()),
			"Rewind": cons.Rewind(ctx, driver.SeqBeginning()),
			"Assign": cons.Assign("a", 1),
			"Commit": cons.Commit(ctx),
			"Close":  cons.Close(ctx),
		} {
			if !errors.Is(err, driver.ErrClosed) {
				t.Errorf("%v: %s after Close: %v, want ErrClosed", opts.Mode, name, err)
			}
		}
	}
	if err := c.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := c.NewConsumer(ctx, []driver.StreamKey{"a"}, driver.ConsumerOptions{}); !errors.Is(err, driver.ErrClosed) {
		t.Fatalf("NewConsumer after Close: %v", err)
	}
	if _, err := c.NewProducer(ctx, "", driver.ProducerOptions{}); !errors.Is(err, driver.ErrClosed) {
		t.Fatalf("NewProducer after Close: %v", err)
	}
}

func TestAssignUnassign(t *testing.T) {
	ctx := testkit.Context(t)
	c := open(t, tempFile(t), "create")
	cons := newCons(t, c, earliest, "a", "b")
	wantErr(t, cons.Assign("x", 0), driver.ErrStreamKeyNotFound)
	wantErr(t, cons.Unassign("x", 0), driver.ErrStreamKeyNotFound)
	wantErr(t, cons.Unassign("a", 0), driver.ErrConsumerNotAssigned)
	for _, sh := range []driver.ShardID{1, 2} {
		if err := cons.Assign("a", sh); err != nil {
			t.Fatal(err)
		}
	}
	if err := cons.Unassign("a", 2); err != nil {
		t.Fatal(err)
	}
	wantErr(t, cons.Unassign("a", 2), driver.ErrConsumerNotAssigned)
	wantErr(t, cons.Unassign("a", 1), driver.ErrStreamKeyEmpty)

	p := newProducer(t, c)
	for i := range 4 {
		for _, k := range []driver.StreamKey{"a", "b"} {
			send(t, ctx, p, driver.Header{StreamKey: k, Shard: driver.ShardID(i % 3)}, fmt.Sprintf("%s/%d/%d", k, i%3, i))
		}
	}
	// Before a Seek or Rewind the assignment does not apply.
	if got := payloads(t, ctx, cons, 8); len(got) != 8 {
		t.Fatalf("got %q", got)
	}
	if err := cons.Rewind(ctx, driver.SeqBeginning()); err != nil {
		t.Fatal(err)
	}
	if got := payloads(t, ctx, cons, 1); !slices.Equal(got, []string{"a/1/1"}) {
		t.Fatalf("assigned to a/1 only, got %q", got)
	}
	send(t, ctx, p, driver.Header{StreamKey: "b", Shard: 1}, "b/1/x")
	send(t, ctx, p, driver.Header{StreamKey: "a", Shard: 1}, "a/1/x")
	if got := payloads(t, ctx, cons, 1); !slices.Equal(got, []string{"a/1/x"}) {
		t.Fatalf("assigned to a/1 only, got %q", got)
	}
}

func TestSeekByTime(t *testing.T) {
	ctx := testkit.Context(t)
	// A small beacon interval and many messages so that the search uses
	// beacons; three streams, two shards.
	c := open(t, tempFile(t), "create&beacon_interval=1KiB")
	p := newProducer(t, c)
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	const n = 300
	for i := range n {
		for _, k := range []driver.StreamKey{"a", "b", "c"} {
			h := driver.Header{StreamKey: k, Shard: driver.ShardID(i % 2), Timestamp: t0.Add(time.Duration(i) * time.Second)}
			if _, err := p.Send(ctx, h, fmt.Appendf(nil, "%s%d", k, i)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := p.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	cons := newCons(t, c, earliest, "a", "b")
	for _, target := range []int{0, 1, 150, 299} {
		// Seek to half a second after message target: the first message
		// after it is target+1.
		if err := cons.Seek(ctx, t0.Add(time.Duration(target)*time.Second+500*time.Millisecond)); err != nil {
			t.Fatal(err)
		}
		if target == n-1 {
			send(t, ctx, p, driver.Header{StreamKey: "a", Timestamp: t0.Add(time.Hour)}, "future")
			if m := next(t, ctx, cons); string(m.Payload) != "future" {
				t.Fatalf("seek past the end, then got %q", m.Payload)
			}
			continue
		}
		want := []string{fmt.Sprintf("a%d", target+1), fmt.Sprintf("b%d", target+1), fmt.Sprintf("a%d", target+2)}
		if got := payloads(t, ctx, cons, 3); !slices.Equal(got, want) {
			t.Fatalf("seek after message %d: got %q, want %q", target, got, want)
		}
	}
	// Before every message.
	if err := cons.Seek(ctx, t0.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	if got := payloads(t, ctx, cons, 2); !slices.Equal(got, []string{"a0", "b0"}) {
		t.Fatalf("seek before the first message: got %q", got)
	}

	// With an assignment: per (stream, shard) targets.
	if err := cons.Assign("b", 1); err != nil {
		t.Fatal(err)
	}
	if err := cons.Seek(ctx, t0.Add(100*time.Second)); err != nil {
		t.Fatal(err)
	}
	if got := payloads(t, ctx, cons, 2); !slices.Equal(got, []string{"b101", "b103"}) {
		t.Fatalf("seek with b/1 assigned: got %q", got)
	}
}

// TestSeekPerStream checks that after Seek each stream starts at its own
// first message after the target, even when the streams' timestamps are not
// in file order.
func TestSeekPerStream(t *testing.T) {
	ctx := testkit.Context(t)
	c := open(t, tempFile(t), "create&beacon_interval=1KiB")
	p := newProducer(t, c)
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 200 {
		send(t, ctx, p, driver.Header{StreamKey: "early", Timestamp: t0.Add(time.Duration(i) * time.Second)}, fmt.Sprintf("e%d", i))
		// "late" runs an hour ahead of "early" in the same file positions.
		send(t, ctx, p, driver.Header{StreamKey: "late", Timestamp: t0.Add(time.Hour + time.Duration(i)*time.Second)}, fmt.Sprintf("l%d", i))
	}
	cons := newCons(t, c, earliest, "early", "late")
	if err := cons.Seek(ctx, t0.Add(time.Hour+150*time.Second)); err != nil {
		t.Fatal(err)
	}
	if got := payloads(t, ctx, cons, 2); !slices.Equal(got, []string{"l151", "l152"}) {
		t.Fatalf("got %q", got)
	}
	if err := cons.Seek(ctx, t0.Add(100*time.Second)); err != nil {
		t.Fatal(err)
	}
	// "late" is entirely after the target: all of it, interleaved in file
	// order with "early" from e101 on.
	got := payloads(t, ctx, cons, 105)
	want := append(seq("l", 0, 101), "e101", "l101", "e102", "l102")
	if !slices.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestRewind(t *testing.T) {
	ctx := testkit.Context(t)
	c := open(t, tempFile(t), "create&beacon_interval=1KiB")
	p := newProducer(t, c)
	for i := range 100 {
		for _, k := range []driver.StreamKey{"a", "b"} {
			send(t, ctx, p, driver.Header{StreamKey: k}, fmt.Sprintf("%s%d", k, i+1))
		}
	}
	cons := newCons(t, c, driver.ConsumerOptions{}, "a")
	if err := cons.Rewind(ctx, driver.SeqBeginning()); err != nil {
		t.Fatal(err)
	}
	if got := payloads(t, ctx, cons, 2); !slices.Equal(got, []string{"a1", "a2"}) {
		t.Fatalf("from the beginning: %q", got)
	}
	if err := cons.Rewind(ctx, driver.SeqAt(60)); err != nil {
		t.Fatal(err)
	}
	if m := next(t, ctx, cons); string(m.Payload) != "a60" || m.Seq != 60 {
		t.Fatalf("rewind to 60: got %v %q", m.Header, m.Payload)
	}
	if err := cons.Rewind(ctx, driver.SeqEnd()); err != nil {
		t.Fatal(err)
	}
	send(t, ctx, p, driver.Header{StreamKey: "a"}, "a101")
	if m := next(t, ctx, cons); string(m.Payload) != "a101" {
		t.Fatalf("rewind to the end: got %q", m.Payload)
	}
	if err := cons.Rewind(ctx, driver.SeqAt(1000)); err != nil {
		t.Fatal(err)
	}
	send(t, ctx, p, driver.Header{StreamKey: "a"}, "a102")
	v := newProducer(t, c, driver.ProducerOptions{Verbatim: true})
	send(t, ctx, v, driver.Header{StreamKey: "a", Seq: 1000, Timestamp: time.Now()}, "a1000")
	if m := next(t, ctx, cons); string(m.Payload) != "a1000" {
		t.Fatalf("rewind to seq 1000: got %q", m.Payload)
	}

	// With an assignment, per (stream, shard) targets.
	if err := cons.Assign("a", 0); err != nil {
		t.Fatal(err)
	}
	if err := cons.Rewind(ctx, driver.SeqAt(99)); err != nil {
		t.Fatal(err)
	}
	if got := payloads(t, ctx, cons, 4); !slices.Equal(got, []string{"a99", "a100", "a101", "a102"}) {
		t.Fatalf("rewind to seq 99 with a/0 assigned: got %q", got)
	}
	if err := cons.Rewind(ctx, driver.SeqAt(5000)); err != nil {
		t.Fatal(err)
	}
	send(t, ctx, p, driver.Header{StreamKey: "b"}, "b-after")
	send(t, ctx, v, driver.Header{StreamKey: "a", Seq: 5000, Timestamp: time.Now()}, "a5000")
	if m := next(t, ctx, cons); string(m.Payload) != "a5000" {
		t.Fatalf("rewind past the end with a/0 assigned: got %q", m.Payload)
	}
}

// TestSeekWhileNextBlocked checks that a Next blocked when Seek happens
// continues from the new position.
func TestSeekWhileNextBlocked(t *testing.T) {
	ctx := testkit.Context(t)
	c := open(t, tempFile(t), "create")
	p := newProducer(t, c)
	sendN(t, ctx, p, "a", "m", 3)
	cons := newCons(t, c, driver.ConsumerOptions{}, "a")
	got := make(chan string, 1)
	go func() {
		m, err := cons.Next(ctx)
		if err != nil {
			got <- err.Error()
			return
		}
		got <- string(m.Payload)
	}()
	if err := cons.Rewind(ctx, driver.SeqBeginning()); err != nil {
		t.Fatal(err)
	}
	if s := <-got; s != "m0" {
		t.Fatalf("blocked Next after Rewind got %q, want m0", s)
	}
}

// TestBackpressure checks that a consumer that does not call Next stops its
// reader after prefetch messages, and then loses nothing.
func TestBackpressure(t *testing.T) {
	ctx := testkit.Context(t)
	c := open(t, tempFile(t), "create")
	p := newProducer(t, c)
	const prefetch, n = 10, 500
	slow, err := c.NewConsumer(ctx, []driver.StreamKey{"a"}, driver.ConsumerOptions{AutoStreamReset: driver.ResetEarliest, Prefetch: prefetch})
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close(ctx)
	fast := newCons(t, c, earliest, "a")
	sendN(t, ctx, p, "a", "m", n)
	// Another consumer is not held up by the slow one.
	if got := payloads(t, ctx, fast, n); !slices.Equal(got, seq("m", 0, n)) {
		t.Fatal("fast consumer lost or reordered messages")
	}
	st := &slow.(*consumer).stats
	for !st.blocked.Load() {
		if ctx.Err() != nil {
			t.Fatalf("the slow consumer's reader never blocked: it read %d messages", st.matched.Load())
		}
		runtimeGosched()
	}
	if got := st.matched.Load(); got > prefetch+1 {
		t.Fatalf("the slow consumer's reader read %d messages ahead, prefetch is %d", got, prefetch)
	}
	if got := payloads(t, ctx, slow, n); !slices.Equal(got, seq("m", 0, n)) {
		t.Fatal("slow consumer lost or reordered messages")
	}
}

func TestDetectsCorruption(t *testing.T) {
	ctx := testkit.Context(t)
	path := tempFile(t)
	c := open(t, path, "create")
	sendN(t, ctx, newProducer(t, c), "a", "payload-", 3)
	if err := c.Close(ctx); err != nil {
		t.Fatal(err)
	}
	corruptPayload(t, path, "payload-1")
	c2 := open(t, path, "")
	cons := newCons(t, c2, driver.ConsumerOptions{AutoStreamReset: driver.ResetEarliest, Replay: true}, "a")
	if m := next(t, ctx, cons); string(m.Payload) != "payload-0" {
		t.Fatalf("got %q", m.Payload)
	}
	err := nextErr(t, ctx, cons)
	var be *driver.BackendError
	if !errors.As(err, &be) || errors.Is(err, driver.ErrStreamEnded) {
		t.Fatalf("damaged message: %v, want a *BackendError", err)
	}
	wantErr(t, nextErr(t, ctx, cons), err) // it stays failed
}

// TestTornTail checks a file whose writer crashed in the middle of a
// message: a replay ends before the torn message, and a live consumer keeps
// following when the next writer cuts it away.
func TestTornTail(t *testing.T) {
	ctx := testkit.Context(t)
	path := tempFile(t)
	c := open(t, path, "create")
	sendN(t, ctx, newProducer(t, c), "a", "m", 2)
	if err := c.Close(ctx); err != nil {
		t.Fatal(err)
	}
	// Half of a real frame, taken from another file.
	other := filepath.Join(t.TempDir(), "other.ss")
	oc := open(t, other, "create")
	sendN(t, ctx, newProducer(t, oc), "a", "a-long-enough-payload-", 1)
	oc.Close(ctx)
	frame, err := os.ReadFile(other)
	if err != nil {
		t.Fatal(err)
	}
	frame = frame[format.HeaderSize:]
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(frame[:len(frame)/2]); err != nil {
		t.Fatal(err)
	}
	f.Close()

	r := open(t, path, "")
	replay := newCons(t, r, driver.ConsumerOptions{AutoStreamReset: driver.ResetEarliest, Replay: true}, "a")
	if got := payloads(t, ctx, replay, 2); !slices.Equal(got, seq("m", 0, 2)) {
		t.Fatalf("replay got %q", got)
	}
	wantErr(t, nextErr(t, ctx, replay), driver.ErrStreamEnded)

	live := newCons(t, r, driver.ConsumerOptions{}, "a")
	w := open(t, path, "")
	p := newProducer(t, w)
	sendN(t, ctx, p, "a", "n", 3)
	if got := payloads(t, ctx, live, 3); !slices.Equal(got, seq("n", 0, 3)) {
		t.Fatalf("live consumer after the torn tail was cut got %q", got)
	}
}

// TestBatchesHoldNothingBack sends one message at a time to a following
// consumer, waiting for each before the next: the reader's batches (up to
// 62 items at the default prefetch) go on as soon as the file holds no
// more, so every Next returns without a further send. The same for a
// consumer that was behind: the backlog arrives in batches, then the
// stream one by one.
func TestBatchesHoldNothingBack(t *testing.T) {
	ctx := testkit.Context(t)
	c := open(t, tempFile(t), "create")
	p := newProducer(t, c)
	sendN(t, ctx, p, "a", "backlog", 500)
	live := newCons(t, c, driver.ConsumerOptions{AutoStreamReset: driver.ResetEarliest}, "a")
	for i := range 500 {
		if m := next(t, ctx, live); string(m.Payload) != fmt.Sprintf("backlog%d", i) {
			t.Fatalf("backlog message %d: %q", i, m.Payload)
		}
	}
	for i := range 200 {
		want := fmt.Sprintf("m%d", i)
		send(t, ctx, p, driver.Header{StreamKey: "a"}, want)
		if m := next(t, ctx, live); string(m.Payload) != want {
			t.Fatalf("got %q, want %q", m.Payload, want)
		}
	}
}
