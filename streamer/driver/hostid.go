package driver

import (
	"bufio"
	"net"
	"os"
	"strings"
	"sync"
)

// hostIDLen is the length SeaStreamer keeps of a MAC address or container id.
const hostIDLen = 12

var hostID = sync.OnceValue(func() string { return computeHostID("/proc/self/cgroup") })

// HostID returns the id of this host as SeaStreamer computes it, for the
// default groups of consumers (Redis "<id>:r", Kafka "<id>r"), so that Go and
// Rust programs on one host share them: the HOST_ID environment variable if
// set; inside a Docker container, the first 12 characters of the container
// id; otherwise the first 12 hex digits, upper case, of the first
// non-loopback network interface's MAC address; failing all of these, the
// host name. It is computed once per process.
func HostID() string { return hostID() }

func computeHostID(cgroup string) string {
	if id := os.Getenv("HOST_ID"); id != "" {
		return id
	}
	if id := dockerID(cgroup); id != "" {
		return id
	}
	if ifs, err := net.Interfaces(); err == nil {
		for _, i := range ifs {
			if id := macID(i); id != "" {
				return id
			}
		}
	}
	if h, err := os.Hostname(); err == nil && h != "" {
		return h
	}
	return "localhost"
}

// macID returns the id SeaStreamer derives from an interface's MAC address
// (12 upper-case hex digits), or "" for a loopback interface or one with no
// address.
func macID(i net.Interface) string {
	if i.Flags&net.FlagLoopback != 0 || len(i.HardwareAddr) == 0 {
		return ""
	}
	mac := strings.ToUpper(strings.ReplaceAll(i.HardwareAddr.String(), ":", ""))
	if len(mac) < hostIDLen || strings.Trim(mac, "0") == "" {
		return ""
	}
	return mac[:hostIDLen]
}

// dockerID returns the container id from the last line of a cgroup file
// ("0::/docker/<id>"), or "".
func dockerID(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	var last string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		last = sc.Text()
	}
	_, id, ok := strings.Cut(last, "0::/docker/")
	if !ok || len(id) < hostIDLen {
		return ""
	}
	return id[:hostIDLen]
}
