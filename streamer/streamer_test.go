package streamer_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seastream/ss/streamer"
	"github.com/seastream/ss/streamer/driver"
)

func TestMuxRegister(t *testing.T) {
	var m streamer.Mux // the zero value is usable
	if err := m.Register("Mem", &memDriver{}); err != nil {
		t.Fatal(err)
	}
	if !m.ValidScheme("mem") || !m.ValidScheme("MEM") {
		t.Error("registered scheme not found (schemes are case-insensitive)")
	}
	if err := m.Register("mem", &memDriver{}); err == nil {
		t.Error("duplicate registration accepted")
	}
	for _, bad := range []string{"", "1x", "a b", "x://y"} {
		if err := m.Register(bad, &memDriver{}); err == nil {
			t.Errorf("Register(%q) accepted", bad)
		}
	}
	if err := m.Register("nil", nil); err == nil {
		t.Error("nil driver accepted")
	}
	if got := m.Schemes(); len(got) != 1 || got[0] != "mem" {
		t.Errorf("Schemes() = %q", got)
	}
}

func TestRegisterPanicsOnDuplicate(t *testing.T) {
	scheme := fmt.Sprintf("memtest-dup%d", memSeq.Add(1)) // unique under -count
	streamer.Register(scheme, &memDriver{})
	if !streamer.DefaultMux().ValidScheme(scheme) {
		t.Fatal("Register did not register into the default Mux")
	}
	defer func() {
		if recover() == nil {
			t.Error("second Register of a scheme did not panic")
		}
	}()
	streamer.Register(scheme, &memDriver{})
}

func TestOpenErrors(t *testing.T) {
	m := memMux(t)
	ctx := context.Background()
	_, err := m.Open(ctx, "nope://x/a")
	if !errors.Is(err, streamer.ErrUnknownScheme) || !strings.Contains(err.Error(), `"nope"`) || !strings.Contains(err.Error(), "mem://") {
		t.Errorf("unknown scheme: %v; want ErrUnknownScheme naming it and the registered ones", err)
	}
	if _, err := m.Open(ctx, "no scheme at all"); !errors.Is(err, streamer.ErrInvalidURI) {
		t.Errorf("URI without scheme: %v", err)
	}
	if _, err := m.Open(ctx, "mem://x/a?create=true"); !errors.Is(err, streamer.ErrUnknownOption) {
		t.Errorf("unknown URI option: %v", err)
	}
	if _, err := m.Open(ctx, "mem://x/a", streamer.WithDriverOption(struct{ X int }{1})); !errors.Is(err, streamer.ErrUnknownOption) {
		t.Errorf("unknown driver option: %v", err)
	}
	if _, err := m.Open(ctx, "mem://x/a", streamer.WithPrefetch(-1)); !errors.Is(err, streamer.ErrInvalidOption) {
		t.Errorf("negative prefetch: %v", err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := m.Open(cancelled, "mem://x/a"); !errors.Is(err, context.Canceled) {
		t.Errorf("Open with a cancelled ctx: %v", err)
	}
	s, err := m.Open(ctx, "mem://x/a", nil) // nil options are ignored
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(ctx)
	if s.Scheme() != "mem" || len(s.URI().Streams) != 1 {
		t.Errorf("Scheme %q, URI %v", s.Scheme(), s.URI())
	}
	var native *int
	if s.As(&native) || s.As(nil) {
		t.Error("As succeeded on a driver without native types")
	}
	if _, err := s.NewConsumer(ctx, nil, streamer.WithPrefetch(-3)); !errors.Is(err, streamer.ErrInvalidOption) {
		t.Errorf("negative consumer prefetch: %v", err)
	}
	if _, err := s.NewConsumer(ctx, nil, streamer.WithMode(7)); !errors.Is(err, streamer.ErrInvalidOption) {
		t.Errorf("bad mode: %v", err)
	}
	if _, err := s.NewProducer(ctx, "", streamer.WithDriverOption(1)); !errors.Is(err, streamer.ErrUnknownOption) {
		t.Errorf("unknown producer driver option: %v", err)
	}
}

func TestRoutingNeedsShardCount(t *testing.T) {
	ctx := context.Background()
	s, err := memMux(t).Open(ctx, "mem://r/a")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(ctx)
	p, err := s.NewProducer(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	r, err := p.Send(ctx, []byte("x"), streamer.WithRoutingKey([]byte("user")))
	var oe *streamer.OptionError
	if !errors.Is(err, streamer.ErrInvalidOption) || !errors.As(err, &oe) || !strings.Contains(err.Error(), "WithShardCount") {
		t.Errorf("routing without a shard count: %v", err)
	}
	// The receipt beside an error belongs to no message.
	if _, err := r.Wait(ctx); !errors.Is(err, streamer.ErrNoReceipt) {
		t.Errorf("Wait on a failed send's receipt = %v, want ErrNoReceipt", err)
	}
}

func TestMessagesIterator(t *testing.T) {
	ctx := context.Background()
	s, err := memMux(t).Open(ctx, "mem://it/a")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(ctx)
	p, _ := s.NewProducer(ctx, "")
	for _, m := range []string{"1", "2", "3"} {
		if _, err := p.Send(ctx, []byte(m)); err != nil {
			t.Fatal(err)
		}
	}
	// Replay: the loop ends quietly at the end.
	c, err := s.NewConsumer(ctx, nil, streamer.WithAutoStreamReset(streamer.ResetEarliest), streamer.WithReplay())
	if err != nil {
		t.Fatal(err)
	}
	var got string
	for m, err := range c.Messages(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		got += m.String()
	}
	if got != "123" {
		t.Errorf("replay loop read %q", got)
	}
	// Breaking out of the loop leaves the rest for Next.
	c2, _ := s.NewConsumer(ctx, nil, streamer.WithAutoStreamReset(streamer.ResetEarliest))
	for m := range c2.Messages(ctx) {
		if m.String() != "1" {
			t.Fatalf("first message %q", m.Payload)
		}
		break
	}
	if m, err := c2.Next(ctx); err != nil || m.String() != "2" {
		t.Fatalf("Next after break = %q, %v", m.Payload, err)
	}
	// Other errors are yielded once, then the loop ends.
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	n := 0
	for m, err := range c2.Messages(cctx) {
		n++
		if n == 1 && (err != nil || m.String() != "3") {
			t.Fatalf("got %q, %v", m.Payload, err)
		}
		if n == 1 {
			cancel()
		}
		if n == 2 && !errors.Is(err, context.Canceled) {
			t.Fatalf("second item: %v, want context.Canceled", err)
		}
	}
	if n != 2 {
		t.Fatalf("iterator yielded %d items, want 2", n)
	}
	if err := c2.Rewind(ctx, driver.SeqPos{Kind: 9}); !errors.Is(err, streamer.ErrInvalidOption) {
		t.Errorf("Rewind with a bad SeqPos: %v", err)
	}
}

func TestCloseAfterEndAndClose(t *testing.T) {
	ctx := context.Background()
	s, err := memMux(t).Open(ctx, "mem://cl/a")
	if err != nil {
		t.Fatal(err)
	}
	p, _ := s.NewProducer(ctx, "")
	c, _ := s.NewConsumer(ctx, nil)
	if err := c.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := p.End(ctx); err != nil {
		t.Fatal(err)
	}
	// Ended and closed objects are forgotten; Close still succeeds.
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestLoadBalancedWithoutGroup: the file backend has no default group for
// LoadBalanced consumers: it says so with ErrConsumerGroupNotSet (Redis takes
// SeaStreamer's "<host_id>:s", tested in adapters/redis).
func TestLoadBalancedWithoutGroup(t *testing.T) {
	ctx := context.Background()
	s, err := streamer.Open(ctx, "file://"+filepath.Join(t.TempDir(), "g.ss")+"/k?create=true")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(ctx)
	if _, err := s.NewConsumer(ctx, nil, streamer.WithMode(streamer.LoadBalanced)); !errors.Is(err, streamer.ErrConsumerGroupNotSet) {
		t.Fatalf("LoadBalanced without a group on file://: %v, want ErrConsumerGroupNotSet", err)
	}
}
