//go:build wasip1 || js

package regfile

// nonblock is 0: WebAssembly's syscall package has no O_NONBLOCK (a WASI
// host opens a named pipe as it chooses).
const nonblock = 0
