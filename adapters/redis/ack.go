package redis

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// ackRef names one entry to acknowledge.
type ackRef struct {
	key string
	id  ID
}

type ackEntry struct {
	ref ackRef
	at  time.Duration // since acker.epoch, when Next returned it
}

// acker keeps what a group consumer must acknowledge: the messages Next
// returned (for Commit and AckDelayed) and those marked with Ack.
type acker struct {
	k     *Consumer
	once  sync.Once
	epoch time.Time

	mu    sync.Mutex
	ret   []ackEntry // in the order returned
	acked []ackRef
}

func (a *acker) since() time.Duration {
	a.once.Do(func() { a.epoch = time.Now() })
	return time.Since(a.epoch)
}

// returned records that Next returned the entry (or skipped it).
func (a *acker) returned(r ackRef) {
	if r.key == "" {
		return
	}
	at := a.since()
	a.mu.Lock()
	a.ret = append(a.ret, ackEntry{ref: r, at: at})
	a.mu.Unlock()
}

// ack records an explicit Ack.
func (a *acker) ack(r ackRef) {
	a.mu.Lock()
	a.acked = append(a.acked, r)
	a.mu.Unlock()
}

// take removes and returns what to acknowledge: the explicit acks, plus
// every returned entry (all) or those returned at least CommitDelay ago
// (AckDelayed rounds).
func (a *acker) take(all bool) []ackRef {
	var limit time.Duration
	if !all && a.k.cfg.ack == AckDelayed {
		limit = a.since() - a.k.cfg.commitDelay
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	cut := len(a.ret)
	if !all {
		cut = 0
		if a.k.cfg.ack == AckDelayed {
			for cut < len(a.ret) && a.ret[cut].at <= limit {
				cut++
			}
		}
	}
	refs := a.acked
	a.acked = nil
	for _, e := range a.ret[:cut] {
		refs = append(refs, e.ref)
	}
	a.ret = a.ret[cut:]
	if len(a.ret) == 0 {
		a.ret = nil
	}
	return refs
}

// putBack keeps refs for the next round after a failure.
func (a *acker) putBack(refs []ackRef) {
	a.mu.Lock()
	a.acked = append(refs, a.acked...)
	a.mu.Unlock()
}

// commit acknowledges the explicit acks, and with all every returned
// message.
func (a *acker) commit(ctx context.Context, all bool) error {
	var refs []ackRef
	if all {
		refs = a.take(true)
	} else {
		a.mu.Lock()
		refs, a.acked = a.acked, nil
		a.mu.Unlock()
	}
	if err := a.send(ctx, refs); err != nil {
		a.putBack(refs)
		return err
	}
	return nil
}

// send acknowledges refs with pipelined XACKs, up to 1000 ids each.
func (a *acker) send(ctx context.Context, refs []ackRef) error {
	if len(refs) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, a.k.cfg.timeout)
	defer cancel()
	byKey := make(map[string][]string)
	var order []string
	for _, r := range refs {
		if _, ok := byKey[r.key]; !ok {
			order = append(order, r.key)
		}
		byKey[r.key] = append(byKey[r.key], r.id.String())
	}
	pipe := a.k.conn.client.Pipeline()
	for _, key := range order {
		ids := byKey[key]
		for len(ids) > 0 {
			n := min(len(ids), 1000)
			pipe.XAck(ctx, key, a.k.group, ids[:n]...)
			ids = ids[n:]
		}
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return backendErr("ack", err)
	}
	return nil
}

// run is the background acknowledger of AckDelayed and AckRolling: every
// CommitInterval, and once more when the consumer closes.
func (a *acker) run() {
	defer a.k.conn.wg.Done()
	defer a.k.wg.Done()
	t := time.NewTicker(a.k.cfg.commitInterval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			a.round()
		case <-a.k.done:
			a.round()
			return
		}
	}
}

func (a *acker) round() {
	refs := a.take(false)
	if err := a.send(context.Background(), refs); err != nil {
		a.putBack(refs)
		a.k.log.Warn("cannot acknowledge messages; will retry", slog.Int("messages", len(refs)), slog.Any("error", err))
	}
}
