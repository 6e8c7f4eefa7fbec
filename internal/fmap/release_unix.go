//go:build unix

package fmap

import "golang.org/x/sys/unix"

func release(b []byte) { _ = unix.Madvise(b, unix.MADV_DONTNEED) }
