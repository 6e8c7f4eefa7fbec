package bench

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/seastream/ss/format"
	"github.com/seastream/ss/ssdir"
	"github.com/seastream/ss/ssfile"
)

// segmentBench is the rollover size of BenchmarkSegmentWrite and
// BenchmarkSegmentTail, and retainedSegments what retention keeps, so that
// a long run's disk use stays bounded.
const (
	segmentBench     = 64 << 20
	retainedSegments = 4
)

// BenchmarkSegmentWrite measures writing 256 B messages, none synced:
//
//   - engine=file: one ssfile.Writer, one file;
//   - engine=dir: an ssdir.Writer rolling over every 64 MiB, keeping every
//     segment (as the file keeps every message);
//   - engine=dir-retention: the same deleting all but the last 4 segments
//     by retention as it goes (bounded disk use, as JetStream's below);
//   - engine=jetstream: embedded NATS JetStream (file storage, its default
//     sync) with MaxBytes retention of the same 4 × 64 MiB, published
//     asynchronously (PublishAsync, at most its default of 4,000
//     acknowledgements outstanding), all awaited at the end: the same work
//     done the way JetStream is fast.
func BenchmarkSegmentWrite(b *testing.B) {
	p := payload(256)
	b.Run("engine=file", func(b *testing.B) {
		w, err := ssfile.Create(filepath.Join(b.TempDir(), "one.ss"))
		if err != nil {
			b.Fatal(err)
		}
		writeLoop(b, w.Write, p, nil)
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
	})
	for _, retain := range []bool{false, true} {
		name := "engine=dir"
		var opts []ssdir.Option
		if retain {
			name += "-retention"
			opts = append(opts, ssdir.WithRetention(ssdir.Retention{Segments: retainedSegments}))
		}
		b.Run(name, func(b *testing.B) {
			w, err := ssdir.Append(b.TempDir(), append(opts, ssdir.WithSegmentSize(segmentBench))...)
			if err != nil {
				b.Fatal(err)
			}
			writeLoop(b, w.Write, p, nil)
			b.ReportMetric(float64(w.Segment().Number-1), "rollovers")
			if err := w.Close(); err != nil {
				b.Fatal(err)
			}
		})
	}
	b.Run("engine=jetstream", func(b *testing.B) {
		t, err := openJetStreamLimited(b.TempDir(), retainedSegments*segmentBench)
		if err != nil {
			b.Fatal(err)
		}
		defer t.Close()
		ctx := context.Background()
		b.SetBytes(int64(len(p)))
		b.ReportAllocs()
		for b.Loop() {
			for {
				_, err := t.js.PublishAsync("bench", p)
				if err == nil {
					break
				}
				if !errors.Is(err, jetstream.ErrTooManyStalledMsgs) {
					b.Fatal(err)
				}
				<-t.js.PublishAsyncComplete() // the window is full: wait, as a producer must
			}
		}
		select {
		case <-t.js.PublishAsyncComplete():
		case <-ctx.Done():
		case <-time.After(time.Minute):
			b.Fatal("jetstream: acknowledgements outstanding after a minute")
		}
	})
}

// BenchmarkSegmentTail measures the latency of each 256 B write (none
// synced) over runs that roll over every 64 MiB (engine=dir, with retention
// deleting as it goes) and over the same run to one file (engine=file, the
// steady state): p50, p99, p99.9 and the slowest write, in ns. With b.N of
// a few million, a run holds several rollovers.
func BenchmarkSegmentTail(b *testing.B) {
	p := payload(256)
	run := func(b *testing.B, write func(format.MessageHeader, []byte) error) {
		lat := make([]time.Duration, 0, b.N)
		writeLoop(b, write, p, &lat)
		reportTail(b, lat)
	}
	b.Run("engine=file", func(b *testing.B) {
		w, err := ssfile.Create(filepath.Join(b.TempDir(), "one.ss"))
		if err != nil {
			b.Fatal(err)
		}
		defer w.Close()
		run(b, w.Write)
	})
	b.Run("engine=dir", func(b *testing.B) {
		w, err := ssdir.Append(b.TempDir(), ssdir.WithSegmentSize(segmentBench), ssdir.WithRetention(ssdir.Retention{Segments: retainedSegments}))
		if err != nil {
			b.Fatal(err)
		}
		defer w.Close()
		run(b, w.Write)
		b.ReportMetric(float64(w.Segment().Number-1), "rollovers")
	})
}

// writeLoop writes b.N messages of payload p with write, and when lat is
// not nil the time each write took.
func writeLoop(b *testing.B, write func(format.MessageHeader, []byte) error, p []byte, lat *[]time.Duration) {
	b.SetBytes(int64(len(p)))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		var t0 time.Time
		if lat != nil {
			t0 = time.Now()
		}
		if err := write(header(i), p); err != nil {
			b.Fatal(err)
		}
		if lat != nil {
			*lat = append(*lat, time.Since(t0))
		}
		i++
	}
}

func reportTail(b *testing.B, lat []time.Duration) {
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	at := func(q float64) float64 { return float64(lat[min(int(q*float64(len(lat))), len(lat)-1)].Nanoseconds()) }
	b.ReportMetric(at(0.50), "p50-ns")
	b.ReportMetric(at(0.99), "p99-ns")
	b.ReportMetric(at(0.999), "p99.9-ns")
	b.ReportMetric(float64(lat[len(lat)-1].Nanoseconds()), "max-ns")
}

// seekSegments is the size of BenchmarkSegmentSeek's directory.
const seekSegments = 1000

// BenchmarkSegmentSeek measures a seek by time to a random message in a
// directory of 1,000 segments (100 messages of 256 B each), warm (the
// directory read and seeds cached by earlier seeks), and the first Next
// after it: p50 and p99 per seek, in µs.
func BenchmarkSegmentSeek(b *testing.B) {
	dir := b.TempDir()
	w, err := ssdir.Append(dir, ssdir.WithSegmentSize(100*280))
	if err != nil {
		b.Fatal(err)
	}
	p := payload(256)
	const n = seekSegments * 100
	for i := range n {
		if err := w.Write(format.MessageHeader{StreamKey: "bench", SeqNo: uint64(i + 1), Timestamp: uint64(1_700_000_000_000 + i)}, p); err != nil {
			b.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	segs, _ := ssdir.Segments(dir)
	if len(segs) < seekSegments*9/10 {
		b.Fatalf("%d segments, want about %d", len(segs), seekSegments)
	}
	r, err := ssdir.Open(dir)
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	rng := rand.New(rand.NewPCG(1, 2))
	seek := func() time.Duration {
		i := rng.IntN(n)
		t0 := time.Now()
		if err := r.Seek(ssfile.TimeTarget("bench", 0, time.UnixMilli(int64(1_700_000_000_000+i-1)))); err != nil {
			b.Fatal(err)
		}
		m, err := r.Next(context.Background())
		took := time.Since(t0)
		if err != nil || m.SeqNo != uint64(i+1) {
			b.Fatalf("seek to message %d: got seq %d, %v", i+1, m.SeqNo, err)
		}
		return took
	}
	for range 2000 { // warm: every seed read once
		seek()
	}
	lat := make([]time.Duration, 0, b.N)
	for b.Loop() {
		lat = append(lat, seek())
	}
	b.ReportMetric(float64(len(segs)), "segments")
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds())/1e3, "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds())/1e3, "p99-µs")
}

// BenchmarkRetentionDelete measures a writer's 256 B writes while
// retention deletes 1,000 old segments (engine=deleting: the directory
// holds 1,000 sealed segments and keeps 2) against the same writes with
// nothing to delete (engine=steady): p50, p99, p99.9 and max per write, ns.
func BenchmarkRetentionDelete(b *testing.B) {
	p := payload(256)
	for _, old := range []int{0, 1000} {
		name := "engine=steady"
		if old > 0 {
			name = "engine=deleting"
		}
		b.Run(name, func(b *testing.B) {
			dir := b.TempDir()
			if old > 0 {
				w, err := ssdir.Append(dir, ssdir.WithSegmentSize(4096))
				if err != nil {
					b.Fatal(err)
				}
				for i := 0; w.Segment().Number <= uint64(old); i++ {
					if err := w.Write(header(i), p); err != nil {
						b.Fatal(err)
					}
				}
				if err := w.Close(); err != nil {
					b.Fatal(err)
				}
			}
			w, err := ssdir.Append(dir, ssdir.WithSegmentSize(segmentBench), ssdir.WithRetention(ssdir.Retention{Segments: 2}))
			if err != nil {
				b.Fatal(err)
			}
			lat := make([]time.Duration, 0, b.N)
			writeLoop(b, w.Write, p, &lat)
			b.StopTimer()
			if err := w.Close(); err != nil {
				b.Fatal(err)
			}
			left, _ := ssdir.Segments(dir)
			if old > 0 && len(left) > 2 {
				b.Fatalf("%d segments left after retention", len(left))
			}
			reportTail(b, lat)
		})
	}
}

// openJetStreamLimited is openJetStreamTarget (default sync) with the
// stream limited to maxBytes, the oldest messages discarded.
func openJetStreamLimited(dir string, maxBytes int64) (*jetStreamTarget, error) {
	dt, err := openJetStreamTarget(dir, false)
	if err != nil {
		return nil, err
	}
	t := dt.(*jetStreamTarget)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := t.js.UpdateStream(ctx, jetstream.StreamConfig{
		Name: "bench", Subjects: []string{"bench"}, Storage: jetstream.FileStorage, Replicas: 1,
		MaxBytes: maxBytes, Discard: jetstream.DiscardOld,
	}); err != nil {
		t.Close()
		return nil, fmt.Errorf("jetstream: limiting the stream: %w", err)
	}
	return t, nil
}
