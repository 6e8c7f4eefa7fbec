//go:build !wasip1 && !js

package regfile

import "syscall"

// nonblock is O_NONBLOCK, which does not change reads and writes of a
// regular file (on Windows the flag is ignored, and a named pipe cannot be
// at a file's path).
const nonblock = syscall.O_NONBLOCK
