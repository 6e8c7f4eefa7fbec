//go:build !(linux || aix || solaris)

package ssfile

import "os"

// syncData makes f's data durable where fdatasync is not available, with
// f.Sync, which also writes metadata such as the times.
//
// On macOS and iOS f.Sync is fcntl(F_FULLFSYNC), not fsync: there fsync
// hands the data to the drive but does not flush the drive's write cache, so
// it would not give what fdatasync gives on Linux (data that survives a power
// cut). F_FULLFSYNC costs more (tens of milliseconds on some drives), which
// group commit spreads over a batch. On Windows f.Sync is FlushFileBuffers,
// which flushes the drive's cache too; on the BSDs it is fsync.
func syncData(f *os.File) error { return f.Sync() }
