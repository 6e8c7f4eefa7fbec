package format

import (
	"hash/crc32"
	"testing"
)

// BenchmarkCRC16 puts the paths of UpdateCRC (table; clmul, with its AVX-512
// loop from 512 bytes where the CPU has it; clmul128, without it) beside the
// standard library's CRC-32 (carry-less multiplication on amd64, AVX-512
// from 1 KiB) over the same bytes:
//
//	go test -run '^$' -bench 'CRC16/64KiB' ./format
//
// Sizes below 64 bytes are there to place clmulMinLen.
func BenchmarkCRC16(b *testing.B) {
	p := randomBytes(10, 64<<10)
	for _, n := range []int{16, 24, 32, 48, 64, 256, 1 << 10, 64 << 10} {
		q := p[:n]
		b.Run(byteSize(n)+"/table", func(b *testing.B) {
			b.SetBytes(int64(n))
			for b.Loop() {
				updateTable(CRCInit, q)
			}
		})
		b.Run(byteSize(n)+"/clmul", func(b *testing.B) {
			if !useCLMUL {
				b.Skip("no carry-less multiplication on this CPU")
			}
			b.SetBytes(int64(n))
			for b.Loop() {
				updateCLMUL(CRCInit, q)
			}
		})
		b.Run(byteSize(n)+"/clmul128", func(b *testing.B) {
			if !useAVX512 {
				b.Skip("clmul is the 128-bit loop on this CPU")
			}
			useAVX512 = false
			defer func() { useAVX512 = true }()
			b.SetBytes(int64(n))
			for b.Loop() {
				updateCLMUL(CRCInit, q)
			}
		})
		b.Run(byteSize(n)+"/crc32-ieee", func(b *testing.B) {
			b.SetBytes(int64(n))
			for b.Loop() {
				crc32.ChecksumIEEE(q)
			}
		})
	}
}
