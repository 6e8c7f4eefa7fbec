package kafka

// Polling: Next takes records from the batch being handed out and, once it
// is all out, polls franz-go for the next one.

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"syscall"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/seastream/ss/streamer/driver"
)

// ConcurrentNext implements driver.ConcurrentNext: Next may be called
// concurrently.
func (k *Consumer) ConcurrentNext() {}

// Next implements driver.Consumer. It hands out the records of the last
// poll without locking (see handout) and polls franz-go for up to Prefetch
// more once they are all out. Next may be called concurrently
// (driver.ConcurrentNext): one of the callers polls, the others wait for it.
func (k *Consumer) Next(ctx context.Context) (driver.Message, error) {
	for {
		if h := k.out.Load(); len(h.recs) > 0 {
			if i := h.cursor.Add(1) - 1; i < uint64(len(h.recs)) {
				return toMessage(h.recs[i]), nil
			}
		}
		k.mu.Lock()
		if k.closed {
			k.mu.Unlock()
			return driver.Message{}, driver.ErrClosed
		}
		// Wait for a Seek or Rewind repositioning, or for another Next's
		// poll, then take from what it brought.
		if wait := cmp.Or(k.reconf, k.polling); wait != nil {
			k.mu.Unlock()
			select {
			case <-wait:
				continue
			case <-ctx.Done():
				return driver.Message{}, ctx.Err()
			case <-k.closeCh:
				return driver.Message{}, driver.ErrClosed
			}
		}
		h := k.out.Load()
		switch c := h.cursor.Load(); {
		case c >= cursorDropped:
			k.refilter()
			if len(k.out.Load().recs) > 0 {
				k.mu.Unlock()
				continue
			}
		case c < uint64(len(h.recs)):
			// Another Next installed this batch after our Add failed
			// on the one before.
			k.mu.Unlock()
			continue
		default:
			k.settle() // the batch is all out: account for it before replacing it
		}
		if k.replay && len(k.pending) == 0 {
			k.mu.Unlock()
			return driver.Message{}, driver.ErrStreamEnded
		}
		if err := ctx.Err(); err != nil {
			k.mu.Unlock()
			return driver.Message{}, err
		}
		pctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		k.polling, k.pollCancel = done, cancel
		cl := k.cl
		k.mu.Unlock()

		fetches := cl.PollRecords(pctx, k.prefetch)
		cancel()
		k.hook(func(h *testHooks) func() { return h.polled })

		k.mu.Lock()
		k.polling, k.pollCancel = nil, nil
		close(done)
		stale := k.reconf != nil // a Seek or Rewind cancelled this poll: drop what it got
		closed := k.closed
		var fatal error
		fetches.EachError(func(t string, p int32, err error) {
			switch {
			case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded),
				errors.Is(err, kgo.ErrClientClosed):
				// reported below from ctx and closed
			case isDataLoss(err), kerr.IsRetriable(err), transientGroupErr(err):
				k.conn.log.Warn("kafka: consuming", "topic", t, "partition", p, "err", err)
			case fatal == nil:
				fatal = k.fetchErr(t, p, err)
			}
		})
		n := 0
		if !stale && !closed {
			n = k.install(fetches)
		}
		k.mu.Unlock()
		cl.AllowRebalance() // installed: a revocation now drops what it must (BlockRebalanceOnPoll)
		switch {
		case closed:
			return driver.Message{}, driver.ErrClosed
		case n > 0 || stale:
			continue
		case fatal != nil:
			return driver.Message{}, wrapErr("next", fatal)
		case ctx.Err() != nil:
			return driver.Message{}, ctx.Err()
		}
	}
}

// fetchErr describes a fatal error of a poll: a group session's names the
// group (and says what to do when the members share no balancer), any
// other its partition.
func (k *Consumer) fetchErr(t string, p int32, err error) error {
	var gs *kgo.ErrGroupSession
	if !errors.As(err, &gs) {
		return fmt.Errorf("topic %q partition %d: %w", t, p, err)
	}
	if errors.Is(err, kerr.InconsistentGroupProtocol) {
		return fmt.Errorf("%w: group %q, this member offers %s: %w", ErrBalancerMismatch, k.group, k.balancers(), err)
	}
	return fmt.Errorf("group %q: %w", k.group, err)
}

func isDataLoss(err error) bool {
	var dl *kgo.ErrDataLoss
	return errors.As(err, &dl)
}

// transientGroupErr reports whether err is a group session failure that
// franz-go recovers from by itself, rejoining once the group coordinator
// answers again (a broker restart, a coordinator moving): a retriable Kafka
// error, a broken connection, or a refused or timed-out dial. Next then
// keeps waiting; other failures (authorization, a bad group setting, a host
// that does not exist) are its errors.
func transientGroupErr(err error) bool {
	var gs *kgo.ErrGroupSession
	if !errors.As(err, &gs) || gs.Err == nil {
		return false
	}
	if kerr.IsRetriable(gs.Err) || kgo.IsRetryableBrokerErr(gs.Err) {
		return true
	}
	var op *net.OpError
	if !errors.As(gs.Err, &op) || op.Op != "dial" {
		return false
	}
	var dns *net.DNSError
	notFound := errors.As(gs.Err, &dns) && dns.IsNotFound
	return !notFound && !errors.Is(gs.Err, syscall.EACCES) && !errors.Is(gs.Err, syscall.EPERM)
}

// install, called by Next with mu held once the batch is all out (and
// settled), makes the records of fetches that Next may return the new batch
// and returns how many there are. It skips records of partitions the group
// took away and, in a replay, records at or after their partition's end, and notes the
// partitions read to their end.
func (k *Consumer) install(fetches kgo.Fetches) int {
	k.revoked = nil // they concerned the batch before (see noteRevoked)
	b := make([]*kgo.Record, 0, fetches.NumRecords())
	fetches.EachRecord(func(r *kgo.Record) {
		if k.owned != nil && !k.owned[r.Topic][r.Partition] {
			return
		}
		if k.replay {
			end, ok := k.pending[r.Topic][r.Partition]
			if !ok || r.Offset >= end {
				return
			}
			if r.Offset+1 >= end {
				delete(k.pending[r.Topic], r.Partition)
				if len(k.pending[r.Topic]) == 0 {
					delete(k.pending, r.Topic)
				}
			}
		}
		b = append(b, r)
	})
	k.replace(b)
	return len(b)
}
