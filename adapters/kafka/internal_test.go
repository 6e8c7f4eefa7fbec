package kafka

import (
	"errors"
	"os"
	"path/filepath"
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

func TestHostID(t *testing.T) {
	t.Setenv("HOST_ID", "myhost")
	if got := computeHostID(); got != "myhost" {
		t.Fatalf("with HOST_ID: %q", got)
	}
	t.Setenv("HOST_ID", "")
	if got := computeHostID(); got == "" {
		t.Fatal("empty host id")
	}
	dir := t.TempDir()
	docker := filepath.Join(dir, "cgroup")
	if err := os.WriteFile(docker, []byte("1:name=x:/\n0::/docker/0123456789abcdef0123\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := dockerID(docker); got != "0123456789ab" {
		t.Fatalf("docker id %q", got)
	}
	plain := filepath.Join(dir, "plain")
	if err := os.WriteFile(plain, []byte("0::/user.slice\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := dockerID(plain); got != "" {
		t.Fatalf("docker id outside docker: %q", got)
	}
}
