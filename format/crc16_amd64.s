#include "textflag.h"
#include "go_asm.h"

// CRC16/CDMA2000 by folding with carry-less multiplication, after Intel's
// "Fast CRC Computation for Generic Polynomials Using PCLMULQDQ".
//
// The CRC is not reflected, so a 16-byte block read big-endian is a
// polynomial of degree < 128 once PSHUFB has reversed its bytes: bit i of the
// register is the coefficient of x^i. The CRC of a message M of n bytes from
// register c is (c·x^(8n-16) + M)·x^16 mod P: c xored into the first two
// bytes. Zero bytes in front of M do not change it, so the message is taken
// as if padded in front to whole blocks: the first block holds its first r
// bytes (1 <= r <= 16), and every later block is a whole, unaligned load.
//
// An accumulator A = hi·x^64 + lo moved forward by D bits is congruent to
// hi·(x^(D+64) mod P) + lo·(x^D mod P): two multiplications by 16-bit
// constants, 80-bit products, and the next block is xored in. Four
// accumulators run 512 bits apart while 64 bytes remain, then fold into one.
// With AVX-512, sixteen (four 512-bit registers) run 2048 bits apart first.
// At the end, A·x^16 mod P is reduced to 64 bits with x^80 and x^64 mod P,
// then to 16 by Barrett's method with floor(x^64 / P).

// func crc16CLMUL(crc uint16, p []byte) uint16
TEXT ·crc16CLMUL(SB), NOSPLIT, $0-34
	MOVWLZX crc+0(FP), AX
	MOVQ    p_base+8(FP), SI
	MOVQ    p_len+16(FP), CX
	LEAQ    ·clmulK(SB), DX

	// The first 16 bytes, the CRC's high byte xored into the first and its
	// low byte into the second.
	ROLW   $8, AX
	MOVQ   AX, X0
	MOVOU  (SI), X1
	PXOR   X0, X1

	// r = (len-1) mod 16 + 1 bytes in the first block: its mask is
	// shuf[16-r:], which reverses them into the low end of the register.
	LEAQ   -1(CX), BX
	ANDQ   $15, BX
	INCQ   BX
	MOVQ   $16, R8
	SUBQ   BX, R8
	ADDQ   DX, R8
	MOVOU  clmulConsts_shuf(R8), X2
	PSHUFB X2, X1
	ADDQ   BX, SI
	SUBQ   BX, CX

	MOVOU clmulConsts_shuf(DX), X9     // byte reversal
	MOVOU clmulConsts_fold128(DX), X10

	CMPQ CX, $64
	JB   remain16
	CMPB ·useAVX512(SB), $0
	JEQ  sse
	CMPQ CX, $512
	JAE  avx512

sse:
	// Four accumulators, the first block folded into the first of them.
	MOVOU     (SI), X2
	MOVOU     16(SI), X3
	MOVOU     32(SI), X4
	MOVOU     48(SI), X5
	PSHUFB    X9, X2
	PSHUFB    X9, X3
	PSHUFB    X9, X4
	PSHUFB    X9, X5
	MOVOA     X1, X6
	PCLMULQDQ $0x00, X10, X1
	PCLMULQDQ $0x11, X10, X6
	PXOR      X1, X2
	PXOR      X6, X2
	ADDQ      $64, SI
	SUBQ      $64, CX

four:
	// X2..X5 hold four accumulators, 128 bits apart.
	MOVOU clmulConsts_fold512(DX), X11
	CMPQ  CX, $64
	JB    fold4

	PCALIGN $16
loop64:
	MOVOA     X2, X6
	MOVOA     X3, X7
	MOVOA     X4, X8
	MOVOA     X5, X12
	PCLMULQDQ $0x00, X11, X2
	PCLMULQDQ $0x00, X11, X3
	PCLMULQDQ $0x00, X11, X4
	PCLMULQDQ $0x00, X11, X5
	PCLMULQDQ $0x11, X11, X6
	PCLMULQDQ $0x11, X11, X7
	PCLMULQDQ $0x11, X11, X8
	PCLMULQDQ $0x11, X11, X12
	MOVOU     (SI), X0
	MOVOU     16(SI), X1
	MOVOU     32(SI), X13
	MOVOU     48(SI), X14
	PSHUFB    X9, X0
	PSHUFB    X9, X1
	PSHUFB    X9, X13
	PSHUFB    X9, X14
	PXOR      X6, X2
	PXOR      X7, X3
	PXOR      X8, X4
	PXOR      X12, X5
	PXOR      X0, X2
	PXOR      X1, X3
	PXOR      X13, X4
	PXOR      X14, X5
	ADDQ      $64, SI
	SUBQ      $64, CX
	CMPQ      CX, $64
	JAE       loop64

fold4:
	// X1 = ((X2·x^128 + X3)·x^128 + X4)·x^128 + X5, folded.
	MOVOA     X2, X6
	PCLMULQDQ $0x00, X10, X2
	PCLMULQDQ $0x11, X10, X6
	PXOR      X2, X3
	PXOR      X6, X3
	MOVOA     X3, X6
	PCLMULQDQ $0x00, X10, X3
	PCLMULQDQ $0x11, X10, X6
	PXOR      X3, X4
	PXOR      X6, X4
	MOVOA     X4, X6
	PCLMULQDQ $0x00, X10, X4
	PCLMULQDQ $0x11, X10, X6
	PXOR      X4, X5
	PXOR      X6, X5
	MOVOA     X5, X1

remain16:
	CMPQ CX, $16
	JB   reduce

loop16:
	MOVOU     (SI), X2
	PSHUFB    X9, X2
	MOVOA     X1, X6
	PCLMULQDQ $0x00, X10, X1
	PCLMULQDQ $0x11, X10, X6
	PXOR      X6, X1
	PXOR      X2, X1
	ADDQ      $16, SI
	SUBQ      $16, CX
	CMPQ      CX, $16
	JAE       loop16

reduce:
	// W = hi·k80 + lo·x^16 ≡ A·x^16 (mod P), below 80 bits.
	MOVOU     clmulConsts_reduce(DX), X10
	MOVQ      X1, X2
	PSLLDQ    $2, X2
	PCLMULQDQ $0x01, X10, X1
	PXOR      X2, X1

	// Y = W.hi·k64 + W.lo ≡ W (mod P), 64 bits.
	MOVQ      X1, X2
	PCLMULQDQ $0x11, X10, X1
	PXOR      X2, X1

	// Barrett: q = ((Y >> 16)·floor(x^64 / P)) >> 48 is floor(Y / P), and
	// the CRC is the low 16 bits of Y + q·P.
	MOVOU     clmulConsts_barrett(DX), X10
	MOVOA     X1, X2
	PSRLQ     $16, X2
	PCLMULQDQ $0x00, X10, X2
	PSRLDQ    $6, X2
	PCLMULQDQ $0x10, X10, X2
	PXOR      X2, X1
	MOVQ      X1, AX
	MOVW      AX, ret+32(FP)
	RET

avx512:
	// Sixteen accumulators in Z16..Z19, 128 bits apart; the first block is
	// folded into the first of them. The VEX encoding of the 128-bit
	// instructions clears the upper bits of Z6.
	VPCLMULQDQ      $0x00, X10, X1, X6
	VPCLMULQDQ      $0x11, X10, X1, X7
	VPXOR           X7, X6, X6
	VBROADCASTI32X4 clmulConsts_shuf(DX), Z20
	VBROADCASTI32X4 clmulConsts_fold2048(DX), Z21
	VMOVDQU64       (SI), Z16
	VMOVDQU64       64(SI), Z17
	VMOVDQU64       128(SI), Z18
	VMOVDQU64       192(SI), Z19
	VPSHUFB         Z20, Z16, Z16
	VPSHUFB         Z20, Z17, Z17
	VPSHUFB         Z20, Z18, Z18
	VPSHUFB         Z20, Z19, Z19
	VPXORQ          Z6, Z16, Z16
	ADDQ            $256, SI
	SUBQ            $256, CX // still >= 256: this path starts at 512

	PCALIGN $16
loop256:
	VMOVDQU64  (SI), Z22
	VMOVDQU64  64(SI), Z23
	VMOVDQU64  128(SI), Z24
	VMOVDQU64  192(SI), Z25
	VPSHUFB    Z20, Z22, Z22
	VPSHUFB    Z20, Z23, Z23
	VPSHUFB    Z20, Z24, Z24
	VPSHUFB    Z20, Z25, Z25
	VPCLMULQDQ $0x11, Z21, Z16, Z26
	VPCLMULQDQ $0x11, Z21, Z17, Z27
	VPCLMULQDQ $0x11, Z21, Z18, Z28
	VPCLMULQDQ $0x11, Z21, Z19, Z29
	VPCLMULQDQ $0x00, Z21, Z16, Z16
	VPCLMULQDQ $0x00, Z21, Z17, Z17
	VPCLMULQDQ $0x00, Z21, Z18, Z18
	VPCLMULQDQ $0x00, Z21, Z19, Z19
	VPTERNLOGD $0x96, Z22, Z26, Z16
	VPTERNLOGD $0x96, Z23, Z27, Z17
	VPTERNLOGD $0x96, Z24, Z28, Z18
	VPTERNLOGD $0x96, Z25, Z29, Z19
	ADDQ       $256, SI
	SUBQ       $256, CX
	CMPQ       CX, $256
	JAE        loop256

	// Fold the four registers into Z19, 512 bits at a time, and hand its
	// four lanes to the 128-bit code as X2..X5.
	VBROADCASTI32X4 clmulConsts_fold512(DX), Z21
	VPCLMULQDQ      $0x11, Z21, Z16, Z26
	VPCLMULQDQ      $0x00, Z21, Z16, Z16
	VPTERNLOGD      $0x96, Z26, Z16, Z17
	VPCLMULQDQ      $0x11, Z21, Z17, Z26
	VPCLMULQDQ      $0x00, Z21, Z17, Z17
	VPTERNLOGD      $0x96, Z26, Z17, Z18
	VPCLMULQDQ      $0x11, Z21, Z18, Z26
	VPCLMULQDQ      $0x00, Z21, Z18, Z18
	VPTERNLOGD      $0x96, Z26, Z18, Z19
	VEXTRACTI32X4   $0, Z19, X2
	VEXTRACTI32X4   $1, Z19, X3
	VEXTRACTI32X4   $2, Z19, X4
	VEXTRACTI32X4   $3, Z19, X5
	VZEROUPPER
	JMP             four
