package stdio

import (
	"strconv"

	"github.com/seastream/ss/streamer/driver"
)

// Options are the stdio backend's connect options. Each is declared once
// below, usable as a URI query parameter and as a Go option (WithLoopback,
// WithMillis, WithMaxLineSize, given to streamer.WithDriverOption at Open);
// an Options value in ConnectOptions.Extra sets them all at once, as
// before. The URI's query overrides the Go forms.
type Options struct {
	// Loopback also delivers the messages this connection's producers write
	// to the consumers of this process that read the same input (URI:
	// ?loopback). Beware of a processor that consumes and produces the same
	// stream: it would loop forever. With loopback, the end of the input does
	// not end the stream of this connection's consumers.
	Loopback bool

	// Millis makes producers write timestamps with milliseconds
	// (2022-01-01T00:00:00.123) instead of whole seconds, so that they keep
	// their precision through a pipe (URI: ?millis).
	Millis bool

	// MaxLineSize is the largest input line accepted, newline excluded;
	// longer lines are skipped and reported. 0 means DefaultMaxLineSize
	// (URI: ?maxline=1MiB). It applies to the first connection reading an
	// input; later ones share its reader.
	MaxLineSize int
}

// Option is a stdio option for streamer.WithDriverOption at Open.
type Option struct{ s driver.Setting[Options] }

func (o Option) String() string { return "stdio option " + o.s.String() }

var options = driver.NewOptions[Options]("stdio")

// maxMaxLine is the largest line size an input may be given.
const maxMaxLine = 1 << 30

var (
	optLoopback = driver.AddValue(options, driver.Value[Options, bool]{
		Param: "loopback", Scope: driver.ScopeOpen, Parse: (*driver.URI).OptionBool,
		Set: func(c *Options, v bool) error { c.Loopback = v; return nil },
	})
	optMillis = driver.AddValue(options, driver.Value[Options, bool]{
		Param: "millis", Scope: driver.ScopeOpen, Parse: (*driver.URI).OptionBool,
		Set: func(c *Options, v bool) error { c.Millis = v; return nil },
	})
	optMaxLine = driver.AddValue(options, driver.Value[Options, int]{
		Param: "maxline", Scope: driver.ScopeOpen,
		Parse: func(u *driver.URI, name string) (int, bool, error) {
			v, ok, err := u.OptionSize(name)
			if err != nil || !ok {
				return 0, ok, err
			}
			if v == 0 || v > maxMaxLine {
				return 0, true, options.Invalid(name, strconv.FormatUint(v, 10), "use 1 byte to 1 GiB")
			}
			return int(v), true, nil
		},
		Set: func(c *Options, n int) error {
			if n < 0 || n > maxMaxLine {
				return options.Invalid("maxline", strconv.Itoa(n), "use 0 (the default) to 1 GiB")
			}
			c.MaxLineSize = n
			return nil
		},
	})
)

// WithLoopback sets Options.Loopback (URI: ?loopback).
func WithLoopback(v bool) Option { return Option{optLoopback.Setting(v)} }

// WithMillis sets Options.Millis (URI: ?millis).
func WithMillis(v bool) Option { return Option{optMillis.Setting(v)} }

// WithMaxLineSize sets Options.MaxLineSize, 0 to 1 GiB (URI: ?maxline=1MiB).
func WithMaxLineSize(n int) Option { return Option{optMaxLine.Setting(n)} }

// connectOptions reads the options of Open: an Options value or Go options
// in Extra, in order, then the URI's query.
func connectOptions(uri *driver.URI, extra []any) (Options, error) {
	var o Options
	for _, v := range extra {
		switch v := v.(type) {
		case Options:
			if err := optMaxLine.Set(&o, v.MaxLineSize); err != nil {
				return o, err
			}
			o = v
		case *Options:
			if v != nil {
				if err := optMaxLine.Set(&o, v.MaxLineSize); err != nil {
					return o, err
				}
				o = *v
			}
		case Option:
			if err := options.Apply(&o, driver.ScopeOpen, v.s); err != nil {
				return o, err
			}
		default:
			return o, driver.UnknownExtraError("stdio", v)
		}
	}
	if err := options.ApplyURI(&o, uri); err != nil {
		return o, err
	}
	if o.MaxLineSize == 0 {
		o.MaxLineSize = DefaultMaxLineSize
	}
	return o, nil
}
