package filedriver_test

import (
	"path/filepath"
	"testing"

	"github.com/seastream/ss/streamer"
	"github.com/seastream/ss/streamer/filedriver"
	"github.com/seastream/ss/streamer/streamertest"
)

// TestConformance runs the streamer conformance suite against file://, on a
// Mux of its own so that it does not depend on the default registration:
// on a .ss file, and on a stream directory.
func TestConformance(t *testing.T) {
	m := new(streamer.Mux)
	if err := m.Register(filedriver.Scheme, filedriver.Driver{}); err != nil {
		t.Fatal(err)
	}
	for _, dir := range []bool{false, true} {
		for _, mode := range []filedriver.GroupMode{filedriver.Pairs, filedriver.RoundRobin} {
			name := mode.String()
			if dir {
				name = "dir-" + name
			}
			t.Run(name, func(t *testing.T) { conformance(t, m, dir, mode, "") })
		}
	}
	// With the archive envelope every case holds too, and keys and
	// attributes come back.
	t.Run("envelope", func(t *testing.T) { conformance(t, m, false, filedriver.Pairs, "&envelope=v1") })
}

// conformance runs the suite on a file, or on a stream directory whose
// segments roll over every 4 KiB, so that the suite's streams cross
// segments.
func conformance(t *testing.T, m *streamer.Mux, dir bool, mode filedriver.GroupMode, query string) {
	streamertest.Run(t, streamertest.Harness{
		Mux: m,
		NewURI: func(t *testing.T) string {
			if dir {
				return "file://" + t.TempDir() + "/stream/?create=if-missing&segment_size=4KiB&group_mode=" + mode.String() + query
			}
			return "file://" + filepath.Join(t.TempDir(), "conformance.ss") + "?create=if-missing&group_mode=" + mode.String() + query
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
}
