package streamertest

import (
	"testing"
)

// Run runs every conformance case against the backend h describes, each as a
// subtest; cases the backend's Capabilities exclude are skipped with the
// reason.
func Run(t *testing.T, h Harness) {
	if h.NewURI == nil {
		t.Fatal("streamertest: Harness.NewURI is required")
	}
	cases := []struct {
		name string
		f    func(*testing.T, Harness)
	}{
		{"RoundTrip", testRoundTrip},
		{"URIStreamKeys", testURIStreamKeys},
		{"TextAndJSON", testTextAndJSON},
		{"BufferReuse", testBufferReuse},
		{"BinaryPayloads", testBinaryPayloads},
		{"KeysAndAttrs", testKeysAndAttrs},
		{"LargePayload", testLargePayload},
		{"OrderPerStreamShard", testOrderPerStreamShard},
		{"ConcurrentProducers", testConcurrentProducers},
		{"ConcurrentNext", testConcurrentNext},
		{"SlowConsumerDoesNotStall", testSlowConsumer},
		{"FlushResolvesReceipts", testFlush},
		{"Cancellation", testCancellation},
		{"ConsumerClose", testConsumerClose},
		{"ProducerEnd", testProducerEnd},
		{"StreamerClose", testStreamerClose},
		{"InvalidStreamKeys", testInvalidStreamKeys},
		{"InvalidOptions", testInvalidOptions},
		{"Shards", testShards},
		{"AssignUnassign", testAssignUnassign},
		{"RoutingKey", testRoutingKey},
		{"Seek", testSeek},
		{"SeekExplicitTimestamps", testSeekExplicit},
		{"Rewind", testRewind},
		{"Replay", testReplay},
		{"Wildcard", testWildcard},
		{"Verbatim", testVerbatim},
		{"LoadBalancedShare", testGroupShare},
		{"LoadBalancedJoinLeave", testGroupJoinLeave},
		{"ResumeAfterRestart", testResume},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { c.f(t, h) })
	}
}
