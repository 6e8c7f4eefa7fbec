package filedriver

import (
	"log/slog"
	"math"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/seastream/ss/ssfile"
	"github.com/seastream/ss/streamer/driver"
)

// Defaults of the connect options.
const (
	DefaultPrefetch = 1000 // messages read ahead per consumer
)

// URI query options the driver knows. Each overrides the matching field of
// driver.FileOptions (or the Sync value) given in Go.
//
//	create=never|if-missing|only   (create, create=true: if-missing; create=false: never)
//	eos=true                       write an end-of-stream message when the last Conn closes
//	beacon_interval=1MiB           beacon interval of a new file, a multiple of 1 KiB
//	size_limit=16GiB               size limit of the file
//	prefetch=1000                  messages read ahead per consumer
//	sync=never|flush|<duration>    when the shared writer syncs to stable storage
var knownOptions = []string{"create", "eos", "beacon_interval", "size_limit", "prefetch", "sync"}

// Sync is a value for ConnectOptions.Extra (streamer.WithDriverOption) that
// sets when the writer of the file syncs it to stable storage: for example
// Sync{ssfile.SyncOnFlush} makes every receipt mean "on disk", at the cost of
// one fdatasync per batch of sends (group commit). The default is
// ssfile.SyncNever: a receipt means the message survives a crash of the
// process, not of the machine. The URI option sync=never|flush|<duration>
// overrides it.
type Sync struct {
	Durability ssfile.Durability
}

// config is what Open resolved from the URI and the ConnectOptions.
type config struct {
	path           string // cleaned absolute path of the file
	create         driver.CreateMode
	eos            bool
	beaconInterval uint32
	sizeLimit      int64
	prefetch       int
	durability     ssfile.Durability
	logger         *slog.Logger
	fsyncHooks     []driver.HookFsync // the user's, called by the shared writer
}

func optionError(name, value, reason string) error {
	return &driver.OptionError{Scheme: Scheme, Name: name, Value: value, Reason: reason, Err: driver.ErrInvalidOption}
}

// parseConfig merges opts and the URI's query options (which win) and
// checks them.
func parseConfig(u *driver.URI, opts driver.ConnectOptions) (config, error) {
	c := config{
		create:         opts.File.Create,
		eos:            opts.File.EndWithEOS,
		beaconInterval: opts.File.BeaconInterval,
		prefetch:       opts.File.Prefetch,
		durability:     ssfile.SyncNever,
		logger:         opts.Logger,
	}
	if c.logger == nil {
		c.logger = slog.New(slog.DiscardHandler)
	}
	for _, h := range opts.Hooks {
		if fh, ok := h.(driver.HookFsync); ok {
			c.fsyncHooks = append(c.fsyncHooks, fh)
		}
	}
	if opts.File.SizeLimit > math.MaxInt64 {
		return c, optionError("SizeLimit", strconv.FormatUint(opts.File.SizeLimit, 10), "at most 2^63-1 bytes")
	}
	c.sizeLimit = int64(opts.File.SizeLimit)
	for _, x := range opts.Extra {
		switch v := x.(type) {
		case Sync:
			c.durability = v.Durability
		case *Sync:
			if v != nil {
				c.durability = v.Durability
			}
		default:
			return c, driver.UnknownExtraError(Scheme, x)
		}
	}
	if err := u.CheckOptions(knownOptions...); err != nil {
		return c, err
	}
	if s, ok := u.Option("create"); ok {
		switch strings.ToLower(s) {
		case "", "true", "1", "if-missing", "if_missing":
			c.create = driver.CreateIfMissing
		case "false", "0", "never":
			c.create = driver.CreateNever
		case "only", "always":
			c.create = driver.CreateOnly
		default:
			return c, optionError("create", s, "expected never, if-missing (or true) or only")
		}
	}
	if v, ok, err := u.OptionBool("eos"); err != nil {
		return c, err
	} else if ok {
		c.eos = v
	}
	if v, ok, err := u.OptionSize("beacon_interval"); err != nil {
		return c, err
	} else if ok {
		if v > math.MaxUint32 {
			return c, optionError("beacon_interval", u.Query.Get("beacon_interval"), "at most 4 GiB")
		}
		c.beaconInterval = uint32(v)
	}
	if v, ok, err := u.OptionSize("size_limit"); err != nil {
		return c, err
	} else if ok {
		if v > math.MaxInt64 {
			return c, optionError("size_limit", u.Query.Get("size_limit"), "at most 2^63-1 bytes")
		}
		c.sizeLimit = int64(v)
	}
	if v, ok, err := u.OptionUint("prefetch"); err != nil {
		return c, err
	} else if ok {
		if v > math.MaxInt32 {
			return c, optionError("prefetch", u.Query.Get("prefetch"), "at most 2^31-1 messages")
		}
		c.prefetch = int(v)
	}
	if s, ok := u.Option("sync"); ok {
		switch strings.ToLower(s) {
		case "never", "false", "0":
			c.durability = ssfile.SyncNever
		case "flush", "true", "":
			c.durability = ssfile.SyncOnFlush
		default:
			d, err := time.ParseDuration(s)
			if err != nil || d <= 0 {
				return c, optionError("sync", s, `expected never, flush or a period such as "100ms"`)
			}
			c.durability = ssfile.SyncEvery(d)
		}
	}

	if c.create > driver.CreateOnly {
		return c, optionError("Create", c.create.String(), "use CreateNever, CreateIfMissing or CreateOnly")
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
	return c, nil
}
