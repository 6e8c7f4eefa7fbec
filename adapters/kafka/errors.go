package kafka

import (
	"context"
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/seastream/ss/streamer/driver"
)

// Errors of this package. Most failures are reported with the portable
// sentinels of package driver (re-exported by package streamer), wrapping the
// native franz-go error in a *driver.BackendError; these name what only Kafka
// has.
var (
	// ErrNoSuchPartition is returned by Seek and Rewind when a shard assigned
	// with Assign is not a partition of its topic, and by Send (through the
	// receipt) when a message is sent to such a shard. Kafka partitions are
	// numbered from 0 to the topic's partition count minus one.
	ErrNoSuchPartition = errors.New("kafka: no such partition: the shard must be below the topic's partition count (create the topic with more partitions)")

	// ErrGroupCommit is returned by Commit when the broker refused some of
	// the offsets; it wraps the broker's error for the first partition that
	// failed.
	ErrGroupCommit = errors.New("kafka: commit refused by the broker")

	// ErrBalancerMismatch is returned by Next of a LoadBalanced consumer
	// when the broker refuses it in its group (INCONSISTENT_GROUP_PROTOCOL):
	// it offers no balancer that every member of the group offers, e.g.
	// cooperative-sticky alone in a group of SeaStreamer consumers, which
	// offer range and roundrobin. It wraps the broker's error; the consumer
	// keeps trying to join, so a later Next succeeds once the other members
	// are gone.
	ErrBalancerMismatch = errors.New("kafka: the group's members share no balancer: give this member one the others offer (kafka.WithBalancer, URI option balancer=; SeaStreamer's members offer range,roundrobin, the default)")
)

// scheme is the URI scheme this driver registers.
const scheme = "kafka"

// wrapErr translates a franz-go error into the portable errors: nil stays
// nil, context errors pass through, a closed client is driver.ErrClosed, and
// everything else is a *driver.BackendError (also matching a portable
// sentinel where one applies, e.g. ErrStreamKeyNotFound for an unknown topic).
func wrapErr(op string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	case errors.Is(err, kgo.ErrClientClosed):
		return driver.ErrClosed
	}
	be := &driver.BackendError{Backend: scheme, Op: op, Err: err}
	switch {
	case errors.Is(err, kerr.UnknownTopicOrPartition), errors.Is(err, kerr.UnknownTopicID):
		return fmt.Errorf("%w: %w", driver.ErrStreamKeyNotFound, be)
	case errors.Is(err, kerr.MessageTooLarge), errors.Is(err, kerr.RecordListTooLarge):
		return fmt.Errorf("%w: %w", driver.ErrPayloadTooLarge, be)
	}
	return be
}
