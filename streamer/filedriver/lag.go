package filedriver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"

	"github.com/seastream/ss/format"
	"github.com/seastream/ss/ssdir"
	"github.com/seastream/ss/ssfile"
	"github.com/seastream/ss/streamer/driver"
)

var _ driver.Lagger = (*consumer)(nil)

// Lag implements driver.Lagger: for each (stream, shard) the consumer reads,
// the messages in the file after its position (the last message Next
// returned, or where it started), counted with the consumer's own filter. It
// reads the file from that position to its end with a reader of its own, so
// its cost grows with the lag, not with the file. A LoadBalanced member that
// takes its messages from the group's queue has no position of its own in
// the file: its Lag returns an error matching driver.ErrUnsupported.
func (c *consumer) Lag(ctx context.Context) ([]driver.Lag, error) {
	c.mu.Lock()
	if c.isClosed {
		c.mu.Unlock()
		return nil, driver.ErrClosed
	}
	if c.member != nil || c.pairs != nil {
		c.mu.Unlock()
		return nil, fmt.Errorf("%w: the lag of a LoadBalanced member on file:// (its position is per pair it holds, or its group's queue)", driver.ErrUnsupported)
	}
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

	r, err := openLagCursor(&c.conn.cfg)
	if err != nil {
		return nil, &driver.BackendError{Backend: Scheme, Op: "open the file to count the lag", Err: err}
	}
	defer r.Close()
	if from > format.HeaderSize {
		if err := r.SetOffset(from); err != nil {
			return nil, &driver.BackendError{Backend: Scheme, Op: "count the lag", Err: err}
		}
	}
	for {
		m, err := r.Next(ctx)
		if errors.Is(err, io.EOF) || errors.Is(err, ssfile.ErrTornTail) {
			break // the end; or a message being written: not stored yet
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, &driver.BackendError{Backend: Scheme, Op: "count the lag", Err: err}
		}
		if m.IsEndOfStream() {
			break // nothing after it is delivered
		}
		if f.match(&m) {
			counts[driver.StreamShard{Stream: driver.StreamKey(m.StreamKey), Shard: driver.ShardID(m.ShardID)}]++
		}
	}
	out := make([]driver.Lag, 0, len(counts))
	for ss, n := range counts {
		out = append(out, driver.Lag{Stream: ss.Stream, Shard: ss.Shard, Messages: n})
	}
	return out, nil
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
