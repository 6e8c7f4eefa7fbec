package filedriver

import (
	"syscall"
	"time"
)

// nowMilli returns the wall clock in milliseconds since 1970, the timestamp
// a send takes. On linux/amd64 gettimeofday is a vDSO call that reads only
// the wall clock, half the cost of time.Now, which reads the monotonic clock
// too: it is taken once per message.
func nowMilli() int64 {
	var tv syscall.Timeval
	if err := syscall.Gettimeofday(&tv); err != nil {
		return time.Now().UnixMilli()
	}
	return tv.Sec*1000 + tv.Usec/1000
}
