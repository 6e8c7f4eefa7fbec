package kafka

import "github.com/seastream/ss/streamer/driver"

// HostID returns the id of this host, as SeaStreamer computes it for the
// default group of Resumable consumers: see driver.HostID.
func HostID() string { return driver.HostID() }

// resumableGroup is the default group of a Resumable consumer, as
// SeaStreamer names it: the host id followed by "r".
func resumableGroup() string { return driver.HostID() + "r" }
