package filedriver

import (
	"log/slog"
	"math"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/seastream/ss/ssdir"
	"github.com/seastream/ss/ssfile"
	"github.com/seastream/ss/streamer/driver"
)

// Defaults of the connect options.
const (
	DefaultPrefetch = 1000 // messages read ahead per consumer
)

// options declares the URI query options, each once: its parameter, how it
// is read and what it sets. Each overrides the matching Go option given to
// Open (Option, Sync, GroupMode, Heartbeat; ConnectOptions.Prefetch).
//
//	create=never|if-missing|only   (create, create=true: if-missing; create=false: never)
//	eos=true                       write an end-of-stream message when the last Conn closes
//	beacon_interval=1MiB           beacon interval of a new file, a multiple of 1 KiB
//	size_limit=16GiB               size limit of the file
//	prefetch=1000                  messages read ahead per consumer
//	sync=never|flush|<duration>    when the shared writer syncs to stable storage
//	group_mode=pairs|round-robin   how LoadBalanced groups share the file (groupmode.go)
//	heartbeat=250ms                how often members of a pairs group look at each other
//	envelope=none|v1               payloads in the archive envelope (envelope.go)
var options = driver.NewOptions[config](Scheme)

var (
	optCreate = driver.AddValue(options, driver.Value[config, CreateMode]{
		Param: "create", Scope: driver.ScopeOpen,
		Parse: func(u *driver.URI, name string) (CreateMode, bool, error) {
			s, ok := u.Option(name)
			if !ok {
				return 0, false, nil
			}
			switch strings.ToLower(s) {
			case "", "true", "1", "if-missing", "if_missing":
				return CreateIfMissing, true, nil
			case "false", "0", "never":
				return CreateNever, true, nil
			case "only", "always":
				return CreateOnly, true, nil
			}
			return 0, true, optionError(name, s, "expected never, if-missing (or true) or only")
		},
		Set: func(c *config, m CreateMode) error {
			if m > CreateOnly {
				return optionError("create", m.String(), "use CreateNever, CreateIfMissing or CreateOnly")
			}
			c.create = m
			return nil
		},
	})

	optEOS = driver.AddValue(options, driver.Value[config, bool]{
		Param: "eos", Scope: driver.ScopeOpen, Parse: (*driver.URI).OptionBool,
		Set: func(c *config, v bool) error { c.eos = v; return nil },
	})

	optBeaconInterval = driver.AddValue(options, driver.Value[config, uint32]{
		Param: "beacon_interval", Scope: driver.ScopeOpen,
		Parse: func(u *driver.URI, name string) (uint32, bool, error) {
			v, ok, err := u.OptionSize(name)
			if err == nil && v > math.MaxUint32 {
				err = optionError(name, u.Query.Get(name), "at most 4 GiB")
			}
			return uint32(v), ok, err
		},
		Set: func(c *config, v uint32) error { c.beaconInterval = v; return nil },
	})

	optSizeLimit = driver.AddValue(options, driver.Value[config, int64]{
		Param: "size_limit", Scope: driver.ScopeOpen,
		Parse: func(u *driver.URI, name string) (int64, bool, error) {
			v, ok, err := u.OptionSize(name)
			if err == nil && v > math.MaxInt64 {
				err = optionError(name, u.Query.Get(name), "at most 2^63-1 bytes")
			}
			return int64(v), ok, err
		},
		Set: func(c *config, v int64) error { c.sizeLimit, c.sizeLimitSet = v, true; return nil },
	})

	_ = driver.AddValue(options, driver.Value[config, int]{
		Param: "prefetch", Scope: driver.ScopeOpen,
		Parse: func(u *driver.URI, name string) (int, bool, error) {
			v, ok, err := u.OptionUint(name)
			if err == nil && v > math.MaxInt32 {
				err = optionError(name, u.Query.Get(name), "at most 2^31-1 messages")
			}
			return int(v), ok, err
		},
		Set: func(c *config, v int) error { c.prefetch = v; return nil },
	})

	optEnvelope = driver.AddValue(options, driver.Value[config, Envelope]{
		Param: "envelope", Scope: driver.ScopeOpen,
		Parse: func(u *driver.URI, name string) (Envelope, bool, error) {
			s, ok := u.Option(name)
			if !ok {
				return EnvelopeNone, false, nil
			}
			switch strings.ToLower(s) {
			case "none", "":
				return EnvelopeNone, true, nil
			case "v1":
				return EnvelopeV1, true, nil
			}
			return EnvelopeNone, true, optionError(name, s, "expected none or v1 (the archive envelope, version 1)")
		},
		Set: func(c *config, e Envelope) error {
			if e > EnvelopeV1 {
				return optionError("envelope", e.String(), "use EnvelopeNone or EnvelopeV1")
			}
			c.envelope = e
			return nil
		},
	})

	optSync = driver.AddValue(options, driver.Value[config, ssfile.Durability]{
		Param: "sync", Scope: driver.ScopeOpen,
		Parse: func(u *driver.URI, name string) (ssfile.Durability, bool, error) {
			never := ssfile.SyncNever()
			s, ok := u.Option(name)
			if !ok {
				return never, false, nil
			}
			switch strings.ToLower(s) {
			case "never", "false", "0":
				return ssfile.SyncNever(), true, nil
			case "flush", "true", "":
				return ssfile.SyncOnFlush(), true, nil
			}
			d, err := time.ParseDuration(s)
			if err != nil || d <= 0 {
				return never, true, optionError(name, s, `expected never, flush or a period such as "100ms"`)
			}
			return ssfile.SyncEvery(d), true, nil
		},
		Set: func(c *config, d ssfile.Durability) error { c.durability = d; return nil },
	})
)

// Sync is a value for ConnectOptions.Extra (streamer.WithDriverOption) that
// sets when the writer of the file syncs it to stable storage: for example
// Sync{ssfile.SyncOnFlush()} makes every receipt mean "on disk", at the cost of
// one fdatasync per batch of sends (group commit). The default is
// ssfile.SyncNever(): a receipt means the message survives a crash of the
// process, not of the machine. The URI option sync=never|flush|<duration>
// overrides it.
type Sync struct {
	Durability ssfile.Durability
}

// config is what Open resolved from the URI and the ConnectOptions.
type config struct {
	path           string // cleaned absolute path of the file
	create         CreateMode
	eos            bool
	beaconInterval uint32
	sizeLimit      int64
	prefetch       int
	durability     ssfile.Durability
	logger         *slog.Logger
	fsyncHooks     []driver.HookFsync // the user's, called by the shared writer
	roundRobin     bool               // LoadBalanced groups in this process, per message (SeaStreamer's)
	heartbeat      time.Duration      // of pair groups; 0: DefaultHeartbeat
	sizeLimitSet   bool               // size_limit was given
	envelope       Envelope           // payloads in the archive envelope

	// A stream directory (diroptions.go).
	dir          bool // path is a stream directory, not a file
	segmentSize  int64
	segmentAge   time.Duration
	retention    ssdir.Retention
	skipDeleted  bool     // a consumer whose position retention deleted goes on
	retainGroups []string // retention keeps what these groups have not read (retain.go)
}

func optionError(name, value, reason string) error {
	return &driver.OptionError{Scheme: Scheme, Name: name, Value: value, Reason: reason, Err: driver.ErrInvalidOption}
}

// parseConfig merges opts and the URI's query options (which win) and
// checks them.
func parseConfig(u *driver.URI, opts driver.ConnectOptions) (config, error) {
	c := config{
		prefetch:   opts.Prefetch,
		durability: ssfile.SyncNever(),
		logger:     opts.Logger,
	}
	if c.logger == nil {
		c.logger = slog.New(slog.DiscardHandler)
	}
	for _, h := range opts.Hooks {
		if fh, ok := h.(driver.HookFsync); ok {
			c.fsyncHooks = append(c.fsyncHooks, fh)
		}
	}
	for _, x := range opts.Extra {
		switch v := x.(type) {
		case Option:
			if err := options.Apply(&c, driver.ScopeOpen, v.s); err != nil {
				return c, err
			}
		case Sync:
			_ = optSync.Set(&c, v.Durability)
		case *Sync:
			if v != nil {
				_ = optSync.Set(&c, v.Durability)
			}
		case GroupMode:
			if err := optGroupMode.Set(&c, v); err != nil {
				return c, err
			}
		case Heartbeat:
			if err := optHeartbeat.Set(&c, time.Duration(v)); err != nil {
				return c, err
			}
		default:
			return c, driver.UnknownExtraError(Scheme, x)
		}
	}
	if err := options.ApplyURI(&c, u); err != nil {
		return c, err
	}

	if c.beaconInterval == 0 {
		c.beaconInterval = ssfile.DefaultBeaconInterval
	}
	if c.beaconInterval%1024 != 0 {
		return c, optionError("beacon_interval", strconv.FormatUint(uint64(c.beaconInterval), 10), "must be a positive multiple of 1024 bytes")
	}
	if c.sizeLimit == 0 {
		c.sizeLimit = ssfile.DefaultSizeLimit
	}
	if c.sizeLimit < 1024 {
		return c, optionError("size_limit", strconv.FormatInt(c.sizeLimit, 10), "must be at least 1024 bytes")
	}
	if c.prefetch < 0 {
		return c, optionError("prefetch", strconv.Itoa(c.prefetch), "must not be negative")
	}
	if c.prefetch == 0 {
		c.prefetch = DefaultPrefetch
	}

	p, err := url.PathUnescape(u.Addr)
	if err != nil {
		return c, &driver.URIError{URI: u.Raw, Reason: "bad percent-encoding in the file path", Err: err}
	}
	if p == "" {
		return c, &driver.URIError{URI: u.Raw, Reason: "no file path: write file://./app.ss/stream or file:///abs/app.ss/stream"}
	}
	if c.path, err = filepath.Abs(p); err != nil {
		return c, &driver.URIError{URI: u.Raw, Reason: "cannot make the file path absolute", Err: err}
	}
	if err := c.layout(u, p); err != nil {
		return c, err
	}
	return c, nil
}
