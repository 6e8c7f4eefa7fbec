package kafka

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/seastream/ss/streamer/driver"
)

// TestExtraScopes checks that an option given where it has no meaning is
// refused, naming it (streamer's typed options prevent most such mistakes at
// compile time; a driver used directly can still make them).
func TestExtraScopes(t *testing.T) {
	for _, tc := range []struct {
		at   driver.OptionScope
		v    any
		name string
	}{
		{driver.ScopeConsumer, option{optTLS.Setting("config", func(*settings) error { return nil })}, "WithTLS"},
		{driver.ScopeProducer, option{optSASL.Setting("", func(*settings) error { return nil })}, "WithSASL"},
		{driver.ScopeConsumer, option{optCompression.Setting(CompressionGzip)}, "WithCompression"},
		{driver.ScopeProducer, option{optAutoCommit.Setting(1)}, "WithAutoCommit"},
		{driver.ScopeOpen, option{optCompression.Setting(99)}, "WithCompression"},
		{driver.ScopeOpen, option{optLinger.Setting(-1)}, "WithLinger"},
		{driver.ScopeProducer, option{optBalancer.Setting(balancerList{BalancerRange})}, "WithBalancer"},
		{driver.ScopeConsumer, option{optBalancer.Setting(nil)}, "WithBalancer"},
		{driver.ScopeConsumer, option{optBalancer.Setting(balancerList{9})}, "WithBalancer"},
		{driver.ScopeConsumer, option{optBalancer.Setting(balancerList{BalancerSticky, BalancerSticky})}, "WithBalancer"},
	} {
		var s settings
		err := s.applyExtra(tc.at, []any{tc.v})
		var oe *driver.OptionError
		if !errors.Is(err, driver.ErrInvalidOption) || !errors.As(err, &oe) || oe.Name != tc.name {
			t.Errorf("%v at %v: %v, want ErrInvalidOption naming %s", tc.v, tc.at, err, tc.name)
		}
	}
	var s settings
	if err := s.applyExtra(driver.ScopeConsumer, []any{option{optClientOptions.Setting("", func(*settings) error { return nil })},
		option{optSessionTimeout.Setting(5)}, option{optAutoCommit.Setting(7)}}); err != nil || s.autoCommit != 7 || s.sessionTimeout != 5 {
		t.Fatalf("consumer options: %v %+v", err, s)
	}
}

// TestOptionsDocumented checks that the package documentation lists every
// declared URI parameter.
func TestOptionsDocumented(t *testing.T) {
	doc, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range options.Params() {
		if !strings.Contains(string(doc), p+"=") {
			t.Errorf("doc.go does not list the URI option %s", p)
		}
	}
}
