//go:build !(linux && amd64)

package filedriver

import "time"

// nowMilli returns the wall clock in milliseconds since 1970, the timestamp
// a send takes.
func nowMilli() int64 { return time.Now().UnixMilli() }
