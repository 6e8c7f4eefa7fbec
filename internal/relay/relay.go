// Package relay copies messages from one streamer URI to another, keeping
// their headers: the engine of the ss-relay command.
//
// Messages are read with one consumer and written with one producer, in the
// order read, so the order of each (stream, shard) is kept. Archiving into a
// backend that takes verbatim headers (file, stdio) keeps each message's
// stream key, shard, sequence number and timestamp; into one that assigns
// sequence numbers (Kafka, Redis) it keeps the stream key, shard and
// timestamp.
//
// A message's key and attributes (Kafka record keys and headers, Redis
// entry fields besides the payload's) go with it to an output that stores
// them: Kafka, Redis, or a file with the archive envelope
// (file://x.ss?envelope=v1). Replaying such a file (its input URI with
// ?envelope=v1 too) gives them back, so that Kafka → file → Kafka keeps
// keys, headers, values and timestamps. An output that cannot store them
// (a plain file, stdio) gets the payloads alone, with a note; one without
// record keys (Redis) the attributes without the keys.
package relay

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/seastream/ss/internal/ssdecode"
	"github.com/seastream/ss/streamer"
	"github.com/seastream/ss/streamer/filedriver"
)

// Offset is where a relay starts when no Since time is given.
type Offset int

const (
	// End starts after the last message: only new messages are relayed
	// (the default, as SeaStreamer's relay).
	End Offset = iota
	// Start starts at the first message still stored.
	Start
)

// Config says what to relay. Input and Output are required.
type Config struct {
	// Input is the URI to read, with its stream keys
	// (file://a.ss/clock, kafka://host:9092/topic, stdio:///clock; the
	// wildcard key SEA_STREAMER_WILDCARD reads every stream of a file,
	// stdio or Kafka; Redis has none).
	Input string

	// Output is the URI to write. With one stream key, every message goes
	// to that stream; without, each keeps its own stream key.
	Output string

	// Mux opens both URIs; nil means streamer's default Mux.
	Mux *streamer.Mux

	// Options are given to both Opens, after the relay's own (e.g.
	// streamer.WithHooks for metrics).
	Options []streamer.Option

	// OnConsumer, if set, is called with the input's consumer once it is
	// created (for example to export its lag); it must not close it.
	OnConsumer func(*streamer.Consumer)

	// Start is where to begin without Since.
	Start Offset

	// Since, if not zero, starts at the first message with a timestamp at or
	// after it (by seeking where the backend can, else by skipping).
	Since time.Time

	// Until, if not zero, stops before the first message with a timestamp
	// after it.
	Until time.Time

	// Replay stops at the end of the data present when the relay starts,
	// instead of following new messages. It starts at the beginning
	// (or at Since).
	Replay bool

	// Count, if positive, stops after that many messages.
	Count int64

	// Renumber lets the output assign sequence numbers instead of keeping
	// the input's.
	Renumber bool

	// Shard, if not nil, sends every message to this shard instead of its
	// own.
	Shard *streamer.ShardID

	// Stderr receives reports of skipped messages, notes and progress; nil
	// discards them.
	Stderr io.Writer

	// Progress, if positive, reports progress on Stderr at this interval.
	// Terminal makes each report overwrite the previous one (a terminal);
	// otherwise each is a line.
	Progress time.Duration
	Terminal bool
}

// Stats counts what a relay did.
type Stats struct {
	Relayed     int64         // messages sent to the output and stored
	Skipped     int64         // messages the output cannot represent, reported and skipped
	Bytes       int64         // payload bytes relayed
	Elapsed     time.Duration //
	Interrupted bool          // ctx was cancelled: the relay stopped early, after flushing

	ended bool // the input ended (end of a replay, of stdin, an end-of-stream message)
}

// ErrConfig is wrapped by errors about the Config itself.
var ErrConfig = errors.New("relay: invalid configuration")

// Run relays until the input ends, Until or Count is reached, or ctx is
// cancelled (then it flushes what it has received, reports Interrupted and
// returns no error). The output is flushed and closed before Run returns.
func Run(ctx context.Context, cfg Config) (st Stats, err error) {
	start := time.Now()
	mux := cfg.Mux
	if mux == nil {
		mux = streamer.DefaultMux()
	}
	stderr := cfg.Stderr
	if stderr == nil {
		stderr = io.Discard
	}
	if cfg.Input == "" || cfg.Output == "" {
		return st, fmt.Errorf("%w: give both an input and an output URI", ErrConfig)
	}
	if cfg.Input == cfg.Output && !strings.HasPrefix(strings.ToLower(cfg.Input), "stdio:") {
		return st, fmt.Errorf("%w: the input and the output are the same URI %q", ErrConfig, cfg.Input)
	}
	// Checked before connecting: a URI that cannot be parsed is left to
	// Open, which reports it.
	inURI, inErr := streamer.ParseURI(cfg.Input)
	outURI, outErr := streamer.ParseURI(cfg.Output)
	if inErr == nil && len(inURI.Streams) == 0 {
		return st, fmt.Errorf("%w: the input URI %q names no stream: %s", ErrConfig, cfg.Input, streamHint(inURI))
	}
	if inErr == nil && outErr == nil {
		if err := checkLoop(inURI, outURI); err != nil {
			return st, err
		}
	}
	if !cfg.Since.IsZero() && !cfg.Until.IsZero() && cfg.Until.Before(cfg.Since) {
		return st, fmt.Errorf("%w: --until %s is before --since %s", ErrConfig, cfg.Until.Format(time.RFC3339Nano), cfg.Since.Format(time.RFC3339Nano))
	}

	// A context for the final flush and close: they must run even after ctx
	// is cancelled (Ctrl-C), but not forever.
	closeCtx := func() (context.Context, context.CancelFunc) {
		return context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	}

	// The backends' warnings (a broker retrying, records a topic will
	// not keep) go to Stderr with the relay's own notes.
	logs := streamer.WithLogger(slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{
		Level: slog.LevelWarn,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	})))
	in, err := mux.Open(ctx, cfg.Input, append([]streamer.Option{logs}, cfg.Options...)...)
	if err != nil {
		return st, fmt.Errorf("opening the input: %w", err)
	}
	defer func() {
		cctx, cancel := closeCtx()
		defer cancel()
		if cerr := in.Close(cctx); cerr != nil && err == nil && !errors.Is(cerr, streamer.ErrClosed) {
			err = fmt.Errorf("closing the input: %w", cerr)
		}
	}()
	streams := in.URI().Streams

	out, err := mux.Open(ctx, cfg.Output, append([]streamer.Option{streamer.WithDriverOption(filedriver.WithCreate(filedriver.CreateIfMissing)), logs}, cfg.Options...)...)
	if err != nil {
		return st, fmt.Errorf("opening the output: %w", err)
	}
	defer func() {
		cctx, cancel := closeCtx()
		defer cancel()
		if cerr := out.Close(cctx); cerr != nil && err == nil && !errors.Is(cerr, streamer.ErrClosed) {
			err = fmt.Errorf("closing the output: %w", cerr)
		}
	}()
	var rename streamer.StreamKey
	switch outStreams := out.URI().Streams; {
	case len(outStreams) == 0:
	case len(outStreams) == 1 && outStreams[0] != streamer.Wildcard:
		rename = outStreams[0]
	default:
		return st, fmt.Errorf("%w: the output URI %q must name one stream key (every message goes to it) or none (each keeps its own)", ErrConfig, cfg.Output)
	}

	// The consumer.
	copts := []streamer.ConsumerOption{}
	if cfg.Start == Start || !cfg.Since.IsZero() || cfg.Replay {
		copts = append(copts, streamer.WithAutoStreamReset(streamer.ResetEarliest))
	}
	if cfg.Replay {
		copts = append(copts, streamer.WithReplay())
	}
	// Ctrl-C while the relay connects is an interrupt like any other: a
	// clean stop with nothing relayed, not an error.
	setupFailed := func(err error) (Stats, error) {
		if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
			st.Interrupted = true
			if note := nothingNote(cfg, streams, st); note != "" {
				fmt.Fprintln(stderr, note)
			}
			return st, nil
		}
		return st, err
	}
	cons, err := in.NewConsumer(ctx, streams, copts...)
	if err != nil {
		return setupFailed(fmt.Errorf("consuming %q: %w", cfg.Input, err))
	}
	if cfg.OnConsumer != nil {
		cfg.OnConsumer(cons)
	}
	if !cfg.Since.IsZero() {
		err := cons.Seek(ctx, cfg.Since.Add(-time.Millisecond))
		if err != nil && !errors.Is(err, streamer.ErrUnsupported) {
			return setupFailed(fmt.Errorf("seeking %q to %s: %w", cfg.Input, cfg.Since.Format(time.RFC3339Nano), err))
		}
		// Without seeking, earlier messages are skipped below.
	}

	// The producer: verbatim headers if the output takes them.
	verbatim := !cfg.Renumber
	var popts []streamer.ProducerOption
	if verbatim {
		popts = append(popts, streamer.WithVerbatimHeaders())
	}
	prod, err := out.NewProducer(ctx, rename, popts...)
	if verbatim && errors.Is(err, streamer.ErrUnsupported) {
		renumberNote(stderr, out.Scheme())
		verbatim = false
		prod, err = out.NewProducer(ctx, rename)
	}
	if err != nil {
		return setupFailed(fmt.Errorf("producing to %q: %w", cfg.Output, err))
	}

	// Receipts are checked in order by a goroutine, so that a failed send
	// stops the relay without waiting for each one here.
	rctx, cancelRelay := context.WithCancel(ctx)
	defer cancelRelay()
	waitCtx, cancelWait := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelWait()
	var relayed, bytes atomic.Int64
	var sendErr error // set by the checker before it returns
	receipts := make(chan receipt, 4096)
	checked := make(chan struct{})
	go func() {
		defer close(checked)
		for r := range receipts {
			if _, err := r.r.Wait(waitCtx); err != nil {
				sendErr = fmt.Errorf("writing to %q: %w", cfg.Output, err)
				cancelRelay()
				for range receipts {
				}
				return
			}
			relayed.Add(1)
			bytes.Add(int64(r.size))
		}
	}()

	stopProgress := startProgress(cfg, stderr, start, &relayed, &bytes)

	w := &writer{out: out, prod: prod, rename: rename, verbatim: verbatim, stderr: stderr}
	last, loopErr := relayLoop(rctx, cfg, cons, w, receipts, &st)

	// Flush and end the producers (every receipt then has its outcome), then
	// wait for the checker.
	cctx, cancel := closeCtx()
	endErr := w.prod.End(cctx)
	cancel()
	if endErr != nil {
		cancelWait() // receipts may never resolve
	}
	if last != nil {
		// Sent as ctx was cancelled: it is checked and counted like the
		// others. The checker drains until close, so this does not block
		// for long.
		receipts <- *last
	}
	close(receipts)
	<-checked
	stopProgress()
	st.Relayed, st.Bytes, st.Elapsed = relayed.Load(), bytes.Load(), time.Since(start)
	st.Interrupted = ctx.Err() != nil

	switch {
	case sendErr != nil:
		return st, sendErr
	case loopErr != nil:
		return st, loopErr
	case endErr != nil && !errors.Is(endErr, streamer.ErrProducerEnded):
		return st, fmt.Errorf("flushing %q: %w", cfg.Output, endErr)
	}
	if cfg.Progress > 0 {
		fmt.Fprintf(stderr, "%s%s\n", progressPrefix(cfg), summary(st))
	}
	if st.ended && cfg.Replay && inURI != nil && inURI.Scheme == "file" {
		// The file driver ends a replay at a torn tail in silence, as a
		// writer may be in the middle of that message; like ss-decode,
		// say that the rest was not read.
		if w, err := ssdecode.TornTail(filePath(inURI)); err == nil && w != nil {
			fmt.Fprintf(stderr, "ss-relay: warning: %s: %v\n", filePath(inURI), w)
		}
	}
	if note := nothingNote(cfg, streams, st); note != "" {
		fmt.Fprintln(stderr, note)
	}
	return st, nil
}

// nothingNote says why a relay that ended without error relayed nothing,
// or returns "": a stream key that matches nothing (a typo) would otherwise
// end in silence. A live input interrupted before its first message gets
// the note too, in the past tense of waiting.
func nothingNote(cfg Config, streams []streamer.StreamKey, st Stats) string {
	if st.Relayed > 0 || st.Skipped > 0 {
		return ""
	}
	keys := make([]string, len(streams))
	for i, k := range streams {
		keys[i] = string(k)
	}
	names := strings.Join(keys, ",")
	var when string
	if !cfg.Since.IsZero() || !cfg.Until.IsZero() {
		when = " in the time range of --since and --until"
	}
	if st.Interrupted {
		return fmt.Sprintf("ss-relay: no message of stream(s) %s arrived from %q%s before the interrupt", names, cfg.Input, when)
	}
	return fmt.Sprintf("ss-relay: no message of stream(s) %s in %q%s", names, cfg.Input, when)
}

// streamHint says how to name the streams of u's backend.
func streamHint(u *streamer.URI) string {
	switch u.Scheme {
	case "file":
		return fmt.Sprintf("add the stream keys after the file (file://%s/clock,orders), or %s for every stream of the file", u.Addr, streamer.Wildcard)
	case "kafka":
		return fmt.Sprintf("add the topics after the brokers (kafka://%s/orders,payments), or %s for every topic", u.Addr, streamer.Wildcard)
	case "stdio":
		return fmt.Sprintf("add the stream keys (stdio:///clock), or %s for every stream on standard input", streamer.Wildcard)
	case "redis", "rediss":
		return fmt.Sprintf("add the stream keys after the server (%s://%s/orders,payments); Redis has no key for every stream", u.Scheme, u.Addr)
	}
	return fmt.Sprintf("add the stream keys after the address (%s://%s/orders)", u.Scheme, u.Addr)
}

// checkLoop refuses an output that is the input's own file, written in a
// stream the input reads: every message relayed would be read again, a
// feedback loop that grows the file without end. Spellings of one file
// (file://a.ss, file://./a.ss, a symbolic or hard link) are the same file:
// they are compared by what they resolve to (os.SameFile). An output that does
// not exist yet cannot be the input.
func checkLoop(in, out *streamer.URI) error {
	if in.Scheme != "file" || out.Scheme != "file" {
		return nil
	}
	ip, op := filePath(in), filePath(out)
	ifi, err := os.Stat(ip)
	if err != nil {
		return nil // a missing input is reported when it is opened
	}
	ofi, err := os.Stat(op)
	if err != nil || !os.SameFile(ifi, ofi) {
		return nil
	}
	// The same file: a loop unless the output's single stream is one the
	// input does not read.
	if len(out.Streams) == 1 && !slices.Contains(in.Streams, out.Streams[0]) && !slices.Contains(in.Streams, streamer.Wildcard) {
		return nil
	}
	return fmt.Errorf("%w: the output %q is the input's file %q, and its messages would be read again (a feedback loop): write to another file, or to a stream the input does not read", ErrConfig, out.Raw, ip)
}

// filePath is the path of a file:// URI's file.
func filePath(u *streamer.URI) string {
	p, err := url.PathUnescape(u.Addr)
	if err != nil {
		return u.Addr // the backend reports it
	}
	return p
}

type receipt struct {
	r    streamer.Receipt
	size int
}

// writer sends to the output, falling back from verbatim headers to
// backend-assigned sequence numbers when the output rejects a header (a
// Redis output takes only sequence numbers that are Redis ids).
type writer struct {
	out      *streamer.Streamer
	prod     *streamer.Producer
	rename   streamer.StreamKey
	verbatim bool
	noKey    bool // the output refused a record key: keys are dropped
	noAttrs  bool // the output refused attributes: they are dropped
	stderr   io.Writer
}

func (w *writer) send(ctx context.Context, cfg Config, m streamer.Message) (streamer.Receipt, error) {
	stream := m.StreamKey
	if w.rename != "" {
		stream = w.rename
	}
	shard := m.Shard
	if cfg.Shard != nil {
		shard = *cfg.Shard
	}
	opts := []streamer.SendOption{streamer.WithShard(shard), streamer.WithTimestamp(m.Timestamp)}
	if w.verbatim {
		opts = append(opts, streamer.WithSeq(m.Seq))
	}
	withKey := m.Key != nil && !w.noKey
	withAttrs := len(m.Attrs) > 0 && !w.noAttrs
	if withKey {
		opts = append(opts, streamer.WithKey(m.Key))
	}
	if withAttrs {
		opts = append(opts, streamer.WithAttrs(m.Attrs...))
	}
	r, err := w.prod.SendTo(ctx, stream, m.Payload, opts...)
	if err != nil && (withKey || withAttrs) && errors.Is(err, streamer.ErrExtrasUnsupported) {
		// The output cannot store them: say so once, and go on without
		// them, as a relay did before it had them. Keys go first, so
		// that an output with fields but no keys (Redis) keeps the
		// attributes.
		what := "record keys"
		if withKey {
			w.noKey = true
		} else {
			what, w.noAttrs = "attributes (headers, fields)", true
		}
		fmt.Fprintf(w.stderr, "ss-relay: note: %v; relaying without %s\n", err, what)
		return w.send(ctx, cfg, m)
	}
	if err == nil || !w.verbatim || !rejectsVerbatim(err) {
		return r, err
	}
	// Switch to a producer that lets the output number the messages, after
	// everything sent so far is stored, so that the order is kept.
	renumberNote(w.stderr, w.out.Scheme())
	if err := w.prod.End(ctx); err != nil {
		return streamer.Receipt{}, err
	}
	np, err := w.out.NewProducer(ctx, w.rename)
	if err != nil {
		return streamer.Receipt{}, err
	}
	w.prod, w.verbatim = np, false
	return w.send(ctx, cfg, m)
}

// renumberNote tells that the output numbers the messages itself: a note,
// not a failure, printed once per relay.
func renumberNote(w io.Writer, scheme string) {
	fmt.Fprintf(w, "ss-relay: note: %s:// assigns sequence numbers; stream keys, shards and timestamps are kept\n", scheme)
}

// rejectsVerbatim reports whether err is an output refusing a verbatim
// header it cannot store (Redis takes only its own ids as sequence numbers).
func rejectsVerbatim(err error) bool {
	return errors.Is(err, streamer.ErrHeaderUnsupported)
}

// relayLoop reads and sends until the end; it returns nil when the input
// ends, a limit is reached or ctx is cancelled. A message sent when ctx is
// cancelled, whose receipt it did not queue (the queue was full), is
// returned as last, for the caller to check after flushing.
func relayLoop(ctx context.Context, cfg Config, cons *streamer.Consumer, w *writer, receipts chan<- receipt, st *Stats) (last *receipt, err error) {
	var n int64
	for cfg.Count <= 0 || n < cfg.Count {
		m, err := cons.Next(ctx)
		if err != nil {
			if errors.Is(err, streamer.ErrStreamEnded) {
				st.ended = true
				return nil, nil
			}
			if ctx.Err() != nil {
				return nil, nil
			}
			return nil, fmt.Errorf("reading %q: %w", cfg.Input, err)
		}
		if !cfg.Since.IsZero() && m.Timestamp.Before(cfg.Since) {
			continue
		}
		if !cfg.Until.IsZero() && m.Timestamp.After(cfg.Until) {
			return nil, nil
		}
		n++
		r, err := w.send(ctx, cfg, m)
		if err != nil {
			if ctx.Err() != nil {
				return nil, nil
			}
			if unrepresentable(err) {
				st.Skipped++
				fmt.Fprintf(w.stderr, "ss-relay: skipped message %s (%d bytes): %v\n", m.Header, len(m.Payload), err)
				continue
			}
			return nil, fmt.Errorf("sending message %s to %q: %w", m.Header, cfg.Output, err)
		}
		// The message is sent: if ctx is done now, its receipt is handed
		// back rather than dropped, to be checked and counted too.
		rc := receipt{r: r, size: len(m.Payload)}
		select {
		case receipts <- rc:
		case <-ctx.Done():
			return &rc, nil
		}
	}
	return nil, nil
}

// unrepresentable reports whether err means the output cannot hold this one
// message (a binary or multi-line payload on stdio, say), so that the relay
// skips it and goes on.
func unrepresentable(err error) bool {
	return errors.Is(err, streamer.ErrInvalidUTF8) || errors.Is(err, streamer.ErrPayloadTooLarge) ||
		errors.Is(err, streamer.ErrPayloadUnsupported) || errors.Is(err, streamer.ErrInvalidTimestamp)
}

// startProgress reports progress every cfg.Progress until the returned
// function is called.
func startProgress(cfg Config, w io.Writer, start time.Time, relayed, bytes *atomic.Int64) func() {
	if cfg.Progress <= 0 {
		return func() {}
	}
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(cfg.Progress)
		defer t.Stop()
		lastN, lastT := int64(0), start
		for {
			select {
			case <-done:
				return
			case now := <-t.C:
				n, b := relayed.Load(), bytes.Load()
				rate := float64(n-lastN) / now.Sub(lastT).Seconds()
				lastN, lastT = n, now
				fmt.Fprintf(w, "%sss-relay: %d messages, %s, %.0f msg/s now, %s elapsed%s",
					progressPrefix(cfg), n, humanBytes(b), rate, now.Sub(start).Round(time.Second), progressSuffix(cfg))
			}
		}
	}()
	return func() {
		close(done)
		<-stopped
	}
}

func progressPrefix(cfg Config) string {
	if cfg.Terminal {
		return "\r\033[K"
	}
	return ""
}

func progressSuffix(cfg Config) string {
	if cfg.Terminal {
		return ""
	}
	return "\n"
}

func summary(st Stats) string {
	rate := 0.0
	if s := st.Elapsed.Seconds(); s > 0 {
		rate = float64(st.Relayed) / s
	}
	s := fmt.Sprintf("ss-relay: relayed %d messages (%s) in %s, %.0f msg/s", st.Relayed, humanBytes(st.Bytes), st.Elapsed.Round(time.Millisecond), rate)
	if st.Skipped > 0 {
		s += fmt.Sprintf(", skipped %d", st.Skipped)
	}
	if st.Interrupted {
		s += ", interrupted"
	}
	return s
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return strconv.FormatInt(n, 10) + " B"
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// ParseTime parses a time given on the command line: SeaStreamer's form
// (2022-01-01T00:00:00[.123], UTC), RFC 3339 (2022-01-01T00:00:00+02:00), a
// date (2022-01-01, UTC midnight), or a negative duration relative to now
// (-90m, -1h30m).
func ParseTime(s string, now time.Time) (time.Time, error) {
	if t, err := streamer.ParseTimestamp(s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t, nil
	}
	if strings.HasPrefix(s, "-") {
		if d, err := time.ParseDuration(s); err == nil {
			return now.Add(d), nil
		}
	}
	return time.Time{}, fmt.Errorf("invalid time %q: use 2022-01-01T00:00:00[.123] (UTC), RFC 3339 (2022-01-01T00:00:00+02:00), a date (2022-01-01) or a duration before now (-1h)", s)
}
