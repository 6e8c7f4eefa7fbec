package kafka

import (
	"errors"
	"testing"

	"github.com/seastream/ss/streamer/driver"
)

// TestExtraScopes checks that an option given where it has no meaning is
// refused, naming it (streamer's typed options prevent most such mistakes at
// compile time; a driver used directly can still make them).
func TestExtraScopes(t *testing.T) {
	for _, tc := range []struct {
		at   scope
		v    any
		name string
	}{
		{scopeConsumer, tlsOpt{}, "WithTLS"},
		{scopeProducer, saslOpt(nil), "WithSASL"},
		{scopeConsumer, compressionOpt(CompressionGzip), "WithCompression"},
		{scopeProducer, autoCommitOpt(1), "WithAutoCommit"},
		{scopeConnect, compressionOpt(99), "WithCompression"},
		{scopeConnect, lingerOpt(-1), "WithLinger"},
	} {
		var s settings
		err := s.applyExtra(tc.at, []any{tc.v})
		var oe *driver.OptionError
		if !errors.Is(err, driver.ErrInvalidOption) || !errors.As(err, &oe) || oe.Name != tc.name {
			t.Errorf("%T at %v: %v, want ErrInvalidOption naming %s", tc.v, tc.at, err, tc.name)
		}
	}
	var s settings
	if err := s.applyExtra(scopeConsumer, []any{clientOpts(nil), sessionTimeoutOpt(5), autoCommitOpt(7)}); err != nil || s.autoCommit != 7 || s.sessionTimeout != 5 {
		t.Fatalf("consumer options: %v %+v", err, s)
	}
}
