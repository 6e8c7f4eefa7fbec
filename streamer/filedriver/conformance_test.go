package filedriver_test

import (
	"path/filepath"
	"testing"

	"github.com/seastream/ss/streamer"
	"github.com/seastream/ss/streamer/filedriver"
	"github.com/seastream/ss/streamer/streamertest"
)

// TestConformance runs the streamer conformance suite against file://, on a
// Mux of its own so that it does not depend on the default registration.
func TestConformance(t *testing.T) {
	m := new(streamer.Mux)
	if err := m.Register(filedriver.Scheme, filedriver.Driver{}); err != nil {
		t.Fatal(err)
	}
	for _, mode := range []filedriver.GroupMode{filedriver.Pairs, filedriver.RoundRobin} {
		t.Run(mode.String(), func(t *testing.T) {
			streamertest.Run(t, streamertest.Harness{
				Mux: m,
				NewURI: func(t *testing.T) string {
					return "file://" + filepath.Join(t.TempDir(), "conformance.ss") + "?create=if-missing&group_mode=" + mode.String()
				},
				Caps: streamertest.Capabilities{
					MultipleStreamers: true, Earliest: true, Binary: true, Shards: true,
					Seek: true, Rewind: true, Groups: true,
					// Pairs groups share by (stream, shard), as Kafka
					// does by partition.
					GroupsSharePerMessage: mode == filedriver.RoundRobin,
					Resume:                true, Replay: true, Wildcard: true, ExplicitTimestamp: true, Verbatim: true,
				},
			})
		})
	}
}
