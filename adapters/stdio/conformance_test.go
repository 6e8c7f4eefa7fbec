package stdio_test

import (
	"io"
	"testing"

	"github.com/seastream/ss/adapters/stdio"
	"github.com/seastream/ss/streamer"
	"github.com/seastream/ss/streamer/streamertest"
)

// TestConformance runs the conformance suite through loopback: what a
// Streamer's producers write is delivered to the consumers of the process,
// as a pipeline would deliver it to the next process.
func TestConformance(t *testing.T) {
	r, w := io.Pipe() // an input that stays open and silent
	t.Cleanup(func() { _ = w.Close() })
	mux := new(streamer.Mux)
	if err := mux.Register("stdio", stdio.Driver{In: r, Out: io.Discard, Errors: io.Discard}); err != nil {
		t.Fatal(err)
	}
	streamertest.Run(t, streamertest.Harness{
		Mux:    mux,
		NewURI: func(t *testing.T) string { return "stdio://?loopback&millis" },
		Caps: streamertest.Capabilities{
			MultipleStreamers:     true,
			Shards:                true,
			Groups:                true,
			GroupsSharePerMessage: true,
			Wildcard:              true,
			ExplicitTimestamp:     true,
			Verbatim:              true,
		},
	})
}
