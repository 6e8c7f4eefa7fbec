package bench

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/seastream/ss/ssfile"
	"github.com/seastream/ss/streamer"
	_ "github.com/seastream/ss/streamer/filedriver"
)

// BenchmarkFileAPI measures what the streamer API costs over the engine on
// files, per message of 256 B: producing through file:// beside
// ssfile.Writer.Write, and consuming a replay through file:// (payloads
// copied out of the mapping, a prefetch goroutine, the portable layer)
// beside ssfile.Reader.Next. Neither side syncs.
func BenchmarkFileAPI(b *testing.B) {
	const size = 256
	p := payload(size)
	ctx := context.Background()
	b.Run(fmt.Sprintf("produce/engine/%dB", size), func(b *testing.B) {
		w, err := ssfile.Create(filepath.Join(b.TempDir(), "b.ss"))
		if err != nil {
			b.Fatal(err)
		}
		b.SetBytes(size)
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
	b.Run(fmt.Sprintf("produce/streamer/%dB", size), func(b *testing.B) {
		s, err := streamer.Open(ctx, "file://"+filepath.Join(b.TempDir(), "b.ss"), streamer.WithCreate(streamer.CreateIfMissing))
		if err != nil {
			b.Fatal(err)
		}
		pr, err := s.NewProducer(ctx, "bench")
		if err != nil {
			b.Fatal(err)
		}
		b.SetBytes(size)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := pr.Send(ctx, p); err != nil {
				b.Fatal(err)
			}
		}
		if err := pr.Flush(ctx); err != nil {
			b.Fatal(err)
		}
		if err := s.Close(ctx); err != nil {
			b.Fatal(err)
		}
	})
	const n = 200_000
	path := writeBenchFile(b, n, p)
	b.Run(fmt.Sprintf("consume/engine/%dB", size), func(b *testing.B) {
		b.SetBytes(size)
		b.ReportAllocs()
		var r *ssfile.Reader
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
	b.Run(fmt.Sprintf("consume/streamer/%dB", size), func(b *testing.B) {
		s, err := streamer.Open(ctx, "file://"+path)
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close(ctx)
		b.SetBytes(size)
		b.ReportAllocs()
		var c *streamer.Consumer
		for i := 0; b.Loop(); i++ {
			if i%n == 0 {
				if c != nil {
					c.Close(ctx)
				}
				if c, err = s.NewConsumer(ctx, []streamer.StreamKey{"bench"}, streamer.WithReplay(), streamer.WithAutoStreamReset(streamer.ResetEarliest)); err != nil {
					b.Fatal(err)
				}
			}
			if _, err := c.Next(ctx); err != nil {
				if errors.Is(err, streamer.ErrStreamEnded) {
					b.Fatalf("the replay ended after %d messages of %d", i%n, n)
				}
				b.Fatal(err)
			}
		}
		c.Close(ctx)
	})
}
