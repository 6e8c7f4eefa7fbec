package kafka

// Balancers: how the group divides partitions among LoadBalanced members.

import (
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/seastream/ss/streamer"
)

// Balancer is a strategy a LoadBalanced consumer offers its group for
// dividing partitions among the members (Kafka's partition.assignment.strategy).
// The broker picks, among the balancers every member offers, the one most
// members prefer; a member that shares none with the group cannot join it
// (Next returns ErrBalancerMismatch).
type Balancer uint8

// Balancers. Range, RoundRobin and Sticky are eager: on every rebalance each
// member gives up all its partitions (committing what Next returned from
// them) and the group assigns them all again. CooperativeSticky moves only
// the partitions that change owner, and a group runs it only if every member
// offers it.
const (
	BalancerRange             Balancer = iota + 1 // "range": per topic, consecutive partitions to each member
	BalancerRoundRobin                            // "roundrobin": every partition in turn to each member
	BalancerSticky                                // "sticky": balanced, moving as few partitions as possible (eager)
	BalancerCooperativeSticky                     // "cooperative-sticky": sticky, moving partitions without stopping the others
)

var balancerNames = [...]string{"", "range", "roundrobin", "sticky", "cooperative-sticky"}

// defaultBalancers is what a LoadBalanced consumer offers by default:
// librdkafka's default partition.assignment.strategy, "range,roundrobin",
// which SeaStreamer's Kafka consumers keep (they do not set it). Offering
// the same eager balancers in the same order lets our members and
// SeaStreamer's share one group, which uses range either way. franz-go's
// own default, cooperative-sticky, shares nothing with them: the broker
// refuses the second kind of member with INCONSISTENT_GROUP_PROTOCOL.
var defaultBalancers = []Balancer{BalancerRange, BalancerRoundRobin}

func (b Balancer) String() string {
	if b > 0 && int(b) < len(balancerNames) {
		return balancerNames[b]
	}
	return "Balancer(" + strconv.Itoa(int(b)) + ")"
}

func (b Balancer) kgo() kgo.GroupBalancer {
	switch b {
	case BalancerRoundRobin:
		return kgo.RoundRobinBalancer()
	case BalancerSticky:
		return kgo.StickyBalancer()
	case BalancerCooperativeSticky:
		return kgo.CooperativeStickyBalancer()
	}
	return kgo.RangeBalancer()
}

// balancerList is a list of balancers in preference order, as an option
// carries it.
type balancerList []Balancer

func (l balancerList) String() string {
	names := make([]string, len(l))
	for i, b := range l {
		names[i] = b.String()
	}
	return strings.Join(names, ",")
}

// check refuses an empty list, an unknown balancer and a repeated one.
func (l balancerList) check(name string) error {
	if len(l) == 0 {
		return badOption(name, "", "give at least one balancer: range, roundrobin, sticky or cooperative-sticky")
	}
	for i, b := range l {
		if b == 0 || int(b) >= len(balancerNames) {
			return badOption(name, l.String(), "use the Balancer constants")
		}
		for _, c := range l[:i] {
			if c == b {
				return badOption(name, l.String(), b.String()+" is given twice")
			}
		}
	}
	return nil
}

func (l balancerList) kgo() []kgo.GroupBalancer {
	out := make([]kgo.GroupBalancer, len(l))
	for i, b := range l {
		out[i] = b.kgo()
	}
	return out
}

// parseBalancers reads a comma-separated list of balancer names.
func parseBalancers(name, v string) (balancerList, error) {
	var l balancerList
	for _, f := range strings.Split(v, ",") {
		f = strings.TrimSpace(f)
		i := 1
		for ; i < len(balancerNames); i++ {
			if strings.EqualFold(f, balancerNames[i]) {
				break
			}
		}
		if i == len(balancerNames) {
			return nil, badOption(name, v, "use range, roundrobin, sticky or cooperative-sticky, or a comma-separated list of them in preference order")
		}
		l = append(l, Balancer(i))
	}
	return l, l.check(name)
}

// WithBalancer sets the balancers a LoadBalanced consumer offers its group,
// in preference order (default: BalancerRange, BalancerRoundRobin, as
// SeaStreamer's librdkafka consumers; before, it was franz-go's
// cooperative-sticky, which cannot share a group with them). Every member of
// a group must offer at least one balancer in common with the others.
//
// A list mixing BalancerCooperativeSticky with eager balancers is the
// migration path of KIP-429: the group runs cooperatively only while every
// member offers cooperative-sticky, and an eager-only member joining (a
// SeaStreamer one, say) downgrades it to eager; on that downgrade a member
// may receive again messages another returned but had not committed. URI
// option: balancer=range|roundrobin|sticky|cooperative-sticky, or a
// comma-separated list such as balancer=range,roundrobin.
func WithBalancer(balancers ...Balancer) ConsumerOption {
	return streamer.WithDriverOption(option{optBalancer.Setting(balancerList(append([]Balancer(nil), balancers...)))})
}
