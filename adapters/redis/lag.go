package redis

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"

	goredis "github.com/redis/go-redis/v9"
	"github.com/seastream/ss/streamer/driver"
)

var _ driver.Lagger = (*Consumer)(nil)

// lagPage is how many entries one XRANGE of Lag reads.
const lagPage = 1000

// lagState is, per (stream, shard) the consumer reads, the position Lag
// counts from: the id of the last message Next returned in the current plan,
// or where the plan starts. Next updates it; Lag reads it concurrently.
//
// Next does not write a position per message (a lock and a map store each):
// it marks the page it hands out from (handing), counts what it took of it
// with one atomic store (took), and the page's positions are folded into
// pos when Next leaves the page or Lag asks.
type lagState struct {
	mu     sync.Mutex
	gen    uint64 // the plan the positions belong to
	pos    map[driver.StreamShard]ID
	cur    *rbatch      // the page Next hands out from, if of plan gen
	folded int          // how many of cur's messages pos holds
	upto   atomic.Int64 // how many of cur's messages Next took
	seen   []driver.StreamShard
}

// reset starts plan gen: positions are set again by setReading.
func (l *lagState) reset(gen uint64) {
	l.mu.Lock()
	l.gen, l.pos = gen, make(map[driver.StreamShard]ID)
	l.cur = nil
	l.mu.Unlock()
}

// handing marks b as the page Next hands out from, folding the previous
// one; nil when Next leaves a page (before its slice is recycled).
func (l *lagState) handing(b *rbatch) {
	l.mu.Lock()
	l.foldLocked()
	l.cur, l.folded = nil, 0
	l.upto.Store(0)
	if b != nil && b.gen == l.gen {
		l.cur = b
	}
	l.mu.Unlock()
}

// took records that Next took the messages of the current page up to
// index i.
func (l *lagState) took(i int) { l.upto.Store(int64(i + 1)) }

// foldLocked records in pos the last message of each shard among those
// Next took from cur since the last fold, from the end of that range
// (pages hold few shards: the walk stops once each known shard is found).
func (l *lagState) foldLocked() {
	b := l.cur
	if b == nil {
		return
	}
	n := min(int(l.upto.Load()), len(b.msgs))
	l.seen = l.seen[:0]
	for i := n - 1; i >= l.folded && len(l.seen) < len(l.pos); i-- {
		h := &b.msgs[i].Header
		if h.StreamKey == "" {
			continue // an error in place of a message
		}
		ss := h.StreamShard()
		if slices.Contains(l.seen, ss) {
			continue
		}
		l.seen = append(l.seen, ss)
		l.pos[ss] = IDFromSeqNo(h.Seq)
	}
	l.folded = max(l.folded, n)
}

// add records where shards new to the plan start; known shards keep theirs
// (in a running plan, s.last is the fetcher's read-ahead, not a start).
func (l *lagState) add(shards []*shardState, grouped bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, s := range shards {
		if _, ok := l.pos[s.ss]; ok {
			continue
		}
		if grouped && s.pending {
			l.pos[s.ss] = s.start // s.last is where its pending entries are read back from
		} else {
			l.pos[s.ss] = s.last
		}
	}
}

// Lag implements driver.Lagger: for each (stream, shard) the consumer reads,
// the number of entries whose id is greater than that of the last message
// Next returned, or than where the consumer started (its AutoStreamReset
// position, or that of its last Seek or Rewind) if Next returned none from
// it. For a group consumer that start is where AutoStreamReset puts a new
// group (the first entry, or the last when the consumer was created), also
// when the group existed already: the group's own position (last-delivered
// id) moves as soon as the consumer reads ahead, before Next returns
// anything, and counts what other members received.
//
// The count is exact and works on any server (miniredis too); it uses no
// server-side counter, since XINFO GROUPS "lag" counts from the group's
// position, not this consumer's, and is nil on Redis < 7 or after
// deletions. One pipeline per call gets each key's length, first
// and last ids, which answer when the position is before the first entry
// (all are counted) or at the last; otherwise Lag pages through the entries
// after the position with XRANGE, lagPage at a time. Its cost thus grows
// with the lag (one round trip and lagPage entries, payloads included, per
// lagPage messages behind) when the consumer is neither at an end nor behind
// the whole stream.
func (k *Consumer) Lag(ctx context.Context) ([]driver.Lag, error) {
	if k.closed.Load() {
		return nil, driver.ErrClosed
	}
	ctx, cancel := context.WithTimeout(ctx, k.cfg.timeout)
	defer cancel()
	k.mu.Lock()
	shards := make([]lagShard, 0, len(k.reading))
	for ss, key := range k.reading {
		shards = append(shards, lagShard{ss: ss, key: key})
	}
	k.mu.Unlock()
	k.lag.mu.Lock()
	k.lag.foldLocked()
	for i := range shards {
		shards[i].pos = k.lag.pos[shards[i].ss] // zero (the beginning) if unknown
	}
	k.lag.mu.Unlock()

	pipe := k.conn.client.Pipeline()
	for i := range shards {
		s := &shards[i]
		s.xlen = pipe.XLen(ctx, s.key)
		s.first = pipe.XRangeN(ctx, s.key, "-", "+", 1)
		s.last = pipe.XRevRangeN(ctx, s.key, "+", "-", 1)
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, goredis.Nil) {
		return nil, backendErr("measure the lag", err)
	}
	out := make([]driver.Lag, 0, len(shards))
	for i := range shards {
		s := &shards[i]
		n, err := s.count(ctx, k)
		if err != nil {
			return nil, err
		}
		out = append(out, driver.Lag{Stream: s.ss.Stream, Shard: s.ss.Shard, Messages: n})
	}
	return out, nil
}

// lagShard is one key Lag measures, with the replies of its pipeline.
type lagShard struct {
	ss          driver.StreamShard
	key         string
	pos         ID
	xlen        *goredis.IntCmd
	first, last *goredis.XMessageSliceCmd
}

// count returns the number of entries of s.key after the position.
func (s *lagShard) count(ctx context.Context, k *Consumer) (uint64, error) {
	const op = "measure the lag"
	n, err := s.xlen.Result()
	if err != nil {
		return 0, backendErr(op, err)
	}
	if n == 0 {
		return 0, nil // missing or empty
	}
	pos := s.pos
	first, err1 := s.first.Result()
	last, err2 := s.last.Result()
	if err := errors.Join(err1, err2); err != nil {
		return 0, backendErr(op, err)
	}
	if len(first) == 0 || len(last) == 0 {
		return 0, nil // emptied meanwhile
	}
	firstID, err1 := ParseID(first[0].ID)
	lastID, err2 := ParseID(last[0].ID)
	if err := errors.Join(err1, err2); err != nil {
		return 0, backendErr(op, err)
	}
	switch {
	case pos.Compare(lastID) >= 0:
		return 0, nil
	case pos.Compare(firstID) < 0:
		return uint64(n), nil
	}
	var total uint64
	from := "(" + pos.String()
	for {
		msgs, err := k.conn.client.XRangeN(ctx, s.key, from, "+", lagPage).Result()
		if err != nil {
			return 0, backendErr(op, err)
		}
		total += uint64(len(msgs))
		if len(msgs) < lagPage {
			return total, nil
		}
		from = "(" + msgs[len(msgs)-1].ID
	}
}
