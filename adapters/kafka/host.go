package kafka

import (
	"bufio"
	"net"
	"os"
	"strings"
	"sync"
)

// hostIDLen is the length SeaStreamer keeps of a MAC address or container id.
const hostIDLen = 12

var hostID = sync.OnceValue(computeHostID)

// HostID returns the id of this host, as SeaStreamer computes it for the
// default group of Resumable consumers: the HOST_ID environment variable if
// set; inside a Docker container, the first 12 characters of the container
// id; otherwise the first 12 hex digits of the first non-loopback network
// interface's MAC address; failing all of these, the host name.
func HostID() string { return hostID() }

func computeHostID() string {
	if id := os.Getenv("HOST_ID"); id != "" {
		return id
	}
	if id := dockerID("/proc/self/cgroup"); id != "" {
		return id
	}
	if ifs, err := net.Interfaces(); err == nil {
		for _, i := range ifs {
			if i.Flags&net.FlagLoopback != 0 || len(i.HardwareAddr) == 0 {
				continue
			}
			mac := strings.ReplaceAll(i.HardwareAddr.String(), ":", "")
			if len(mac) >= hostIDLen && strings.Trim(mac, "0") != "" {
				return mac[:hostIDLen]
			}
		}
	}
	if h, err := os.Hostname(); err == nil && h != "" {
		return h
	}
	return "localhost"
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

// resumableGroup is the default group of a Resumable consumer, as
// SeaStreamer names it: the host id followed by "r".
func resumableGroup() string { return HostID() + "r" }
