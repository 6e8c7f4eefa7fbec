package stdio

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
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

// Open implements driver.Driver. The URI has no address: stdio:///a,b. Its
// stream keys are only defaults for the portable layer.
func (d Driver) Open(ctx context.Context, uri *driver.URI, opts driver.ConnectOptions) (driver.Conn, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if uri.Addr != "" {
		return nil, &driver.URIError{URI: uri.Raw, Reason: fmt.Sprintf("stdio takes no address (got %q): write stdio:///stream_key", uri.Addr)}
	}
	o, err := connectOptions(uri, opts.Extra)
	if err != nil {
		return nil, err
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
