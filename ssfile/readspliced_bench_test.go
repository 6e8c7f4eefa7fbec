package ssfile_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/seastream/ss/ssfile"
)

// BenchmarkReadSpliced reads, checksums verified, messages that beacons
// splice at interval 1024: 64 KiB payloads (each frame crosses 64 beacons
// and is gathered) and 4 KiB ones (4 beacons). One op is one message; the
// file is reopened when read through.
func BenchmarkReadSpliced(b *testing.B) {
	for _, c := range []struct {
		size     int
		interval uint32
	}{{64 << 10, 1024}, {4 << 10, 1024}} {
		b.Run(fmt.Sprintf("%dKiB/interval=%d", c.size>>10, c.interval), func(b *testing.B) {
			const n = 2000
			path := filepath.Join(b.TempDir(), "s.ss")
			w, err := ssfile.Create(path, ssfile.WithBeaconInterval(c.interval), ssfile.WithSizeLimit(1<<40))
			if err != nil {
				b.Fatal(err)
			}
			p := benchPayload(c.size)
			for i := range n {
				if err := w.Write(benchHeader(i), p); err != nil {
					b.Fatal(err)
				}
			}
			if err := w.Close(); err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(c.size))
			b.ReportAllocs()
			var r *ssfile.Reader
			ctx := context.Background()
			for i := 0; b.Loop(); i++ {
				if i%n == 0 {
					if r != nil {
						r.Close()
					}
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
	}
}
