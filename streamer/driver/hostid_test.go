package driver

import (
	"net"
	"os"
	"path/filepath"
	"testing"
)

func TestHostID(t *testing.T) {
	dir := t.TempDir()
	docker := filepath.Join(dir, "cgroup")
	if err := os.WriteFile(docker, []byte("1:name=x:/\n0::/docker/0123456789abcdef0123\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	plain := filepath.Join(dir, "plain")
	if err := os.WriteFile(plain, []byte("0::/user.slice\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("HOST_ID", "myhost")
	if got := computeHostID(docker); got != "myhost" {
		t.Fatalf("with HOST_ID: %q", got)
	}
	t.Setenv("HOST_ID", "")
	if got := computeHostID(docker); got != "0123456789ab" {
		t.Fatalf("in a container: %q, want the container id's first 12 characters", got)
	}
	if got := dockerID(plain); got != "" {
		t.Fatalf("docker id outside docker: %q", got)
	}
	if got := computeHostID(plain); got == "" {
		t.Fatal("empty host id")
	}
}

// TestMACID: SeaStreamer writes the MAC address in upper case (Kafka group
// "CA6B2F11684Fr", not "ca6b2f11684fr").
func TestMACID(t *testing.T) {
	mac, _ := net.ParseMAC("ca:6b:2f:11:68:4f")
	for _, c := range []struct {
		i    net.Interface
		want string
	}{
		{net.Interface{HardwareAddr: mac}, "CA6B2F11684F"},
		{net.Interface{HardwareAddr: mac, Flags: net.FlagLoopback}, ""},
		{net.Interface{HardwareAddr: net.HardwareAddr{0, 0, 0, 0, 0, 0}}, ""},
		{net.Interface{}, ""},
	} {
		if got := macID(c.i); got != c.want {
			t.Errorf("macID(%v, %v) = %q, want %q", c.i.HardwareAddr, c.i.Flags, got, c.want)
		}
	}
}
