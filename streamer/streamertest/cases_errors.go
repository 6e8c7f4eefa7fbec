package streamertest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/seastream/ss/streamer"
)

func testCancellation(t *testing.T, h Harness) {
	e := newEnv(t, h)
	k := e.key(0)
	s := e.open()
	c := e.consumer(s, []streamer.StreamKey{k})
	p := e.producer(s, k)

	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.Next(cancelled); !errors.Is(err, context.Canceled) {
		t.Errorf("Next with a cancelled ctx = %v, want context.Canceled", err)
	}
	if _, err := p.Send(cancelled, []byte("never")); !errors.Is(err, context.Canceled) {
		t.Errorf("Send with a cancelled ctx = %v, want context.Canceled", err)
	}
	short, cancelShort := context.WithTimeout(e.ctx, 50*time.Millisecond)
	defer cancelShort()
	if _, err := c.Next(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Next on an empty stream past its deadline = %v, want context.DeadlineExceeded", err)
	}

	// A Next blocked in another goroutine returns when its ctx is cancelled.
	ctx, cancelBlocked := context.WithCancel(e.ctx)
	res := make(chan error, 1)
	go func() {
		_, err := c.Next(ctx)
		res <- err
	}()
	cancelBlocked()
	select {
	case err := <-res:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("blocked Next after cancel = %v, want context.Canceled", err)
		}
	case <-e.ctx.Done():
		t.Fatal("a blocked Next did not return after its ctx was cancelled")
	}

	// Nothing was lost or invented by the cancelled calls.
	e.send(p, k, []byte("after"))
	if m := e.next(c, "the message sent after the cancellations"); string(m.Payload) != "after" {
		t.Fatalf("after cancelled calls, got %q, want %q", m.Payload, "after")
	}
}

func testConsumerClose(t *testing.T, h Harness) {
	e := newEnv(t, h)
	k := e.key(0)
	s := e.open()
	c := e.consumer(s, []streamer.StreamKey{k})
	res := make(chan error, 1)
	go func() {
		_, err := c.Next(e.ctx)
		res <- err
	}()
	if err := c.Close(e.ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	select {
	case err := <-res:
		if !errors.Is(err, streamer.ErrClosed) {
			t.Errorf("Next blocked during Close = %v, want ErrClosed", err)
		}
	case <-e.ctx.Done():
		t.Fatal("a blocked Next did not return after Close")
	}
	if _, err := c.Next(e.ctx); !errors.Is(err, streamer.ErrClosed) {
		t.Errorf("Next after Close = %v, want ErrClosed", err)
	}
	if err := c.Seek(e.ctx, time.Now()); !errors.Is(err, streamer.ErrClosed) {
		t.Errorf("Seek after Close = %v, want ErrClosed", err)
	}
	if err := c.Rewind(e.ctx, streamer.SeqBeginning()); !errors.Is(err, streamer.ErrClosed) {
		t.Errorf("Rewind after Close = %v, want ErrClosed", err)
	}
	if err := c.Assign(k, 0); !errors.Is(err, streamer.ErrClosed) {
		t.Errorf("Assign after Close = %v, want ErrClosed", err)
	}
	yields := 0
	for m, err := range c.Messages(e.ctx) {
		yields++
		if !errors.Is(err, streamer.ErrClosed) {
			t.Errorf("Messages after Close yielded %s, %v; want ErrClosed", m.Header, err)
		}
	}
	if yields != 1 {
		t.Errorf("Messages after Close yielded %d items, want one ErrClosed", yields)
	}
	if err := c.Close(e.ctx); !errors.Is(err, streamer.ErrClosed) {
		t.Errorf("second Close = %v, want ErrClosed", err)
	}
	if h.Caps.Resume {
		r, err := s.NewConsumer(e.ctx, []streamer.StreamKey{k}, streamer.WithMode(streamer.Resumable), streamer.WithGroup(string(e.key(9))))
		if err != nil {
			t.Fatalf("NewConsumer(Resumable): %v", err)
		}
		_ = r.Close(e.ctx)
		if err := r.Commit(e.ctx); !errors.Is(err, streamer.ErrClosed) {
			t.Errorf("Commit after Close = %v, want ErrClosed", err)
		}
	}
}

func testProducerEnd(t *testing.T, h Harness) {
	e := newEnv(t, h)
	k := e.key(0)
	s := e.open()
	c := e.consumer(e.another(s), []streamer.StreamKey{k})
	p := e.producer(s, k)
	const n = 25
	for i := range n {
		e.send(p, k, fmt.Appendf(nil, "e%d", i))
	}
	if err := p.End(e.ctx); err != nil {
		t.Fatalf("End: %v", err)
	}
	if _, err := p.Send(e.ctx, []byte("late")); !errors.Is(err, streamer.ErrProducerEnded) {
		t.Errorf("Send after End = %v, want ErrProducerEnded", err)
	}
	if err := p.Flush(e.ctx); !errors.Is(err, streamer.ErrProducerEnded) {
		t.Errorf("Flush after End = %v, want ErrProducerEnded", err)
	}
	if err := p.End(e.ctx); !errors.Is(err, streamer.ErrProducerEnded) {
		t.Errorf("second End = %v, want ErrProducerEnded", err)
	}
	// End flushed: everything sent before it arrives, in order.
	for i, m := range e.nextN(c, n, "messages sent before End") {
		if want := fmt.Sprintf("e%d", i); string(m.Payload) != want {
			t.Fatalf("got %q, want %q", m.Payload, want)
		}
	}
	// The Streamer still works after one of its producers ended.
	p2 := e.producer(s, k)
	e.send(p2, k, []byte("again"))
	if m := e.next(c, "a message from a second producer"); string(m.Payload) != "again" {
		t.Fatalf("got %q, want %q", m.Payload, "again")
	}
}

func testStreamerClose(t *testing.T, h Harness) {
	e := newEnv(t, h)
	k := e.key(0)
	s := e.open()
	c := e.consumer(s, []streamer.StreamKey{k})
	var other *streamer.Consumer
	if h.Caps.MultipleStreamers {
		other = e.consumer(e.open(), []streamer.StreamKey{k})
	}
	p := e.producer(s, k)
	const n = 25
	for i := range n {
		e.send(p, k, fmt.Appendf(nil, "z%d", i))
	}
	res := make(chan error, 1)
	go func() {
		// Drain what was sent, then block: Close must release this call.
		for range n {
			if _, err := c.Next(e.ctx); err != nil {
				res <- err
				return
			}
		}
		_, err := c.Next(e.ctx)
		res <- err
	}()
	if err := s.Close(e.ctx); err != nil {
		t.Fatalf("Streamer.Close: %v", err)
	}
	select {
	case err := <-res:
		if !errors.Is(err, streamer.ErrClosed) {
			t.Errorf("Next of a consumer of a closed Streamer = %v, want ErrClosed", err)
		}
	case <-e.ctx.Done():
		t.Fatal("a blocked Next did not return after Streamer.Close")
	}
	if _, err := p.Send(e.ctx, []byte("late")); !errors.Is(err, streamer.ErrClosed) {
		t.Errorf("Send after Streamer.Close = %v, want ErrClosed", err)
	}
	if _, err := s.NewProducer(e.ctx, k); !errors.Is(err, streamer.ErrClosed) {
		t.Errorf("NewProducer after Close = %v, want ErrClosed", err)
	}
	if _, err := s.NewConsumer(e.ctx, []streamer.StreamKey{k}); !errors.Is(err, streamer.ErrClosed) {
		t.Errorf("NewConsumer after Close = %v, want ErrClosed", err)
	}
	if err := s.Close(e.ctx); !errors.Is(err, streamer.ErrClosed) {
		t.Errorf("second Streamer.Close = %v, want ErrClosed", err)
	}
	if other == nil {
		return
	}
	// Close flushed the producer: another Streamer's consumer gets everything.
	for i, m := range e.nextN(other, n, "messages flushed by Streamer.Close") {
		if want := fmt.Sprintf("z%d", i); string(m.Payload) != want {
			t.Fatalf("got %q, want %q", m.Payload, want)
		}
	}
}

func testInvalidStreamKeys(t *testing.T, h Harness) {
	e := newEnv(t, h)
	s := e.open()
	k := e.key(0)
	p := e.producer(s, "")
	bad := []string{"", "a b", "a/b", "a:b", "ключ", "a\nb", strings.Repeat("x", streamer.MaxStreamKeyLen+1)}
	for _, b := range bad {
		if _, err := s.NewProducer(e.ctx, streamer.StreamKey(b)); b != "" && !errors.Is(err, streamer.ErrInvalidStreamKey) {
			t.Errorf("NewProducer(%q) = %v, want ErrInvalidStreamKey", b, err)
		}
		if _, err := p.SendTo(e.ctx, streamer.StreamKey(b), []byte("x")); !errors.Is(err, streamer.ErrInvalidStreamKey) {
			t.Errorf("SendTo(%q) = %v, want ErrInvalidStreamKey", b, err)
		}
		if _, err := s.NewConsumer(e.ctx, []streamer.StreamKey{streamer.StreamKey(b)}); !errors.Is(err, streamer.ErrInvalidStreamKey) {
			t.Errorf("NewConsumer(%q) = %v, want ErrInvalidStreamKey", b, err)
		}
		var ke *streamer.StreamKeyError
		if _, err := p.SendTo(e.ctx, streamer.StreamKey(b), nil); !errors.As(err, &ke) || ke.Key != b {
			t.Errorf("SendTo(%q): error %v is not a *StreamKeyError naming the key", b, err)
		}
	}
	for _, r := range []streamer.StreamKey{streamer.Internal, streamer.Wildcard} {
		if _, err := p.SendTo(e.ctx, r, []byte("x")); !errors.Is(err, streamer.ErrReservedStreamKey) {
			t.Errorf("SendTo(%q) = %v, want ErrReservedStreamKey", r, err)
		}
		if _, err := s.NewProducer(e.ctx, r); !errors.Is(err, streamer.ErrReservedStreamKey) {
			t.Errorf("NewProducer(%q) = %v, want ErrReservedStreamKey", r, err)
		}
	}
	if _, err := s.NewConsumer(e.ctx, []streamer.StreamKey{streamer.Internal}); !errors.Is(err, streamer.ErrReservedStreamKey) {
		t.Errorf("NewConsumer(Internal) = %v, want ErrReservedStreamKey", err)
	}
	if _, err := e.mux().Open(e.ctx, e.uriWith("bad!key"), e.h.Options...); !errors.Is(err, streamer.ErrInvalidURI) || !errors.Is(err, streamer.ErrInvalidStreamKey) {
		t.Errorf("Open with a bad stream key in the URI = %v, want ErrInvalidURI and ErrInvalidStreamKey", err)
	}

	// The longest valid key works end to end.
	long := streamer.StreamKey(string(k) + strings.Repeat("x", streamer.MaxStreamKeyLen-len(k)))
	c := e.consumer(s, []streamer.StreamKey{long})
	e.send(p, long, []byte("long key"))
	if m := e.next(c, "a message on a 249-byte key"); m.StreamKey != long || string(m.Payload) != "long key" {
		t.Fatalf("got %s %q", m.Header, m.Payload)
	}
}

func testInvalidOptions(t *testing.T, h Harness) {
	e := newEnv(t, h)
	s := e.open()
	k := e.key(0)
	keys := []streamer.StreamKey{k}
	check := func(what string, err, want error) {
		t.Helper()
		if !errors.Is(err, want) {
			t.Errorf("%s = %v, want %v", what, err, want)
		}
	}
	_, err := s.NewConsumer(e.ctx, keys, streamer.WithGroup("g"))
	check("RealTime consumer with a group", err, streamer.ErrConsumerGroupIsSet)
	lb, err := s.NewConsumer(e.ctx, keys, streamer.WithMode(streamer.LoadBalanced))
	if h.Caps.DefaultGroup {
		if err != nil {
			t.Errorf("LoadBalanced consumer without a group = %v, want the backend's default group", err)
		} else if err := lb.Close(e.ctx); err != nil {
			t.Errorf("closing it: %v", err)
		}
	} else {
		check("LoadBalanced consumer without a group", err, streamer.ErrConsumerGroupNotSet)
	}
	_, err = s.NewConsumer(e.ctx, nil)
	check("consumer without streams", err, streamer.ErrStreamKeyEmpty)
	_, err = s.NewConsumer(e.ctx, keys, streamer.WithReplay())
	check("replay from the latest message", err, streamer.ErrInvalidOption)

	c := e.consumer(s, keys)
	check("Commit on a RealTime consumer", c.Commit(e.ctx), streamer.ErrCommitNotAllowed)
	check("Assign of a stream not subscribed", c.Assign(e.key(1), 0), streamer.ErrStreamKeyNotFound)

	p := e.producer(s, k)
	_, err = p.Send(e.ctx, []byte("x"), streamer.WithSeq(7))
	check("WithSeq on a producer without WithVerbatimHeaders", err, streamer.ErrInvalidOption)
	_, err = p.Send(e.ctx, []byte("x"), streamer.WithShard(1), streamer.WithRoutingKey([]byte("k")))
	check("WithShard and WithRoutingKey together", err, streamer.ErrInvalidOption)

	sep := "?"
	if strings.Contains(e.uri, "?") {
		sep = "&"
	}
	_, err = e.mux().Open(e.ctx, e.uri+sep+"no_such_option=1", e.h.Options...)
	check("Open with an unknown URI option", err, streamer.ErrUnknownOption)
	var oe *streamer.OptionError
	if !errors.As(err, &oe) || oe.Name != "no_such_option" {
		t.Errorf("unknown URI option: error %v does not name the option", err)
	}
	_, err = e.mux().Open(e.ctx, "nosuchscheme"+strings.TrimPrefix(e.uri, s.Scheme()), e.h.Options...)
	check("Open with an unknown scheme", err, streamer.ErrUnknownScheme)
}
