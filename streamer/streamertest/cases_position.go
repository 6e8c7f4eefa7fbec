package streamertest

import (
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cespare/xxhash/v2"
	"github.com/seastream/ss/streamer"
)

func testShards(t *testing.T, h Harness) {
	h.needs(t, h.Caps.Shards, "Shards")
	e := newEnv(t, h)
	k := e.key(0)
	s := e.open()
	c := e.consumer(s, []streamer.StreamKey{k})
	p := e.producer(s, k)
	shards := []streamer.ShardID{0, 3, 7, 1 << 40}
	for i := range 10 {
		for _, sh := range shards {
			hd := e.wait(e.send(p, k, fmt.Appendf(nil, "%d|%d", sh, i), streamer.WithShard(sh)))
			if hd.Shard != sh {
				t.Fatalf("receipt of a message sent to shard %d says shard %d", sh, hd.Shard)
			}
		}
	}
	count := map[streamer.ShardID]int{}
	for _, m := range e.nextN(c, 10*len(shards), "messages on several shards") {
		if want := fmt.Sprintf("%d|%d", m.Shard, count[m.Shard]); string(m.Payload) != want {
			t.Fatalf("shard %d: got %q, want %q", m.Shard, m.Payload, want)
		}
		count[m.Shard]++
	}
}

// reposition applies pending Assign/Unassign changes by moving to the
// beginning, with Rewind or, failing that, Seek.
func reposition(e *env, c *streamer.Consumer) {
	e.t.Helper()
	var err error
	if e.h.Caps.Rewind {
		err = c.Rewind(e.ctx, streamer.SeqBeginning())
	} else {
		err = c.Seek(e.ctx, time.UnixMilli(0))
	}
	if err != nil {
		e.t.Fatalf("repositioning after Assign/Unassign: %v", err)
	}
}

func testAssignUnassign(t *testing.T, h Harness) {
	h.needs(t, h.Caps.Shards, "Shards")
	h.needs(t, h.Caps.Rewind || h.Caps.Seek, "Rewind or Seek")
	e := newEnv(t, h)
	k := e.key(0)
	s := e.open()
	c := e.consumer(s, []streamer.StreamKey{k})
	p := e.producer(s, k)
	for i := range 10 {
		for sh := range streamer.ShardID(3) {
			e.send(p, k, fmt.Appendf(nil, "%d|%d", sh, i), streamer.WithShard(sh))
		}
	}
	if err := p.Flush(e.ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.Unassign(k, 5); !errors.Is(err, streamer.ErrConsumerNotAssigned) {
		t.Errorf("Unassign of a shard never assigned = %v, want ErrConsumerNotAssigned", err)
	}
	if err := c.Assign(k, 1); err != nil {
		t.Fatalf("Assign(shard 1): %v", err)
	}
	reposition(e, c)
	for i, m := range e.nextN(c, 10, "messages of shard 1") {
		if want := fmt.Sprintf("1|%d", i); m.Shard != 1 || string(m.Payload) != want {
			t.Fatalf("consumer assigned to shard 1 got %s %q, want %q", m.Header, m.Payload, want)
		}
	}
	e.send(p, k, []byte("0|late"), streamer.WithShard(0))
	e.send(p, k, []byte("1|late"), streamer.WithShard(1))
	if m := e.next(c, "the late message of shard 1"); string(m.Payload) != "1|late" {
		t.Fatalf("consumer assigned to shard 1 got %s %q, want %q", m.Header, m.Payload, "1|late")
	}
	if err := c.Unassign(k, 1); !errors.Is(err, streamer.ErrStreamKeyEmpty) {
		t.Errorf("Unassign of the only assigned shard = %v, want ErrStreamKeyEmpty", err)
	}
	if err := c.Assign(k, 2); err != nil {
		t.Fatalf("Assign(shard 2): %v", err)
	}
	if err := c.Unassign(k, 1); err != nil {
		t.Fatalf("Unassign(shard 1) with shard 2 assigned: %v", err)
	}
	reposition(e, c)
	for i, m := range e.nextN(c, 10, "messages of shard 2") {
		if want := fmt.Sprintf("2|%d", i); m.Shard != 2 || string(m.Payload) != want {
			t.Fatalf("consumer reassigned to shard 2 got %s %q, want %q", m.Header, m.Payload, want)
		}
	}
}

func testRoutingKey(t *testing.T, h Harness) {
	h.needs(t, h.Caps.Shards, "Shards")
	e := newEnv(t, h)
	k := e.key(0)
	s := e.open()
	c := e.consumer(s, []streamer.StreamKey{k})
	const shards = 4
	p := e.producer(s, k, streamer.WithShardCount(shards))
	const n = 60
	for i := range n {
		user := fmt.Sprintf("user-%d", i%10)
		e.send(p, k, fmt.Appendf(nil, "%s|%d", user, i/10), streamer.WithRoutingKey([]byte(user)))
	}
	next := map[string]int{}
	used := map[streamer.ShardID]bool{}
	for _, m := range e.nextN(c, n, "routed messages") {
		user, idx, _ := strings.Cut(string(m.Payload), "|")
		i, err := strconv.Atoi(idx)
		if err != nil || !strings.HasPrefix(user, "user-") {
			t.Fatalf("unexpected payload %q", m.Payload)
		}
		want := streamer.ShardID(xxhash.Sum64String(user) % shards)
		if m.Shard != want {
			t.Fatalf("message of %s went to shard %d, want xxhash64(key) %% %d = %d", user, m.Shard, shards, want)
		}
		if i != next[user] {
			t.Fatalf("messages of %s out of order: got %d, want %d", user, i, next[user])
		}
		next[user]++
		used[m.Shard] = true
		if r, err := p.Route(e.ctx, k, []byte(user)); err != nil || r != want {
			t.Fatalf("Route(%s) = %d, %v; want %d", user, r, err, want)
		}
	}
	if len(used) < 2 {
		t.Errorf("10 routing keys all went to one shard of %d", shards)
	}
}

// sendSpaced sends n messages, waiting for each receipt and for the clock to
// pass the stored millisecond, so that backend-assigned timestamps differ.
func sendSpaced(e *env, p *streamer.Producer, k streamer.StreamKey, prefix string, n int) []streamer.Header {
	e.t.Helper()
	hs := make([]streamer.Header, n)
	for i := range n {
		hs[i] = e.wait(e.send(p, k, fmt.Appendf(nil, "%s%d", prefix, i)))
		waitClockPast(hs[i].Timestamp)
	}
	return hs
}

// waitClockPast spins (yielding the processor) until the wall clock is past
// the millisecond of ts, for at most 50ms. This waits for the clock, not for
// another goroutine.
func waitClockPast(ts time.Time) {
	limit := time.Now().Add(50 * time.Millisecond)
	next := ts.Truncate(time.Millisecond).Add(time.Millisecond)
	for now := time.Now(); now.Before(next) && now.Before(limit); now = time.Now() {
		runtime.Gosched()
	}
}

func expectIDs(e *env, c *streamer.Consumer, want []streamer.Header, what string) {
	e.t.Helper()
	for i, m := range e.nextN(c, len(want), what) {
		if m.ID() != want[i].ID() {
			e.t.Fatalf("%s: message %d is %s, want %s", what, i, m.Header, want[i])
		}
	}
}

func testSeek(t *testing.T, h Harness) {
	h.needs(t, h.Caps.Seek, "Seek")
	e := newEnv(t, h)
	k := e.key(0)
	s := e.open()
	c := e.consumer(s, []streamer.StreamKey{k})
	p := e.producer(s, k)
	hs := sendSpaced(e, p, k, "t", 10)
	expectIDs(e, c, hs, "messages sent")

	after := func(t0 time.Time) []streamer.Header {
		var out []streamer.Header
		for _, hd := range hs {
			if hd.Timestamp.After(t0) {
				out = append(out, hd)
			}
		}
		return out
	}
	mid := hs[4].Timestamp
	want := after(mid)
	if len(want) == 0 {
		t.Fatalf("all 10 messages got timestamps at or before %v although sent over distinct milliseconds", mid)
	}
	if err := c.Seek(e.ctx, mid); err != nil {
		t.Fatalf("Seek: %v", err)
	}
	expectIDs(e, c, want, "messages after the seek time")

	if err := c.Seek(e.ctx, hs[0].Timestamp.Add(-time.Millisecond)); err != nil {
		t.Fatalf("Seek before the first message: %v", err)
	}
	expectIDs(e, c, hs, "messages after seeking before the first")

	last := hs[len(hs)-1].Timestamp
	if err := c.Seek(e.ctx, last); err != nil {
		t.Fatalf("Seek to the last message's time: %v", err)
	}
	waitClockPast(last)
	e.send(p, k, []byte("new"))
	if m := e.next(c, "a message sent after seeking past the end"); string(m.Payload) != "new" {
		t.Fatalf("after seeking to the last timestamp, got %s %q, want %q", m.Header, m.Payload, "new")
	}
}

func testSeekExplicit(t *testing.T, h Harness) {
	h.needs(t, h.Caps.Seek, "Seek")
	h.needs(t, h.Caps.ExplicitTimestamp, "ExplicitTimestamp")
	e := newEnv(t, h)
	k := e.key(0)
	s := e.open()
	c := e.consumer(s, []streamer.StreamKey{k})
	p := e.producer(s, k)
	base := time.Date(2024, 2, 29, 23, 59, 58, 0, time.UTC)
	var hs []streamer.Header
	for i := range 10 {
		ts := base.Add(time.Duration(i)*time.Second + 999*time.Microsecond)
		hd := e.wait(e.send(p, k, fmt.Appendf(nil, "x%d", i), streamer.WithTimestamp(ts)))
		if !hd.Timestamp.Equal(ts.Truncate(time.Millisecond)) {
			t.Fatalf("receipt timestamp %v, want %v (the given time in milliseconds)", hd.Timestamp, ts.Truncate(time.Millisecond))
		}
		hs = append(hs, hd)
	}
	for i, m := range e.nextN(c, 10, "messages with explicit timestamps") {
		if !m.Timestamp.Equal(hs[i].Timestamp) {
			t.Fatalf("message %d: timestamp %v, want %v", i, m.Timestamp, hs[i].Timestamp)
		}
	}
	if err := c.Seek(e.ctx, base.Add(4500*time.Millisecond)); err != nil {
		t.Fatalf("Seek: %v", err)
	}
	expectIDs(e, c, hs[5:], "messages after the seek time")
	if err := c.Seek(e.ctx, hs[3].Timestamp); err != nil {
		t.Fatalf("Seek: %v", err)
	}
	expectIDs(e, c, hs[4:], "messages strictly after a message's own timestamp")
}

func testRewind(t *testing.T, h Harness) {
	h.needs(t, h.Caps.Rewind, "Rewind")
	e := newEnv(t, h)
	k := e.key(0)
	s := e.open()
	c := e.consumer(s, []streamer.StreamKey{k})
	p := e.producer(s, k)
	var hs []streamer.Header
	for i := range 10 {
		hs = append(hs, e.wait(e.send(p, k, fmt.Appendf(nil, "r%d", i))))
	}
	expectIDs(e, c, hs, "messages sent")
	if err := c.Rewind(e.ctx, streamer.SeqAt(hs[3].Seq)); err != nil {
		t.Fatalf("Rewind(SeqAt): %v", err)
	}
	expectIDs(e, c, hs[3:], "messages from the rewound sequence number")
	if err := c.Rewind(e.ctx, streamer.SeqBeginning()); err != nil {
		t.Fatalf("Rewind(SeqBeginning): %v", err)
	}
	expectIDs(e, c, hs, "messages from the beginning")
	if err := c.Rewind(e.ctx, streamer.SeqEnd()); err != nil {
		t.Fatalf("Rewind(SeqEnd): %v", err)
	}
	e.send(p, k, []byte("tail"))
	if m := e.next(c, "a message sent after rewinding to the end"); string(m.Payload) != "tail" {
		t.Fatalf("after Rewind(SeqEnd), got %s %q, want %q", m.Header, m.Payload, "tail")
	}
}

func testReplay(t *testing.T, h Harness) {
	h.needs(t, h.Caps.Replay, "Replay")
	h.needs(t, h.Caps.Earliest, "Earliest")
	e := newEnv(t, h)
	k := e.key(0)
	s := e.open()
	p := e.producer(s, k)
	for i := range 5 {
		e.send(p, k, fmt.Appendf(nil, "p%d", i))
	}
	if err := p.Flush(e.ctx); err != nil {
		t.Fatal(err)
	}
	c, err := s.NewConsumer(e.ctx, []streamer.StreamKey{k}, streamer.WithAutoStreamReset(streamer.ResetEarliest), streamer.WithReplay())
	if err != nil {
		t.Fatalf("NewConsumer(replay): %v", err)
	}
	defer c.Close(e.ctx)
	for i := range 3 {
		e.send(p, k, fmt.Appendf(nil, "later%d", i))
	}
	if err := p.Flush(e.ctx); err != nil {
		t.Fatal(err)
	}
	var got []string
	for m, err := range c.Messages(e.ctx) {
		if err != nil {
			t.Fatalf("replay after %d messages: %v", len(got), err)
		}
		got = append(got, string(m.Payload))
	}
	if fmt.Sprint(got) != "[p0 p1 p2 p3 p4]" {
		t.Fatalf("replay read %q, want the 5 messages present when it started", got)
	}
	if _, err := c.Next(e.ctx); !errors.Is(err, streamer.ErrStreamEnded) {
		t.Fatalf("Next after the replay ended = %v, want ErrStreamEnded", err)
	}
}

func testWildcard(t *testing.T, h Harness) {
	h.needs(t, h.Caps.Wildcard, "Wildcard")
	e := newEnv(t, h)
	keys := []streamer.StreamKey{e.key(0), e.key(1)}
	s := e.open()
	c := e.consumer(s, []streamer.StreamKey{streamer.Wildcard})
	p := e.producer(s, "")
	for i := range 10 {
		for _, k := range keys {
			e.send(p, k, fmt.Appendf(nil, "%s|%d", k, i))
		}
	}
	next := map[streamer.StreamKey]int{}
	for _, m := range e.nextN(c, 20, "messages of every stream") {
		if want := fmt.Sprintf("%s|%d", m.StreamKey, next[m.StreamKey]); string(m.Payload) != want {
			t.Fatalf("wildcard consumer got %s %q, want %q", m.Header, m.Payload, want)
		}
		next[m.StreamKey]++
	}
}

func testVerbatim(t *testing.T, h Harness) {
	h.needs(t, h.Caps.Verbatim, "Verbatim")
	e := newEnv(t, h)
	k := e.key(0)
	s := e.open()
	c := e.consumer(s, []streamer.StreamKey{k})
	p := e.producer(s, k, streamer.WithVerbatimHeaders())
	base := time.Date(2023, 6, 5, 13, 55, 53, 1_000_000, time.UTC)
	seqs := []streamer.SeqNo{0, 5, 6, 1000}
	for i, sq := range seqs {
		hd := e.wait(e.send(p, k, fmt.Appendf(nil, "v%d", i), streamer.WithSeq(sq), streamer.WithTimestamp(base.Add(time.Duration(i)*time.Millisecond))))
		if hd.Seq != sq {
			t.Fatalf("verbatim receipt seq %d, want %d", hd.Seq, sq)
		}
	}
	for i, m := range e.nextN(c, len(seqs), "verbatim messages") {
		if m.Seq != seqs[i] || !m.Timestamp.Equal(base.Add(time.Duration(i)*time.Millisecond)) {
			t.Fatalf("verbatim message %d: %s, want seq %d at %v", i, m.Header, seqs[i], base.Add(time.Duration(i)*time.Millisecond))
		}
	}
}
