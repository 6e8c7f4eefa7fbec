//go:build !linux

package bench

import "os"

// syncData is what ssfile's writer calls to sync a file where there is no
// fdatasync.
func syncData(f *os.File) error { return f.Sync() }
