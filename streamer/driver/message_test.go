package driver_test

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/seastream/ss/streamer/driver"
)

func TestHeaderString(t *testing.T) {
	h := driver.Header{StreamKey: "hello", Shard: 0, Seq: 1,
		Timestamp: time.Date(2023, 6, 5, 13, 55, 53, 1_000_000, time.UTC)}
	if got, want := h.String(), "[2023-06-05T13:55:53.001 | hello | 1 | 0]"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	// Non-UTC times print in UTC.
	h.Timestamp = h.Timestamp.In(time.FixedZone("X", 3600))
	h.Shard, h.Seq = 7, 12
	if got, want := h.String(), "[2023-06-05T13:55:53.001 | hello | 12 | 7]"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	if id := h.ID(); id != (driver.MessageID{Stream: "hello", Shard: 7, Seq: 12}) {
		t.Errorf("ID() = %+v", id)
	}
}

func TestMessageHelpers(t *testing.T) {
	m := driver.Message{Payload: []byte(`{"tick":7}`)}
	var v struct{ Tick int }
	if err := m.DecodeJSON(&v); err != nil || v.Tick != 7 {
		t.Fatalf("DecodeJSON = %v, %+v", err, v)
	}
	if s, err := m.Text(); err != nil || s != `{"tick":7}` {
		t.Fatalf("Text = %q, %v", s, err)
	}
	b := m.Bytes()
	b[0] = 'X'
	if m.Payload[0] != '{' {
		t.Fatal("Bytes aliases the payload")
	}
	c := m.Clone()
	c.Payload[0] = 'Y'
	if m.Payload[0] != '{' {
		t.Fatal("Clone aliases the payload")
	}
	bin := driver.Message{Payload: []byte{0xff, 0xfe}}
	if _, err := bin.Text(); !errors.Is(err, driver.ErrInvalidUTF8) {
		t.Fatalf("Text of binary = %v, want ErrInvalidUTF8", err)
	}
	if bin.String() != "\xff\xfe" || bin.Size() != 2 {
		t.Fatal("String/Size wrong")
	}
	if e := (driver.Message{}).Bytes(); e == nil || len(e) != 0 {
		t.Fatal("Bytes of empty payload should be empty and non-nil")
	}
	if !bytes.Equal(m.Bytes(), m.Payload) {
		t.Fatal("Bytes differs from payload")
	}
}

func TestFuture(t *testing.T) {
	f := driver.NewFuture()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := f.Wait(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Wait on cancelled ctx = %v", err)
	}
	want := driver.Header{StreamKey: "s", Seq: 9}
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h, err := f.Wait(context.Background())
			if err != nil || h != want {
				t.Errorf("Wait = %v, %v", h, err)
			}
		}()
	}
	f.Resolve(want, nil)
	f.Resolve(driver.Header{}, errors.New("second resolve must be ignored"))
	wg.Wait()
	// A resolved future answers even with a cancelled ctx.
	if h, err := f.Wait(ctx); err != nil || h != want {
		t.Fatalf("Wait after resolve = %v, %v", h, err)
	}
	boom := errors.New("boom")
	if _, err := driver.Resolved(driver.Header{}, boom).Wait(ctx); err != boom {
		t.Fatalf("Resolved.Wait = %v", err)
	}
}

// TestFutureRace resolves while waiters arrive, many times over: every Wait
// must return the one outcome, none may hang (the channel is made lazily by
// the first Wait that blocks, concurrently with Resolve).
func TestFutureRace(t *testing.T) {
	for i := range 2000 {
		var f driver.Future // the zero value is ready to use
		want := driver.Header{Seq: driver.SeqNo(i)}
		var wg sync.WaitGroup
		for range 3 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if h, err := f.Wait(context.Background()); err != nil || h != want {
					t.Errorf("Wait = %v, %v; want %v", h, err, want)
				}
				<-f.Done()
			}()
		}
		f.Resolve(want, nil)
		wg.Wait()
	}
}

// TestFutureNoAlloc: a receipt that is resolved before anyone waits costs
// no allocation beyond the Future itself.
func TestFutureNoAlloc(t *testing.T) {
	var f driver.Future
	allocs := testing.AllocsPerRun(100, func() {
		f = driver.Future{}
		f.Resolve(driver.Header{Seq: 1}, nil)
		if h, err := f.Wait(context.Background()); err != nil || h.Seq != 1 {
			t.Fatalf("Wait = %v, %v", h, err)
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per resolved Future, want 0", allocs)
	}
}

func TestLatch(t *testing.T) {
	var l driver.Latch
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if l.IsOpen() || l.Wait(ctx) != context.Canceled {
		t.Fatal("a shut latch must report ctx's error")
	}
	done := l.Done()
	l.Open()
	l.Open() // opening twice is harmless
	<-done   // the channel made before Open is closed by it
	if !l.IsOpen() || l.Wait(ctx) != nil {
		t.Fatal("an open latch must answer nil, even with ctx done")
	}
	<-l.Done()
}

func TestErrorTypes(t *testing.T) {
	native := errors.New("dial tcp: refused")
	var err error = &driver.ConnectError{Backend: "kafka", Addr: "h:1", Err: native}
	if !errors.Is(err, driver.ErrConnect) || !errors.Is(err, native) {
		t.Errorf("ConnectError does not match ErrConnect and its cause: %v", err)
	}
	err = &driver.BackendError{Backend: "redis", Op: "send", Err: native}
	var be *driver.BackendError
	if !errors.As(err, &be) || !errors.Is(err, native) || errors.Is(err, driver.ErrConnect) {
		t.Errorf("BackendError wrapping wrong: %v", err)
	}
	err = driver.UnknownExtraError("file", 3)
	var oe *driver.OptionError
	if !errors.As(err, &oe) || !errors.Is(err, driver.ErrUnknownOption) || oe.Name != "int" {
		t.Errorf("UnknownExtraError = %v", err)
	}
}
