package redis

import "github.com/seastream/ss/streamer"

// The driver registers itself for redis:// and rediss:// in the default
// streamer.Mux, as database/sql drivers do.
func init() {
	streamer.Register(scheme, Driver{})
	streamer.Register(schemeTLS, Driver{})
}
