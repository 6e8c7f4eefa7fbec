package stdio

import (
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/seastream/ss/streamer/driver"
)

// TestErrorKinds checks that the producer's refusals are the portable kinds
// as well as this package's sentinels, so that a caller (ss-relay) can tell
// a message stdio cannot carry without importing this package.
func TestErrorKinds(t *testing.T) {
	d := Driver{In: strings.NewReader(""), Out: io.Discard, Errors: io.Discard}
	c := openConn(t, d, "stdio:///")
	p, err := c.NewProducer(t.Context(), "k", driver.ProducerOptions{Verbatim: true})
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Send(t.Context(), driver.Header{StreamKey: "k"}, []byte("two\nlines"))
	if !errors.Is(err, ErrPayloadNewline) || !errors.Is(err, driver.ErrPayloadUnsupported) {
		t.Errorf("newline: %v, want ErrPayloadNewline and driver.ErrPayloadUnsupported", err)
	}
	_, err = p.Send(t.Context(), driver.Header{StreamKey: "k", Timestamp: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}, nil)
	if !errors.Is(err, ErrBadTimestamp) || !errors.Is(err, driver.ErrInvalidTimestamp) {
		t.Errorf("year 10000: %v, want ErrBadTimestamp and driver.ErrInvalidTimestamp", err)
	}
}
