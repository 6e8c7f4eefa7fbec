package format

import (
	"math/bits"
	"testing"
)

// gf2Poly is P = x^16 + 0xC867 with its leading term, as a bit pattern.
const gf2Poly = 1<<16 | crcPoly

// xPowMod returns x^n mod P, multiplying by x one bit at a time.
func xPowMod(n int) uint64 {
	r := uint64(1)
	for range n {
		r <<= 1
		if r&(1<<16) != 0 {
			r ^= gf2Poly
		}
	}
	return r
}

// xPowDiv returns floor(x^n / P) by long division, for n < 80.
func xPowDiv(n int) uint64 {
	// The dividend is x^n; hi:lo holds the remainder as it shrinks.
	hi, lo := uint64(0), uint64(0)
	if n >= 64 {
		hi = 1 << (n - 64)
	} else {
		lo = 1 << n
	}
	var q uint64
	for d := n; d >= 16; d-- {
		var bit uint64
		if d >= 64 {
			bit = hi >> (d - 64) & 1
		} else {
			bit = lo >> d & 1
		}
		if bit == 0 {
			continue
		}
		q |= 1 << (d - 16)
		// Subtract P·x^(d-16).
		s := d - 16
		plo := uint64(gf2Poly) << s
		var phi uint64
		if s > 47 {
			phi = uint64(gf2Poly) >> (64 - s)
		}
		hi, lo = hi^phi, lo^plo
	}
	return q
}

// clmul64 is the low 64 bits of the carry-less product of a and b.
func clmul64(a, b uint64) uint64 {
	var r uint64
	for b != 0 {
		r ^= a << bits.TrailingZeros64(b)
		b &= b - 1
	}
	return r
}

func TestCLMULConstants(t *testing.T) {
	var want clmulConsts
	for i := range want.shuf {
		want.shuf[i] = 0x80
		if i < 16 {
			want.shuf[i] = byte(15 - i)
		}
	}
	want.fold128 = [2]uint64{xPowMod(128), xPowMod(192)}
	want.fold512 = [2]uint64{xPowMod(512), xPowMod(576)}
	want.fold2048 = [2]uint64{xPowMod(2048), xPowMod(2112)}
	want.reduce = [2]uint64{xPowMod(80), xPowMod(64)}
	want.barrett = [2]uint64{xPowDiv(64), gf2Poly}
	if clmulK != want {
		t.Fatalf("clmulK = %#x\nderived %#x", clmulK, want)
	}
	// The quotient is what Barrett's method needs: x^64 = q·P + a remainder
	// of degree < 16.
	q := want.barrett[0]
	if bits.Len64(q) != 49 {
		t.Fatalf("floor(x^64/P) has %d bits, want 49", bits.Len64(q))
	}
	if rem := clmul64(q, gf2Poly); rem>>16 != 0 || rem != xPowMod(64) {
		// clmul64 drops bit 64 of q·P, which is x^64's own bit.
		t.Fatalf("x^64 - floor(x^64/P)·P = %#x, want x^64 mod P = %#x", rem, xPowMod(64))
	}
}
