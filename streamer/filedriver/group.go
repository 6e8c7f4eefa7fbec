package filedriver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"

	"github.com/seastream/ss/ssfile"
	"github.com/seastream/ss/streamer/driver"
)

// groups is the process-wide registry of LoadBalanced groups, keyed by file
// path, group name and stream set.
//
// It is package state on purpose, the second and last piece besides the
// writer registry: members of a group may come from different Conns (even
// different Streamers) of this process, and they must find the one reader
// that divides the messages between them. As in SeaStreamer's file backend,
// a group lives in one process: two processes using the same group name each
// receive every message.
var groups = struct {
	sync.Mutex
	m map[string]*group
}{m: make(map[string]*group)}

// group reads a file once for all its members and deals the messages out.
//
// Dispatch is round-robin in join order: message i goes to the member after
// the one that got message i-1. It is deterministic as long as every member
// has room in its prefetch channel. A member whose channel is full is
// skipped (the message goes to the next member with room), so a slow member
// never stalls the others; when every member is full the reader waits, which
// bounds memory. A member that leaves (Close, or Seek/Rewind, which make it
// read alone) hands the messages it has not returned back to the group,
// which deals them out again before reading new ones: nothing is lost or
// delivered twice. A message handed back may reach its new member after
// later messages of the same (stream, shard).
type group struct {
	key    string
	name   string
	replay bool
	src    *source
	f      *filter
	log    *slog.Logger

	holders int  // consumers that received from src; guarded by groups
	ran     bool // the dispatcher has returned; guarded by groups

	mu      sync.Mutex
	members []*member
	next    int    // rotation: index of the member to try first
	back    []item // handed back, dealt out before new messages
	endErr  error  // the stream ended (or failed): members are told once
	stopped bool

	room      chan struct{}      // wakes the dispatcher
	interrupt context.CancelFunc // stops a read waiting for the file to grow
	cancel    context.CancelFunc
	done      chan struct{}
}

type member struct {
	c     *consumer
	gen   uint64
	ended bool // was sent endErr
}

func groupKey(path, name string, streams []driver.StreamKey) string {
	ks := make([]string, len(streams))
	for i, k := range streams {
		ks[i] = string(k)
	}
	slices.Sort(ks)
	return path + "\x00" + name + "\x00" + strings.Join(ks, ",")
}

// joinGroup adds c to its group, starting the group's reader if c is the
// first member.
func joinGroup(cfg config, opts driver.ConsumerOptions, c *consumer) (*group, error) {
	key := groupKey(cfg.path, opts.Group, c.streams)
	groups.Lock()
	defer groups.Unlock()
	g := groups.m[key]
	if g == nil {
		mode := ssfile.Live
		switch {
		case opts.Replay:
			mode = ssfile.Replay
		case opts.AutoStreamReset == driver.ResetEarliest:
			mode = ssfile.LiveReplay
		}
		src, err := openSource(cfg.path, mode, cfg.logger)
		if err != nil {
			return nil, err
		}
		ctx, cancel := context.WithCancel(context.Background())
		g = &group{
			key: key, name: opts.Group, replay: opts.Replay,
			src: src, f: newFilter(c.streams, nil), log: cfg.logger,
			room: make(chan struct{}, 1), cancel: cancel, done: make(chan struct{}),
		}
		groups.m[key] = g
		go g.run(ctx)
	} else if g.replay != opts.Replay {
		return nil, fmt.Errorf("%w (group %q has replay=%v): %w", ErrGroupMismatch, opts.Group, g.replay, driver.ErrInvalidOption)
	}
	g.holders++
	g.mu.Lock()
	g.members = append(g.members, &member{c: c, gen: c.gen})
	g.mu.Unlock()
	g.wake()
	return g, nil
}

// leave removes c from the group and hands back what c has not returned.
// The last member stops the group's reader. c.mu is held.
func (g *group) leave(c *consumer) {
	groups.Lock()
	g.mu.Lock()
	for i, m := range g.members {
		if m.c == c {
			g.members = slices.Delete(g.members, i, i+1)
			if i < g.next {
				g.next--
			}
			break
		}
	}
	if len(g.members) > 0 && g.next >= len(g.members) {
		g.next = 0
	}
	last := len(g.members) == 0
	if last {
		g.stopped = true
		g.back = nil
		if groups.m[g.key] == g {
			delete(groups.m, g.key)
		}
	}
	g.mu.Unlock()
	groups.Unlock()

	c.drain()
	if last {
		g.cancel()
		<-g.done
		groups.Lock()
		g.ran = true
		closeNow := g.holders == 0
		groups.Unlock()
		if closeNow {
			g.closeSource()
		}
	}
}

// release is called when a consumer that was a member closes: the payloads
// it received point into the group's file mapping, which must outlive them.
func (g *group) release() {
	groups.Lock()
	g.holders--
	closeNow := g.holders == 0 && g.ran
	groups.Unlock()
	if closeNow {
		g.closeSource()
	}
}

func (g *group) closeSource() {
	if err := g.src.close(); err != nil {
		g.log.Warn("filedriver: closing a group's reader", "group", g.name, "err", err)
	}
}

// giveBack queues messages a member did not return, to be dealt out again.
func (g *group) giveBack(items []item) {
	if len(items) == 0 {
		return
	}
	g.mu.Lock()
	if !g.stopped {
		g.back = append(g.back, items...)
		if g.interrupt != nil {
			g.interrupt() // deal them out now, not after the next write
		}
	}
	g.mu.Unlock()
	g.wake()
}

func (g *group) wake() {
	select {
	case g.room <- struct{}{}:
	default:
	}
}

// offer gives it to the next member in rotation that has room. It reports
// false if every member's channel is full; a message nobody can take any
// more (every member was told the stream ended) is dropped.
func (g *group) offer(it item) bool {
	n := len(g.members)
	open := false
	for i := 0; i < n; i++ {
		k := (g.next + i) % n
		m := g.members[k]
		if m.ended {
			continue
		}
		open = true
		it.gen = m.gen
		select {
		case m.c.out <- it:
			g.next = (k + 1) % n
			return true
		default:
		}
	}
	if !open && n > 0 {
		g.log.Warn("filedriver: a message handed back after the group's stream ended has no member to go to",
			"group", g.name, "stream", it.msg.StreamKey, "seq", it.msg.Seq)
		return true
	}
	return false
}

// notifyEnd tells every member that has not been told that the stream
// ended; it reports whether all have been.
func (g *group) notifyEnd() bool {
	all := true
	for _, m := range g.members {
		if m.ended {
			continue
		}
		select {
		case m.c.out <- item{err: g.endErr, gen: m.gen, grp: g}:
			m.ended = true
		default:
			all = false
		}
	}
	return all
}

// run is the dispatcher: it reads messages and deals them out, handed-back
// ones first, until the last member leaves.
func (g *group) run(ctx context.Context) {
	defer close(g.done)
	var cur *item // read, not yet dealt out
	// rctx bounds reads; giveBack cancels it (through g.interrupt) so that
	// handed-back messages are dealt out without waiting for new ones.
	var rctx context.Context
	var rcancel context.CancelFunc
	defer func() {
		if rcancel != nil {
			rcancel()
		}
	}()
	for {
		g.mu.Lock()
		if cur == nil && len(g.back) > 0 {
			it := g.back[0]
			g.back = g.back[1:]
			cur = &it
		}
		progress, wait := false, false
		switch {
		case cur != nil:
			if g.offer(*cur) {
				cur, progress = nil, true
			} else {
				wait = true
			}
		case g.endErr != nil:
			g.notifyEnd()
			wait = true // for handed-back messages or new members
		}
		g.mu.Unlock()
		if progress {
			continue
		}
		if wait {
			select {
			case <-g.room:
			case <-ctx.Done():
				return
			}
			continue
		}

		g.mu.Lock()
		if len(g.back) > 0 {
			g.mu.Unlock()
			continue
		}
		if rctx == nil || rctx.Err() != nil {
			rctx, rcancel = context.WithCancel(ctx)
		}
		g.interrupt = rcancel
		g.mu.Unlock()
		m, next, err := g.src.next(rctx)
		g.mu.Lock()
		g.interrupt = nil
		g.mu.Unlock()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, ssfile.ErrClosed) {
				return
			}
			if rctx.Err() != nil {
				continue // interrupted by giveBack
			}
			g.mu.Lock()
			g.endErr = readError(err)
			g.mu.Unlock()
			continue
		}
		if m.IsEndOfStream() {
			g.mu.Lock()
			g.endErr = driver.ErrStreamEnded
			g.mu.Unlock()
			continue
		}
		if g.f.match(&m) {
			cur = &item{msg: toMessage(&m), next: next, grp: g}
		}
	}
}
