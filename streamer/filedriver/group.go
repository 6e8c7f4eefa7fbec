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

// group reads a file once for all its members and shares the messages out.
//
// The group's reader fills one read-ahead queue of prefetch messages, shared
// by the members; each Next takes the message at its head, so a member
// receives messages in file order (order per (stream, shard) holds for every
// member) and each message goes to exactly one member. Members waiting in
// Next are served first come, first served, which is round-robin when they
// all wait: a member returns to the back of the line after each message. A
// member that does not call Next takes nothing and holds nothing, so it
// never stalls the others and has nothing to hand back when it leaves; when
// no member reads, the reader stops at prefetch messages, which bounds
// memory.
type group struct {
	key    string
	name   string
	replay bool
	src    *source
	f      *filter
	log    *slog.Logger
	limit  int // read-ahead bound

	members int  // guarded by groups
	holders int  // consumers that received from src; guarded by groups
	ran     bool // the reader has returned; guarded by groups

	mu      sync.Mutex
	ahead   []item    // read, not yet taken
	waiters []*waiter // Next calls waiting, in arrival order
	endErr  error     // the stream ended (or failed)
	// handed is the position after the last message handed to a member
	// (where the group is, for Lag); read holds the (stream, shard) pairs
	// the reader has queued.
	handed int64
	read   map[driver.StreamShard]struct{}
	last   driver.StreamShard // the reader's last pair, so read is not looked up per message

	room   chan struct{} // wakes the reader when ahead has room
	cancel context.CancelFunc
	done   chan struct{}
}

type waiter struct {
	reply chan item // buffered: the reader never blocks on it
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
func joinGroup(cfg config, opts driver.ConsumerOptions, c *consumer, prefetch int) (*group, error) {
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
		src, err := openSource(&cfg, mode)
		if err != nil {
			return nil, err
		}
		ctx, cancel := context.WithCancel(context.Background())
		g = &group{
			key: key, name: opts.Group, replay: opts.Replay,
			src: src, f: newFilter(c.streams, nil), log: cfg.logger, limit: prefetch,
			room: make(chan struct{}, 1), cancel: cancel, done: make(chan struct{}),
			handed: src.pos, read: make(map[driver.StreamShard]struct{}),
		}
		groups.m[key] = g
		go g.run(ctx)
	} else if g.replay != opts.Replay {
		return nil, fmt.Errorf("%w (group %q has replay=%v): %w", ErrGroupMismatch, opts.Group, g.replay, driver.ErrInvalidOption)
	}
	g.members++
	g.holders++
	return g, nil
}

// leave removes a member. The last one stops the group's reader.
func (g *group) leave() {
	groups.Lock()
	g.members--
	last := g.members == 0
	if last && groups.m[g.key] == g {
		delete(groups.m, g.key)
	}
	groups.Unlock()
	if !last {
		return
	}
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

func (g *group) wake() {
	select {
	case g.room <- struct{}{}:
	default:
	}
}

// errSwitched tells Next that its consumer left the group (Seek, Rewind).
var errSwitched = errors.New("filedriver: left the group")

// next returns the next message of the group for a member: the head of the
// read-ahead queue, or the next one read. It returns errSwitched when
// switched is closed (the member left) and ErrClosed when closed is.
func (g *group) next(ctx context.Context, closed, switched <-chan struct{}) (item, error) {
	g.mu.Lock()
	if len(g.ahead) > 0 {
		it := g.ahead[0]
		g.ahead = g.ahead[1:]
		g.handed = it.next
		g.mu.Unlock()
		g.wake()
		return it, nil
	}
	if g.endErr != nil {
		err := g.endErr
		g.mu.Unlock()
		return item{}, err
	}
	w := &waiter{reply: make(chan item, 1)}
	g.waiters = append(g.waiters, w)
	g.mu.Unlock()

	var err error
	select {
	case it := <-w.reply:
		return it, it.err
	case <-ctx.Done():
		err = ctx.Err()
	case <-closed:
		err = driver.ErrClosed
	case <-switched:
		err = errSwitched
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if i := slices.Index(g.waiters, w); i >= 0 {
		g.waiters = slices.Delete(g.waiters, i, i+1)
		return item{}, err
	}
	// Served while giving up.
	it := <-w.reply
	if it.err != nil {
		return item{}, it.err
	}
	if err == context.Canceled || err == context.DeadlineExceeded {
		return it, nil // the caller gets it rather than losing it
	}
	g.ahead = slices.Insert(g.ahead, 0, it) // back to the head for the others
	return item{}, err
}

// run is the group's reader.
func (g *group) run(ctx context.Context) {
	defer close(g.done)
	for {
		m, next, err := g.src.next(ctx)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, ssfile.ErrClosed) {
				return
			}
			g.end(readError(err))
			<-ctx.Done()
			return
		}
		if m.IsEndOfStream() {
			g.end(driver.ErrStreamEnded)
			<-ctx.Done()
			return
		}
		if !g.f.match(&m) {
			continue
		}
		it := item{at: m.Offset, next: next}
		g.src.messageTo(&it.msg, &m)
		g.mu.Lock()
		if ss := it.msg.StreamShard(); ss != g.last || len(g.read) == 0 {
			g.read[ss] = struct{}{}
			g.last = ss
		}
		for len(g.waiters) == 0 && len(g.ahead) >= g.limit {
			g.mu.Unlock()
			select {
			case <-g.room:
			case <-ctx.Done():
				return
			}
			g.mu.Lock()
		}
		if len(g.waiters) > 0 {
			w := g.waiters[0]
			g.waiters = g.waiters[1:]
			g.handed = it.next
			w.reply <- it
		} else {
			g.ahead = append(g.ahead, it)
		}
		g.mu.Unlock()
	}
}

// end records that the stream ended and tells the members waiting; the
// others find out when they have taken what is queued.
func (g *group) end(err error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.endErr = err
	for _, w := range g.waiters {
		w.reply <- item{err: err}
	}
	g.waiters = nil
}
