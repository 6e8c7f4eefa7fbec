package streamer_test

import (
	"context"
	"errors"
	"testing"

	"github.com/seastream/ss/streamer"
)

// A key or attributes sent to a backend that cannot store them (no
// driver.ExtrasProducer) fail the send with ErrExtrasUnsupported; the same
// message without them goes through.
func TestExtrasUnsupported(t *testing.T) {
	ctx := context.Background()
	s, err := memMux(t).Open(ctx, "mem://x/a")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(ctx)
	p, err := s.NewProducer(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	for _, opt := range []streamer.SendOption{
		streamer.WithKey([]byte{}),
		streamer.WithAttrs(streamer.Attr{Name: "h", Value: []byte("v")}),
	} {
		if _, err := p.Send(ctx, []byte("x"), opt); !errors.Is(err, streamer.ErrExtrasUnsupported) {
			t.Errorf("Send with extras on mem:// = %v, want ErrExtrasUnsupported", err)
		}
	}
	for _, opt := range []streamer.SendOption{streamer.WithKey(nil), streamer.WithAttrs()} {
		r, err := p.Send(ctx, []byte("x"), opt)
		if err == nil {
			_, err = r.Wait(ctx)
		}
		if err != nil {
			t.Errorf("Send with no key and no attributes: %v", err)
		}
	}
}
