package driver

import (
	"context"
	"time"
)

// Hooks a backend calls. The portable layer hands the user's hooks (values
// given to streamer.WithHooks) to Driver.Open in ConnectOptions.Hooks; a
// backend that does what a hook observes calls every hook in that list
// implementing the matching interface. Hooks must be fast and safe for
// concurrent use; the backend must not call them while holding a lock the
// hook could need (they may call back into the Streamer).

// HookFsync is called after the backend forces data to stable storage
// (fsync), with how long it took and its error. The file backend calls it
// for every fdatasync of a file's writer (sync=flush: one per flushed
// batch), from its flusher after the flush, with the hooks of the Conn that
// opened the writer.
type HookFsync interface {
	OnFsync(FsyncEvent)
}

// FsyncEvent describes one fsync.
type FsyncEvent struct {
	Path    string        // the file synced
	Latency time.Duration // time spent in the call
	Err     error         // nil on success
}

// HookRollover is called after the backend starts a new file (or segment)
// for a stream. No backend rolls over yet: the file backend will call it
// with segmented stream directories.
type HookRollover interface {
	OnRollover(RolloverEvent)
}

// RolloverEvent describes one rollover.
type RolloverEvent struct {
	Path     string // the file now written
	Previous string // the file written before, "" if none
	Size     uint64 // bytes in Previous when it was left
}

// Lag is how far a consumer is behind the end of one (stream, shard).
type Lag struct {
	Stream StreamKey
	Shard  ShardID
	// Messages is the number of messages stored after the last one the
	// consumer has received (its position), as the backend counts them.
	Messages uint64
}

// Lagger is implemented by a Consumer that can tell its lag. Lag returns
// one entry per (stream, shard) the consumer reads, in any order; it may be
// called concurrently with Next.
type Lagger interface {
	Lag(ctx context.Context) ([]Lag, error)
}
