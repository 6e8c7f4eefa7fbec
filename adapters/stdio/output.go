package stdio

import (
	"context"
	"io"
	"reflect"
	"sync"

	"github.com/seastream/ss/streamer/driver"
)

// maxPending is how many bytes of lines may wait for the writer before Send
// blocks (backpressure).
const maxPending = 1 << 20

// outputs holds the outputs being written, keyed by their io.Writer, so that
// every connection writing one writer (os.Stdout) shares one writer
// goroutine, whole lines and one sequence counter per (stream, shard). Only
// writers of pointer type are shared.
var outputs = struct {
	sync.Mutex
	m map[io.Writer]*output
}{m: make(map[io.Writer]*output)}

// output buffers lines and writes them from one goroutine, as many lines per
// Write as have accumulated while the previous Write ran: one line per Write
// at low rates (low latency), large batches at high rates. Each Write holds
// whole lines only.
type output struct {
	w      io.Writer
	shared bool
	refs   int // guarded by outputs

	kick chan struct{} // wakes the writer; capacity 1
	stop chan struct{} // closed by the last release
	done chan struct{} // closed when the writer goroutine has returned
	once sync.Once     // starts the writer goroutine

	mu      sync.Mutex
	seqs    map[driver.StreamShard]driver.SeqNo
	buf     []byte        // lines not yet taken by the writer
	cur     *batch        // the batch of buf; nil when buf is empty
	last    *batch        // the most recent batch: Flush waits for it
	drained chan struct{} // closed (and replaced) when the writer takes buf
	err     error         // latched write error
}

// batch is the outcome of the lines written by one Write.
type batch struct {
	done chan struct{}
	err  error      // set before done is closed
	loop []loopback // messages to deliver to consumers once written
}

type loopback struct {
	in  *input
	msg driver.Message
}

func acquireOutput(ctx context.Context, w io.Writer) (*output, error) {
	if reflect.ValueOf(w).Kind() != reflect.Pointer {
		o := newOutput(w)
		o.refs = 1
		return o, nil
	}
	for {
		outputs.Lock()
		o := outputs.m[w]
		if o != nil && o.isStopping() && isDone(o.done) {
			delete(outputs.m, w) // stopped; its release is about to remove it
			o = nil
		}
		if o != nil && o.isStopping() {
			outputs.Unlock()
			select {
			case <-o.done:
				continue
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		if o == nil {
			o = newOutput(w)
			o.shared = true
			outputs.m[w] = o
		}
		o.refs++
		outputs.Unlock()
		return o, nil
	}
}

func newOutput(w io.Writer) *output {
	return &output{
		w:       w,
		kick:    make(chan struct{}, 1),
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
		seqs:    make(map[driver.StreamShard]driver.SeqNo),
		drained: make(chan struct{}),
	}
}

func (o *output) isStopping() bool {
	select {
	case <-o.stop:
		return true
	default:
		return false
	}
}

// release drops a reference; the last one writes what is buffered, stops the
// writer goroutine and waits for it (or for ctx).
func (o *output) release(ctx context.Context) error {
	outputs.Lock()
	o.refs--
	if o.refs > 0 {
		outputs.Unlock()
		return nil
	}
	close(o.stop)
	started := true
	o.once.Do(func() { started = false; close(o.done) })
	outputs.Unlock()
	if started {
		select {
		case <-o.done:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	outputs.Lock()
	if o.shared && outputs.m[o.w] == o {
		delete(outputs.m, o.w)
	}
	outputs.Unlock()
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.err
}

// start starts the writer goroutine once.
func (o *output) start() {
	o.once.Do(func() { go o.run() })
}

// run is the writer goroutine.
func (o *output) run() {
	defer close(o.done)
	var spare []byte
	for {
		select {
		case <-o.kick:
		case <-o.stop:
			o.writeBatch(&spare)
			return
		}
		o.writeBatch(&spare)
	}
}

// writeBatch takes the buffered lines and writes them in one Write.
func (o *output) writeBatch(spare *[]byte) {
	o.mu.Lock()
	buf, b, err := o.buf, o.cur, o.err
	if b == nil {
		o.mu.Unlock()
		return
	}
	o.buf, o.cur = (*spare)[:0], nil
	*spare = nil
	close(o.drained)
	o.drained = make(chan struct{})
	o.mu.Unlock()
	if err == nil {
		if _, werr := o.w.Write(buf); werr != nil {
			err = &driver.BackendError{Backend: "stdio", Op: "write", Err: werr}
			o.mu.Lock()
			o.err = err
			o.mu.Unlock()
		}
	}
	b.err = err
	if err == nil {
		for _, l := range b.loop {
			l.in.dispatch(Meta{StreamKey: l.msg.StreamKey, Shard: l.msg.Shard, HasShard: true,
				Seq: l.msg.Seq, HasSeq: true, Timestamp: l.msg.Timestamp, HasTimestamp: true}, l.msg.Payload)
		}
	}
	b.loop = nil
	close(b.done)
	if cap(buf) <= 4*maxPending {
		*spare = buf
	}
}

// write formats and queues one message, assigning its seq and timestamp
// unless verbatim. It blocks while too much is buffered, until ctx is done.
func (o *output) write(ctx context.Context, f Format, h driver.Header, payload []byte, verbatim bool, loop *input) (driver.Pending, error) {
	o.mu.Lock()
	for len(o.buf) >= maxPending && o.err == nil {
		drained := o.drained
		o.mu.Unlock()
		o.start()
		select {
		case o.kick <- struct{}{}:
		default:
		}
		select {
		case <-drained:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		o.mu.Lock()
	}
	if o.err != nil {
		err := o.err
		o.mu.Unlock()
		return nil, err
	}
	if o.isStopping() {
		o.mu.Unlock()
		return nil, driver.ErrClosed
	}
	ss := h.StreamShard()
	if !verbatim {
		h.Seq = o.seqs[ss]
	}
	o.seqs[ss] = h.Seq + 1
	if h.Timestamp.IsZero() && !verbatim {
		h.Timestamp = nowUTC()
	}
	h.Timestamp = h.Timestamp.UTC().Truncate(f.Precision())
	if err := CheckTimestamp(h.Timestamp); err != nil {
		o.mu.Unlock()
		return nil, err
	}
	o.buf = f.AppendLine(o.buf, h, payload)
	if o.cur == nil {
		o.cur = &batch{done: make(chan struct{})}
		o.last = o.cur
	}
	b := o.cur
	if loop != nil {
		b.loop = append(b.loop, loopback{in: loop, msg: driver.Message{Header: h, Payload: append([]byte{}, payload...)}})
	}
	o.mu.Unlock()
	o.start()
	select {
	case o.kick <- struct{}{}:
	default:
	}
	return &pending{b: b, h: h}, nil
}

// flush waits until every line queued before the call is written.
func (o *output) flush(ctx context.Context) error {
	o.mu.Lock()
	b, err := o.last, o.err
	o.mu.Unlock()
	if b == nil {
		return err
	}
	select {
	case o.kick <- struct{}{}:
	default:
	}
	select {
	case <-b.done:
		return b.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// pending is the driver.Pending of one message: its batch's outcome.
type pending struct {
	b *batch
	h driver.Header
}

func (p *pending) Wait(ctx context.Context) (driver.Header, error) {
	select {
	case <-p.b.done:
	default:
		select {
		case <-p.b.done:
		case <-ctx.Done():
			return driver.Header{}, ctx.Err()
		}
	}
	if p.b.err != nil {
		return driver.Header{}, p.b.err
	}
	return p.h, nil
}

// isDone reports whether ch is closed.
func isDone(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}
