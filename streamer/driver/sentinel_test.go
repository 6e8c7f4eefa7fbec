package driver_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/seastream/ss/streamer/driver"
)

func TestNewSentinel(t *testing.T) {
	own := driver.NewSentinel(driver.ErrPayloadUnsupported, "backend: no tabs")
	if own.Error() != "backend: no tabs" {
		t.Errorf("Error() = %q, want the backend's own text", own)
	}
	wrapped := fmt.Errorf("send: %w", own)
	if !errors.Is(wrapped, own) || !errors.Is(wrapped, driver.ErrPayloadUnsupported) {
		t.Errorf("%v matches neither its sentinel nor its kind", wrapped)
	}
	if errors.Is(wrapped, driver.ErrHeaderUnsupported) || errors.Is(own, driver.NewSentinel(driver.ErrPayloadUnsupported, "backend: no tabs")) {
		t.Errorf("%v matches another kind or another sentinel", wrapped)
	}
}
