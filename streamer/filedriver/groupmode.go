package filedriver

import (
	"strings"
	"time"

	"github.com/seastream/ss/streamer/driver"
)

// GroupMode chooses how the LoadBalanced groups of a Conn share the file: a
// value for ConnectOptions.Extra (streamer.WithDriverOption), or the URI
// option group_mode=pairs|round-robin, which wins.
type GroupMode int

const (
	// Pairs, the default, shares a group between consumers in any process
	// of the host: each (stream, shard) pair is owned by one member at a
	// time, which receives all its messages in order, as Kafka shares
	// partitions. A group of one pair has one active member and the others
	// stand by. Positions are shared by the group (Commit), and a member
	// that dies hands on its last commit. See the package doc.
	Pairs GroupMode = iota
	// RoundRobin keeps SeaStreamer's file semantics: a group lives in this
	// process, its members take turns message by message whatever the pair,
	// and other processes using the group name form groups of their own,
	// each receiving every message. Its position is not stored.
	RoundRobin
)

func (m GroupMode) String() string {
	if m == RoundRobin {
		return "round-robin"
	}
	return "pairs"
}

// Heartbeat is a value for ConnectOptions.Extra that sets how often the
// members of a Pairs group look at each other (default DefaultHeartbeat):
// a rebalance takes one or two heartbeats. The URI option heartbeat=250ms
// wins.
type Heartbeat time.Duration

var (
	optGroupMode = driver.AddValue(options, driver.Value[config, GroupMode]{
		Param: "group_mode", Scope: driver.ScopeOpen,
		Parse: func(u *driver.URI, name string) (GroupMode, bool, error) {
			s, ok := u.Option(name)
			if !ok {
				return Pairs, false, nil
			}
			switch strings.ToLower(s) {
			case "pairs", "":
				return Pairs, true, nil
			case "round-robin", "round_robin", "roundrobin":
				return RoundRobin, true, nil
			}
			return Pairs, true, optionError(name, s, "expected pairs (shared across processes, by (stream, shard)) or round-robin (this process, message by message)")
		},
		Set: func(c *config, m GroupMode) error {
			if m != Pairs && m != RoundRobin {
				return optionError("GroupMode", m.String(), "use Pairs or RoundRobin")
			}
			c.roundRobin = m == RoundRobin
			return nil
		},
	})

	optHeartbeat = driver.AddValue(options, driver.Value[config, time.Duration]{
		Param: "heartbeat", Scope: driver.ScopeOpen, Parse: (*driver.URI).OptionDuration,
		Set: func(c *config, d time.Duration) error {
			if d <= 0 {
				return optionError("heartbeat", d.String(), `expected a positive duration such as "250ms"`)
			}
			c.heartbeat = d
			return nil
		},
	})
)
