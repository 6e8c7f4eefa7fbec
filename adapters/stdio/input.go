package stdio

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"errors"
	"io"
	"log/slog"
	"reflect"
	"slices"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/seastream/ss/streamer/driver"
)

// inputs holds the inputs being read, keyed by their io.Reader, so that every
// connection reading one reader (os.Stdin) shares one reading goroutine and
// one set of consumers, as a process shares one standard input. Only readers
// of pointer type are shared; others get an input per connection.
var inputs = struct {
	sync.Mutex
	m map[io.Reader]*input
}{m: make(map[io.Reader]*input)}

// input reads lines from a reader and dispatches them to its consumers. Its
// goroutine starts with the first consumer.
type input struct {
	r       io.Reader
	shared  bool // registered in inputs
	errw    io.Writer
	maxLine int
	log     *slog.Logger

	refs     int           // connections using it; guarded by inputs
	stopping atomic.Bool   // the last connection closed: the goroutine must exit
	started  bool          // guarded by mu
	done     chan struct{} // closed when the reading goroutine has returned
	room     chan struct{} // capacity 1: a consumer took a message or left

	// dispatchMu serializes dispatches (lines read, loopback messages) and
	// the departure of consumers, so that every consumer receives messages
	// in one order.
	dispatchMu sync.Mutex

	mu         sync.Mutex // guards the fields below
	consumers  []*consumer
	seqs       map[driver.StreamShard]driver.SeqNo
	rr         map[string]uint64 // next member, per group
	orphans    map[string][]item // per group: messages queued for members that left
	dispatched uint64            // messages dispatched so far
	eof        bool              // the input ended
	endErr     error             // why, if not io.EOF

	errMu sync.Mutex // serializes reports on errw
}

// acquireInput returns the input reading r, creating it if needed, with one
// more reference.
func acquireInput(ctx context.Context, r io.Reader, errw io.Writer, maxLine int, log *slog.Logger) (*input, error) {
	if reflect.ValueOf(r).Kind() != reflect.Pointer {
		in := newInput(r, errw, maxLine, log)
		in.refs = 1
		return in, nil
	}
	for {
		inputs.Lock()
		in := inputs.m[r]
		if in != nil && in.stopping.Load() && !in.finished() {
			inputs.Unlock()
			select {
			case <-in.done:
				continue
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		if in == nil || in.finished() {
			in = newInput(r, errw, maxLine, log)
			in.shared = true
			inputs.m[r] = in
		}
		in.refs++
		inputs.Unlock()
		return in, nil
	}
}

func newInput(r io.Reader, errw io.Writer, maxLine int, log *slog.Logger) *input {
	return &input{
		r: r, errw: errw, maxLine: maxLine, log: log,
		done:    make(chan struct{}),
		room:    make(chan struct{}, 1),
		seqs:    make(map[driver.StreamShard]driver.SeqNo),
		rr:      make(map[string]uint64),
		orphans: make(map[string][]item),
	}
}

// finished reports whether the reading goroutine has returned.
func (in *input) finished() bool {
	select {
	case <-in.done:
		return true
	default:
		return false
	}
}

// deadliner is implemented by readers whose blocked Read can be interrupted.
type deadliner interface {
	SetReadDeadline(time.Time) error
}

// release drops a reference. The last one stops the reading goroutine if the
// reader can be interrupted, and waits for it; otherwise the goroutine stays
// blocked in Read, and the input stays registered for the next connection.
func (in *input) release(ctx context.Context) error {
	inputs.Lock()
	in.refs--
	if in.refs > 0 {
		inputs.Unlock()
		return nil
	}
	in.mu.Lock()
	started := in.started
	in.mu.Unlock()
	if !started || in.finished() {
		if in.shared && inputs.m[in.r] == in {
			delete(inputs.m, in.r)
		}
		inputs.Unlock()
		return nil
	}
	dl, ok := in.r.(deadliner)
	if !ok {
		inputs.Unlock()
		return nil
	}
	in.stopping.Store(true)
	if err := dl.SetReadDeadline(time.Unix(1, 0)); err != nil {
		// Not interruptible after all (os.Stdin on a terminal or a blocking
		// pipe): leave the goroutine to the next connection.
		in.stopping.Store(false)
		inputs.Unlock()
		return nil
	}
	inputs.Unlock()
	select {
	case <-in.done:
	case <-ctx.Done():
		return ctx.Err()
	}
	inputs.Lock()
	if in.shared && inputs.m[in.r] == in {
		delete(inputs.m, in.r)
	}
	inputs.Unlock()
	return nil
}

// addConsumer registers a consumer and starts reading if it is the first.
func (in *input) addConsumer(streams []driver.StreamKey, group string, prefetch int, loopback bool) *consumer {
	c := &consumer{
		in:       in,
		streams:  slices.Clone(streams),
		group:    group,
		loopback: loopback,
		prefetch: prefetch,
		notify:   make(chan struct{}, 1),
		closed:   make(chan struct{}),
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.eof && !loopback {
		c.end(in.endErr)
		return c
	}
	in.consumers = append(in.consumers, c)
	if !in.started {
		in.started = true
		if dl, ok := in.r.(deadliner); ok {
			_ = dl.SetReadDeadline(time.Time{}) // undo an earlier stop
		}
		go in.run()
	}
	return c
}

// removeConsumer unregisters c. What was queued for a group member becomes
// the group's orphans (see consumer).
func (in *input) removeConsumer(c *consumer) {
	in.dispatchMu.Lock()
	defer in.dispatchMu.Unlock()
	in.mu.Lock()
	defer in.mu.Unlock()
	i := slices.Index(in.consumers, c)
	if i < 0 {
		return
	}
	in.consumers = slices.Delete(in.consumers, i, i+1)
	in.wakeReader()
	if c.group == "" {
		return
	}
	if left := c.takeQueue(); len(left) > 0 {
		orphans := append(in.orphans[c.group], left...)
		slices.SortFunc(orphans, func(a, b item) int { return cmp.Compare(a.n, b.n) })
		in.orphans[c.group] = orphans
		for _, o := range in.consumers {
			if o.group == c.group {
				o.wake()
			}
		}
	}
}

// roomMade tells the reading goroutine that a consumer took a message.
func (in *input) roomMade() { in.wakeReader() }

func (in *input) wakeReader() {
	select {
	case in.room <- struct{}{}:
	default:
	}
}

// waitRoom waits while every consumer has its prefetch or more queued
// (backpressure); it returns at once if there is no consumer.
func (in *input) waitRoom() {
	for {
		in.mu.Lock()
		full := len(in.consumers) > 0
		for _, c := range in.consumers {
			if c.pending() < c.prefetch {
				full = false
				break
			}
		}
		in.mu.Unlock()
		if !full {
			return
		}
		<-in.room
	}
}

// run is the reading goroutine.
func (in *input) run() {
	defer close(in.done)
	br := bufio.NewReaderSize(in.r, 64<<10)
	var long []byte // a line longer than the bufio buffer, being assembled
	var lineNo int64
	for {
		frag, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			if len(long)+len(frag) > in.maxLine+1 { // +1: a '\r' may precede the '\n'
				lineNo++
				in.report(&LineError{Line: lineNo, Text: string(append(long, frag[:min(len(frag), 80)]...)), Err: ErrLineTooLong})
				long = long[:0]
				err = in.skipLine(br)
				if err == nil {
					continue
				}
				frag = nil
			} else {
				long = append(long, frag...)
				continue
			}
		}
		line := frag
		if len(long) > 0 {
			long = append(long, frag...)
			line = long
		}
		if len(line) > 0 || err == nil {
			lineNo++
			line = bytes.TrimSuffix(line, []byte{'\n'})
			line = bytes.TrimSuffix(line, []byte{'\r'})
			in.handleLine(lineNo, line)
			in.waitRoom()
		}
		if cap(long) > 1<<20 {
			long = nil // do not keep a huge buffer after a huge line
		}
		long = long[:0]
		if err != nil {
			if in.stopping.Load() {
				return
			}
			if errors.Is(err, io.EOF) {
				in.end(nil)
			} else {
				in.errMu.Lock()
				_, _ = io.WriteString(in.errw, "stdio: reading the input: "+err.Error()+"\n")
				in.errMu.Unlock()
				in.end(&driver.BackendError{Backend: "stdio", Op: "read", Err: err})
			}
			return
		}
	}
}

// skipLine discards input up to and including the next newline.
func (in *input) skipLine(br *bufio.Reader) error {
	for {
		_, err := br.ReadSlice('\n')
		if !errors.Is(err, bufio.ErrBufferFull) {
			return err
		}
	}
}

// handleLine parses one line (without its terminator) and dispatches it, or
// reports why it cannot.
func (in *input) handleLine(lineNo int64, line []byte) {
	if len(line) > in.maxLine {
		in.report(&LineError{Line: lineNo, Text: string(line[:min(len(line), 80)]), Err: ErrLineTooLong})
		return
	}
	if !utf8.Valid(line) {
		in.report(&LineError{Line: lineNo, Text: string(line[:min(len(line), 80)]), Err: driver.ErrInvalidUTF8})
		return
	}
	s := string(line)
	meta, payload, err := ParseLine(s)
	if err != nil {
		in.report(&LineError{Line: lineNo, Text: s, Err: err})
		return
	}
	in.dispatch(meta, []byte(payload))
}

// report writes a skipped line's error on the error writer.
func (in *input) report(e *LineError) {
	in.errMu.Lock()
	defer in.errMu.Unlock()
	_, _ = io.WriteString(in.errw, e.Error()+"\n")
}

// dispatch completes meta (stream key, seq, timestamp) and queues the
// message for every consumer it is for. Loopback messages come with a full
// meta.
func (in *input) dispatch(meta Meta, payload []byte) {
	in.dispatchMu.Lock()
	defer in.dispatchMu.Unlock()
	in.mu.Lock()
	defer in.mu.Unlock()
	h := driver.Header{StreamKey: meta.StreamKey, Shard: meta.Shard}
	if h.StreamKey == "" {
		h.StreamKey = Broadcast
	}
	ss := h.StreamShard()
	if meta.HasSeq {
		h.Seq = meta.Seq
	} else {
		h.Seq = in.seqs[ss]
	}
	in.seqs[ss] = h.Seq + 1
	if meta.HasTimestamp {
		h.Timestamp = meta.Timestamp.Truncate(time.Millisecond)
	} else {
		h.Timestamp = time.Now().UTC().Truncate(time.Millisecond)
	}
	in.dispatched++
	it := item{m: driver.Message{Header: h, Payload: payload}, n: in.dispatched}
	for _, c := range in.targets(meta.StreamKey == "", h.StreamShard()) {
		c.push(it)
	}
}

// targets returns the consumers a message is for: every ungrouped consumer
// subscribed to it (all of them for a broadcast), and one member of each
// group, round-robin. Called with in.mu held.
func (in *input) targets(broadcast bool, ss driver.StreamShard) []*consumer {
	var out []*consumer
	var groups []string
	members := map[string][]*consumer{}
	for _, c := range in.consumers {
		if !(broadcast || c.accepts(ss)) {
			continue
		}
		if c.group == "" {
			out = append(out, c)
			continue
		}
		if _, ok := members[c.group]; !ok {
			groups = append(groups, c.group)
		}
		members[c.group] = append(members[c.group], c)
	}
	for _, g := range groups {
		ms := members[g]
		k := in.rr[g]
		in.rr[g] = k + 1
		out = append(out, ms[k%uint64(len(ms))])
	}
	return out
}

// end ends the stream of every consumer that is not in loopback mode once it
// has received what was read: err nil means the end of the input.
func (in *input) end(err error) {
	in.dispatchMu.Lock()
	defer in.dispatchMu.Unlock()
	in.mu.Lock()
	defer in.mu.Unlock()
	in.eof = true
	in.endErr = err
	kept := in.consumers[:0]
	for _, c := range in.consumers {
		if c.loopback {
			kept = append(kept, c)
			continue
		}
		c.end(err)
	}
	clear(in.consumers[len(kept):])
	in.consumers = kept
	if err != nil {
		in.log.Warn("stdio: input failed", "err", err)
	}
}
