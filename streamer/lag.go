package streamer

import (
	"context"
	"fmt"

	"github.com/seastream/ss/streamer/driver"
)

// Lag is how far a consumer is behind the end of one (stream, shard): the
// number of messages stored after the last one it received.
type Lag = driver.Lag

// Lag returns the consumer's lag per (stream, shard) it reads, for backends
// whose consumer implements driver.Lagger; others return ErrUnsupported. It
// may be called while other goroutines call Next, for example by a metrics
// scraper (see package metrics/prometheus).
//
// The file, Redis and Kafka backends implement it (stdio has no position
// to measure from); see each backend's doc for what it counts and what a
// call costs.
func (c *Consumer) Lag(ctx context.Context) ([]Lag, error) {
	if c.isClosed() {
		return nil, ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	l, ok := c.dc.(driver.Lagger)
	if !ok {
		return nil, fmt.Errorf("%w: consumer lag on %s://", ErrUnsupported, c.s.uri.Scheme)
	}
	return l.Lag(ctx)
}
