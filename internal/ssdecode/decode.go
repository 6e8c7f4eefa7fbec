// Package ssdecode is the engine of the ss-decode command: it prints a .ss
// file as text exactly as SeaStreamer's ss-decode does, and adds following
// the file as it grows and filters by stream, shard and start time that use
// the beacon seek rather than a scan.
//
// Output, as SeaStreamer's (sea-streamer-file/src/bin/decoder.rs):
//
//   - the header first, as a comment: "# {json}" in the log format,
//     "/* {json} */" in NDJSON;
//   - one line per message (see Format);
//   - after a message, when reading it passed a beacon that was not printed
//     yet, that beacon's markers as a comment. A beacon belongs to the message
//     whose bytes it splices, or to the next message when it falls between
//     two; only the last of the beacons a message passes is printed;
//   - the end-of-stream message is printed and ends the output.
//
// With filters, the beacon comments follow the printed messages by the same
// rule. Memory stays constant whatever the file size: the file is mapped,
// payloads are not copied and the output is buffered.
package ssdecode

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/seastream/ss/format"
	"github.com/seastream/ss/ssfile"
)

// Options says what to decode and how.
type Options struct {
	// Path is the .ss file.
	Path string
	// Format is the output format (default Log).
	Format Format
	// HeaderOnly leaves out payloads.
	HeaderOnly bool
	// Follow keeps reading as the file grows, like tail -f, until the
	// context ends or the end-of-stream message.
	Follow bool
	// Streams, when not empty, keeps only the messages of these stream keys.
	Streams []string
	// Shards, when not empty, keeps only the messages of these shards.
	Shards []uint64
	// Since, when not zero, keeps only the messages with a timestamp at or
	// after it, and starts reading where the beacons say the kept streams
	// reach it.
	Since time.Time
	// KnownStreams are (stream key, shard) pairs the file may have messages
	// of besides those its beacons' markers name, for the seek of Since:
	// the streams of a stream directory segment's seed, as the markers of
	// the streams written before the segment can crowd out those written
	// in it.
	KnownStreams []StreamShard
	// PollInterval is how often a followed file is checked when no change
	// notification arrives (default: ssfile's).
	PollInterval time.Duration
	// FlushInterval is the longest a followed line waits in the output
	// buffer (default 100ms).
	FlushInterval time.Duration
	// Until, when following, is closed once the file is known to be
	// complete, as a segment of a stream directory is once the segment
	// after it exists: Run then prints what is left of the file without
	// waiting, and returns nil.
	Until <-chan struct{}
}

// Validate reports whether the options can be used.
func (o *Options) Validate() error {
	if o.Path == "" {
		return fmt.Errorf("%w: no file given", ErrInvalidOption)
	}
	if o.Format != Log && o.Format != NDJSON {
		return fmt.Errorf("%w: unknown format %d", ErrInvalidOption, o.Format)
	}
	for _, k := range o.Streams {
		if k == "" || !format.ValidStreamKey(k) {
			return fmt.Errorf("%w: %q is not a stream key (allowed: A-Z a-z 0-9 . _ -, at most %d bytes)", ErrInvalidOption, k, format.MaxStreamKeyLen)
		}
	}
	if o.PollInterval < 0 || o.FlushInterval < 0 {
		return fmt.Errorf("%w: negative interval", ErrInvalidOption)
	}
	return nil
}

// Warning is a problem that does not stop decoding, such as a torn tail.
type Warning struct {
	Offset int64
	Err    error
}

func (w *Warning) Error() string { return w.Err.Error() }
func (w *Warning) Unwrap() error { return w.Err }

// Run decodes the file to out. It reports warnings to warn (which may be
// nil): a file that ends in the middle of a message is a warning matching
// ssfile.ErrTornTail, and Run then returns nil. It returns an error matching
// ssfile.ErrCorrupt at the first damaged message, after writing every line
// before it; an error from out (syscall.EPIPE when a pipe reader is gone);
// and, when following, nil once ctx is cancelled.
func Run(ctx context.Context, o Options, out io.Writer, warn func(*Warning)) (err error) {
	if err := o.Validate(); err != nil {
		return err
	}
	if warn == nil {
		warn = func(*Warning) {}
	}
	opts := []ssfile.ReaderOption{ssfile.WithMode(ssfile.Replay)}
	if o.Follow {
		opts = []ssfile.ReaderOption{ssfile.WithMode(ssfile.LiveReplay)}
		if o.PollInterval > 0 {
			opts = append(opts, ssfile.WithPollInterval(o.PollInterval))
		}
	}
	r, err := ssfile.Open(o.Path, opts...)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := r.Close(); err == nil && cerr != nil {
			err = cerr
		}
	}()

	w := newOutput(out)
	if o.Follow {
		w.startFlusher(cmpOr(o.FlushInterval, 100*time.Millisecond))
	}
	defer func() {
		if ferr := w.close(); err == nil {
			err = ferr
		}
	}()

	p := printer{format: o.Format, headerOnly: o.HeaderOnly}
	if err := w.write(p.header(r.Header())); err != nil {
		return err
	}
	f := newFilter(&o)
	if f.bySince {
		seekSince(r, f, o.KnownStreams, warn)
	}
	beacons := beaconWalk{r: r, interval: int64(r.Header().BeaconInterval)}
	printed := 0 // the last beacon printed; 0 is none, as SeaStreamer starts
	next, complete := untilContext(ctx, o)
	defer complete()
	for {
		sealed := next.Err() != nil // Until was closed before this read
		m, err := r.Next(next)
		switch {
		case err == nil:
		case errors.Is(err, io.EOF):
			return nil
		case errors.Is(err, ssfile.ErrTornTail):
			warn(tornWarning(r, err))
			continue // the next read ends the file
		case o.Follow && ctx.Err() != nil && errors.Is(err, ctx.Err()):
			return nil
		case o.Follow && errors.Is(err, context.Canceled) && next.Err() != nil:
			// Until: a read that starts once it is closed reads what
			// the file holds before it gives the cancellation (one
			// under way when it closed may not have looked again).
			if sealed {
				return nil
			}
			continue
		default:
			return err
		}
		if f.match(&m) {
			if err := w.write(p.message(&m)); err != nil {
				return err
			}
			end, err := beacons.end(&m)
			if err != nil {
				return err
			}
			if n := int((end - 1) / beacons.interval); n >= 1 && n != printed {
				b, err := beacons.get(n)
				if err != nil {
					return err
				}
				if err := w.write(p.beacon(b.Markers)); err != nil {
					return err
				}
				printed = n
			}
		}
		if m.IsEndOfStream() {
			return nil // SeaStreamer stops at the end of the stream
		}
		if o.Follow && r.Offset() >= r.Size() {
			if err := w.flush(); err != nil {
				return err
			}
		}
	}
}

// untilContext returns the context a followed file is read with: ctx,
// also cancelled once o.Until is closed. A cancelled context makes the
// reader return what the file holds without waiting for more.
func untilContext(ctx context.Context, o Options) (context.Context, func()) {
	if !o.Follow || o.Until == nil {
		return ctx, func() {}
	}
	next, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		select {
		case <-o.Until:
			cancel()
		case <-next.Done():
		}
	}()
	return next, func() { cancel(); <-done }
}

func cmpOr(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

func tornWarning(r *ssfile.Reader, err error) *Warning {
	off := r.Offset()
	var oe *ssfile.OffsetError
	if errors.As(err, &oe) {
		off = oe.Offset
	}
	return &Warning{Offset: off, Err: fmt.Errorf("the file ends in the middle of a message at offset %d, %d bytes before its end (a torn write?); the rest was not decoded: %w",
		off, r.Size()-off, ssfile.ErrTornTail)}
}

// beaconWalk finds the beacons a message passes.
type beaconWalk struct {
	r        *ssfile.Reader
	interval int64
	last     int
	beacon   *format.Beacon
}

func (b *beaconWalk) get(n int) (*format.Beacon, error) {
	if n != b.last || b.beacon == nil {
		bc, err := b.r.Beacon(n)
		if err != nil {
			return nil, err
		}
		b.last, b.beacon = n, bc
	}
	return b.beacon, nil
}

// end returns the offset just past the last byte of m, beacons spliced into
// it included.
func (b *beaconWalk) end(m *ssfile.Message) (int64, error) {
	p, left := m.Offset, int64(format.MessageSize(len(m.StreamKey), len(m.Payload)))
	for {
		room := b.interval - p%b.interval
		if left <= room {
			return p + left, nil
		}
		p += room
		left -= room
		bc, err := b.get(int(p / b.interval))
		if err != nil {
			return 0, err
		}
		p += int64(bc.Size())
	}
}

// filter keeps the messages the options ask for.
type filter struct {
	keys    []string
	shards  []uint64
	bySince bool
	since   uint64 // milliseconds, inclusive
}

func newFilter(o *Options) *filter {
	f := &filter{keys: o.Streams, shards: o.Shards}
	if !o.Since.IsZero() {
		f.bySince = true
		ms := o.Since.UnixMilli()
		if o.Since.Sub(time.UnixMilli(ms)) > 0 {
			ms++ // at or after a time between two milliseconds
		}
		f.since = uint64(max(ms, 0))
	}
	return f
}

func (f *filter) match(m *ssfile.Message) bool {
	return f.matchStream(m.StreamKey, m.ShardID) && (!f.bySince || m.Timestamp >= f.since)
}

func (f *filter) matchStream(key string, shard uint64) bool {
	return (len(f.keys) == 0 || slices.Contains(f.keys, key)) &&
		(len(f.shards) == 0 || slices.Contains(f.shards, shard))
}

// StreamShard is a (stream key, shard) pair.
type StreamShard struct {
	Key   string
	Shard uint64
}

// seekSince moves r to the earliest place where one of the kept streams
// reaches the start time, found with a beacon search per (stream, shard).
// The pairs are those the options name, or those the beacon markers mention.
// Reading from there with the filter gives every kept message at or after
// the start time, provided that each stream's timestamps do not go backwards
// and that its shards appear in some beacon, which holds unless a stream
// first appears in the last few beacon intervals of a file with more streams
// than markers per beacon (known, the pairs also searched, names streams
// the file may hold that way). Where the search cannot decide, reading
// starts at the beginning.
func seekSince(r *ssfile.Reader, f *filter, known []StreamShard, warn func(*Warning)) {
	var pairs []StreamShard
	if len(f.keys) > 0 && len(f.shards) > 0 {
		for _, k := range f.keys {
			for _, s := range f.shards {
				pairs = append(pairs, StreamShard{k, s})
			}
		}
	} else {
		seen := make(map[StreamShard]bool)
		add := func(p StreamShard) {
			if !seen[p] && f.matchStream(p.Key, p.Shard) {
				seen[p] = true
				pairs = append(pairs, p)
			}
		}
		for _, k := range f.keys {
			add(StreamShard{k, 0}) // the shard SeaStreamer writes
		}
		for _, p := range known {
			add(p)
		}
		for n := 1; n <= r.Count(); n++ {
			b, err := r.Beacon(n)
			if err != nil {
				warn(&Warning{Offset: int64(n) * int64(r.Header().BeaconInterval), Err: fmt.Errorf("cannot use the beacons to seek, reading from the beginning: %w", err)})
				return
			}
			for _, m := range b.Markers {
				add(StreamShard{m.StreamKey, m.ShardID})
			}
		}
	}
	if len(pairs) == 0 {
		return // no beacon to search: read from the beginning
	}
	after := time.UnixMilli(int64(f.since) - 1) // Seek looks for a timestamp after this
	best := int64(-1)
	for _, p := range pairs {
		err := r.Seek(ssfile.TimeTarget(p.Key, p.Shard, after))
		if errors.Is(err, ssfile.ErrNotFound) {
			continue
		}
		if err != nil {
			warn(&Warning{Err: fmt.Errorf("cannot seek %s shard %d, reading from the beginning: %w", p.Key, p.Shard, err)})
			_ = r.RewindToBeacon(0)
			return
		}
		if off := r.Offset(); best < 0 || off < best {
			best = off
		}
	}
	var err error
	if best >= 0 {
		err = r.SetOffset(best)
	} else {
		// No known stream reaches the start time: only messages after the
		// last beacon can.
		err = r.RewindToBeacon(r.Count())
	}
	if err != nil {
		warn(&Warning{Err: fmt.Errorf("seek failed, reading from the beginning: %w", err)})
		_ = r.RewindToBeacon(0)
	}
}

// output is the buffered standard output. It latches the first write error.
type output struct {
	mu   sync.Mutex
	w    *bufio.Writer
	err  error
	stop chan struct{}
	done chan struct{}
}

func newOutput(w io.Writer) *output { return &output{w: bufio.NewWriterSize(w, 64<<10)} }

func (o *output) write(b []byte) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.err == nil {
		_, o.err = o.w.Write(b)
	}
	return o.err
}

func (o *output) flush() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.err == nil && o.w.Buffered() > 0 {
		o.err = o.w.Flush()
	}
	return o.err
}

// startFlusher flushes every d, so that a followed line never waits longer
// in the buffer, even while the reader waits for the rest of a message.
func (o *output) startFlusher(d time.Duration) {
	o.stop, o.done = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(o.done)
		t := time.NewTicker(d)
		defer t.Stop()
		for {
			select {
			case <-o.stop:
				return
			case <-t.C:
				_ = o.flush()
			}
		}
	}()
}

// close stops the flusher and flushes.
func (o *output) close() error {
	if o.stop != nil {
		close(o.stop)
		<-o.done
	}
	return o.flush()
}

// ParseTime parses a start time: RFC 3339 (2023-06-05T13:55:53.001Z or with
// an offset), SeaStreamer's timestamp format in UTC (2023-06-05T13:55:53.001,
// the fraction optional), a date (2023-06-05, midnight UTC), or milliseconds
// since the Unix epoch.
func ParseTime(s string) (time.Time, error) {
	if s != "" && strings.Trim(s, "0123456789") == "" {
		ms, err := strconv.ParseInt(s, 10, 64)
		if err == nil {
			return time.UnixMilli(ms).UTC(), nil
		}
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%w: cannot read %q as a time: use RFC 3339 (2023-06-05T13:55:53.001Z), SeaStreamer's form in UTC (2023-06-05T13:55:53.001), a date (2023-06-05) or Unix milliseconds", ErrInvalidOption, s)
}
