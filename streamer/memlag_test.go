package streamer_test

import (
	"context"

	"github.com/seastream/ss/streamer/driver"
)

// Lag implements driver.Lagger for the in-memory test driver: what is stored
// after the consumer's position, per (stream, shard) it reads.
func (c *memConsumer) Lag(ctx context.Context) ([]driver.Lag, error) {
	b := c.b
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []driver.Lag
	for _, ss := range c.targets() {
		n := len(b.logs[ss]) - c.cur.get(ss)
		out = append(out, driver.Lag{Stream: ss.Stream, Shard: ss.Shard, Messages: uint64(max(n, 0))})
	}
	return out, nil
}
