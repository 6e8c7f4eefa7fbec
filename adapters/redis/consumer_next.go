package redis

// Handing out: the pages the fetcher passes to Next, and Next.

import (
	"context"

	"github.com/seastream/ss/streamer/driver"
)

// rbatch is a page of messages handed from the fetcher to Next.
type rbatch struct {
	gen  uint64
	msgs []driver.Message
	errs []itemErr // in place of some messages, by index
	acks []ackRef  // parallel to msgs when messages are acknowledged
	err  error     // the read failed
	end  bool      // Replay reached the end

	// order lists the messages with attributes, whose fields are read
	// again in the server's order (orderFields) before the batch goes out.
	order []fieldsRef
}

// fieldsRef is a message of a batch whose entry has fields besides the
// payload's.
type fieldsRef struct {
	idx     int // in msgs
	key, id string
}

type itemErr struct {
	idx int
	err error
}

// Next implements driver.Consumer.
func (k *Consumer) Next(ctx context.Context) (driver.Message, error) {
	if k.closed.Load() {
		return driver.Message{}, driver.ErrClosed
	}
	for {
		gen := k.gen.Load()
		if b := k.cur; b != nil && b.gen == gen {
			if k.curIdx < len(b.msgs) {
				i := k.curIdx
				k.curIdx++
				if b.acks != nil {
					k.acks.returned(b.acks[i])
				}
				if len(b.errs) > 0 && b.errs[0].idx == i {
					err := b.errs[0].err
					b.errs = b.errs[1:]
					return driver.Message{}, err
				}
				k.lag.took(i)
				return b.msgs[i], nil
			}
			if b.end {
				return driver.Message{}, driver.ErrStreamEnded
			}
		}
		if k.cur != nil {
			k.lag.handing(nil)
			k.recycle(k.cur)
			k.cur = nil
		}
		select {
		case b := <-k.out:
			if b.gen != k.gen.Load() {
				k.recycle(b)
				continue
			}
			if b.err != nil {
				return driver.Message{}, b.err
			}
			k.cur, k.curIdx = b, 0
			k.lag.handing(b)
		case <-k.done:
			return driver.Message{}, driver.ErrClosed
		case <-ctx.Done():
			return driver.Message{}, ctx.Err()
		}
	}
}

// maxSpare is how many message slices of pages Next is done with wait for
// the fetcher; maxSpareMsgs the longest one kept (claims make long pages).
const (
	maxSpare     = 2
	maxSpareMsgs = 4096
)

// recycle hands the message slice of a page Next is done with to the
// fetcher, which fills it again (takeSpare) instead of allocating one per
// page: Next returns messages by value, so nothing refers to the slice.
func (k *Consumer) recycle(b *rbatch) {
	msgs := b.msgs
	b.msgs = nil
	if cap(msgs) == 0 || cap(msgs) > maxSpareMsgs {
		return
	}
	select {
	case k.spare <- msgs[:0]:
	default:
	}
}

// takeSpare returns an empty message slice for a page, a recycled one if
// any, with the previous page's messages cleared (they hold payloads).
func (k *Consumer) takeSpare() []driver.Message {
	select {
	case msgs := <-k.spare:
		clear(msgs[:cap(msgs)])
		return msgs
	default:
		return nil
	}
}
