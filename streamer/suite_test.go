package streamer_test

import (
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/seastream/ss/streamer"
	"github.com/seastream/ss/streamer/streamertest"
)

var memSeq atomic.Int64

func memMux(t *testing.T) *streamer.Mux {
	t.Helper()
	m := new(streamer.Mux)
	if err := m.Register("mem", &memDriver{}); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestConformanceMem runs the conformance suite against the in-memory test
// driver: it checks the portable layer and the suite itself.
func TestConformanceMem(t *testing.T) {
	streamertest.Run(t, streamertest.Harness{
		Mux:    memMux(t),
		NewURI: func(t *testing.T) string { return fmt.Sprintf("mem://ns%d", memSeq.Add(1)) },
		Caps: streamertest.Capabilities{
			MultipleStreamers: true, Earliest: true, Binary: true, Shards: true, Seek: true, Rewind: true,
			Groups: true, Resume: true, Replay: true, Wildcard: true,
			ExplicitTimestamp: true, Verbatim: true,
		},
	})
}
