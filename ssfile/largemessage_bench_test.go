package ssfile_test

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/seastream/ss/beacon"
	"github.com/seastream/ss/format"
	"github.com/seastream/ss/ssfile"
)

// BenchmarkLargeMessage writes one message of 1, 16 or 256 MiB per op, at
// beacon intervals 1024 and 1 MiB: `engine` is ssfile.Writer.Write then
// Flush (frame, CRC, beacons, write(2), no sync); `raw` writes the very same
// bytes, laid out beforehand, through a 1 MiB bufio.Writer, then flushes.
// Both append to one file per case in b.TempDir(). -short leaves out 256 MiB.
// bench/README.md records the runs (bench/rotate.sh, one process per run).
func BenchmarkLargeMessage(b *testing.B) {
	for _, interval := range []uint32{1024, 1 << 20} {
		for _, size := range []int{1 << 20, 16 << 20, 256 << 20} {
			name := fmt.Sprintf("interval=%s/%dMiB", sizeName(int(interval)), size>>20)
			b.Run("engine/"+name, func(b *testing.B) {
				if size > 16<<20 && testing.Short() {
					b.Skip("-short: no 256 MiB message")
				}
				p := benchPayload(size)
				w, err := ssfile.Create(filepath.Join(b.TempDir(), "b.ss"), ssfile.WithBeaconInterval(interval),
					ssfile.WithSizeLimit(1<<40))
				if err != nil {
					b.Fatal(err)
				}
				b.SetBytes(int64(size))
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					if err := w.Write(benchHeader(i), p); err != nil {
						b.Fatal(err)
					}
					if err := w.Flush(); err != nil {
						b.Fatal(err)
					}
					i++
				}
				b.StopTimer()
				if err := w.Close(); err != nil {
					b.Fatal(err)
				}
			})
			b.Run("raw/"+name, func(b *testing.B) {
				if size > 16<<20 && testing.Short() {
					b.Skip("-short: no 256 MiB message")
				}
				// The frame as it lands in a file right after its header.
				m := beacon.NewMuxer(interval, format.HeaderSize, nil)
				frame, _, err := m.AppendMessage(nil, benchHeader(0), benchPayload(size))
				if err != nil {
					b.Fatal(err)
				}
				f, err := os.Create(filepath.Join(b.TempDir(), "b.raw"))
				if err != nil {
					b.Fatal(err)
				}
				defer f.Close()
				bw := bufio.NewWriterSize(f, 1<<20)
				b.SetBytes(int64(size))
				b.ReportAllocs()
				for b.Loop() {
					if _, err := bw.Write(frame); err != nil {
						b.Fatal(err)
					}
					if err := bw.Flush(); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

func sizeName(n int) string {
	if n >= 1<<20 {
		return fmt.Sprintf("%dMiB", n>>20)
	}
	return fmt.Sprint(n)
}

// benchHeader is the header of the i-th message of a benchmark.
func benchHeader(i int) format.MessageHeader {
	return format.MessageHeader{StreamKey: "bench", ShardID: 0, SeqNo: uint64(i), Timestamp: uint64(1700000000000 + i/1000)}
}

// benchPayload returns n bytes of a fixed pattern.
func benchPayload(n int) []byte {
	p := make([]byte, n)
	for i := range p {
		p[i] = byte(i * 31)
	}
	return p
}
