package stdio

import (
	"bytes"
	"context"
	"fmt"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/seastream/ss/streamer/driver"
)

// producer is a driver.Producer writing lines to its connection's output.
//
// Sequence numbers count from 0 per (stream, shard) of the output, shared by
// every producer writing to it (SeaStreamer counts per stream, all in shard
// 0). The timestamp is the time of Send unless given, truncated to what the
// line holds (seconds, or milliseconds with ?millis); the receipt carries
// both exactly as written.
type producer struct {
	out      *output
	format   Format
	verbatim bool
	loop     *input // with loopback: the input whose consumers also get the messages
	ended    atomic.Bool
}

// Send implements driver.Producer. The payload must be UTF-8 without a
// newline (driver.ErrInvalidUTF8, ErrPayloadNewline, a case of
// driver.ErrPayloadUnsupported). Leading and trailing white space of a
// payload does not survive a pipe: the reading side trims it, as
// SeaStreamer's does. An empty payload is written as an empty line
// body (SeaStreamer skips it).
func (p *producer) Send(ctx context.Context, h driver.Header, payload []byte) (driver.Pending, error) {
	if p.ended.Load() {
		return nil, driver.ErrProducerEnded
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if !utf8.Valid(payload) {
		return nil, fmt.Errorf("%w (stdio carries text lines; use the file backend for binary payloads)", driver.ErrInvalidUTF8)
	}
	if bytes.IndexByte(payload, '\n') >= 0 {
		return nil, ErrPayloadNewline
	}
	return p.out.write(ctx, p.format, h, payload, p.verbatim, p.loop)
}

// Flush implements driver.Producer: it returns once every line sent before
// it (by any producer of the output) has been written to the io.Writer.
func (p *producer) Flush(ctx context.Context) error {
	if p.ended.Load() {
		return driver.ErrProducerEnded
	}
	return p.out.flush(ctx)
}

// End implements driver.Producer: it flushes, then ends the producer.
func (p *producer) End(ctx context.Context) error {
	if p.ended.Load() {
		return driver.ErrProducerEnded
	}
	err := p.out.flush(ctx)
	p.ended.Store(true)
	return err
}

func nowUTC() time.Time { return time.Now().UTC() }
