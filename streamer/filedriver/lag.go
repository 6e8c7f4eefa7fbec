package filedriver

import (
	"context"
	"errors"
	"io"
	"maps"

	"github.com/seastream/ss/format"
	"github.com/seastream/ss/ssdir"
	"github.com/seastream/ss/ssfile"
	"github.com/seastream/ss/streamer/driver"
)

var _ driver.Lagger = (*consumer)(nil)

// Lag implements driver.Lagger: for each (stream, shard) the consumer reads,
// the messages stored after its position, up to the end of the file or
// stream directory (or an end-of-stream message). It reads from that
// position to the end with a reader of its own, so its cost grows with the
// lag, not with the file; messages retention deleted are not counted. The
// position depends on the mode:
//
//   - RealTime and Resumable (and a LoadBalanced member after Seek or
//     Rewind, which reads alone): after the last message Next returned, or
//     where the consumer started (a Resumable consumer's committed
//     position), counted with the consumer's own filter (Assign, Seek,
//     Rewind). A (stream, shard) is reported once Next returned one of its
//     messages, or it is assigned, or it has messages after the position.
//   - A member of a LoadBalanced group shared across processes (the pairs
//     mode, the default): one entry per (stream, shard) the member holds
//     now, as Kafka's members report the partitions the group gives them;
//     its position is after the last message the member's Next returned of
//     it, or, before that, the position the group handed on (the last
//     commit of the member that held it before, or where it left it).
//     What the member's reader has read ahead and Next has not returned is
//     lag. A pair moves to another member in a rebalance, and with it its
//     lag; a pair no member holds yet is in no member's Lag.
//   - A member of an in-process round-robin group (group_mode=round-robin):
//     the group's lag, not the member's, since the group's members share
//     every (stream, shard) and none has a position of its own: for each
//     (stream, shard) the group has read, the messages after those its
//     members have been handed (by Next), whichever member took them.
//     Every member of the group reports the same figures.
//
// Lag may be called concurrently with Next.
func (c *consumer) Lag(ctx context.Context) ([]driver.Lag, error) {
	c.mu.Lock()
	if c.isClosed {
		c.mu.Unlock()
		return nil, driver.ErrClosed
	}
	if g := c.pairs; g != nil {
		c.mu.Unlock()
		return g.lag(ctx, &c.conn.cfg)
	}
	if g := c.member; g != nil {
		c.mu.Unlock()
		return g.lag(ctx, &c.conn.cfg, c.streams)
	}
	c.settle()
	from := c.pos.offset
	f := newFilter(c.streams, c.assigned)
	f.from = c.pos.from.clone()
	f.after = maps.Clone(c.pos.seqs) // what Next returned is not lag
	counts := make(map[driver.StreamShard]uint64, len(c.pos.seqs))
	for ss := range c.pos.seqs {
		counts[ss] = 0
	}
	for ss := range c.assigned {
		counts[ss] = 0
	}
	c.mu.Unlock()

	err := countFrom(ctx, &c.conn.cfg, from, func(m *ssfile.Message) {
		if f.match(m) {
			counts[pairOf(m)]++
		}
	})
	if err != nil {
		return nil, err
	}
	return lagsOf(counts), nil
}

// lag is the Lag of a member of the pair group: per pair held, the
// messages at or after the pair's position (pairHold.next).
func (g *pairGroup) lag(ctx context.Context, cfg *config) ([]driver.Lag, error) {
	g.mu.Lock()
	if g.gone {
		g.mu.Unlock()
		return nil, driver.ErrClosed
	}
	from := int64(-1)
	next := make(map[driver.StreamShard]int64, len(g.held))
	for ss, h := range g.held {
		next[ss] = h.next
		if from < 0 || h.next < from {
			from = h.next
		}
	}
	g.mu.Unlock()
	counts := make(map[driver.StreamShard]uint64, len(next))
	for ss := range next {
		counts[ss] = 0
	}
	if len(next) == 0 {
		return lagsOf(counts), nil
	}
	err := countFrom(ctx, cfg, from, func(m *ssfile.Message) {
		ss := pairOf(m)
		if at, ok := next[ss]; ok && m.Offset >= at {
			counts[ss]++
		}
	})
	if err != nil {
		return nil, err
	}
	return lagsOf(counts), nil
}

// lag is the Lag of a member of the round-robin group: the group's, from
// the position after what its members were handed (see group.handed).
func (g *group) lag(ctx context.Context, cfg *config, streams []driver.StreamKey) ([]driver.Lag, error) {
	g.mu.Lock()
	from := g.handed
	if len(g.ahead) > 0 {
		from = min(from, g.ahead[0].at) // put back by a Next that gave up
	}
	counts := make(map[driver.StreamShard]uint64, len(g.read))
	for ss := range g.read {
		counts[ss] = 0
	}
	g.mu.Unlock()
	f := newFilter(streams, nil)
	err := countFrom(ctx, cfg, from, func(m *ssfile.Message) {
		if f.match(m) {
			counts[pairOf(m)]++
		}
	})
	if err != nil {
		return nil, err
	}
	return lagsOf(counts), nil
}

// countFrom calls count for each message from position from to the end of
// the file or stream directory, or to an end-of-stream message. A position
// in a segment retention deleted counts from the oldest segment left: what
// was deleted is not lag, it cannot be read.
func countFrom(ctx context.Context, cfg *config, from int64, count func(m *ssfile.Message)) error {
	r, err := openLagCursor(cfg)
	if err != nil {
		return &driver.BackendError{Backend: Scheme, Op: "open the file to count the lag", Err: err}
	}
	defer r.Close()
	if from > format.HeaderSize {
		err := r.SetOffset(from)
		if d, ok := r.(*dirCursor); ok && errors.Is(err, ssdir.ErrSegmentDeleted) {
			err = d.rewind()
		}
		if err != nil {
			return &driver.BackendError{Backend: Scheme, Op: "count the lag", Err: err}
		}
	}
	for {
		m, err := r.Next(ctx)
		if errors.Is(err, io.EOF) || errors.Is(err, ssfile.ErrTornTail) {
			return nil // the end; or a message being written: not stored yet
		}
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return &driver.BackendError{Backend: Scheme, Op: "count the lag", Err: err}
		}
		if m.IsEndOfStream() {
			return nil // nothing after it is delivered
		}
		count(&m)
	}
}

// pairOf is the (stream, shard) of a stored message.
func pairOf(m *ssfile.Message) driver.StreamShard {
	return driver.StreamShard{Stream: driver.StreamKey(m.StreamKey), Shard: driver.ShardID(m.ShardID)}
}

func lagsOf(counts map[driver.StreamShard]uint64) []driver.Lag {
	out := make([]driver.Lag, 0, len(counts))
	for ss, n := range counts {
		out = append(out, driver.Lag{Stream: ss.Stream, Shard: ss.Shard, Messages: n})
	}
	return out
}

// openLagCursor opens a replaying reader of the file or stream directory,
// which does not copy payloads (the lag only counts).
func openLagCursor(cfg *config) (cursor, error) {
	if cfg.dir {
		r, err := ssdir.Open(cfg.path, ssdir.WithMode(ssfile.Replay))
		if err != nil {
			return nil, err
		}
		return &dirCursor{dir: cfg.path, r: r}, nil
	}
	return ssfile.Open(cfg.path, ssfile.WithMode(ssfile.Replay))
}
