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

// durableWindows are the sends each producer of BenchmarkDurable keeps in
// flight: 1, each send waits for its acknowledgement before the next; more,
// a producer sends ahead and waits for the oldest acknowledgement once that
// many are outstanding, as a Kafka producer does (max.in.flight) and as
// Producer.Send's receipts allow.
var durableWindows = []int{1, 16}

// durableTarget is an engine that BenchmarkDurable sends to.
type durableTarget interface {
	// newSender returns one producer, which keeps up to window sends in
	// flight. It is used by one goroutine at a time.
	newSender(ctx context.Context, window int) (durableSender, error)
	// started is called once the warm-up sends are done, as the clock starts.
	started()
	// report adds the engine's own metrics of the b.N messages sent since.
	report(b *testing.B)
	Close() error
}

// durableSender is one producer of a durableTarget.
type durableSender interface {
	// send starts sending p (not changed until its acknowledgement) and
	// queues its acknowledgement.
	send(ctx context.Context, p []byte) error
	// await waits for the oldest acknowledgement queued and not awaited yet
	// (a receipt, a JetStream PubAck): it returns once the engine has
	// acknowledged that send, or its error.
	await(ctx context.Context) error
}

// BenchmarkDurable measures durable sends of 256 B, where an acknowledgement
// means the message is on disk (fdatasync'ed), with 1, 8 and 64 producers
// sending concurrently, b.N messages in all. With window=1 (the cases named
// without a window) every producer waits for each message's acknowledgement
// before it sends the next; with window=16 it keeps up to 16 sends in flight.
// It reports msgs/s and the 50th and 99th percentile of the time from a send
// to its acknowledgement.
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
//     published with js.Publish, which waits for the PubAck (window=1), or
//     js.PublishAsync and its PubAckFuture (window=16).
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
		for _, w := range durableWindows {
			for _, n := range durableProducers {
				name := fmt.Sprintf("engine=%s/producers=%d", e.name, n)
				if w > 1 { // before producers, so that "producers=8$" names one case
					name = fmt.Sprintf("engine=%s/window=%d/producers=%d", e.name, w, n)
				}
				b.Run(name, func(b *testing.B) {
					t, err := e.open(b, b.TempDir())
					if err != nil {
						b.Fatal(err)
					}
					defer func() {
						if err := t.Close(); err != nil {
							b.Error(err)
						}
					}()
					runDurable(b, t, n, w, p)
				})
			}
		}
	}
}

// runDurable sends b.N messages from n producers, each keeping up to window
// sends in flight, and reports msgs/s and the acknowledgement latency.
func runDurable(b *testing.B, t durableTarget, n, window int, p []byte) {
	ctx := context.Background()
	senders := make([]durableSender, n)
	for i := range senders {
		var err error
		if senders[i], err = t.newSender(ctx, window); err != nil {
			b.Fatal(err)
		}
		// One message each before the clock starts: the first send opens
		// files (and JetStream its first block), which is not per-message
		// cost.
		if err := senders[i].send(ctx, p); err != nil {
			b.Fatal(err)
		}
		if err := senders[i].await(ctx); err != nil {
			b.Fatal(err)
		}
	}
	// lat[i] is the latency of the i-th message claimed: written by one
	// producer each, read once they are done.
	lat := make([]time.Duration, b.N)
	var next atomic.Int64
	var failed atomic.Pointer[error]
	fail := func(err error) {
		failed.CompareAndSwap(nil, &err)
		next.Store(int64(len(lat))) // stop the others
	}
	var wg sync.WaitGroup
	b.SetBytes(int64(len(p)))
	t.started()
	b.ResetTimer()
	start := time.Now()
	for _, s := range senders {
		wg.Go(func() {
			// The messages this producer has in flight, oldest first.
			inflight := newFIFO[sentAt](window)
			awaitOldest := func() bool {
				sent := inflight.pop()
				if err := s.await(ctx); err != nil {
					fail(err)
					return false
				}
				lat[sent.i] = time.Since(sent.t0)
				return true
			}
			for {
				i := next.Add(1) - 1
				if i >= int64(len(lat)) {
					break
				}
				if inflight.len() == window && !awaitOldest() {
					return
				}
				t0 := time.Now()
				if err := s.send(ctx, p); err != nil {
					fail(err)
					return
				}
				inflight.push(sentAt{i, t0})
			}
			for inflight.len() > 0 && awaitOldest() {
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

func (t *fileTarget) newSender(ctx context.Context, window int) (durableSender, error) {
	pr, err := t.s.NewProducer(ctx, "bench")
	if err != nil {
		return nil, err
	}
	return &fileSender{pr: pr, receipts: newFIFO[streamer.Receipt](window)}, nil
}

// fileSender is a file:// producer and its receipts in flight.
type fileSender struct {
	pr       *streamer.Producer
	receipts fifo[streamer.Receipt]
}

func (s *fileSender) send(ctx context.Context, p []byte) error {
	r, err := s.pr.Send(ctx, p)
	if err != nil {
		return err
	}
	s.receipts.push(r)
	return nil
}

func (s *fileSender) await(ctx context.Context) error {
	_, err := s.receipts.pop().Wait(ctx)
	return err
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

// sentAt is a message a producer of runDurable has in flight: its index
// and when it was sent.
type sentAt struct {
	i  int64
	t0 time.Time
}

// fifo is a queue of at most a few values, oldest first, in a ring that
// grows when full: a producer's sends in flight, without an allocation per
// send.
type fifo[T any] struct {
	ring    []T
	head, n int
}

func newFIFO[T any](capacity int) fifo[T] { return fifo[T]{ring: make([]T, capacity)} }

func (q *fifo[T]) len() int { return q.n }

func (q *fifo[T]) push(v T) {
	if q.n == len(q.ring) {
		grown := make([]T, 2*len(q.ring)+1)
		for i := range q.n {
			grown[i] = q.ring[(q.head+i)%len(q.ring)]
		}
		q.ring, q.head = grown, 0
	}
	q.ring[(q.head+q.n)%len(q.ring)] = v
	q.n++
}

// pop removes and returns the oldest value; the queue is not empty.
func (q *fifo[T]) pop() T {
	v := q.ring[q.head]
	var zero T
	q.ring[q.head] = zero
	q.head = (q.head + 1) % len(q.ring)
	q.n--
	return v
}
