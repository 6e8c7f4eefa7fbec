package filedriver

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	"github.com/seastream/ss/ssdir"
	"github.com/seastream/ss/ssfile"
	"github.com/seastream/ss/streamer/driver"
	"github.com/seastream/ss/streamer/envelope"
)

// Driver is the file backend's driver.Driver. The zero value is ready to use
// and safe for concurrent use; package streamer registers one under the
// scheme "file".
type Driver struct{}

var _ driver.Driver = Driver{}

// Open checks the URI's options and the file: with CreateNever (the
// default) the file must exist and be a .ss file; CreateIfMissing creates it
// when it does not exist, with its missing parent directories; CreateOnly
// creates it (and its parents) and fails with a
// *driver.ConnectError matching fs.ErrExist when it exists. Open does not
// take the file's writer: that happens at the first NewProducer, so that a
// process that only consumes never keeps another process from writing.
func (Driver) Open(ctx context.Context, u *driver.URI, opts driver.ConnectOptions) (driver.Conn, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	cfg, err := parseConfig(u, opts)
	if err != nil {
		return nil, err
	}
	connectErr := func(err error) error {
		return &driver.ConnectError{Backend: Scheme, Addr: cfg.path, Err: err}
	}
	if cfg.create != CreateNever {
		// Creating a file creates its missing parent directories too, like
		// mkdir -p: file://./data/app.ss?create=true works on a fresh checkout.
		if err := os.MkdirAll(filepath.Dir(cfg.path), 0o755); err != nil {
			return nil, connectErr(fmt.Errorf("creating the file's directory: %w", err))
		}
	}
	switch cfg.create {
	case CreateOnly:
		if err := createStream(&cfg); err != nil {
			if errors.Is(err, fs.ErrExist) {
				return nil, connectErr(fmt.Errorf("the file exists and the create option is %q: %w", "only", fs.ErrExist))
			}
			return nil, connectErr(err)
		}
	case CreateIfMissing:
		if err := createStream(&cfg); err != nil && !errors.Is(err, fs.ErrExist) {
			return nil, connectErr(err)
		}
	case CreateNever:
		check := checkFile
		if cfg.dir {
			check = checkDir
		}
		if err := check(cfg.path); err != nil {
			return nil, connectErr(err)
		}
	}
	return &conn{cfg: cfg, consumers: make(map[*consumer]struct{})}, nil
}

// checkFile reports whether path is an existing .ss file.
func checkFile(path string) error {
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w: give the create option (create=if-missing in the URI, or filedriver.WithCreate) to create it", err)
	}
	if err != nil {
		return err
	}
	if fi.IsDir() {
		return fmt.Errorf("%s is a directory, not a .ss file", path)
	}
	writers.Lock()
	_, open := writers.m[path]
	writers.Unlock()
	if open || fi.Size() == 0 {
		return nil // being written by this process, or just created
	}
	r, err := ssfile.Open(path)
	if err != nil {
		return err
	}
	return r.Close()
}

// conn is a driver.Conn on one file.
type conn struct {
	cfg config

	mu        sync.Mutex
	closed    bool
	w         *sharedWriter // taken by the first NewProducer
	consumers map[*consumer]struct{}
}

func (c *conn) NewProducer(ctx context.Context, stream driver.StreamKey, opts driver.ProducerOptions) (driver.Producer, error) {
	for _, x := range opts.Extra {
		return nil, extraError(x, driver.ScopeProducer)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	w, err := c.writer(ctx)
	if err != nil {
		return nil, err
	}
	return &producer{w: w, verbatim: opts.Verbatim, envelope: c.cfg.envelope}, nil
}

// writer returns the Conn's hold on the shared writer, taking it on first
// use.
func (c *conn) writer(ctx context.Context) (*sharedWriter, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, driver.ErrClosed
	}
	if c.w != nil && c.w.hasFailed() {
		// A write failed: this producer reopens the file.
		_ = c.w.release(false)
		c.w = nil
	}
	if c.w == nil {
		w, err := acquireWriter(ctx, c.cfg)
		if err != nil {
			return nil, err
		}
		c.w = w
	}
	return c.w, nil
}

func (c *conn) NewConsumer(ctx context.Context, streams []driver.StreamKey, opts driver.ConsumerOptions) (driver.Consumer, error) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, driver.ErrClosed
	}
	c.mu.Unlock()
	cons, err := newConsumer(ctx, c, streams, opts)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		_ = cons.Close(ctx)
		return nil, driver.ErrClosed
	}
	c.consumers[cons] = struct{}{}
	c.mu.Unlock()
	return cons, nil
}

func (c *conn) forget(cons *consumer) {
	c.mu.Lock()
	delete(c.consumers, cons)
	c.mu.Unlock()
}

// Close closes the consumers still open (the portable layer has normally
// closed them) and releases the shared writer; the last Conn of the process
// to release it flushes and closes the file, writing the end-of-stream
// message if any of them asked for it.
func (c *conn) Close(ctx context.Context) error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return driver.ErrClosed
	}
	c.closed = true
	consumers := make([]*consumer, 0, len(c.consumers))
	for cons := range c.consumers {
		consumers = append(consumers, cons)
	}
	w := c.w
	c.w = nil
	c.mu.Unlock()

	var errs []error
	for _, cons := range consumers {
		if err := cons.Close(ctx); err != nil && !errors.Is(err, driver.ErrClosed) {
			errs = append(errs, err)
		}
	}
	if w != nil {
		if err := w.release(c.cfg.eos); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// As exposes the file's *ssfile.Writer to streamer.Streamer.As once a
// producer has opened it. Writing to it directly bypasses sequence numbering.
// For a stream directory it exposes its *ssdir.Writer instead.
func (c *conn) As(target any) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.w == nil {
		return false
	}
	switch p := target.(type) {
	case **ssfile.Writer:
		if w, ok := c.w.w.(fileWriter); ok {
			*p = w.Writer
			return true
		}
	case **ssdir.Writer:
		if w, ok := c.w.w.(dirWriter); ok {
			*p = w.Writer
			return true
		}
	}
	return false
}

// producer is a driver.Producer writing through the shared writer.
type producer struct {
	w        *sharedWriter
	verbatim bool
	envelope Envelope // the Conn's: payloads are enveloped (envelope.go)

	mu    sync.RWMutex
	ended bool
}

func (p *producer) Send(ctx context.Context, h driver.Header, payload []byte) (driver.Pending, error) {
	if p.envelope != EnvelopeNone {
		payload = envelope.Encode(nil, nil, payload)
	}
	return p.send(ctx, h, payload)
}

func (p *producer) send(ctx context.Context, h driver.Header, payload []byte) (driver.Pending, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.ended {
		return nil, driver.ErrProducerEnded
	}
	return p.w.send(ctx, h, payload, p.verbatim)
}

func (p *producer) Flush(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.ended {
		return driver.ErrProducerEnded
	}
	return p.w.flush(ctx)
}

// End flushes. The shared writer stays open for the Conn's other producers
// until the Conn closes.
func (p *producer) End(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ended {
		return driver.ErrProducerEnded
	}
	p.ended = true
	return p.w.flush(ctx)
}
