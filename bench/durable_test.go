package bench

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seastream/ss/internal/testkit"
	"github.com/seastream/ss/ssfile"
	"github.com/seastream/ss/streamer"
	"github.com/seastream/ss/streamer/filedriver"
)

// durableProducers are the concurrencies of BenchmarkDurable: one producer
// alone pays a whole sync per message; more share each sync (group commit).
var durableProducers = []int{1, 8, 64}

// durableTarget is an engine that BenchmarkDurable sends to.
type durableTarget interface {
	// newSender returns the send of one producer: it returns once the
	// engine has acknowledged p (a receipt, a JetStream PubAck). It is
	// called by one goroutine at a time, and p is not changed.
	newSender(ctx context.Context) (func(ctx context.Context, p []byte) error, error)
	// started is called once the warm-up sends are done, as the clock starts.
	started()
	// report adds the engine's own metrics of the b.N messages sent since.
	report(b *testing.B)
	Close() error
}

// BenchmarkDurable measures durable sends of 256 B: every producer waits for
// each message's acknowledgement before it sends the next, and an
// acknowledgement means the message is on disk (fdatasync'ed), with 1, 8 and
// 64 producers sending concurrently, b.N messages in all. It reports msgs/s
// and the 50th and 99th percentile of the time from a send to its
// acknowledgement.
//
//   - engine=file: file:// with sync=flush, one Streamer whose producers
//     share the file's writer; its flusher writes and fdatasyncs once per
//     batch of sends (group commit). It also reports the messages per
//     fdatasync and the mean fdatasync time.
//   - engine=raw: the disk's limit for such producers, the same frames
//     appended to a plain file with one pwrite and fdatasync per batch of
//     sends, by whichever send finds no flush under way (rawsync_test.go).
//   - engine=jetstream-sync: embedded NATS JetStream (nats-server as a
//     library, file storage, one replica) with sync always (the server
//     option SyncAlways, sync_interval: always in a configuration file),
//     published with js.Publish, which waits for the PubAck.
//   - engine=jetstream-default: the same with the server's default
//     sync_interval (2 minutes): a PubAck then means the server has written
//     the message to its file, not that it is on disk, so this is not durable
//     against a machine crash; it is here as the figure JetStream is usually
//     quoted with.
func BenchmarkDurable(b *testing.B) {
	const size = 256
	p := payload(size)
	engines := []struct {
		name string
		open func(b *testing.B, dir string) (durableTarget, error)
	}{
		{"file", openFileTarget},
		{"raw", openRawTarget},
		{"jetstream-sync", func(b *testing.B, dir string) (durableTarget, error) { return openJetStreamTarget(dir, true) }},
		{"jetstream-default", func(b *testing.B, dir string) (durableTarget, error) { return openJetStreamTarget(dir, false) }},
	}
	for _, e := range engines {
		for _, n := range durableProducers {
			b.Run(fmt.Sprintf("engine=%s/producers=%d", e.name, n), func(b *testing.B) {
				t, err := e.open(b, b.TempDir())
				if err != nil {
					b.Fatal(err)
				}
				defer func() {
					if err := t.Close(); err != nil {
						b.Error(err)
					}
				}()
				runDurable(b, t, n, p)
			})
		}
	}
}

// runDurable sends b.N messages from n producers, each waiting for its
// acknowledgement, and reports msgs/s and the acknowledgement latency.
func runDurable(b *testing.B, t durableTarget, n int, p []byte) {
	ctx := context.Background()
	sends := make([]func(context.Context, []byte) error, n)
	for i := range sends {
		var err error
		if sends[i], err = t.newSender(ctx); err != nil {
			b.Fatal(err)
		}
		// One message each before the clock starts: the first send opens
		// files (and JetStream its first block), which is not per-message
		// cost.
		if err := sends[i](ctx, p); err != nil {
			b.Fatal(err)
		}
	}
	// lat[i] is the latency of the i-th message claimed: written by one
	// producer each, read once they are done.
	lat := make([]time.Duration, b.N)
	var next atomic.Int64
	var failed atomic.Pointer[error]
	var wg sync.WaitGroup
	b.SetBytes(int64(len(p)))
	t.started()
	b.ResetTimer()
	start := time.Now()
	for _, send := range sends {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(len(lat)) {
					return
				}
				t0 := time.Now()
				if err := send(ctx, p); err != nil {
					e := err // declared here, not escaping on every send
					failed.CompareAndSwap(nil, &e)
					next.Store(int64(len(lat))) // stop the others
					return
				}
				lat[i] = time.Since(t0)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if err := failed.Load(); err != nil {
		b.Fatal(*err)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msgs/s")
	testkit.ReportPercentiles(b, lat)
	t.report(b)
}

// fileTarget is file:// with sync=flush.
type fileTarget struct {
	s     *streamer.Streamer
	syncs *fsyncCounter
	// The fdatasyncs and their time when the clock started.
	before, beforeNS int64
}

func openFileTarget(b *testing.B, dir string) (durableTarget, error) {
	syncs := &fsyncCounter{}
	s, err := streamer.Open(context.Background(), "file://"+filepath.Join(dir, "durable.ss"),
		streamer.WithDriverOption(filedriver.WithCreate(filedriver.CreateIfMissing)),
		streamer.WithDriverOption(filedriver.Sync{Durability: ssfile.SyncOnFlush()}),
		streamer.WithHooks(syncs))
	if err != nil {
		return nil, err
	}
	return &fileTarget{s: s, syncs: syncs}, nil
}

func (t *fileTarget) newSender(ctx context.Context) (func(context.Context, []byte) error, error) {
	pr, err := t.s.NewProducer(ctx, "bench")
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, p []byte) error {
		r, err := pr.Send(ctx, p)
		if err != nil {
			return err
		}
		_, err = r.Wait(ctx)
		return err
	}, nil
}

func (t *fileTarget) started() {
	t.before, t.beforeNS = t.syncs.n.Load(), t.syncs.ns.Load()
}

func (t *fileTarget) report(b *testing.B) {
	// The syncs of the b.N messages; the hook is called before a batch's
	// receipts resolve, so every one of them is counted by now.
	n := t.syncs.n.Load() - t.before
	if n > 0 {
		b.ReportMetric(float64(b.N)/float64(n), "msgs/fsync")
		b.ReportMetric(float64(t.syncs.ns.Load()-t.beforeNS)/float64(n)/1e3, "fsync-µs")
	}
}

func (t *fileTarget) Close() error { return t.s.Close(context.Background()) }

// fsyncCounter is a streamer.HookFsync counting the file's fdatasyncs and
// the time they took.
type fsyncCounter struct {
	n  atomic.Int64
	ns atomic.Int64
}

func (c *fsyncCounter) OnFsync(e streamer.FsyncEvent) {
	c.n.Add(1)
	c.ns.Add(int64(e.Latency))
}
