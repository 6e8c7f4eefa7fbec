package ssdir

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/seastream/ss/ssfile"
)

// Defaults.
const (
	DefaultSegmentSize  = 256 << 20
	DefaultPollInterval = ssfile.DefaultPollInterval
)

// Retention is what a Writer deletes: the oldest sealed segments while any
// limit is passed. A zero field is no limit.
type Retention struct {
	Bytes    int64         // total size of the segments
	Age      time.Duration // age of the newest message of the oldest segment
	Segments int           // number of segments
}

func (r Retention) none() bool { return r.Bytes == 0 && r.Age == 0 && r.Segments == 0 }

// Option configures a Writer.
type Option func(*config) error

type config struct {
	segmentSize  int64
	segmentAge   time.Duration
	retention    Retention
	beforeDelete func(Segment) error
	fileOpts     []ssfile.Option
	durability   ssfile.Durability
	now          func() time.Time
	logger       *slog.Logger
}

func defaultConfig() config {
	return config{segmentSize: DefaultSegmentSize, durability: ssfile.SyncNever(), now: time.Now, logger: slog.New(slog.DiscardHandler)}
}

// synced reports whether rollovers sync what they write (see WithDurability).
func (c *config) synced() bool { return c.durability != ssfile.SyncNever() }

// WithSegmentSize sets the size at which the Writer rolls over to a new
// segment (default 256 MiB; at least 4096 bytes).
func WithSegmentSize(n int64) Option {
	return func(c *config) error {
		if n < 4096 {
			return fmt.Errorf("%w: segment size %d is below 4096 bytes", ErrInvalidOption, n)
		}
		c.segmentSize = n
		return nil
	}
}

// WithSegmentAge makes the Writer roll over before a write to a segment
// started d or longer ago (default: no age limit), e.g. time.Hour for
// hourly segments. Without writes, no new segment is started.
func WithSegmentAge(d time.Duration) Option {
	return func(c *config) error {
		if d < 0 {
			return fmt.Errorf("%w: negative segment age %v", ErrInvalidOption, d)
		}
		c.segmentAge = d
		return nil
	}
}

// WithRetention sets what the Writer deletes (default: nothing).
func WithRetention(r Retention) Option {
	return func(c *config) error {
		if r.Bytes < 0 || r.Age < 0 || r.Segments < 0 {
			return fmt.Errorf("%w: negative retention %+v", ErrInvalidOption, r)
		}
		c.retention = r
		return nil
	}
}

// WithBeforeDelete calls fn before retention deletes a segment, with the
// segment still in place: to archive it, or to keep it (for a consumer that
// has not read it) by returning an error, in which case the deletion, and
// those of newer segments, wait for the next rollover. fn runs on the
// Writer's retention goroutine, not while writes wait.
func WithBeforeDelete(fn func(Segment) error) Option {
	return func(c *config) error { c.beforeDelete = fn; return nil }
}

// WithDurability sets when the segments are synced (default
// ssfile.SyncNever()), as ssfile.WithDurability does for a file. Under
// SyncNever a rollover syncs nothing either (the segment rolled over from,
// its successor's seed, the directory): a machine crash may then lose what
// was written since the last Sync, as with one file, and a seed it lost is
// rebuilt. Under the others a rollover syncs them all, in the background.
func WithDurability(d ssfile.Durability) Option {
	return func(c *config) error { c.durability = d; return nil }
}

// WithFileOptions passes options to every segment's ssfile.Writer: the
// beacon interval, buffer size, logger. Durability is WithDurability's;
// WithSizeLimit, WithEndOfStream, WithFileName and WithCreatedAt are the
// Writer's own.
func WithFileOptions(opts ...ssfile.Option) Option {
	return func(c *config) error { c.fileOpts = append(c.fileOpts, opts...); return nil }
}

// WithClock sets the clock for segment age and retention age (default
// time.Now), for tests.
func WithClock(now func() time.Time) Option {
	return func(c *config) error { c.now = now; return nil }
}

// WithLogger sets where the Writer logs rollovers and deletions (default:
// nowhere).
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error { c.logger = l; return nil }
}

// ReaderOption configures a Reader.
type ReaderOption func(*readerConfig) error

type readerConfig struct {
	mode        ssfile.Mode
	poll        time.Duration
	skipDeleted bool
	fileOpts    []ssfile.ReaderOption
	logger      *slog.Logger
}

// WithMode sets how the Reader reads (default ssfile.Replay): Replay reads
// every segment there is and ends with io.EOF, Live starts at the end of
// the last segment and follows, LiveReplay starts at the first segment and
// follows, into each new segment the Writer starts.
func WithMode(m ssfile.Mode) ReaderOption {
	return func(c *readerConfig) error { c.mode = m; return nil }
}

// WithPollInterval sets how often a following Reader checks for a new
// segment besides change notifications (default DefaultPollInterval).
func WithPollInterval(d time.Duration) ReaderOption {
	return func(c *readerConfig) error {
		if d <= 0 {
			return fmt.Errorf("%w: poll interval %v", ErrInvalidOption, d)
		}
		c.poll = d
		return nil
	}
}

// WithSkipDeleted makes a Reader that must move to a segment retention
// deleted go on from the oldest segment left (logging what it skipped),
// instead of failing with ErrSegmentDeleted.
func WithSkipDeleted() ReaderOption {
	return func(c *readerConfig) error { c.skipDeleted = true; return nil }
}

// WithReaderFileOptions passes options to the ssfile.Reader of every
// segment (WithOwnPayloads, WithPassOver). WithMode and WithPollInterval are
// the Reader's own.
func WithReaderFileOptions(opts ...ssfile.ReaderOption) ReaderOption {
	return func(c *readerConfig) error { c.fileOpts = append(c.fileOpts, opts...); return nil }
}

// WithReaderLogger sets where the Reader logs (default: nowhere).
func WithReaderLogger(l *slog.Logger) ReaderOption {
	return func(c *readerConfig) error { c.logger = l; return nil }
}
