package redis_test

import (
	"os"
	"strings"
	"testing"

	"github.com/alicebob/miniredis/v2"
	"github.com/seastream/ss/adapters/redis"
	"github.com/seastream/ss/streamer"
	"github.com/seastream/ss/streamer/streamertest"
)

// TestConformance runs the streamer conformance suite against redis://: the
// server named by SS_REDIS_URL, or a fresh in-process miniredis per case.
func TestConformance(t *testing.T) {
	real := os.Getenv("SS_REDIS_URL")
	streamertest.Run(t, streamertest.Harness{
		NewURI: func(t *testing.T) string {
			if real != "" {
				return strings.TrimSuffix(real, "/")
			}
			return "redis://" + miniredis.RunT(t).Addr()
		},
		// Shards appearing after a consumer started are found by a periodic
		// SCAN: make it frequent for the tests.
		Options: []streamer.Option{streamer.WithDriverOption(redis.WithDiscoverInterval(50_000_000))},
		Caps: streamertest.Capabilities{
			MultipleStreamers:     true,
			Earliest:              true,
			Binary:                true,
			Shards:                true,
			Seek:                  true,
			Rewind:                true,
			Groups:                true,
			GroupsSharePerMessage: true,
			Resume:                true,
			Replay:                true,
			ExplicitTimestamp:     true,
		},
	})
}
