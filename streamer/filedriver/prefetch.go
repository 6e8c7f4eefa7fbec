package filedriver

import "context"

// prefetch carries a solo reader's items to Next in batches: a channel
// operation per message, and the wake-up of the other goroutine it often
// takes, costs more than reading the message. The reader hands a batch on
// when it is full or when it would wait for the file to grow, so a batch
// never holds a message back. About prefetch items are queued at most
// (batches of up to batchMax, a sixteenth of it), plus the batch in Next's
// hand and the one being filled.
type prefetch struct {
	out      chan []item // batches, in order
	free     chan []item // batches Next has used up, to fill again
	batchMax int

	// Next's end, guarded by the consumer's mu.
	hand []item // the batch Next takes from
	at   int    // its next item
}

// maxBatch bounds a batch.
const maxBatch = 64

func newPrefetch(n int) *prefetch {
	b := min(max(n/16, 1), maxBatch)
	return &prefetch{out: make(chan []item, max(n/b, 1)), free: make(chan []item, max(n/b, 1)+2), batchMax: b}
}

// take returns the next item of the batch in hand, if any.
func (p *prefetch) take() (item, bool) {
	if p.at == len(p.hand) {
		return item{}, false
	}
	it := p.hand[p.at]
	p.at++
	if p.at == len(p.hand) {
		clear(p.hand) // the batch holds no message once handed out
	}
	return it, true
}

// receive puts a batch from out in Next's hand, giving the used-up one back
// for reuse.
func (p *prefetch) receive(b []item) {
	if p.hand != nil && p.at == len(p.hand) {
		select {
		case p.free <- p.hand[:0]:
		default:
		}
	}
	p.hand, p.at = b, 0
}

// drain drops what is queued and in hand: items read before a Seek or
// Rewind.
func (p *prefetch) drain() {
	for {
		select {
		case <-p.out:
		default:
			p.hand, p.at = nil, 0
			return
		}
	}
}

// filler is the reading goroutine's end of a prefetch.
type filler struct {
	p  *prefetch
	st *stats
	b  []item // being filled
}

// pending reports whether items wait to be handed on.
func (f *filler) pending() bool { return len(f.b) > 0 }

// add appends it, handing the batch on once full. It returns false if ctx
// ended while out was full.
func (f *filler) add(ctx context.Context, it item) bool {
	*f.slot() = it
	return f.added(ctx)
}

// slot returns the next item of the batch being filled, zero, for the
// caller to fill in place (an item is 120 bytes with pointers: built
// elsewhere and copied in, it costs a bulk write barrier while the GC
// marks); added then counts it.
func (f *filler) slot() *item {
	if f.b == nil {
		select {
		case b := <-f.p.free:
			f.b = b
		default:
			f.b = make([]item, 0, f.p.batchMax)
		}
	}
	f.b = f.b[:len(f.b)+1]
	return &f.b[len(f.b)-1]
}

// added hands the batch on once the slot filled made it full. It returns
// false if ctx ended while out was full.
func (f *filler) added(ctx context.Context) bool {
	return len(f.b) < f.p.batchMax || f.flush(ctx)
}

// flush hands on the batch being filled, waiting while out is full. It
// returns false if ctx ended first.
func (f *filler) flush(ctx context.Context) bool {
	if len(f.b) == 0 {
		return true
	}
	select {
	case f.p.out <- f.b:
		f.b = nil
		return true
	default:
	}
	f.st.blocked.Store(true)
	defer f.st.blocked.Store(false)
	select {
	case f.p.out <- f.b:
		f.b = nil
		return true
	case <-ctx.Done():
		return false
	}
}
