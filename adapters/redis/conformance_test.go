package redis_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/seastream/ss/adapters/redis"
	"github.com/seastream/ss/streamer"
	"github.com/seastream/ss/streamer/streamertest"
)

// TestConformance runs the streamer conformance suite against redis://: the
// server named by SS_REDIS_URL, or a fresh in-process miniredis per case.
//
// With SS_REDIS_SCRIPT (the absolute path of scripts/redis.sh) as well, the
// resume cases restart the server between runs.
func TestConformance(t *testing.T) {
	real := os.Getenv("SS_REDIS_URL")
	var restart func(t *testing.T, uri string)
	if script := os.Getenv("SS_REDIS_SCRIPT"); real != "" && script != "" {
		restart = func(t *testing.T, _ string) {
			out, err := exec.Command("bash", script, "restart").CombinedOutput()
			if err != nil {
				t.Fatalf("%s restart: %v\n%s", script, err, out)
			}
		}
	}
	streamertest.Run(t, streamertest.Harness{
		Restart: restart,
		NewURI: func(t *testing.T) string {
			if real != "" {
				return strings.TrimSuffix(real, "/")
			}
			return "redis://" + miniredis.RunT(t).Addr()
		},
		// Shards appearing after a consumer started are found by a periodic
		// SCAN: make it frequent for the tests.
		Options: []streamer.Option{streamer.WithDriverOption(redis.WithDiscoverInterval(50 * time.Millisecond))},
		Caps: streamertest.Capabilities{
			MultipleStreamers:     true,
			DefaultGroup:          true,
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

// TestClusterConformance runs the streamer conformance suite against the
// Redis Cluster named by SS_REDIS_CLUSTER_URL (bash scripts/redis-cluster.sh
// start), with cluster=true; it skips without it.
func TestClusterConformance(t *testing.T) {
	nodes := os.Getenv("SS_REDIS_CLUSTER_URL")
	if nodes == "" {
		t.Skip("needs a Redis Cluster: set SS_REDIS_CLUSTER_URL (bash scripts/redis-cluster.sh start)")
	}
	streamertest.Run(t, streamertest.Harness{
		NewURI:  func(t *testing.T) string { return strings.TrimSuffix(nodes, "/") + "?cluster=true" },
		Options: []streamer.Option{streamer.WithDriverOption(redis.WithDiscoverInterval(50 * time.Millisecond))},
		Caps: streamertest.Capabilities{
			MultipleStreamers:     true,
			DefaultGroup:          true,
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
