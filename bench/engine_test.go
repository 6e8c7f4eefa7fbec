package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tidwall/wal"

	"github.com/seastream/ss/format"
	"github.com/seastream/ss/internal/testkit"
	"github.com/seastream/ss/ssfile"
)

var payloadSizes = []int{256, 4096}

func header(i int) format.MessageHeader {
	return format.MessageHeader{StreamKey: "bench", ShardID: 0, SeqNo: uint64(i), Timestamp: uint64(1700000000000 + i/1000)}
}

func payload(n int) []byte {
	p := make([]byte, n)
	for i := range p {
		p[i] = byte(i * 31)
	}
	return p
}

// BenchmarkWrite compares, per message: the engine's Writer, a raw buffered
// write of the very same bytes, and tidwall/wal writing the same payloads in
// batches of 1000 and one by one. None of them syncs.
func BenchmarkWrite(b *testing.B) {
	for _, size := range payloadSizes {
		p := payload(size)
		b.Run(fmt.Sprintf("engine/%dB", size), func(b *testing.B) {
			w, err := ssfile.Create(filepath.Join(b.TempDir(), "b.ss"))
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(size))
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if err := w.Write(header(i), p); err != nil {
					b.Fatal(err)
				}
				i++
			}
			if err := w.Close(); err != nil {
				b.Fatal(err)
			}
		})
		b.Run(fmt.Sprintf("raw/%dB", size), func(b *testing.B) {
			// The same bytes the engine writes, encoded beforehand: only the
			// buffered write(2) calls are measured.
			frames := encodeFrames(1000, p)
			f, err := os.Create(filepath.Join(b.TempDir(), "raw"))
			if err != nil {
				b.Fatal(err)
			}
			bw := bufio.NewWriterSize(f, ssfile.DefaultBufferSize)
			b.SetBytes(int64(size))
			i := 0
			for b.Loop() {
				bw.Write(frames[i%len(frames)])
				i++
			}
			bw.Flush()
			f.Close()
		})
		b.Run(fmt.Sprintf("wal-batch1000/%dB", size), func(b *testing.B) {
			l, err := wal.Open(filepath.Join(b.TempDir(), "wal"), &wal.Options{NoSync: true})
			if err != nil {
				b.Fatal(err)
			}
			defer l.Close()
			b.SetBytes(int64(size))
			var batch wal.Batch
			idx := uint64(1)
			for b.Loop() {
				batch.Write(idx, p)
				idx++
				if idx%1000 == 0 {
					if err := l.WriteBatch(&batch); err != nil {
						b.Fatal(err)
					}
					batch.Clear()
				}
			}
			if err := l.WriteBatch(&batch); err != nil {
				b.Fatal(err)
			}
		})
		b.Run(fmt.Sprintf("wal-single/%dB", size), func(b *testing.B) {
			l, err := wal.Open(filepath.Join(b.TempDir(), "wal"), &wal.Options{NoSync: true})
			if err != nil {
				b.Fatal(err)
			}
			defer l.Close()
			b.SetBytes(int64(size))
			idx := uint64(1)
			for b.Loop() {
				if err := l.Write(idx, p); err != nil {
					b.Fatal(err)
				}
				idx++
			}
		})
	}
}

func encodeFrames(n int, p []byte) [][]byte {
	frames := make([][]byte, n)
	for i := range frames {
		frames[i], _, _ = format.AppendMessage(nil, header(i), p)
	}
	return frames
}

// writeBenchFile writes n messages and returns the path.
func writeBenchFile(b *testing.B, n int, p []byte) string {
	b.Helper()
	path := filepath.Join(b.TempDir(), "read.ss")
	w, err := ssfile.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; i < n; i++ {
		if err := w.Write(header(i), p); err != nil {
			b.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	return path
}

// BenchmarkRead reads a file of 200k messages with every checksum verified,
// against tidwall/wal reading the same payloads (which checks no checksum
// unless asked) and a plain bufio read of the same bytes.
func BenchmarkRead(b *testing.B) {
	const n = 200_000
	for _, size := range payloadSizes {
		p := payload(size)
		path := writeBenchFile(b, n, p)
		b.Run(fmt.Sprintf("engine/%dB", size), func(b *testing.B) {
			b.SetBytes(int64(size))
			b.ReportAllocs()
			var r *ssfile.Reader
			ctx := context.Background()
			for i := 0; b.Loop(); i++ {
				if i%n == 0 {
					if r != nil {
						r.Close()
					}
					var err error
					if r, err = ssfile.Open(path); err != nil {
						b.Fatal(err)
					}
				}
				if _, err := r.Next(ctx); err != nil {
					b.Fatal(err)
				}
			}
			r.Close()
		})
		b.Run(fmt.Sprintf("raw/%dB", size), func(b *testing.B) {
			frame := len(encodeFrames(1, p)[0])
			buf := make([]byte, frame)
			b.SetBytes(int64(size))
			var f *os.File
			var br *bufio.Reader
			for i := 0; b.Loop(); i++ {
				if i%n == 0 {
					if f != nil {
						f.Close()
					}
					f, _ = os.Open(path)
					br = bufio.NewReaderSize(f, 1<<20)
				}
				if _, err := io.ReadFull(br, buf); err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
					b.Fatal(err)
				}
			}
			f.Close()
		})
		b.Run(fmt.Sprintf("wal/%dB", size), func(b *testing.B) {
			l, err := wal.Open(filepath.Join(b.TempDir(), "wal"), &wal.Options{NoSync: true, NoCopy: true})
			if err != nil {
				b.Fatal(err)
			}
			defer l.Close()
			var batch wal.Batch
			for i := 1; i <= n; i++ {
				batch.Write(uint64(i), p)
				if i%1000 == 0 {
					l.WriteBatch(&batch)
					batch.Clear()
				}
			}
			b.SetBytes(int64(size))
			for i := 0; b.Loop(); i++ {
				if _, err := l.Read(uint64(i%n + 1)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkSeek seeks by timestamp in a file of about 1 GiB (page cache warm)
// and reports the 50th and 99th percentile latency of one seek, beside a seek
// by scanning from the start (the baseline a file without beacons allows) on
// a 64 MiB prefix.
func BenchmarkSeek(b *testing.B) {
	if testing.Short() {
		b.Skip("writes a 1 GiB file")
	}
	const size = 256
	n := (1 << 30) / format.MessageSize(len("bench"), size)
	path := writeBenchFile(b, n, payload(size))
	r, err := ssfile.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	last := header(n - 1).Timestamp
	first := header(0).Timestamp
	b.Run("beacons/1GiB", func(b *testing.B) {
		var lat []time.Duration
		for i := 0; b.Loop(); i++ {
			ts := first + uint64(i*7919)%(last-first)
			start := time.Now()
			if err := r.Seek(ssfile.Target{StreamKey: "bench", Timestamp: ts, ByTime: true}); err != nil {
				b.Fatal(err)
			}
			lat = append(lat, time.Since(start))
		}
		testkit.ReportPercentiles(b, lat)
	})
	b.Run("scan/64MiB", func(b *testing.B) {
		var lat []time.Duration
		scanTo := first + uint64(n/16/1000)
		for b.Loop() {
			start := time.Now()
			r.RewindToBeacon(0)
			for {
				m, err := r.Next(context.Background())
				if err != nil {
					b.Fatal(err)
				}
				if m.Timestamp > scanTo {
					break
				}
			}
			lat = append(lat, time.Since(start))
		}
		testkit.ReportPercentiles(b, lat)
	})
}
