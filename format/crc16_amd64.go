package format

import "golang.org/x/sys/cpu"

// useCLMUL says whether UpdateCRC folds with carry-less multiplication
// (PCLMULQDQ, with SSSE3's PSHUFB for the byte order and SSE4.1 as hash/crc32
// requires). It is a variable only so that tests can force the portable path.
var useCLMUL = cpu.X86.HasPCLMULQDQ && cpu.X86.HasSSSE3 && cpu.X86.HasSSE41

// useAVX512 lets crc16CLMUL fold inputs of at least 512 bytes four blocks per
// instruction (VPCLMULQDQ on 512-bit registers, with AVX512BW's VPSHUFB), as
// hash/crc32 does from 1 KiB: 1.8× the 128-bit loop's speed at 1 KiB, 5× at
// 64 KiB (BenchmarkCRC16). A variable so that tests can compare the two
// loops.
var useAVX512 = useCLMUL && cpu.X86.HasAVX512F && cpu.X86.HasAVX512BW && cpu.X86.HasAVX512VPCLMULQDQ

// clmulMinLen is the shortest input given to the vector path (which needs
// 16 bytes). At 16 and 17 bytes slicing-by-16 is a little faster (4.3 and
// 4.5 ns against 4.7 and 5.7, where the vector path pays its final reduction,
// a chain of three multiplications, and at 17 one byte through the table); at
// 18 they are even, and from 20 bytes the vector path wins (7 ns against 10;
// at 31, 7 against 26, the table's tail going byte by byte).
const clmulMinLen = 18

// clmulConsts holds what crc16CLMUL loads; the asm finds the fields through
// go_asm.h. Each kN is x^N mod P, P = x^16 + 0xC867; TestCLMULConstants
// derives every value from the polynomial.
type clmulConsts struct {
	// shuf[o:o+16] is a PSHUFB mask that reverses the bytes of a 16-byte
	// load (o = 0) or, for o = 16-r, moves its first r bytes to the low end
	// in reverse order and clears the rest: the first, partial block.
	shuf [32]byte
	// fold128 = {k128, k192} moves a 128-bit accumulator forward 128 bits:
	// (hi·x^64 + lo)·x^128 ≡ hi·k192 + lo·k128 (mod P).
	fold128 [2]uint64
	// fold512 = {k512, k576} moves one of four accumulators forward 512 bits.
	fold512 [2]uint64
	// fold2048 = {k2048, k2112} moves one of sixteen accumulators (four
	// 512-bit registers) forward 2048 bits.
	fold2048 [2]uint64
	// reduce = {k80, k64} brings A·x^16 from 144 bits down to 64 bits.
	reduce [2]uint64
	// barrett = {floor(x^64 / P), P} takes the last 64 bits to 16.
	barrett [2]uint64
}

var clmulK = clmulConsts{
	shuf: [32]byte{
		15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0,
		0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
		0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
	},
	fold128:  [2]uint64{0xbe62, 0x8a80},
	fold512:  [2]uint64{0x9449, 0x5f9c},
	fold2048: [2]uint64{0x9281, 0x1c62},
	reduce:   [2]uint64{0x1473, 0x62e2},
	barrett:  [2]uint64{0x1bcf9ccb5f456, 0x1c867},
}

// updateCLMUL is UpdateCRC for len(p) >= 16 on a CPU with useCLMUL.
func updateCLMUL(crc uint16, p []byte) uint16 {
	// The assembly reads its first block as the input's first ((len-1) mod
	// 16) + 1 bytes, with the CRC xored into the first two of them; a block
	// of one byte cannot hold it, so that byte goes through the table.
	if len(p)%16 == 1 {
		crc = crcTables[0][byte(crc>>8)^p[0]] ^ crc<<8
		p = p[1:]
	}
	return crc16CLMUL(crc, p)
}

// crc16CLMUL continues the CRC over p by folding 16-byte blocks with
// PCLMULQDQ, then a Barrett reduction. len(p) must be at least 16 and not 1
// more than a multiple of 16. It is in crc16_amd64.s.
//
//go:noescape
func crc16CLMUL(crc uint16, p []byte) uint16
