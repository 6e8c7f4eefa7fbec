package beacon_test

import (
	"testing"

	"github.com/seastream/ss/beacon"
	"github.com/seastream/ss/format"
	"github.com/seastream/ss/ssfile"
)

// BenchmarkMuxer measures laying out frames with beacons in memory: the
// engine's CPU cost per message, without the file (bench/README.md).
func BenchmarkMuxer(b *testing.B) {
	p := make([]byte, 256)
	for i := range p {
		p[i] = byte(i * 31)
	}
	m := beacon.NewMuxer(ssfile.DefaultBeaconInterval, 0, nil)
	buf, _ := m.AppendHeader(make([]byte, 0, 1<<20), format.Header{BeaconInterval: ssfile.DefaultBeaconInterval})
	b.SetBytes(256)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if len(buf) > 1<<19 {
			buf = buf[:0]
		}
		h := format.MessageHeader{StreamKey: "bench", SeqNo: uint64(i), Timestamp: uint64(1700000000000 + i/1000)}
		buf, _, _ = m.AppendMessage(buf, h, p)
	}
}
