package streamer

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strconv"
	"sync"

	"github.com/seastream/ss/streamer/driver"
)

// Streamer is a connection to one backend (SeaStreamer's Streamer): it
// creates producers and consumers. It is safe for concurrent use. Close it
// when done: that ends its producers (flushing them) and closes its
// consumers.
type Streamer struct {
	uri  *URI
	conn driver.Conn
	log  *slog.Logger
	// hooks is nil without portable-layer hooks: the hot paths test it
	// and do nothing else.
	hooks *hookSet

	mu        sync.Mutex
	closed    bool
	creating  sync.WaitGroup // NewProducer/NewConsumer calls in flight
	producers map[*Producer]struct{}
	consumers map[*Consumer]struct{}
}

func newStreamer(u *URI, conn driver.Conn, log *slog.Logger) *Streamer {
	return &Streamer{
		uri: u, conn: conn, log: log,
		producers: make(map[*Producer]struct{}),
		consumers: make(map[*Consumer]struct{}),
	}
}

// URI returns a copy of the parsed URI the Streamer was opened with.
func (s *Streamer) URI() *URI { return s.uri.Clone() }

// Scheme returns the backend's scheme, e.g. "file".
func (s *Streamer) Scheme() string { return s.uri.Scheme }

// As sets target to the driver's native connection type, if the driver
// exposes one (see driver.Aser), and reports whether it did.
func (s *Streamer) As(target any) bool {
	a, ok := s.conn.(driver.Aser)
	return ok && target != nil && a.As(target)
}

// NewProducer creates a producer. stream is the producer's own stream, used
// by Send; if empty, the URI's stream key is used when the URI names exactly
// one, and otherwise the producer has no stream of its own (Send returns
// ErrNotAnchored; use SendTo).
func (s *Streamer) NewProducer(ctx context.Context, stream StreamKey, opts ...ProducerOption) (*Producer, error) {
	if stream == "" && len(s.uri.Streams) == 1 && s.uri.Streams[0] != Wildcard {
		stream = s.uri.Streams[0]
	}
	if stream != "" {
		if err := driver.ValidateStreamKey(string(stream)); err != nil {
			return nil, err
		}
	}
	var cfg producerConfig
	for _, o := range opts {
		if o != nil {
			o.applyProducer(&cfg)
		}
	}
	cfg.Extra = forScheme(cfg.Extra, s.uri.Scheme)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if !s.begin() {
		return nil, ErrClosed
	}
	defer s.end()
	dp, err := s.conn.NewProducer(ctx, stream, cfg.ProducerOptions)
	if err != nil {
		return nil, err
	}
	p := &Producer{s: s, dp: dp, stream: stream, shardCount: cfg.shardCount, verbatim: cfg.Verbatim, hooks: s.hooks}
	if s.hooks != nil && len(s.hooks.produce) > 0 {
		p.watch = newReceiptWatcher(s.hooks)
	}
	s.mu.Lock()
	s.producers[p] = struct{}{}
	s.mu.Unlock()
	return p, nil
}

// NewConsumer creates a consumer of streams (if nil, the URI's stream keys).
// Wildcard subscribes to every stream, on backends that support it.
//
// Options are checked before anything starts: RealTime with a group gives
// ErrConsumerGroupIsSet, no stream ErrStreamKeyEmpty, WithReplay without
// ResetEarliest ErrInvalidOption. LoadBalanced without a group takes the
// backend's default group where it has one (Redis: SeaStreamer's
// "<host_id>:s"); the others return ErrConsumerGroupNotSet.
func (s *Streamer) NewConsumer(ctx context.Context, streams []StreamKey, opts ...ConsumerOption) (*Consumer, error) {
	if streams == nil {
		streams = s.uri.Streams
	}
	keys := make([]StreamKey, 0, len(streams))
	for _, k := range streams {
		if err := driver.ValidateStreamKeySyntax(string(k)); err != nil {
			return nil, err
		}
		if k == Internal {
			return nil, &StreamKeyError{Key: string(k), Err: ErrReservedStreamKey}
		}
		if !slices.Contains(keys, k) {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return nil, ErrStreamKeyEmpty
	}
	var cfg driver.ConsumerOptions
	for _, o := range opts {
		if o != nil {
			o.applyConsumer(&cfg)
		}
	}
	cfg.Extra = forScheme(cfg.Extra, s.uri.Scheme)
	if err := checkConsumer(&cfg); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if !s.begin() {
		return nil, ErrClosed
	}
	defer s.end()
	dc, err := s.conn.NewConsumer(ctx, keys, cfg)
	if err != nil {
		return nil, err
	}
	c := newConsumer(s, dc, keys, cfg.Mode)
	s.mu.Lock()
	s.consumers[c] = struct{}{}
	s.mu.Unlock()
	return c, nil
}

func checkConsumer(c *driver.ConsumerOptions) error {
	switch c.Mode {
	case RealTime:
		if c.Group != "" {
			return ErrConsumerGroupIsSet
		}
	case Resumable:
	case LoadBalanced: // without a group: the backend's default, or ErrConsumerGroupNotSet
	default:
		return invalidOption("mode", c.Mode.String(), "use RealTime, Resumable or LoadBalanced")
	}
	if c.AutoStreamReset > ResetEarliest {
		return invalidOption("auto_stream_reset", c.AutoStreamReset.String(), "use ResetLatest or ResetEarliest")
	}
	if c.Replay && c.AutoStreamReset != ResetEarliest {
		return invalidOption("replay", "true", "a replay starts at the earliest message: add WithAutoStreamReset(ResetEarliest)")
	}
	if c.Prefetch < 0 {
		return invalidOption("prefetch", strconv.Itoa(c.Prefetch), "must not be negative")
	}
	return nil
}

// begin registers a NewProducer/NewConsumer call so that Close waits for it;
// it reports false if the Streamer is closed.
func (s *Streamer) begin() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.creating.Add(1)
	return true
}

func (s *Streamer) end() { s.creating.Done() }

// Close ends every producer of the Streamer (flushing what they sent),
// closes every consumer, then disconnects. Calls on them and on the Streamer
// afterwards return ErrClosed. Close returns ErrClosed if already closed.
func (s *Streamer) Close(ctx context.Context) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	s.closed = true
	s.mu.Unlock()
	s.creating.Wait()

	s.mu.Lock()
	producers := make([]*Producer, 0, len(s.producers))
	for p := range s.producers {
		producers = append(producers, p)
	}
	consumers := make([]*Consumer, 0, len(s.consumers))
	for c := range s.consumers {
		consumers = append(consumers, c)
	}
	s.mu.Unlock()

	var errs []error
	for _, p := range producers {
		if err := p.shutdown(ctx, ErrClosed); err != nil && !errors.Is(err, ErrClosed) && !errors.Is(err, ErrProducerEnded) {
			errs = append(errs, err)
		}
	}
	for _, c := range consumers {
		if err := c.shutdown(ctx); err != nil && !errors.Is(err, ErrClosed) {
			errs = append(errs, err)
		}
	}
	if err := s.conn.Close(ctx); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func (s *Streamer) forgetProducer(p *Producer) {
	s.mu.Lock()
	delete(s.producers, p)
	s.mu.Unlock()
}

func (s *Streamer) forgetConsumer(c *Consumer) {
	s.mu.Lock()
	delete(s.consumers, c)
	s.mu.Unlock()
}
