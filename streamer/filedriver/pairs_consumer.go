package filedriver

import (
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"time"

	"github.com/seastream/ss/format"
	"github.com/seastream/ss/ssdir"
	"github.com/seastream/ss/ssfile"
	"github.com/seastream/ss/streamer/driver"
)

// joinPairs makes c a member of its pair group (see pairGroup): it reads
// alone, from the group's start, handing on the pairs it holds, and a
// heartbeat goroutine rebalances the pairs.
func (c *consumer) joinPairs(opts driver.ConsumerOptions) error {
	mode := ssfile.Live
	if opts.AutoStreamReset == driver.ResetEarliest {
		mode = ssfile.LiveReplay
	}
	// The reader passes over what the member does not hold: neither
	// verified nor copied, it costs the member little to read the others'.
	f := newFilter(c.streams, nil)
	var member atomic.Pointer[pairGroup]
	pass := func(h *format.MessageHeader, at int64) bool {
		if h.StreamKey == format.InternalStreamKey {
			return false // an end-of-stream message ends every member
		}
		if !f.subscribed(h.StreamKey, h.ShardID) {
			return true
		}
		g := member.Load()
		return g != nil && !g.admit(driver.StreamShard{Stream: driver.StreamKey(h.StreamKey), Shard: driver.ShardID(h.ShardID)}, at)
	}
	src, err := openSource(&c.conn.cfg, mode, ssfile.WithPassOver(pass))
	if err != nil {
		return err
	}
	start := src.pos // the beginning (LiveReplay) or the end (Live)
	beat := c.conn.cfg.heartbeat
	if beat <= 0 {
		beat = DefaultHeartbeat
	}
	g, err := joinPairGroup(c.conn.cfg.path, opts.Group, c.streams, start, opts.ConsumerID, beat, c.log)
	if err != nil {
		src.close()
		return err
	}
	if c.conn.cfg.dir {
		g.settle = c.conn.cfg.settled
	}
	if g.start != src.pos {
		err := src.setOffset(g.start)
		if errors.Is(err, ssdir.ErrSegmentDeleted) {
			// The group began in a segment retention has deleted since:
			// its pairs' positions say where each goes on; the others
			// start at the oldest segment left.
			c.log.Warn("filedriver: the group's start was deleted by retention; reading from the oldest segment", "dir", c.conn.cfg.path, "group", opts.Group)
			err = src.rewind(0)
		}
		if err != nil {
			g.leave()
			src.close()
			return &driver.BackendError{Backend: Scheme, Op: "join the group", Err: err}
		}
	}
	if _, err := g.balance(); err != nil { // hold what is ours before reading
		g.leave()
		src.close()
		return &driver.BackendError{Backend: Scheme, Op: "join the group", Err: err}
	}
	if src.d != nil {
		if err := c.checkPairsDeleted(src, g); err != nil {
			g.leave()
			src.close()
			return &driver.BackendError{Backend: Scheme, Op: "join the group", Err: err}
		}
	}
	g.markReady() // the reader starts at the group's start, before every pair
	member.Store(g)
	c.pairs = g
	c.header = src.header()
	c.pos = position{offset: src.pos, seqs: make(map[driver.StreamShard]driver.SeqNo)}
	c.recent = recentSeq{}
	c.solo = startSolo(src, f, c.queue, c.gen, &c.stats, g)
	go c.heartbeat(g)
	return nil
}

// heartbeat rebalances the pairs of c's group every heartbeat, and when the
// reader finds a new pair, until the member leaves.
func (c *consumer) heartbeat(g *pairGroup) {
	defer close(g.done)
	t := time.NewTicker(g.beat)
	defer t.Stop()
	for {
		took, err := g.balance()
		if err != nil {
			c.log.Warn("filedriver: rebalancing the group", "dir", g.dir, "err", err)
		}
		if len(took) > 0 {
			c.rewindForPairs(slices.Min(took))
		}
		select {
		case <-g.stop:
			return
		case <-t.C:
		case <-g.wake:
		}
	}
}

// rewindForPairs moves the reader back to off, the position of a pair just
// taken, or to the oldest position of the pairs held if that is older: what
// the queue holds, and what a Next may have just taken from it, is dropped
// (a new generation), so every message not handed out yet must be read
// again. handOut drops what was returned already.
func (c *consumer) rewindForPairs(off int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.isClosed || c.pairs == nil || c.solo == nil {
		return
	}
	c.solo.stop()
	src := c.solo.src
	at := min(off, c.pairs.oldest())
	c.drain()
	// The reader's own offset: src.pos does not move over what it passes.
	var failed error
	if at != src.c.Offset() {
		err := src.setOffset(at)
		if errors.Is(err, ssdir.ErrSegmentDeleted) && c.conn.cfg.skipDeleted {
			c.log.Warn("filedriver: a pair taken has its position in a segment retention deleted; going on from the oldest segment left (skip_deleted)", "dir", c.conn.cfg.path, "err", err)
			err = src.rewind(0)
		}
		if errors.Is(err, ssdir.ErrSegmentDeleted) {
			// Reading on would skip the pair's messages that were deleted:
			// end the member with the error (skip_deleted goes on).
			failed = &driver.BackendError{Backend: Scheme, Op: "take a pair of the group", Err: fmt.Errorf("%w (give skip_deleted=true to go on from the oldest segment left)", err)}
		} else if err != nil {
			c.log.Warn("filedriver: moving the reader back for a pair taken", "offset", at, "err", err)
		}
	}
	c.gen++
	c.endErr = nil
	if failed != nil {
		c.endErr, c.endGen = failed, c.gen
		return
	}
	c.pairs.markReady()
	c.solo = startSolo(src, newFilter(c.streams, nil), c.queue, c.gen, &c.stats, c.pairs)
}

// leavePairs takes c out of its pair group, if it is in one: the pairs it
// holds are given up at the position after what Next returned. It must be
// called without c.mu, which the heartbeat takes.
func (c *consumer) leavePairs() error {
	c.mu.Lock()
	g := c.pairs
	c.mu.Unlock()
	if g == nil {
		return nil
	}
	g.stopOnce.Do(func() { close(g.stop) })
	<-g.done
	// Out of the group first: from here handOut refuses everything, so a
	// concurrent Next cannot return a message past the positions written.
	err := g.leave()
	c.mu.Lock()
	if c.pairs == g {
		c.pairs = nil
	}
	c.mu.Unlock()
	if err != nil {
		return &driver.BackendError{Backend: Scheme, Op: "leave the group", Err: err}
	}
	return nil
}

// checkPairsDeleted fails a member of a stream directory's group that took
// a pair whose position is in a segment retention deleted: reading on from
// the oldest segment left would skip the pair's messages in between. With
// skip_deleted it goes on, logging it.
func (c *consumer) checkPairsDeleted(src *source, g *pairGroup) error {
	oldest, err := src.d.oldest()
	if err != nil || oldest == 0 {
		return err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	for ss, h := range g.held {
		seg, _ := splitDirPos(h.next)
		if seg >= oldest {
			continue
		}
		if c.conn.cfg.skipDeleted {
			c.log.Warn("filedriver: a pair's position is in a segment retention deleted; going on from the oldest segment left (skip_deleted)",
				"dir", src.path, "pair", pairName(ss), "segment", seg, "oldest", oldest)
			continue
		}
		return fmt.Errorf("%w: pair %s of group %s is at segment %d of %s, which retention deleted before the group read it to its end (the oldest segment left is %d); give skip_deleted=true (filedriver.WithSkipDeleted) to go on from there, losing what was deleted",
			ssdir.ErrSegmentDeleted, pairName(ss), g.dir, seg, src.path, oldest)
	}
	return nil
}
