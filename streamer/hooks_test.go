package streamer_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/seastream/ss/streamer"
	"github.com/seastream/ss/streamer/driver"
)

// recorder implements every hook interface and keeps what it sees.
type recorder struct {
	mu       sync.Mutex
	produced []streamer.ProduceEvent
	consumed []streamer.ConsumeEvent
	commits  []streamer.CommitEvent
	flushes  []streamer.FlushEvent
	errs     []streamer.ErrorEvent
}

func (r *recorder) OnProduce(e streamer.ProduceEvent) {
	r.mu.Lock()
	r.produced = append(r.produced, e)
	r.mu.Unlock()
}
func (r *recorder) OnConsume(e streamer.ConsumeEvent) {
	r.mu.Lock()
	r.consumed = append(r.consumed, e)
	r.mu.Unlock()
}
func (r *recorder) OnCommit(e streamer.CommitEvent) {
	r.mu.Lock()
	r.commits = append(r.commits, e)
	r.mu.Unlock()
}
func (r *recorder) OnFlush(e streamer.FlushEvent) {
	r.mu.Lock()
	r.flushes = append(r.flushes, e)
	r.mu.Unlock()
}
func (r *recorder) OnError(e streamer.ErrorEvent) {
	r.mu.Lock()
	r.errs = append(r.errs, e)
	r.mu.Unlock()
}

// TestHooksSeeEveryEvent checks, against file://, that hooks see each
// produce (with its stored header and size), consume, flush and commit,
// and no error on a clean run.
func TestHooksSeeEveryEvent(t *testing.T) {
	for _, tc := range []struct {
		name     string
		payloads [][]byte
		shards   int
	}{
		{"one", [][]byte{[]byte("hello")}, 1},
		{"sizes", [][]byte{{}, []byte("a"), bytes.Repeat([]byte("x"), 3000), bytes.Repeat([]byte("y"), 70000)}, 1},
		{"shards", [][]byte{[]byte("s0"), []byte("s1-"), []byte("s0--"), []byte("s1---"), []byte("s0----")}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			rec := &recorder{}
			uri := "file://" + filepath.Join(t.TempDir(), "h.ss") + "/events?create=true"
			s, err := streamer.Open(ctx, uri, streamer.WithHooks(rec))
			if err != nil {
				t.Fatal(err)
			}
			p, err := s.NewProducer(ctx, "")
			if err != nil {
				t.Fatal(err)
			}
			var last streamer.Receipt
			for i, pl := range tc.payloads {
				if last, err = p.Send(ctx, pl, streamer.WithShard(streamer.ShardID(i%tc.shards))); err != nil {
					t.Fatal(err)
				}
			}
			if err := p.Flush(ctx); err != nil {
				t.Fatal(err)
			}
			if _, err := last.Wait(ctx); err != nil {
				t.Fatal(err)
			}
			c, err := s.NewConsumer(ctx, nil, streamer.WithMode(streamer.Resumable), streamer.WithGroup("g"),
				streamer.WithAutoStreamReset(streamer.ResetEarliest))
			if err != nil {
				t.Fatal(err)
			}
			var got []streamer.Message
			for range tc.payloads {
				m, err := c.Next(ctx)
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, m)
			}
			if err := c.Commit(ctx); err != nil {
				t.Fatal(err)
			}
			if err := p.End(ctx); err != nil { // waits for the last OnProduce
				t.Fatal(err)
			}
			if err := s.Close(ctx); err != nil {
				t.Fatal(err)
			}

			rec.mu.Lock()
			defer rec.mu.Unlock()
			if len(rec.produced) != len(tc.payloads) {
				t.Fatalf("OnProduce called %d times, want %d", len(rec.produced), len(tc.payloads))
			}
			for i, e := range rec.produced {
				if e.Err != nil || e.Bytes != len(tc.payloads[i]) || e.Header.StreamKey != "events" ||
					e.Header.Shard != streamer.ShardID(i%tc.shards) || e.Header.Seq == 0 || e.Header.Timestamp.IsZero() || e.Latency < 0 {
					t.Errorf("produce event %d = %+v; want %d bytes to events shard %d, stored", i, e, len(tc.payloads[i]), i%tc.shards)
				}
			}
			if len(rec.consumed) != len(got) {
				t.Fatalf("OnConsume called %d times, want %d", len(rec.consumed), len(got))
			}
			for i, e := range rec.consumed {
				if e.Header != got[i].Header || e.Bytes != len(got[i].Payload) || e.Delay < 0 {
					t.Errorf("consume event %d = %+v; want header %v, %d bytes", i, e, got[i].Header, len(got[i].Payload))
				}
			}
			if len(rec.flushes) != 1 || rec.flushes[0].Err != nil || rec.flushes[0].Stream != "events" {
				t.Errorf("flush events %+v; want one, of events, without error", rec.flushes)
			}
			if len(rec.commits) != 1 || rec.commits[0].Err != nil || !slices.Equal(rec.commits[0].Streams, []streamer.StreamKey{"events"}) {
				t.Errorf("commit events %+v; want one, of [events], without error", rec.commits)
			}
			if len(rec.errs) != 0 {
				t.Errorf("error events %+v on a clean run", rec.errs)
			}
		})
	}
}

// TestHookErrorSkipsNormalEnds: the end of a replay and Close are not errors.
func TestHookErrorSkipsNormalEnds(t *testing.T) {
	ctx := context.Background()
	rec := &recorder{}
	s, err := memMux(t).Open(ctx, fmt.Sprintf("mem://ns%d/k", memSeq.Add(1)), streamer.WithHooks(rec))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(ctx)
	c, err := s.NewConsumer(ctx, nil, streamer.WithReplay(), streamer.WithAutoStreamReset(streamer.ResetEarliest))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Next(ctx); !errors.Is(err, streamer.ErrStreamEnded) {
		t.Fatalf("Next on an empty replay: %v, want ErrStreamEnded", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := c.Next(cctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Next with a cancelled ctx: %v", err)
	}
	c.Close(ctx)
	if _, err := c.Next(ctx); !errors.Is(err, streamer.ErrClosed) {
		t.Fatalf("Next after Close: %v", err)
	}
	if len(rec.errs) != 0 {
		t.Errorf("error events %+v for normal ends", rec.errs)
	}
}

// failDriver's producer fails every Send and Flush.
type failDriver struct{}

var errBroken = errors.New("broken backend")

func (failDriver) Open(context.Context, *driver.URI, driver.ConnectOptions) (driver.Conn, error) {
	return failConn{}, nil
}

type failConn struct{}

func (failConn) NewProducer(context.Context, driver.StreamKey, driver.ProducerOptions) (driver.Producer, error) {
	return failProducer{}, nil
}
func (failConn) NewConsumer(context.Context, []driver.StreamKey, driver.ConsumerOptions) (driver.Consumer, error) {
	return nil, driver.ErrUnsupported
}
func (failConn) Close(context.Context) error { return nil }

type failProducer struct{}

func (failProducer) Send(context.Context, driver.Header, []byte) (driver.Pending, error) {
	return nil, errBroken
}
func (failProducer) Flush(context.Context) error { return errBroken }
func (failProducer) End(context.Context) error   { return nil }

// TestHookErrorSeesBackendErrors: OnError gets the failed Send and Flush,
// with the operation and stream; OnFlush gets the failed flush too.
func TestHookErrorSeesBackendErrors(t *testing.T) {
	ctx := context.Background()
	m := new(streamer.Mux)
	if err := m.Register("fail", failDriver{}); err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	s, err := m.Open(ctx, "fail://x/k", streamer.WithHooks(rec))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(ctx)
	p, err := s.NewProducer(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Send(ctx, []byte("x")); !errors.Is(err, errBroken) {
		t.Fatalf("Send: %v", err)
	}
	if err := p.Flush(ctx); !errors.Is(err, errBroken) {
		t.Fatalf("Flush: %v", err)
	}
	p.End(ctx)
	if len(rec.errs) != 2 || rec.errs[0].Op != streamer.OpSend || rec.errs[0].Stream != "k" || !errors.Is(rec.errs[0].Err, errBroken) ||
		rec.errs[1].Op != streamer.OpFlush || !errors.Is(rec.errs[1].Err, errBroken) {
		t.Errorf("error events %+v; want send then flush of k, errBroken", rec.errs)
	}
	if len(rec.flushes) != 1 || !errors.Is(rec.flushes[0].Err, errBroken) {
		t.Errorf("flush events %+v; want one failed", rec.flushes)
	}
	if len(rec.produced) != 0 {
		t.Errorf("produce events %+v for messages never accepted", rec.produced)
	}
}

type fsyncOnly struct{}

func (fsyncOnly) OnFsync(streamer.FsyncEvent) {}

// TestWithHooksChecksHooks: a hook must implement a hook interface; one
// that only backends call is accepted and handed to the driver.
func TestWithHooksChecksHooks(t *testing.T) {
	ctx := context.Background()
	for _, h := range []streamer.Hook{nil, struct{}{}, 42} {
		_, err := memMux(t).Open(ctx, "mem://x/k", streamer.WithHooks(h))
		if !errors.Is(err, streamer.ErrInvalidOption) {
			t.Errorf("WithHooks(%#v): %v, want ErrInvalidOption", h, err)
		}
	}
	var seen []any
	m := new(streamer.Mux)
	m.Register("spy", spyDriver{&seen})
	s, err := m.Open(ctx, "spy://x/k", streamer.WithHooks(fsyncOnly{}))
	if err != nil {
		t.Fatal(err)
	}
	s.Close(ctx)
	if len(seen) != 1 || seen[0] != (fsyncOnly{}) {
		t.Errorf("driver got hooks %v, want [fsyncOnly]", seen)
	}
}

type spyDriver struct{ hooks *[]any }

func (d spyDriver) Open(_ context.Context, _ *driver.URI, o driver.ConnectOptions) (driver.Conn, error) {
	*d.hooks = o.Hooks
	return failConn{}, nil
}

// TestConsumerLag: the portable Lag reports the driver's per-shard lag, and
// ErrUnsupported where the driver has none.
func TestConsumerLag(t *testing.T) {
	ctx := context.Background()
	s, err := memMux(t).Open(ctx, fmt.Sprintf("mem://ns%d/k", memSeq.Add(1)))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(ctx)
	p, _ := s.NewProducer(ctx, "")
	for i := range 8 {
		if _, err := p.Send(ctx, []byte("m"), streamer.WithShard(streamer.ShardID(i%2))); err != nil {
			t.Fatal(err)
		}
	}
	c, err := s.NewConsumer(ctx, nil, streamer.WithAutoStreamReset(streamer.ResetEarliest))
	if err != nil {
		t.Fatal(err)
	}
	read := map[streamer.ShardID]uint64{}
	for range 3 {
		m, err := c.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		read[m.Shard]++
	}
	lags, err := c.Lag(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(lags) != 2 {
		t.Fatalf("Lag = %+v, want 2 shards", lags)
	}
	for _, l := range lags {
		if l.Stream != "k" || l.Messages != 4-read[l.Shard] {
			t.Errorf("lag %+v, want %d on k", l, 4-read[l.Shard])
		}
	}
	c.Close(ctx)
	if _, err := c.Lag(ctx); !errors.Is(err, streamer.ErrClosed) {
		t.Errorf("Lag after Close: %v, want ErrClosed", err)
	}

}

// TestFileLag: on file:// the lag per (stream, shard) counts the messages
// stored after what Next returned; a LoadBalanced member has no position of
// its own; Lag runs concurrently with Next.
func TestFileLag(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "l.ss")
	s, err := streamer.Open(ctx, "file://"+path+"/k?create=true")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(ctx)
	p, err := s.NewProducer(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	send := func(n int) {
		for i := range n {
			if _, err := p.Send(ctx, []byte("m"), streamer.WithShard(streamer.ShardID(i%2))); err != nil {
				t.Fatal(err)
			}
		}
		if err := p.Flush(ctx); err != nil {
			t.Fatal(err)
		}
	}
	send(10)
	c, err := s.NewConsumer(ctx, nil, streamer.WithAutoStreamReset(streamer.ResetEarliest))
	if err != nil {
		t.Fatal(err)
	}
	lagOf := func() map[streamer.ShardID]uint64 {
		t.Helper()
		lags, err := c.Lag(ctx)
		if err != nil {
			t.Fatal(err)
		}
		m := map[streamer.ShardID]uint64{}
		for _, l := range lags {
			if l.Stream != "k" {
				t.Fatalf("lag of stream %q", l.Stream)
			}
			m[l.Shard] = l.Messages
		}
		return m
	}
	if got := lagOf(); got[0] != 5 || got[1] != 5 {
		t.Fatalf("lag before reading = %v, want 5 and 5", got)
	}
	for range 3 { // shards 0, 1, 0
		if _, err := c.Next(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if got := lagOf(); got[0] != 3 || got[1] != 4 {
		t.Fatalf("lag after 3 = %v, want shard 0: 3, shard 1: 4", got)
	}
	send(4)
	if got := lagOf(); got[0] != 5 || got[1] != 6 {
		t.Fatalf("lag after 4 more = %v, want 5 and 6", got)
	}
	done := make(chan error, 1)
	go func() { // Lag while Next runs
		for range 20 {
			if _, err := c.Lag(ctx); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	for range 11 {
		if _, err := c.Next(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := lagOf(); got[0] != 0 || got[1] != 0 {
		t.Fatalf("lag after reading everything = %v, want 0 and 0", got)
	}

	g, err := s.NewConsumer(ctx, nil, streamer.WithMode(streamer.LoadBalanced), streamer.WithGroup("g"))
	if err != nil {
		t.Fatal(err)
	}
	// A member that starts at the end holds no (stream, shard) yet.
	if lags, err := g.Lag(ctx); err != nil || len(lags) != 0 {
		t.Errorf("Lag of a new LoadBalanced member on file:// = %v, %v; want no pairs held", lags, err)
	}
}

// fsyncCount is a HookFsync that counts syncs.
type fsyncCount struct {
	mu    sync.Mutex
	n     int
	paths map[string]bool
}

func (h *fsyncCount) OnFsync(e driver.FsyncEvent) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if e.Err == nil {
		h.n++
		h.paths[e.Path] = true
	}
}

// TestFileFsyncHook: with sync=flush the file backend calls HookFsync after
// each fdatasync, with the file's path.
func TestFileFsyncHook(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "f.ss")
	h := &fsyncCount{paths: map[string]bool{}}
	s, err := streamer.Open(ctx, "file://"+path+"/k?create=true&sync=flush", streamer.WithHooks(h))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(ctx)
	p, err := s.NewProducer(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := p.Send(ctx, []byte("m")); err != nil {
			t.Fatal(err)
		}
		if err := p.Flush(ctx); err != nil {
			t.Fatal(err)
		}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.n < 3 || !h.paths[path] || len(h.paths) != 1 {
		t.Fatalf("HookFsync saw %d syncs of %v, want at least 3 of %s", h.n, h.paths, path)
	}
}

// BenchmarkFileHooks measures Send (with its receipt awaited at the end) and
// Next on file://, with and without a hook that records into atomics.
func BenchmarkFileHooks(b *testing.B) {
	for _, withHook := range []bool{false, true} {
		name := "nohook"
		var opts []streamer.Option
		if withHook {
			name = "hook"
			opts = append(opts, streamer.WithHooks(&atomicHook{}))
		}
		b.Run(name, func(b *testing.B) {
			ctx := context.Background()
			s, err := streamer.Open(ctx, "file://"+filepath.Join(b.TempDir(), "b.ss")+"/k?create=true", opts...)
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close(ctx)
			p, err := s.NewProducer(ctx, "")
			if err != nil {
				b.Fatal(err)
			}
			c, err := s.NewConsumer(ctx, nil, streamer.WithAutoStreamReset(streamer.ResetEarliest))
			if err != nil {
				b.Fatal(err)
			}
			payload := make([]byte, 100)
			b.Run("Send", func(b *testing.B) {
				b.ReportAllocs()
				for range b.N {
					if _, err := p.Send(ctx, payload); err != nil {
						b.Fatal(err)
					}
				}
				if err := p.Flush(ctx); err != nil {
					b.Fatal(err)
				}
			})
			b.Run("Next", func(b *testing.B) {
				b.ReportAllocs()
				for range b.N {
					if _, err := c.Next(ctx); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}

type atomicHook struct{ n, bytes atomic.Int64 }

func (h *atomicHook) OnProduce(e streamer.ProduceEvent) { h.n.Add(1); h.bytes.Add(int64(e.Bytes)) }
func (h *atomicHook) OnConsume(e streamer.ConsumeEvent) { h.n.Add(1); h.bytes.Add(int64(e.Bytes)) }
