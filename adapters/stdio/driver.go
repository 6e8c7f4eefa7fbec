package stdio

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"sync"

	"github.com/seastream/ss/streamer"
	"github.com/seastream/ss/streamer/driver"
)

func init() { streamer.Register("stdio", Driver{}) }

// DefaultMaxLineSize is the default maximum size of an input line, newline
// excluded: 16 MiB.
const DefaultMaxLineSize = 16 << 20

// defaultPrefetch is how many messages a consumer buffers when
// ConsumerOptions.Prefetch is 0.
const defaultPrefetch = 1000

// Driver opens stdio connections. The zero value, registered for the
// "stdio" scheme, reads os.Stdin, writes os.Stdout and reports bad lines on
// os.Stderr; set the fields to use other streams (tests use pipes):
//
//	mux.Register("stdio", stdio.Driver{In: r, Out: w, Errors: &reports})
//
// A Driver is safe for concurrent use.
type Driver struct {
	In     io.Reader // lines to consume; nil means os.Stdin
	Out    io.Writer // where producers write lines; nil means os.Stdout
	Errors io.Writer // reports of skipped input lines; nil means os.Stderr
}

// Options are the stdio backend's connect options, given as a value in
// ConnectOptions.Extra (streamer.WithDriverOption(stdio.Options{...})). The
// URI's query options override them.
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

// Open implements driver.Driver. The URI has no address: stdio:///a,b. Its
// stream keys are only defaults for the portable layer.
func (d Driver) Open(ctx context.Context, uri *driver.URI, opts driver.ConnectOptions) (driver.Conn, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if uri.Addr != "" {
		return nil, &driver.URIError{URI: uri.Raw, Reason: fmt.Sprintf("stdio takes no address (got %q): write stdio:///stream_key", uri.Addr)}
	}
	var o Options
	for _, v := range opts.Extra {
		switch v := v.(type) {
		case Options:
			o = v
		case *Options:
			if v != nil {
				o = *v
			}
		default:
			return nil, driver.UnknownExtraError("stdio", v)
		}
	}
	if err := uri.CheckOptions("loopback", "millis", "maxline"); err != nil {
		return nil, err
	}
	if v, ok, err := uri.OptionBool("loopback"); err != nil {
		return nil, err
	} else if ok {
		o.Loopback = v
	}
	if v, ok, err := uri.OptionBool("millis"); err != nil {
		return nil, err
	} else if ok {
		o.Millis = v
	}
	if v, ok, err := uri.OptionSize("maxline"); err != nil {
		return nil, err
	} else if ok {
		if v == 0 || v > 1<<30 {
			return nil, &driver.OptionError{Scheme: "stdio", Name: "maxline", Value: strconv.FormatUint(v, 10),
				Reason: "use 1 byte to 1 GiB", Err: driver.ErrInvalidOption}
		}
		o.MaxLineSize = int(v)
	}
	if o.MaxLineSize < 0 || o.MaxLineSize > 1<<30 {
		return nil, &driver.OptionError{Scheme: "stdio", Name: "MaxLineSize", Value: strconv.Itoa(o.MaxLineSize),
			Reason: "use 0 (the default) to 1 GiB", Err: driver.ErrInvalidOption}
	}
	if o.MaxLineSize == 0 {
		o.MaxLineSize = DefaultMaxLineSize
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}

	var r io.Reader = os.Stdin
	if d.In != nil {
		r = d.In
	}
	var w io.Writer = os.Stdout
	if d.Out != nil {
		w = d.Out
	}
	var ew io.Writer = os.Stderr
	if d.Errors != nil {
		ew = d.Errors
	}
	in, err := acquireInput(ctx, r, ew, o.MaxLineSize, log)
	if err != nil {
		return nil, err
	}
	out, err := acquireOutput(ctx, w)
	if err != nil {
		_ = in.release(ctx)
		return nil, err
	}
	return &conn{opts: o, in: in, out: out, format: Format{Millis: o.Millis}}, nil
}

// conn is a driver.Conn: a handle on the shared input and output.
type conn struct {
	opts   Options
	format Format
	in     *input
	out    *output

	mu     sync.Mutex
	closed bool
}

// NewProducer implements driver.Conn.
func (c *conn) NewProducer(ctx context.Context, stream driver.StreamKey, opts driver.ProducerOptions) (driver.Producer, error) {
	if len(opts.Extra) > 0 {
		return nil, driver.UnknownExtraError("stdio", opts.Extra[0])
	}
	if err := c.check(); err != nil {
		return nil, err
	}
	p := &producer{out: c.out, format: c.format, verbatim: opts.Verbatim}
	if c.opts.Loopback {
		p.loop = c.in
	}
	return p, nil
}

// NewConsumer implements driver.Conn.
func (c *conn) NewConsumer(ctx context.Context, streams []driver.StreamKey, opts driver.ConsumerOptions) (driver.Consumer, error) {
	if len(opts.Extra) > 0 {
		return nil, driver.UnknownExtraError("stdio", opts.Extra[0])
	}
	if opts.Mode == driver.Resumable {
		return nil, fmt.Errorf("%w: Resumable consumers on stdio (there is no stored position to resume): use RealTime or LoadBalanced", driver.ErrUnsupported)
	}
	if err := c.check(); err != nil {
		return nil, err
	}
	prefetch := opts.Prefetch
	if prefetch <= 0 {
		prefetch = defaultPrefetch
	}
	group := ""
	if opts.Mode == driver.LoadBalanced {
		if opts.Group == "" {
			return nil, driver.ErrConsumerGroupNotSet // no default group on stdio
		}
		group = opts.Group
	}
	return c.in.addConsumer(streams, group, prefetch, c.opts.Loopback), nil
}

func (c *conn) check() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return driver.ErrClosed
	}
	return nil
}

// Close implements driver.Conn: it releases the shared input and output,
// stopping their goroutines when this was the last connection using them
// (see the package documentation for os.Stdin).
func (c *conn) Close(ctx context.Context) error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return driver.ErrClosed
	}
	c.closed = true
	c.mu.Unlock()
	errOut := c.out.release(ctx)
	errIn := c.in.release(ctx)
	if errOut != nil {
		return errOut
	}
	return errIn
}
