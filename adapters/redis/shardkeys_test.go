package redis

import (
	"strconv"
	"testing"

	"github.com/seastream/ss/streamer/driver"
)

// TestShardKeyLayout: a producer that shards writes every shard, 0
// included, to "<stream>:<n>", as SeaStreamer does (its consumers ignore
// "<stream>" once "<stream>:N" keys exist, so shard 0 in "<stream>" was lost
// to them); a producer that does not shard writes "<stream>"; the option
// overrides both; consumers read both layouts.
func TestShardKeyLayout(t *testing.T) {
	e := newEnv(t, "")
	cases := []struct {
		name  string
		opts  driver.ProducerOptions
		shard driver.ShardID
		key   string // where the message must be, after the stream key
	}{
		{"sharded", driver.ProducerOptions{ShardCount: 3}, 0, ":0"},
		{"sharded shard 2", driver.ProducerOptions{ShardCount: 3}, 2, ":2"},
		{"not sharded", driver.ProducerOptions{}, 0, ""},
		{"one shard", driver.ProducerOptions{ShardCount: 1}, 0, ""},
		{"sharded, suffix off", driver.ProducerOptions{ShardCount: 3, Extra: []any{WithShardZeroSuffix(false)}}, 0, ""},
		{"not sharded, suffix on", driver.ProducerOptions{Extra: []any{WithShardZeroSuffix(true)}}, 0, ":0"},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			k := e.key("layout" + strconv.Itoa(i))
			p := e.producer(c.opts)
			e.send(p, driver.Header{StreamKey: k, Shard: c.shard}, "m")
			if got := e.entries(string(k) + c.key); len(got) != 1 {
				t.Fatalf("%s%s holds %v, want the message", k, c.key, got)
			}
			other := ":0"
			if c.key != "" {
				other = ""
			}
			if c.shard == 0 {
				if got := e.entries(string(k) + other); len(got) != 0 {
					t.Fatalf("%s%s holds %v, want nothing", k, other, got)
				}
			}
			r := e.consumer([]driver.StreamKey{k}, driver.ConsumerOptions{AutoStreamReset: driver.ResetEarliest})
			if m := e.next(r, "the message"); m.Shard != c.shard || string(m.Payload) != "m" {
				t.Fatalf("consumer read %v %q, want shard %d", m.Header, m.Payload, c.shard)
			}
		})
	}
}

// TestDefaultGroups: without a group, a Resumable consumer joins
// "<host_id>:r" and a LoadBalanced one "<host_id>:s", SeaStreamer's names,
// so that Go and Rust consumers on one host share them.
func TestDefaultGroups(t *testing.T) {
	e := newEnv(t, "")
	k := e.key("groups")
	for mode, want := range map[driver.ConsumerMode]string{driver.Resumable: driver.HostID() + ":r", driver.LoadBalanced: driver.HostID() + ":s"} {
		c := e.consumer([]driver.StreamKey{k}, driver.ConsumerOptions{Mode: mode, AutoStreamReset: driver.ResetEarliest})
		if c.Group() != want {
			t.Errorf("%v without a group joined %q, want %q", mode, c.Group(), want)
		}
	}
}
