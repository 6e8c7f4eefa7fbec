package filedriver

import (
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/seastream/ss/ssdir"
	"github.com/seastream/ss/streamer/driver"
)

// maxSegmentSize bounds segment_size so that a segment, which passes it by
// at most one message (4 GiB), stays below the file's default size limit
// and within a position's 36 bits of offset (dirpos.go).
const maxSegmentSize = 8 << 30

// The options of a stream directory (see the package doc). They are refused
// for a single file, and size_limit is refused for a directory: its segments
// roll over by segment_size instead.
//
//	segment_size=256MiB      roll over to a new segment at this size (4 KiB to 8 GiB)
//	segment_age=1h           roll over before a write to a segment this old
//	retention_bytes=10GiB    delete the oldest segments while the total passes it
//	retention_age=168h       ... while the newest message of the oldest is older
//	retention_segments=100   ... while there are more segments
//	skip_deleted=true        a consumer whose position retention deleted goes on
//	                         from the oldest segment left, instead of failing
var (
	optSegmentSize = driver.AddValue(options, driver.Value[config, int64]{
		Param: "segment_size", Scope: driver.ScopeOpen,
		Parse: func(u *driver.URI, name string) (int64, bool, error) {
			v, ok, err := u.OptionSize(name)
			if err == nil && v > math.MaxInt64 {
				v = math.MaxInt64 // refused by Set
			}
			return int64(v), ok, err
		},
		Set: func(c *config, v int64) error {
			if v < 4096 || v > maxSegmentSize {
				return optionError("segment_size", strconv.FormatInt(v, 10), "a stream directory's segment size is 4 KiB to 8 GiB")
			}
			c.segmentSize = v
			return nil
		},
	})

	optSegmentAge = driver.AddValue(options, driver.Value[config, time.Duration]{
		Param: "segment_age", Scope: driver.ScopeOpen, Parse: (*driver.URI).OptionDuration,
		Set: func(c *config, d time.Duration) error {
			if d <= 0 {
				return optionError("segment_age", d.String(), `expected a positive duration such as "1h"`)
			}
			c.segmentAge = d
			return nil
		},
	})

	optRetentionBytes = driver.AddValue(options, driver.Value[config, int64]{
		Param: "retention_bytes", Scope: driver.ScopeOpen,
		Parse: func(u *driver.URI, name string) (int64, bool, error) {
			v, ok, err := u.OptionSize(name)
			if err == nil && v > math.MaxInt64 {
				err = optionError(name, u.Query.Get(name), "at most 2^63-1 bytes")
			}
			return int64(v), ok, err
		},
		Set: func(c *config, v int64) error {
			if v <= 0 {
				return optionError("retention_bytes", strconv.FormatInt(v, 10), "must be positive (leave it out for no limit)")
			}
			c.retention.Bytes = v
			return nil
		},
	})

	optRetentionAge = driver.AddValue(options, driver.Value[config, time.Duration]{
		Param: "retention_age", Scope: driver.ScopeOpen, Parse: (*driver.URI).OptionDuration,
		Set: func(c *config, d time.Duration) error {
			if d <= 0 {
				return optionError("retention_age", d.String(), `expected a positive duration such as "168h"`)
			}
			c.retention.Age = d
			return nil
		},
	})

	optRetentionSegments = driver.AddValue(options, driver.Value[config, int]{
		Param: "retention_segments", Scope: driver.ScopeOpen,
		Parse: func(u *driver.URI, name string) (int, bool, error) {
			v, ok, err := u.OptionUint(name)
			if err == nil && v > math.MaxInt32 {
				err = optionError(name, u.Query.Get(name), "at most 2^31-1 segments")
			}
			return int(v), ok, err
		},
		Set: func(c *config, n int) error {
			if n < 1 {
				return optionError("retention_segments", strconv.Itoa(n), "must be at least 1 (leave it out for no limit)")
			}
			c.retention.Segments = n
			return nil
		},
	})

	optSkipDeleted = driver.AddValue(options, driver.Value[config, bool]{
		Param: "skip_deleted", Scope: driver.ScopeOpen, Parse: (*driver.URI).OptionBool,
		Set: func(c *config, v bool) error { c.skipDeleted = v; return nil },
	})
)

// WithSegmentSize sets the size at which a stream directory's writer rolls
// over to a new segment, 4 KiB to 8 GiB (URI option segment_size, e.g.
// 64MiB). The default is 256 MiB.
func WithSegmentSize(n int64) Option { return Option{optSegmentSize.Setting(n)} }

// WithSegmentAge makes a stream directory's writer roll over before a write
// to a segment started d or longer ago (URI option segment_age, e.g. 1h).
// The default is no age limit.
func WithSegmentAge(d time.Duration) Option { return Option{optSegmentAge.Setting(d)} }

// WithRetentionBytes makes a stream directory's writer delete its oldest
// segments while their total size passes n (URI option retention_bytes).
// The default is no limit.
func WithRetentionBytes(n int64) Option { return Option{optRetentionBytes.Setting(n)} }

// WithRetentionAge makes a stream directory's writer delete its oldest
// segments while the newest message of the oldest is older than d (URI
// option retention_age). The default is no limit.
func WithRetentionAge(d time.Duration) Option { return Option{optRetentionAge.Setting(d)} }

// WithRetentionSegments makes a stream directory's writer delete its oldest
// segments while there are more than n (URI option retention_segments). The
// default is no limit.
func WithRetentionSegments(n int) Option { return Option{optRetentionSegments.Setting(n)} }

// WithSkipDeleted makes a consumer of a stream directory whose position is
// in a segment retention deleted go on from the oldest segment left, logging
// what it skipped (URI option skip_deleted=true). By default it fails with
// an error matching ssdir.ErrSegmentDeleted.
func WithSkipDeleted(v bool) Option { return Option{optSkipDeleted.Setting(v)} }

// layout decides whether the path of u names a stream directory: an
// existing directory, or a path that does not exist and either ends in "/"
// (file://./data/orders/?create=true, file://./data/orders//stream) or is
// given an option of a directory (file://./data/orders/stream?create=true&segment_size=64MiB).
// A path ending in ".ss" is always a file. It then checks that the options
// fit the layout.
func (c *config) layout(u *driver.URI, p string) error {
	if fi, err := os.Stat(c.path); err == nil {
		c.dir = fi.IsDir()
	} else {
		rest, _, _ := strings.Cut(u.Raw[strings.Index(u.Raw, "://")+3:], "?")
		slash := strings.HasSuffix(p, "/") || len(u.Streams) == 0 && strings.HasSuffix(rest, "/")
		c.dir = (slash || c.dirOptionSet()) && !strings.HasSuffix(strings.TrimRight(p, "/"), ".ss")
	}
	if c.dir {
		if c.sizeLimitSet {
			return optionError("size_limit", strconv.FormatInt(c.sizeLimit, 10), c.path+" is a stream directory: its segments roll over by segment_size")
		}
		if c.segmentSize == 0 {
			c.segmentSize = ssdir.DefaultSegmentSize
		}
		return nil
	}
	for _, o := range []struct {
		name, value string
		set         bool
	}{
		{"segment_size", strconv.FormatInt(c.segmentSize, 10), c.segmentSize != 0},
		{"segment_age", c.segmentAge.String(), c.segmentAge != 0},
		{"retention_bytes", strconv.FormatInt(c.retention.Bytes, 10), c.retention.Bytes != 0},
		{"retention_age", c.retention.Age.String(), c.retention.Age != 0},
		{"retention_segments", strconv.Itoa(c.retention.Segments), c.retention.Segments != 0},
		{"skip_deleted", "true", c.skipDeleted},
		{"retain_groups", strings.Join(c.retainGroups, ","), len(c.retainGroups) > 0},
	} {
		if o.set {
			return optionError(o.name, o.value, c.path+" is a single .ss file, not a stream directory (an existing directory, or a path ending in / with create)")
		}
	}
	return nil
}

// dirOptionSet reports whether an option of a stream directory was given.
func (c *config) dirOptionSet() bool {
	return c.segmentSize != 0 || c.segmentAge != 0 || c.retention != (ssdir.Retention{}) || len(c.retainGroups) > 0
}
