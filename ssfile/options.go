package ssfile

import (
	"github.com/seastream/ss/beacon"

	"fmt"
	"log/slog"
	"time"
)

// Defaults.
const (
	DefaultBeaconInterval = 1 << 20 // 1 MiB, as SeaStreamer
	DefaultSizeLimit      = 16 << 30
	DefaultBufferSize     = 1 << 20
	DefaultPollInterval   = 100 * time.Millisecond
)

// Durability says when a Writer syncs the file to stable storage by itself.
type Durability struct {
	every   time.Duration
	onFlush bool
}

// SyncNever syncs only on Sync and Close. A power failure may lose
// everything written since. It is the default. (A function, not a variable,
// so that no package can change what it means for the others.)
func SyncNever() Durability { return Durability{} }

// SyncOnFlush syncs on every Flush (group commit): a successful Flush means
// the batch before it is on stable storage.
func SyncOnFlush() Durability { return Durability{onFlush: true} }

// SyncEvery syncs in the background every d when there is something new; a
// power failure loses at most about d of writes that were flushed.
func SyncEvery(d time.Duration) Durability { return Durability{every: d} }

// Option configures a Writer: an argument of Create and Append. Only this
// package makes them; WithLogger's is also a ReaderOption.
type Option interface {
	applyWriter(*writerConfig) error
}

// writerOption is an Option that only a Writer takes.
type writerOption func(*writerConfig) error

func (o writerOption) applyWriter(c *writerConfig) error { return o(c) }

type writerConfig struct {
	interval   uint32
	sizeLimit  int64
	bufferSize int
	durability Durability
	eos        bool
	exclusive  bool
	fileName   *string
	createdAt  time.Time
	logger     *slog.Logger
	onSync     func(time.Duration, error)
	seed       *beacon.Tracker
}

func defaultWriterConfig() writerConfig {
	return writerConfig{
		interval:   DefaultBeaconInterval,
		sizeLimit:  DefaultSizeLimit,
		bufferSize: DefaultBufferSize,
		logger:     slog.New(slog.DiscardHandler),
	}
}

// WithBeaconInterval sets the beacon interval of a new file: a positive
// multiple of 1024 (default 1 MiB); WithAnyBeaconInterval takes the others
// SeaStreamer writes. Append keeps the interval of the file.
func WithBeaconInterval(n uint32) Option {
	return writerOption(func(c *writerConfig) error {
		if n == 0 || n%1024 != 0 {
			return fmt.Errorf("%w: beacon interval %d is not a positive multiple of 1024", ErrInvalidOption, n)
		}
		c.interval = n
		return nil
	})
}

// MinBeaconInterval is the smallest beacon interval WithAnyBeaconInterval
// takes, SeaStreamer's: a beacon and a frame's header must fit between two.
const MinBeaconInterval = 128

// WithAnyBeaconInterval sets any beacon interval of at least
// MinBeaconInterval bytes, as SeaStreamer's MessageSink writes (it wrote
// files with 128, 640 and 1000), so that rewriting such a file gives its
// bytes back. WithBeaconInterval, with its multiple-of-1024 rule, is the
// checked choice for new files.
func WithAnyBeaconInterval(n uint32) Option {
	return writerOption(func(c *writerConfig) error {
		if n < MinBeaconInterval {
			return fmt.Errorf("%w: beacon interval %d is below SeaStreamer's minimum of %d bytes", ErrInvalidOption, n, MinBeaconInterval)
		}
		c.interval = n
		return nil
	})
}

// WithSyncObserver calls fn after each fdatasync of the file with how long
// it took and its error, for metrics. fn runs on the goroutine that syncs,
// under the Writer's lock: it must be fast.
func WithSyncObserver(fn func(latency time.Duration, err error)) Option {
	return writerOption(func(c *writerConfig) error { c.onSync = fn; return nil })
}

// WithSizeLimit caps the file size (default 16 GiB). A message that would
// pass it fails with ErrSizeLimit and nothing of it is written.
func WithSizeLimit(n int64) Option {
	return writerOption(func(c *writerConfig) error {
		if n < 1024 {
			return fmt.Errorf("%w: size limit %d is below 1024 bytes", ErrInvalidOption, n)
		}
		c.sizeLimit = n
		return nil
	})
}

// WithBufferSize sets how many bytes a Writer buffers before it flushes by
// itself (default 1 MiB).
func WithBufferSize(n int) Option {
	return writerOption(func(c *writerConfig) error {
		if n <= 0 {
			return fmt.Errorf("%w: buffer size %d is not positive", ErrInvalidOption, n)
		}
		c.bufferSize = n
		return nil
	})
}

// WithDurability sets when the Writer syncs by itself (default SyncNever()).
func WithDurability(d Durability) Option {
	return writerOption(func(c *writerConfig) error {
		if d.every < 0 {
			return fmt.Errorf("%w: negative sync period %v", ErrInvalidOption, d.every)
		}
		c.durability = d
		return nil
	})
}

// WithEndOfStream makes Close write the end-of-stream message (stream key
// SEA_STREAMER_INTERNAL, payload EOS) that tells SeaStreamer readers the
// stream has ended.
func WithEndOfStream() Option {
	return writerOption(func(c *writerConfig) error { c.eos = true; return nil })
}

// WithExclusive makes Create fail with an error matching fs.ErrExist when the
// file exists, instead of overwriting it.
func WithExclusive() Option {
	return writerOption(func(c *writerConfig) error { c.exclusive = true; return nil })
}

// WithFileName sets the file name recorded in a new file's header (default:
// the base name of the path). At most 111 bytes.
func WithFileName(name string) Option {
	return writerOption(func(c *writerConfig) error { c.fileName = &name; return nil })
}

// WithCreatedAt sets the creation time recorded in a new file's header
// (default: now).
func WithCreatedAt(t time.Time) Option {
	return writerOption(func(c *writerConfig) error { c.createdAt = t; return nil })
}

// WithState makes the file go on from st, the state the files written
// before it ended with (Writer.State), as one writer of them all would: each
// stream's highest sequence number and timestamp and its running checksum,
// and how many markers the beacons before carried (the rotation of the
// markers goes on from there). A segment of a stream directory is written
// so. Create starts from it; Append starts from it and adds the file's
// messages. The file stays a complete .ss file: its beacons' markers are
// those of a writer that had written the streams before, which a reader of
// this file alone takes as they are (a checker is told the state: see
// sscheck.From).
func WithState(st beacon.State) Option {
	seed := new(beacon.Tracker)
	for _, s := range st.Streams {
		seed.Set(s)
	}
	seed.SetMarkersWritten(st.MarkersWritten)
	return writerOption(func(c *writerConfig) error { c.seed = seed; return nil })
}

// LoggerOption is what WithLogger returns: both an Option (Create, Append)
// and a ReaderOption (Open), so that one name sets the logger of either.
type LoggerOption struct{ logger *slog.Logger }

// WithLogger sets where a Writer logs recovery and background sync failures,
// and where a Reader logs (default: nowhere).
func WithLogger(l *slog.Logger) LoggerOption { return LoggerOption{l} }

func (o LoggerOption) applyWriter(c *writerConfig) error { c.logger = o.logger; return nil }
func (o LoggerOption) applyReader(c *readerConfig) error { c.logger = o.logger; return nil }
