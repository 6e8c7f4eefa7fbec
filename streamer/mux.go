package streamer

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/seastream/ss/streamer/driver"
)

// Mux maps URI schemes to drivers, like gocloud's URLMux or database/sql's
// driver registry. The zero value is an empty Mux ready to use; it is safe
// for concurrent use. Most programs use the default Mux through Register and
// Open; tests and embedders can build their own.
type Mux struct {
	mu      sync.RWMutex
	drivers map[string]driver.Driver
}

// defaultMux is the registry behind Register and Open: the package's only
// global state.
var defaultMux = new(Mux)

// DefaultMux returns the Mux used by Register and Open.
func DefaultMux() *Mux { return defaultMux }

// Register makes d the driver of scheme in the default Mux. It is meant to be
// called from a driver package's init function; it panics if scheme is
// malformed, d is nil, or scheme is already registered, because those are
// programming errors found at start-up (as database/sql.Register does).
func Register(scheme string, d driver.Driver) {
	if err := defaultMux.Register(scheme, d); err != nil {
		panic(err)
	}
}

// Open opens a Streamer for uri with the default Mux; see Mux.Open.
func Open(ctx context.Context, uri string, opts ...Option) (*Streamer, error) {
	return defaultMux.Open(ctx, uri, opts...)
}

// Register makes d the driver of scheme (case-insensitive). It returns an
// error if scheme is malformed, d is nil, or scheme is already registered.
func (m *Mux) Register(scheme string, d driver.Driver) error {
	scheme = strings.ToLower(scheme)
	if d == nil {
		return fmt.Errorf("streamer: Register %q: nil driver", scheme)
	}
	if _, err := driver.ParseURI(scheme + "://"); err != nil || strings.Contains(scheme, "://") {
		return fmt.Errorf("streamer: Register: bad scheme %q: use letters, digits, '+', '-' or '.', starting with a letter", scheme)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, dup := m.drivers[scheme]; dup {
		return fmt.Errorf("streamer: Register: scheme %q is already registered", scheme)
	}
	if m.drivers == nil {
		m.drivers = make(map[string]driver.Driver)
	}
	m.drivers[scheme] = d
	return nil
}

// Schemes returns the registered schemes, sorted.
func (m *Mux) Schemes() []string {
	m.mu.RLock()
	defer m.mu.RUnlock()
	s := make([]string, 0, len(m.drivers))
	for k := range m.drivers {
		s = append(s, k)
	}
	sort.Strings(s)
	return s
}

// ValidScheme reports whether scheme has a registered driver.
func (m *Mux) ValidScheme(scheme string) bool {
	m.mu.RLock()
	defer m.mu.RUnlock()
	_, ok := m.drivers[strings.ToLower(scheme)]
	return ok
}

// Open parses uri (see URI for the rules), finds the driver of its scheme,
// and connects. Options given here are defaults that the URI's query options
// override. The stream keys in uri, if any, are the defaults of NewProducer
// and NewConsumer.
//
// Errors: *URIError (ErrInvalidURI) for a malformed uri; ErrUnknownScheme
// naming the scheme and the registered ones; *OptionError (ErrUnknownOption,
// ErrInvalidOption) for options; *ConnectError (ErrConnect) when the backend
// cannot be reached; ctx's error when ctx ends first.
func (m *Mux) Open(ctx context.Context, uri string, opts ...Option) (*Streamer, error) {
	u, err := driver.ParseURI(uri)
	if err != nil {
		return nil, err
	}
	m.mu.RLock()
	d := m.drivers[u.Scheme]
	m.mu.RUnlock()
	if d == nil {
		return nil, fmt.Errorf("%w: %q (registered: %s)", ErrUnknownScheme, u.Scheme, quoteList(m.Schemes()))
	}
	var cfg driver.ConnectOptions
	for _, o := range opts {
		if o == nil {
			continue
		}
		o.applyConnect(&cfg)
	}
	if err := checkConnect(&cfg); err != nil {
		return nil, err
	}
	cfg.Extra = forScheme(cfg.Extra, u.Scheme)
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	hooks, err := newHookSet(cfg.Hooks)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	conn, err := d.Open(ctx, u.Clone(), cfg)
	if err != nil {
		return nil, err
	}
	s := newStreamer(u, conn, cfg.Logger)
	s.hooks = hooks
	return s, nil
}

func checkConnect(c *driver.ConnectOptions) error {
	if c.Timeout < 0 {
		return invalidOption("timeout", c.Timeout.String(), "must not be negative")
	}
	if c.Prefetch < 0 {
		return invalidOption("prefetch", strconv.Itoa(c.Prefetch), "must not be negative")
	}
	c.Hooks = slices.Clone(c.Hooks)
	return nil
}

func quoteList(s []string) string {
	if len(s) == 0 {
		return "none: import a driver package"
	}
	q := make([]string, len(s))
	for i, v := range s {
		q[i] = v + "://"
	}
	return strings.Join(q, ", ")
}
