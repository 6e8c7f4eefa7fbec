package ssfile

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/seastream/ss/beacon"
	"github.com/seastream/ss/format"
)

// Writer appends messages to a .ss file. It is safe for concurrent use.
//
// A Writer runs a goroutine that writes full buffers while the next one
// fills (and, with SyncEvery, one that syncs); Close stops them and waits.
type Writer struct {
	mu      sync.Mutex
	f       *os.File
	path    string
	cfg     writerConfig
	header  format.Header
	mux     *beacon.Muxer
	buf     []byte // encoded bytes not yet written to the file
	flushed int64  // the file's size as of the last successful Flush
	ahead   int64  // bytes writeLoop wrote past flushed since then
	dirty   bool   // written bytes not yet synced

	// A full buffer is written by writeLoop while the next one fills: the
	// write(2) of one overlaps the encoding and checksumming of the other.
	spare     []byte
	inflight  bool // a buffer is with writeLoop
	jobs      chan []byte
	results   chan writeResult
	loopDone  chan struct{}
	flushedAt int64 // where writeLoop writes the buffer it has
	err       error // latched failure
	closed    bool

	maxBeacon int64 // the largest beacon of this file's interval

	stop chan struct{} // stops the periodic syncer
	done chan struct{}
}

// Create creates the file at path, or truncates it unless WithExclusive is
// given, and writes a new header.
//
// Create and Append refuse a path that is not a regular file (ErrNotRegular)
// and fail with ErrLocked while another Writer or an in-place repair holds
// the file. The lock they take is on the file the path names once it is
// taken: a file renamed over the path meanwhile is opened in its place.
func Create(path string, opts ...Option) (*Writer, error) {
	cfg, err := applyOptions(opts)
	if err != nil {
		return nil, err
	}
	h, err := newHeader(path, cfg) // before touching the file
	if err != nil {
		return nil, err
	}
	flag := os.O_RDWR | os.O_CREATE
	if cfg.exclusive {
		flag |= os.O_EXCL
	}
	f, err := openLocked("create", path, flag)
	if err != nil {
		return nil, err
	}
	// Not truncated when already empty (a new file): on ext4 a truncation
	// to 0 makes close start writing the file back at once (auto_da_alloc,
	// for programs that rewrite files in place), which a stream directory
	// closing each segment it rolls over from would pay at every rollover.
	if fi, err := f.Stat(); err != nil || fi.Size() != 0 {
		if err := f.Truncate(0); err != nil {
			f.Close()
			return nil, fmt.Errorf("ssfile: create: %w", err)
		}
	}
	return start(f, path, cfg, h)
}

// Append opens the file at path for appending, creating it when it does not
// exist. It recovers a file left by a crash (see the package documentation):
// it fails with an error matching ErrCorrupt only when damage is followed by
// valid messages, which cutting would lose; repair such a file first.
func Append(path string, opts ...Option) (*Writer, error) {
	cfg, err := applyOptions(opts)
	if err != nil {
		return nil, err
	}
	f, err := openLocked("append", path, os.O_RDWR|os.O_CREATE)
	if err != nil {
		return nil, err
	}
	rec, err := recoverFile(f, path, cfg.seed)
	if err != nil {
		f.Close()
		return nil, err
	}
	if rec == nil { // empty, or a header torn at creation
		h, err := newHeader(path, cfg)
		if err != nil {
			f.Close()
			return nil, err
		}
		if err := f.Truncate(0); err != nil {
			f.Close()
			return nil, fmt.Errorf("ssfile: append: %w", err)
		}
		return start(f, path, cfg, h)
	}
	if rec.end != rec.size {
		cfg.logger.Warn("ssfile: cutting the end of the file", "path", path,
			"offset", rec.end, "bytes", rec.size-rec.end, "reason", rec.reason)
		if err := f.Truncate(rec.end); err != nil {
			f.Close()
			return nil, fmt.Errorf("ssfile: append: cutting a torn tail: %w", err)
		}
		if err := f.Sync(); err != nil {
			f.Close()
			return nil, fmt.Errorf("ssfile: append: %w", err)
		}
	}
	w := newWriter(f, path, cfg, rec.header, beacon.NewMuxer(rec.header.BeaconInterval, rec.end, rec.tracker))
	w.flushed = rec.end
	w.buf = w.mux.AppendPendingBeacon(w.buf)
	return w, nil
}

func applyOptions(opts []Option) (writerConfig, error) {
	cfg := defaultWriterConfig()
	for _, o := range opts {
		if err := o.applyWriter(&cfg); err != nil {
			return cfg, err
		}
	}
	return cfg, nil
}

// newHeader is the header of a new file at path.
func newHeader(path string, cfg writerConfig) (format.Header, error) {
	h := format.Header{
		FileName:       filepath.Base(path),
		CreatedAt:      uint64(time.Now().UnixMilli()),
		BeaconInterval: cfg.interval,
	}
	if cfg.fileName != nil {
		h.FileName = *cfg.fileName
	}
	if !cfg.createdAt.IsZero() {
		h.CreatedAt = uint64(cfg.createdAt.UnixMilli())
	}
	if err := h.Validate(); err != nil {
		return h, fmt.Errorf("ssfile: header: %w", err)
	}
	return h, nil
}

// start writes the header of a new file; h is valid.
func start(f *os.File, path string, cfg writerConfig, h format.Header) (*Writer, error) {
	var seed *beacon.Tracker
	if cfg.seed != nil {
		seed = cfg.seed.Clone()
	}
	w := newWriter(f, path, cfg, h, beacon.NewMuxer(h.BeaconInterval, 0, seed))
	w.buf, _ = w.mux.AppendHeader(w.buf, h)
	if err := w.Flush(); err != nil {
		w.Close() // stops the goroutines; the error is latched
		return nil, err
	}
	return w, nil
}

func newWriter(f *os.File, path string, cfg writerConfig, h format.Header, mux *beacon.Muxer) *Writer {
	w := &Writer{f: f, path: path, cfg: cfg, header: h, mux: mux, buf: make([]byte, 0, cfg.bufferSize+64<<10),
		maxBeacon: int64(7 + format.MarkersPerBeacon(h.BeaconInterval)*format.MaxMarkerSize),
		jobs:      make(chan []byte), results: make(chan writeResult), loopDone: make(chan struct{})}
	go w.writeLoop()
	if cfg.durability.every > 0 {
		w.stop, w.done = make(chan struct{}), make(chan struct{})
		go w.syncEvery(cfg.durability.every)
	}
	return w
}

// Header returns the file header.
func (w *Writer) Header() format.Header { return w.header }

// Path returns the file's path.
func (w *Writer) Path() string { return w.path }

// Write appends one message. Its timestamp is in milliseconds; the Writer
// does not change the header. Write only buffers (see Flush), unless the
// buffer is full. An error matching ErrWriterFailed means a write to the file
// failed: as after a failed Flush, the file ends where the last successful
// Flush left it.
func (w *Writer) Write(h format.MessageHeader, payload []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.usable(); err != nil {
		return err
	}
	return w.write(h, payload)
}

// WriteNext is Write numbering the message: its sequence number is one past
// the highest its (stream key, shard) has in the file, 1 for the first (the
// header's SeqNo is not used). It returns that number and the file's size
// once the message is flushed (Size), in one step: no other Write can come
// between the numbering and the message.
func (w *Writer) WriteNext(h format.MessageHeader, payload []byte) (seq uint64, size int64, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.usable(); err != nil {
		return 0, 0, err
	}
	st, _ := w.mux.Tracker().Lookup(h.StreamKey, h.ShardID)
	h.SeqNo = st.SeqNo + 1
	if err := w.write(h, payload); err != nil {
		return 0, 0, err
	}
	return h.SeqNo, w.mux.Offset(), nil
}

func (w *Writer) write(h format.MessageHeader, payload []byte) error {
	if h.StreamKey == "" { // the format can hold one; SeaStreamer refuses it
		return fmt.Errorf("ssfile: write: the stream key is empty: %w", format.ErrInvalidStreamKey)
	}
	off := w.mux.Offset()
	room := w.cfg.sizeLimit - off
	// A frame grows by at most one beacon per interval it crosses; check
	// the bound first so that the muxer never commits a frame that won't fit.
	frame := int64(format.MessageSize(len(h.StreamKey), len(payload)))
	if frame+w.beaconBound(frame) > room {
		if frame > room || !fitsExactly(w.mux, h, payload, room) {
			return &OffsetError{Path: w.path, Offset: off, Err: ErrSizeLimit}
		}
	}
	var err error
	if chunk := max(w.cfg.bufferSize, minChunk); frame < int64(chunk) {
		w.buf, _, err = w.mux.AppendMessage(w.buf, h, payload)
	} else {
		// A frame larger than the buffer goes to writeLoop in chunks as it
		// is laid out, so that no buffer grows to its size. A chunk that
		// fails cuts the file back to the last Flush, as any write does.
		w.buf, _, err = w.mux.AppendMessageChunked(w.buf, chunk, h, payload, w.handOffChunk)
	}
	if err != nil {
		if w.err != nil { // a chunk's write failed
			return err
		}
		return fmt.Errorf("ssfile: write: %w", err)
	}
	if len(w.buf) >= w.cfg.bufferSize {
		return w.handOff()
	}
	return nil
}

type writeResult struct {
	buf []byte
	n   int
	err error
}

// writeLoop writes the buffers handOff gives it, at the end of the file,
// until Close closes jobs.
func (w *Writer) writeLoop() {
	defer close(w.loopDone)
	for buf := range w.jobs {
		// The offset is read here, not passed: handOff sends a buffer
		// only after collecting the previous one, so flushed is stable.
		n, err := 0, w.checkSize(w.flushedAt)
		if err == nil {
			n, err = w.f.WriteAt(buf, w.flushedAt)
		}
		w.results <- writeResult{buf, n, err}
	}
}

// handOff gives the full buffer to writeLoop and goes on with the spare one.
func (w *Writer) handOff() error {
	if err := w.collect(); err != nil {
		return err
	}
	w.flushedAt = w.flushed + w.ahead
	w.inflight = true
	w.jobs <- w.buf
	if w.spare == nil {
		w.spare = make([]byte, 0, cap(w.buf))
	}
	w.buf, w.spare = w.spare[:0], nil
	return nil
}

// minChunk is the smallest chunk a large frame is written in, whatever the
// buffer size: fewer, larger write(2) calls.
const minChunk = 64 << 10

// handOffChunk is handOff for AppendMessageChunked: buf is a full buffer,
// which may end in the middle of a frame.
func (w *Writer) handOffChunk(buf []byte) ([]byte, error) {
	w.buf = buf
	if err := w.handOff(); err != nil {
		return buf, err
	}
	return w.buf, nil
}

// collect waits for the buffer writeLoop has, if any.
func (w *Writer) collect() error {
	if !w.inflight {
		return nil
	}
	r := <-w.results
	w.inflight = false
	w.spare = r.buf[:0]
	return w.wrote(r.n, r.err)
}

// wrote accounts for a write of n bytes at the end of the file; a failed
// one fails the Writer.
func (w *Writer) wrote(n int, err error) error {
	if err != nil || w.err != nil { // after a failed sync, collect still cuts back
		return w.fail(err)
	}
	w.ahead += int64(n)
	w.dirty = true
	return nil
}

// fail latches err (unless a failure is latched already) and cuts the file
// back to where the last successful Flush left it, so that the file ends
// after a complete frame and holds no message of a failed Flush. The size is
// taken from fstat, not from the write's count: os.File.WriteAt reports 0
// bytes when one pwrite(2) of its loop wrote part of the buffer and the next
// failed. A file found shorter than that (ErrShrunk) is left alone: cutting
// would extend it.
func (w *Writer) fail(err error) error {
	w.ahead = 0
	size, serr := fileSize(w.f)
	if serr == nil && size > w.flushed {
		serr = w.f.Truncate(w.flushed)
	}
	if w.err != nil && serr == nil {
		return w.err
	}
	if prev, ok := w.err.(*WriteError); ok {
		err = prev.Err
	}
	if serr != nil {
		err = fmt.Errorf("%w (cutting the file back to %d bytes, the end of the last flushed message, also failed: %v; Append will cut the rest)", err, w.flushed, serr)
	}
	w.err = &WriteError{Path: w.path, Err: err}
	return w.err
}

// checkSize fails with ErrShrunk if the file is shorter than end, the bytes
// the Writer put in it: another program truncated it (logrotate's
// copytruncate does). Writing at end would leave a hole of zeros, header
// included, that no reader takes for a .ss file.
func (w *Writer) checkSize(end int64) error {
	size, err := fileSize(w.f)
	if err != nil {
		return fmt.Errorf("ssfile: %s: checking the file size: %w", w.path, err)
	}
	if size < end {
		return fmt.Errorf("%w: %s has %d bytes, the Writer wrote %d", ErrShrunk, w.path, size, end)
	}
	return nil
}

// beaconBound bounds what beacons can add to a frame of n bytes. The frame
// alone crosses at most n/interval + 1 boundaries; the beacons lengthen it,
// but a beacon is at most about a third of an interval (format
// MarkersPerBeacon), so twice that is a bound.
func (w *Writer) beaconBound(n int64) int64 {
	return 2 * (n/int64(w.header.BeaconInterval) + 1) * w.maxBeacon
}

// fitsExactly reports whether the message fits in room bytes, by laying it out
// on a copy of the muxer's state.
func fitsExactly(m *beacon.Muxer, h format.MessageHeader, payload []byte, room int64) bool {
	trial := m.Clone()
	start := trial.Offset()
	_, _, err := trial.AppendMessageChunked(nil, minChunk, h, payload, func(b []byte) ([]byte, error) { return b[:0], nil })
	return err == nil && trial.Offset()-start <= room
}

// writeEndOfStream appends the end-of-stream message.
func (w *Writer) writeEndOfStream() error {
	h := format.MessageHeader{StreamKey: format.InternalStreamKey, Timestamp: uint64(time.Now().UnixMilli())}
	return w.write(h, []byte(format.EndOfStream))
}

// Flush writes the buffered messages to the file. After it returns nil they
// survive a crash of this process and readers can see them; with SyncOnFlush
// they are also on stable storage.
//
// When a write fails (a full disk, an I/O error), Flush cuts the file back to
// where the last successful Flush left it: every message written since is
// not in the file, and the file ends after a complete frame. The error
// matches ErrWriterFailed and the cause (for example syscall.ENOSPC); the
// Writer refuses further writes until the file is reopened with Append. If
// the file became shorter than what the Writer wrote (another program
// truncated it), Flush fails with an error matching ErrShrunk and writes
// nothing.
func (w *Writer) Flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.usable(); err != nil {
		return err
	}
	return w.flush()
}

func (w *Writer) flush() error {
	if err := w.collect(); err != nil {
		return err
	}
	end := w.flushed + w.ahead
	if err := w.checkSize(end); err != nil { // one fstat per flush
		return w.fail(err)
	}
	if len(w.buf) > 0 {
		// pwrite at the known end: the file offset is not trusted, and the
		// bytes still go through write(2), which inotify reports to readers.
		n, err := w.f.WriteAt(w.buf, end)
		if err := w.wrote(n, err); err != nil {
			return err
		}
		w.buf = w.buf[:0]
	}
	if w.cfg.durability.onFlush {
		if err := w.sync(); err != nil {
			return w.fail(err) // its messages are not flushed: cut them too
		}
	}
	w.flushed += w.ahead
	w.ahead = 0
	return nil
}

// Sync flushes and then syncs the file to stable storage: after it returns
// nil, every message written so far survives a power failure.
func (w *Writer) Sync() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.usable(); err != nil {
		return err
	}
	if err := w.flush(); err != nil {
		return err
	}
	return w.sync()
}

func (w *Writer) sync() error {
	if !w.dirty {
		return nil
	}
	var start time.Time
	if w.cfg.onSync != nil {
		start = time.Now()
	}
	err := syncData(w.f)
	if w.cfg.onSync != nil {
		w.cfg.onSync(time.Since(start), err)
	}
	if err != nil {
		w.err = &WriteError{Path: w.path, Err: fmt.Errorf("sync: %w", err)}
		return w.err
	}
	w.dirty = false
	return nil
}

func (w *Writer) syncEvery(d time.Duration) {
	defer close(w.done)
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-w.stop:
			return
		case <-t.C:
			w.mu.Lock()
			if w.err == nil && !w.closed {
				if err := w.sync(); err != nil {
					w.cfg.logger.Error("ssfile: periodic sync failed", "path", w.path, "err", err)
				}
			}
			w.mu.Unlock()
		}
	}
}

func (w *Writer) usable() error {
	if w.closed {
		return ErrClosed
	}
	return w.err
}

// Stream returns what the file holds of one (stream key, shard): its highest
// sequence number and timestamp and its running checksum.
func (w *Writer) Stream(key string, shard uint64) (beacon.StreamState, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.mux.Tracker().Lookup(key, shard)
}

// Streams returns every (stream key, shard) in the file (and in the state it
// went on from, WithState).
func (w *Writer) Streams() []beacon.Stream {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.mux.Tracker().Streams()
}

// MarkersWritten returns how many markers the file's beacons carry (counted
// from the state it went on from, WithState).
func (w *Writer) MarkersWritten() uint64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.mux.Tracker().MarkersWritten()
}

// State returns the state the file ends with so far: what a file written
// after it goes on from (WithState).
func (w *Writer) State() beacon.State {
	w.mu.Lock()
	defer w.mu.Unlock()
	t := w.mux.Tracker()
	return beacon.State{Streams: t.Streams(), MarkersWritten: t.MarkersWritten()}
}

// Size returns the size the file has once buffered bytes are flushed.
func (w *Writer) Size() int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.mux.Offset()
}

// Flushed returns the size of the file as of the last successful Flush, Sync
// or Close: it ends after every message they covered. After a failed write
// the file is cut back to this size.
func (w *Writer) Flushed() int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.flushed
}

// Close writes the end-of-stream message if WithEndOfStream was given,
// flushes, syncs, stops the Writer's goroutines, waiting for them, and closes
// the file.
func (w *Writer) Close() error { return w.close(true) }

// CloseUnsynced is Close without the fdatasync: every message is handed to
// the operating system (it survives a crash of the process, not of the
// machine), which is all SyncNever promises. A stream directory closes the
// segments it rolls over from so when nothing asked for more.
func (w *Writer) CloseUnsynced() error { return w.close(false) }

func (w *Writer) close(sync bool) error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return ErrClosed
	}
	err := w.err // a latched failure is reported again
	if w.err == nil && w.cfg.eos {
		err = w.writeEndOfStream()
	}
	if w.err == nil && err == nil {
		if err = w.flush(); err == nil && sync {
			err = w.sync()
		}
	}
	if cerr := w.collect(); err == nil { // nothing is in flight after a flush, but after a failure there may be
		err = cerr
	}
	w.closed = true
	close(w.jobs)
	w.mu.Unlock()
	<-w.loopDone
	if w.stop != nil {
		close(w.stop)
		<-w.done
	}
	return errors.Join(err, w.f.Close())
}
