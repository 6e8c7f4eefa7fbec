package filedriver

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/seastream/ss/format"
	"github.com/seastream/ss/ssfile"
	"github.com/seastream/ss/streamer/driver"
)

// maxPending bounds the sends of one file waiting for the flusher; Send
// blocks (backpressure) beyond it.
const maxPending = 1 << 14

// writers is the process-wide registry of shared writers, keyed by the
// cleaned absolute path of the file.
//
// It is package state on purpose: a .ss file can have only one writer at a
// time (ssfile locks it, even against the same process), yet any number of
// Conns of this process may produce to it. They all share one
// *ssfile.Writer, which also keeps sequence numbers contiguous per (stream,
// shard) and lets one flush serve every producer (group commit). An entry
// lives while at least one Conn holds it.
var writers = struct {
	sync.Mutex
	m map[string]*sharedWriter
}{m: make(map[string]*sharedWriter)}

// sharedWriter is one file's writer, shared by every producer of every Conn
// of this process on that file.
type sharedWriter struct {
	path string
	w    *ssfile.Writer
	cfg  config // of the Conn that opened it

	refs    int           // Conns holding it; guarded by writers
	eos     bool          // a Conn asked for an end-of-stream message; guarded by writers
	closing chan struct{} // closed when Close has finished; set when refs drop to 0

	mu      sync.Mutex    // orders sequence numbers with writes, guards queue and stopped
	queue   []queued      // written, waiting for the next flush
	stopped bool          // the last Conn released it: nothing more is queued
	kick    chan struct{} // wakes the flusher
	slots   chan struct{} // one per queued send: backpressure

	stop chan struct{} // stops the flusher
	done chan struct{} // closed when the flusher has returned
}

// queued is one send (or, with no header, one Flush call) waiting for a
// flush.
type queued struct {
	fut  *driver.Future
	h    driver.Header
	send bool // holds a slot
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
		if sw.closing == nil {
			sw.refs++
			writers.Unlock()
			return sw, nil
		}
		// The last Conn is closing it: wait, then open it again.
		closing := sw.closing
		writers.Unlock()
		select {
		case <-closing:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	defer writers.Unlock()
	if cfg.create == driver.CreateNever {
		// Append would create a file removed since Open: refuse.
		if _, err := os.Stat(cfg.path); err != nil {
			return nil, &driver.BackendError{Backend: Scheme, Op: "open the file for writing", Err: err}
		}
	}
	w, err := ssfile.Append(cfg.path,
		ssfile.WithBeaconInterval(cfg.beaconInterval),
		ssfile.WithSizeLimit(cfg.sizeLimit),
		ssfile.WithDurability(cfg.durability),
		ssfile.WithLogger(cfg.logger))
	if err != nil {
		return nil, &driver.BackendError{Backend: Scheme, Op: "open the file for writing", Err: err}
	}
	sw := &sharedWriter{
		path:  cfg.path,
		w:     w,
		cfg:   cfg,
		refs:  1,
		kick:  make(chan struct{}, 1),
		slots: make(chan struct{}, maxPending),
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
	closing := make(chan struct{})
	sw.closing = closing
	writeEOS := sw.eos
	writers.Unlock()

	sw.mu.Lock()
	sw.stopped = true // the flusher's last batch takes everything queued
	sw.mu.Unlock()
	close(sw.stop)
	<-sw.done
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

	writers.Lock()
	delete(writers.m, sw.path)
	writers.Unlock()
	close(closing)
	if err := errors.Join(errs...); err != nil {
		return &driver.BackendError{Backend: Scheme, Op: "close the file", Err: err}
	}
	return nil
}

// send assigns the sequence number and timestamp (unless verbatim), writes
// the message to the writer's buffer, and queues its receipt for the next
// flush.
func (sw *sharedWriter) send(ctx context.Context, h driver.Header, payload []byte, verbatim bool) (driver.Pending, error) {
	if uint64(len(payload)) > format.MaxPayloadSize {
		return nil, fmt.Errorf("%w: %d bytes, the file format holds at most %d", driver.ErrPayloadTooLarge, len(payload), uint64(format.MaxPayloadSize))
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
	select {
	case sw.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	sw.mu.Lock()
	if sw.stopped {
		sw.mu.Unlock()
		<-sw.slots
		return nil, driver.ErrProducerEnded
	}
	if !verbatim {
		st, _ := sw.w.Stream(string(h.StreamKey), uint64(h.Shard))
		h.Seq = driver.SeqNo(st.SeqNo + 1)
		if h.Timestamp.IsZero() {
			ts = uint64(time.Now().UnixMilli())
		}
	}
	mh := format.MessageHeader{StreamKey: string(h.StreamKey), ShardID: uint64(h.Shard), SeqNo: uint64(h.Seq), Timestamp: ts}
	if err := sw.w.Write(mh, payload); err != nil {
		sw.mu.Unlock()
		<-sw.slots
		return nil, sw.writeError("send", err)
	}
	h.Timestamp = time.UnixMilli(int64(ts)).UTC()
	fut := driver.NewFuture()
	sw.queue = append(sw.queue, queued{fut: fut, h: h, send: true})
	sw.mu.Unlock()
	sw.wake()
	return fut, nil
}

// flush waits until everything written before the call is flushed.
func (sw *sharedWriter) flush(ctx context.Context) error {
	fut := driver.NewFuture()
	sw.mu.Lock()
	if sw.stopped {
		sw.mu.Unlock()
		return driver.ErrProducerEnded
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
// resolves the receipts of the batch.
func (sw *sharedWriter) flusher() {
	defer close(sw.done)
	for {
		stopping := false
		select {
		case <-sw.kick:
		case <-sw.stop:
			stopping = true
		}
		sw.mu.Lock()
		batch := sw.queue
		sw.queue = nil
		sw.mu.Unlock()
		if len(batch) > 0 {
			var err error
			if ferr := sw.w.Flush(); ferr != nil {
				err = sw.writeError("flush", ferr)
			}
			for _, q := range batch {
				if err != nil {
					q.fut.Resolve(driver.Header{}, err)
				} else {
					q.fut.Resolve(q.h, nil)
				}
				if q.send {
					<-sw.slots
				}
			}
		}
		if stopping {
			return
		}
	}
}

func (sw *sharedWriter) writeError(op string, err error) error {
	if errors.Is(err, ssfile.ErrClosed) {
		return driver.ErrProducerEnded
	}
	return &driver.BackendError{Backend: Scheme, Op: op + " to " + strconv.Quote(sw.path), Err: err}
}

// createFile creates the file for Open (CreateIfMissing, CreateOnly). It
// returns an error matching fs.ErrExist if the file exists.
func createFile(cfg config) error {
	writers.Lock()
	_, open := writers.m[cfg.path]
	writers.Unlock()
	if open {
		return fs.ErrExist
	}
	w, err := ssfile.Create(cfg.path, ssfile.WithExclusive(),
		ssfile.WithBeaconInterval(cfg.beaconInterval),
		ssfile.WithSizeLimit(cfg.sizeLimit),
		ssfile.WithLogger(cfg.logger))
	if err != nil {
		return err
	}
	return w.Close()
}
