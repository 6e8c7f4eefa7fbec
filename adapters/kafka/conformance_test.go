package kafka_test

import (
	"testing"

	_ "github.com/seastream/ss/adapters/kafka"
	"github.com/seastream/ss/streamer/streamertest"
)

// TestConformance runs the streamer conformance suite against kafka://: a
// fresh kfake cluster per case, or the broker named by SS_KAFKA_BROKERS.
//
// Not declared: Shards, because the suite sends to shard 1<<40 and Kafka
// partitions are 32-bit numbers below the topic's partition count (the
// adapter's own tests cover shards, Assign and routing on a 4-partition
// topic); GroupsSharePerMessage, because Kafka balances whole partitions;
// Verbatim, because Kafka assigns offsets. Wildcard needs an empty cluster,
// so only kfake declares it.
func TestConformance(t *testing.T) {
	caps := streamertest.Capabilities{
		MultipleStreamers: true,
		Earliest:          true,
		Binary:            true,
		MaxPayload:        900 << 10, // Kafka's default message.max.bytes is 1 MiB, record overhead included
		Seek:              true,
		Rewind:            true,
		Groups:            true,
		Resume:            true,
		Replay:            true,
		Wildcard:          !realBroker(),
		ExplicitTimestamp: true,
	}
	streamertest.Run(t, streamertest.Harness{
		NewURI: func(t *testing.T) string { return "kafka://" + newBrokers(t, 1) },
		Caps:   caps,
	})
}
