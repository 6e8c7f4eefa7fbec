package streamer

import (
	"math"

	"github.com/seastream/ss/streamer/filedriver"
)

// The file backend's options were once options of this package. They are
// filedriver's now, so that the portable API names no backend; these
// forwards keep old code compiling.

// CreateMode says whether opening a file:// URI creates the file.
//
// Deprecated: use filedriver.CreateMode.
type CreateMode = filedriver.CreateMode

// File creation modes.
//
// Deprecated: use filedriver.CreateNever, CreateIfMissing and CreateOnly.
const (
	CreateNever     = filedriver.CreateNever
	CreateIfMissing = filedriver.CreateIfMissing
	CreateOnly      = filedriver.CreateOnly
)

// WithCreate sets whether opening a file:// URI creates the file.
//
// Deprecated: use WithDriverOption(filedriver.WithCreate(mode)).
func WithCreate(mode CreateMode) Option { return WithDriverOption(filedriver.WithCreate(mode)) }

// WithEOSOnClose makes a file:// Streamer write an end-of-stream message
// when it closes.
//
// Deprecated: use WithDriverOption(filedriver.WithEOSOnClose(v)).
func WithEOSOnClose(v bool) Option { return WithDriverOption(filedriver.WithEOSOnClose(v)) }

// WithBeaconInterval sets the beacon interval of a file created by a
// file:// Streamer.
//
// Deprecated: use WithDriverOption(filedriver.WithBeaconInterval(n)).
func WithBeaconInterval(n uint32) Option {
	return WithDriverOption(filedriver.WithBeaconInterval(n))
}

// WithSizeLimit sets the size limit of a file:// stream in bytes; a limit
// above 2^63-1 is 2^63-1.
//
// Deprecated: use WithDriverOption(filedriver.WithSizeLimit(n)).
func WithSizeLimit(n uint64) Option {
	return WithDriverOption(filedriver.WithSizeLimit(int64(min(n, math.MaxInt64))))
}
