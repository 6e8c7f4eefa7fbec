//go:build !unix

package filedriver

import "os"

// lockFile does nothing where flock is not available: consumers of one
// group must then run in one process.
func lockFile(*os.File) error { return nil }

func unlockFile(*os.File) {}
