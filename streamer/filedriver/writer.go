package filedriver

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/seastream/ss/format"
	"github.com/seastream/ss/ssdir"
	"github.com/seastream/ss/ssfile"
	"github.com/seastream/ss/streamer/driver"
)

// maxPending and maxPendingBytes bound the sends of one file waiting for
// the flusher, and their payload bytes; Send blocks (backpressure) beyond
// them. A megabyte is as much as the file's buffer holds: more would not
// make the flusher's batches cheaper, only the payload copies larger.
const (
	maxPending      = 1 << 14
	maxPendingBytes = 1 << 20
)

// writers is the process-wide registry of shared writers, keyed by the
// cleaned absolute path of the file.
//
// It is package state on purpose: a .ss file can have only one writer at a
// time (ssfile locks it, even against the same process), yet any number of
// Conns of this process may produce to it. They all share one
// *ssfile.Writer, which also keeps sequence numbers contiguous per (stream,
// shard) and lets one flush serve every producer (group commit). An entry
// lives while at least one Conn holds it, or until a write to the file fails:
// then the next producer reopens the file (see retire).
var writers = struct {
	sync.Mutex
	m map[string]*sharedWriter
}{m: make(map[string]*sharedWriter)}

// sharedWriter is one file's writer, shared by every producer of every Conn
// of this process on that file.
type sharedWriter struct {
	path  string
	w     streamWriter
	cfg   config      // of the Conn that opened it
	syncs *syncEvents // for the user's HookFsync hooks, nil without any

	refs    int           // Conns holding it; guarded by writers
	eos     bool          // a Conn asked for an end-of-stream message; guarded by writers
	closing chan struct{} // closed when Close has finished; set when refs drop to 0 or by retire

	mu       sync.Mutex      // guards what follows
	queue    []queued        // sent, waiting for the flusher to write and flush them
	spare    []queued        // the previous batch's array, for the next queue
	payloads payloadArena    // copies of the queued sends' payloads
	futures  []driver.Future // receipts not handed out yet: allocated a chunk at a time
	stopped  bool            // the last Conn released it: nothing more is queued
	failed   error           // a write to the file failed: nothing more is written
	kick     chan struct{}   // wakes the flusher
	pending  int             // sends queued or being written: at maxPending, Send waits
	bytes    int             // their payload bytes: at maxPendingBytes, Send waits
	room     chan struct{}   // closed when pending drops below the bounds; nil unless a Send waits

	stop chan struct{} // stops the flusher
	done chan struct{} // closed when the flusher has returned
}

// futureChunk is how many receipts the shared writer allocates at once.
const futureChunk = 256

// gathering is the flusher's group commit under SyncOnFlush. Producers
// that wait for each receipt send again as soon as theirs resolves; a flush
// taken at once after the last one resolved would hold only those that
// happened to queue during it, and the producers would settle into two
// cohorts taking turns, each receipt waiting about two fdatasyncs. So before
// a flush the flusher waits until as many sends are queued as the last
// flush held, or for a quarter of the last flush's time (what a late
// sender costs the others), as PostgreSQL's commit_delay does.
type gathering struct {
	last  int           // sends the last flush held
	took  time.Duration // how long it took (write and fdatasync)
	start time.Time
	timer *time.Timer
}

// maxGather bounds the wait.
const maxGather = time.Millisecond

// wait returns once enough sends are queued, the time is up, or the writer
// stops (then true).
func (g *gathering) wait(sw *sharedWriter) bool {
	if g.last < 2 {
		return false // one producer, or the first flush: nothing to gather
	}
	d := min(g.took/4, maxGather)
	if d <= 0 {
		return false
	}
	if g.timer == nil {
		g.timer = time.NewTimer(d)
	} else {
		g.timer.Reset(d)
	}
	defer g.timer.Stop()
	for {
		sw.mu.Lock()
		n := len(sw.queue)
		sw.mu.Unlock()
		if n >= g.last {
			return false
		}
		select {
		case <-sw.kick:
		case <-g.timer.C:
			return false
		case <-sw.stop:
			return true
		}
	}
}

func (g *gathering) started(n int) { g.last, g.start = n, time.Now() }
func (g *gathering) flushed()      { g.took = time.Since(g.start) }

// queued is one send (or, with no header, one Flush call) waiting for the
// flusher.
type queued struct {
	fut      *driver.Future
	h        driver.Header // the flusher sets Seq unless verbatim, and Timestamp
	payload  []byte        // a copy (payloadArena), or the sender's (written)
	written  chan struct{} // closed once the sender's payload is written
	ts       uint64        // the timestamp, in milliseconds
	end      int64         // where the message ends in the file, once written
	err      error         // why it was not written
	send     bool          // a message, not a Flush call
	verbatim bool          // h.Seq is the sender's
}

// acquireWriter returns the shared writer of cfg.path, opening (and
// creating, or recovering) the file if no Conn of this process has it open.
func acquireWriter(ctx context.Context, cfg config) (*sharedWriter, error) {
	for {
		writers.Lock()
		sw := writers.m[cfg.path]
		if sw == nil {
			break // keep the lock: open it below
		}
		if sw.closing == nil && sw.hasFailed() {
			writers.Unlock()
			sw.retire() // unless the flusher is at it already
			continue
		}
		if sw.closing == nil {
			sw.refs++
			writers.Unlock()
			return sw, nil
		}
		// The last Conn is closing it, or it failed and is being
		// retired: wait, then open it again.
		closing := sw.closing
		writers.Unlock()
		select {
		case <-closing:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	defer writers.Unlock()
	if cfg.create == CreateNever {
		// Append would create a file removed since Open: refuse.
		if _, err := os.Stat(cfg.path); err != nil {
			return nil, &driver.BackendError{Backend: Scheme, Op: "open the file for writing", Err: err}
		}
	}
	syncs := newSyncEvents(cfg)
	w, err := openWriter(&cfg, syncs)
	if err != nil {
		return nil, &driver.BackendError{Backend: Scheme, Op: "open the file for writing", Err: err}
	}
	sw := &sharedWriter{
		path:  cfg.path,
		w:     w,
		cfg:   cfg,
		syncs: syncs,
		refs:  1,
		kick:  make(chan struct{}, 1),
		stop:  make(chan struct{}),
		done:  make(chan struct{}),
	}
	writers.m[cfg.path] = sw
	go sw.flusher()
	return sw, nil
}

// release drops one Conn's hold. The last one flushes and closes the file,
// writing the end-of-stream message first if any Conn asked for it.
func (sw *sharedWriter) release(eos bool) error {
	writers.Lock()
	sw.refs--
	sw.eos = sw.eos || eos
	if sw.refs > 0 {
		writers.Unlock()
		return nil
	}
	retired := sw.closing != nil // by the flusher, which has closed the file
	closing := make(chan struct{})
	if !retired {
		sw.closing = closing
	}
	writeEOS := sw.eos
	writers.Unlock()

	sw.mu.Lock()
	sw.stopped = true // the flusher's last batch takes everything queued
	if sw.room != nil {
		close(sw.room) // a Send waiting for room ends
		sw.room = nil
	}
	sw.mu.Unlock()
	close(sw.stop)
	<-sw.done
	if retired {
		return nil // the sends and receipts reported the failure
	}
	var errs []error
	if writeEOS {
		h := format.MessageHeader{StreamKey: format.InternalStreamKey, Timestamp: uint64(time.Now().UnixMilli())}
		if err := sw.w.Write(h, []byte(format.EndOfStream)); err != nil {
			errs = append(errs, fmt.Errorf("writing the end-of-stream message: %w", err))
		}
	}
	if err := sw.w.Close(); err != nil {
		errs = append(errs, err)
	}
	sw.syncs.deliver() // Close synced

	writers.Lock()
	if writers.m[sw.path] == sw {
		delete(writers.m, sw.path)
	}
	writers.Unlock()
	close(closing)
	if err := errors.Join(errs...); err != nil {
		return &driver.BackendError{Backend: Scheme, Op: "close the file", Err: err}
	}
	return nil
}

// send queues a message for the flusher, which writes it, assigning the
// sequence number (unless verbatim), and flushes it: the receipt resolves
// then. The timestamp is taken here (unless given or verbatim), under mu,
// so that the file's timestamps follow its order. The caller may reuse the
// payload once Send returns: a small one is copied, and a large one, which
// a copy would double in memory, is written before send returns.
//
// Writing on the flusher's goroutine, rather than the sender's, keeps the
// writer's lock with one goroutine: a producer sending in a loop and the
// flusher taking turns at it would stall each other at every send.
func (sw *sharedWriter) send(ctx context.Context, h driver.Header, payload []byte, verbatim bool) (driver.Pending, error) {
	if uint64(len(payload)) > format.MaxPayloadSize {
		return nil, fmt.Errorf("%w: %d bytes, the file format holds at most %d", driver.ErrPayloadTooLarge, len(payload), uint64(format.MaxPayloadSize))
	}
	if frame := int64(format.HeaderSize + format.MessageSize(len(h.StreamKey), len(payload))); !sw.cfg.dir && frame > sw.cfg.sizeLimit {
		return nil, sw.writeError("send", fmt.Errorf("%w: a message of %d bytes with its file header, the limit is %d", ssfile.ErrSizeLimit, frame, sw.cfg.sizeLimit))
	}
	var ts uint64
	if !h.Timestamp.IsZero() {
		ms := h.Timestamp.UnixMilli()
		if ms < 0 || ms > format.MaxTimestamp {
			return nil, &driver.OptionError{Scheme: Scheme, Name: "timestamp", Value: h.Timestamp.String(),
				Reason: "the file format stores milliseconds from 1970 to the end of year 9999", Err: driver.ErrInvalidOption}
		}
		ts = uint64(ms)
	}
	sw.mu.Lock()
	if err := sw.waitRoom(ctx, len(payload)); err != nil {
		sw.mu.Unlock()
		return nil, err
	}
	if sw.stopped || sw.failed != nil {
		err := sw.failed
		sw.mu.Unlock()
		if err == nil {
			err = driver.ErrProducerEnded
		}
		return nil, err
	}
	if !verbatim && h.Timestamp.IsZero() {
		ts = uint64(nowMilli())
	}
	if len(sw.futures) == 0 {
		// A chunk of receipts, so that a send allocates none of its own;
		// a chunk is freed once no receipt in it is referenced.
		sw.futures = make([]driver.Future, futureChunk)
	}
	fut := &sw.futures[0]
	sw.futures = sw.futures[1:]
	q := queued{fut: fut, h: h, ts: ts, send: true, verbatim: verbatim}
	if len(payload) <= maxCopied {
		q.payload = sw.payloads.copy(payload)
	} else {
		q.payload, q.written = payload, make(chan struct{})
	}
	sw.queue = append(sw.queue, q)
	sw.pending++
	sw.bytes += len(payload)
	sw.mu.Unlock()
	sw.wake()
	if q.written != nil {
		<-q.written // the flusher reads payload until then, whatever ctx says
	}
	return fut, nil
}

// waitRoom waits, with mu held and released while it waits, while the
// queue is at its bounds (backpressure); a payload larger than
// maxPendingBytes waits for an empty queue. It returns at once when the
// writer is stopped or failed: send reports it.
func (sw *sharedWriter) waitRoom(ctx context.Context, size int) error {
	for (sw.pending >= maxPending || sw.bytes > 0 && sw.bytes+size > maxPendingBytes) && !sw.stopped && sw.failed == nil {
		if sw.room == nil {
			sw.room = make(chan struct{})
		}
		room := sw.room
		sw.mu.Unlock()
		select {
		case <-room:
		case <-ctx.Done():
			sw.mu.Lock()
			return ctx.Err()
		}
		sw.mu.Lock()
	}
	return nil
}

// write writes the batch's messages to the writer, unless a write failed
// before (failed): each one's end, sequence number or error is set in the
// batch. It returns the failure, if one is latched meanwhile.
func (sw *sharedWriter) write(batch []queued, failed error) error {
	for i := range batch {
		q := &batch[i]
		if !q.send {
			continue
		}
		if failed != nil {
			q.err = failed
		} else {
			q.err = sw.writeOne(q)
		}
		if q.written != nil {
			close(q.written) // the sender's payload is not read any more
		}
		if q.err != nil && failed == nil && errors.Is(q.err, ssfile.ErrWriterFailed) {
			sw.mu.Lock()
			if sw.failed == nil {
				sw.failed = q.err
			}
			failed = sw.failed
			sw.mu.Unlock()
		}
	}
	return failed
}

// writeOne writes q to the writer.
func (sw *sharedWriter) writeOne(q *queued) error {
	mh := format.MessageHeader{StreamKey: string(q.h.StreamKey), ShardID: uint64(q.h.Shard), SeqNo: uint64(q.h.Seq), Timestamp: q.ts}
	var err error
	if q.verbatim {
		if err = sw.w.Write(mh, q.payload); err == nil {
			q.end = sw.w.end()
		}
	} else {
		var seq uint64
		seq, q.end, err = sw.w.writeNext(mh, q.payload)
		q.h.Seq = driver.SeqNo(seq)
	}
	if err != nil {
		return sw.writeError("send", err)
	}
	return nil
}

// flush waits until everything written before the call is flushed.
func (sw *sharedWriter) flush(ctx context.Context) error {
	fut := driver.NewFuture()
	sw.mu.Lock()
	if sw.stopped || sw.failed != nil {
		err := sw.failed
		sw.mu.Unlock()
		if err == nil {
			err = driver.ErrProducerEnded
		}
		return err
	}
	sw.queue = append(sw.queue, queued{fut: fut})
	sw.mu.Unlock()
	sw.wake()
	_, err := fut.Wait(ctx)
	return err
}

func (sw *sharedWriter) wake() {
	select {
	case sw.kick <- struct{}{}:
	default:
	}
}

// flusher flushes what the producers wrote, one Flush per batch, and
// resolves the receipts of the batch. Once a write failed it resolves them by
// what the file holds, and retires the writer.
func (sw *sharedWriter) flusher() {
	defer close(sw.done)
	retired := false
	var gather gathering
	for {
		stopping := false
		select {
		case <-sw.kick:
		case <-sw.stop:
			stopping = true
		}
		if !stopping && sw.cfg.durability == ssfile.SyncOnFlush() {
			stopping = gather.wait(sw)
		}
		sw.mu.Lock()
		batch := sw.queue
		sw.queue, sw.spare = sw.spare[:0], nil
		chunks := sw.payloads.takeSealed()
		failed := sw.failed
		sw.mu.Unlock()
		failed = sw.write(batch, failed)
		if len(batch) > 0 && failed == nil {
			gather.started(len(batch))
			err := sw.w.Flush()
			gather.flushed()
			if err != nil {
				werr := sw.writeError("flush", err)
				sw.mu.Lock()
				if sw.failed == nil && errors.Is(werr, ssfile.ErrWriterFailed) {
					sw.failed = werr
				}
				failed = sw.failed // not ErrClosed if retire closed the file meanwhile
				sw.mu.Unlock()
				if failed == nil {
					failed = werr
				}
			}
		}
		// After a failure the file ends where the writer's last successful
		// Flush left it: a message before that end is stored; any after it
		// is not in the file.
		// The syncs of this flush reach the hooks before its receipts
		// resolve: a Flush that returned has had its fsync reported.
		sw.syncs.deliver()
		var flushed int64
		if failed != nil {
			if sw.cfg.dir && !retired && sw.hasFailed() {
				// A stream directory's writer may have latched the
				// failure of a rollover while the segment being written
				// is sound: closing it flushes what it buffers, so what
				// is stored is known once it is closed.
				retired = true
				sw.retire()
			}
			flushed = sw.w.flushed()
		}
		sends, bytes := 0, 0
		for _, q := range batch {
			switch {
			case q.err != nil:
				q.fut.Resolve(driver.Header{}, q.err)
			case failed != nil && (!q.send || q.end > flushed):
				q.fut.Resolve(driver.Header{}, failed)
			case q.send:
				q.h.Timestamp = time.UnixMilli(int64(q.ts)).UTC()
				q.fut.Resolve(q.h, nil)
			default:
				q.fut.Resolve(driver.Header{}, nil)
			}
			if q.send {
				sends++
				bytes += len(q.payload)
			}
		}
		clear(batch) // holds no receipt nor payload once resolved
		sw.mu.Lock()
		sw.spare = batch[:0]
		sw.pending -= sends
		sw.bytes -= bytes
		sw.payloads.recycle(chunks)
		if sw.room != nil { // a Send waits: it checks the bounds again
			close(sw.room)
			sw.room = nil
		}
		sw.mu.Unlock()
		if failed != nil && !retired && sw.hasFailed() {
			retired = true
			sw.retire()
		}
		if stopping {
			return
		}
	}
}

// retire takes a failed writer out of the registry and closes its file, so
// that the next producer of this process reopens the file, recovering it,
// instead of sharing a writer that refuses every write. The Conns that hold
// it keep getting its failure.
func (sw *sharedWriter) retire() {
	writers.Lock()
	if writers.m[sw.path] != sw || sw.closing != nil {
		writers.Unlock()
		return // retired already, or the last Conn is closing it
	}
	closing := make(chan struct{})
	sw.closing = closing
	writers.Unlock()
	sw.mu.Lock()
	cause := sw.failed
	sw.mu.Unlock()
	if err := sw.w.Close(); err != nil && cause == nil {
		cause = err
	}
	sw.cfg.logger.Error("filedriver: writing the file failed; the next producer reopens it", "path", sw.path, "err", cause)
	writers.Lock()
	delete(writers.m, sw.path)
	writers.Unlock()
	close(closing)
}

// hasFailed reports whether a write to the file failed: a new producer
// releases such a writer and acquires the file's writer again.
func (sw *sharedWriter) hasFailed() bool {
	sw.mu.Lock()
	defer sw.mu.Unlock()
	return sw.failed != nil
}

// writeError translates an error of the ssfile.Writer.
func (sw *sharedWriter) writeError(op string, err error) error {
	if errors.Is(err, ssfile.ErrClosed) || errors.Is(err, ssdir.ErrClosed) {
		return driver.ErrProducerEnded
	}
	var we *ssfile.WriteError
	switch {
	case errors.As(err, &we):
		err = &writeFailure{path: sw.path, err: we, cause: we.Err}
	case sw.cfg.dir && !errors.Is(err, ssfile.ErrWriterFailed):
		// A stream directory's writer latches what it cannot recover from
		// itself (a rollover whose seed or segment close failed) and asks
		// to be reopened; one that could not create a segment would try
		// again. Either way the next producer reopens it: Append recovers
		// what a failed rollover left.
		err = &writeFailure{path: sw.path, err: err, cause: err}
	}
	return &driver.BackendError{Backend: Scheme, Op: op + " to " + strconv.Quote(sw.path), Err: err}
}

// writeFailure is the error of every send, receipt and flush of a shared
// writer after a write to its file or stream directory failed (a full disk,
// a file truncated by another program). It matches ssfile.ErrWriterFailed
// and the cause.
type writeFailure struct {
	path  string
	err   error // an *ssfile.WriteError, or a stream directory writer's error
	cause error // what is shown
}

func (e *writeFailure) Error() string {
	return fmt.Sprintf("writing the file failed: %v; no message whose receipt failed is in the file: once the cause is fixed, send them again through a new producer, which reopens and recovers the file", e.cause)
}

func (e *writeFailure) Unwrap() error { return e.err }

// Is makes a stream directory's failure match ssfile.ErrWriterFailed, as a
// file's does through its *ssfile.WriteError.
func (e *writeFailure) Is(target error) bool { return target == ssfile.ErrWriterFailed }
