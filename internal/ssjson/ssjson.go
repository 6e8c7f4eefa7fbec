// Package ssjson writes JSON byte for byte as Rust's serde_json does, so that
// the command-line tools print exactly what SeaStreamer's tools print.
//
// It covers what SeaStreamer's ss-decode needs: string literals (AppendString),
// f64 numbers (AppendFloat), and a payload parsed as a serde_json::Value and
// printed again (AppendValue), which sorts object keys, keeps the last of
// duplicate keys and prints numbers in serde_json's forms.
//
// The reference is serde_json 1.0.147 or later with default features: object
// keys sorted (no preserve_order), floats parsed without float_roundtrip and
// printed by zmij, whose exponents carry a sign ("1e+16"; serde_json up to
// 1.0.146 printed "1e16" through ryu).
package ssjson

import (
	"strconv"
)

// escape maps each byte to its serde_json escape: 0 when it is printed as is,
// 'u' for \u00xx, or the letter of a short escape.
var escape = func() (t [256]byte) {
	for c := 0; c < 0x20; c++ {
		t[c] = 'u'
	}
	t['\b'], t['\t'], t['\n'], t['\f'], t['\r'] = 'b', 't', 'n', 'f', 'r'
	t['"'], t['\\'] = '"', '\\'
	return t
}()

const hexDigits = "0123456789abcdef"

// AppendString appends s as a JSON string literal. Like serde_json it escapes
// only the quote, the backslash and the control characters below 0x20: \b \t
// \n \f \r in short form, the others as \u00xx in lowercase hex. Other bytes,
// DEL and non-ASCII included, are copied as they are; s must be valid UTF-8
// for the output to be.
func AppendString[S ~string | ~[]byte](dst []byte, s S) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		e := escape[s[i]]
		if e == 0 {
			continue
		}
		dst = append(dst, s[start:i]...)
		if e == 'u' {
			dst = append(dst, '\\', 'u', '0', '0', hexDigits[s[i]>>4], hexDigits[s[i]&0xF])
		} else {
			dst = append(dst, '\\', e)
		}
		start = i + 1
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// AppendFloat appends f, which must be finite, as serde_json prints an f64:
// the shortest digits that read back as f, in fixed notation when the decimal
// exponent is between -5 and 15 (always with a fraction: "1.0", "0.001"), in
// exponential notation otherwise ("1e+16", "1.5e-7").
func AppendFloat(dst []byte, f float64) []byte {
	if f == 0 {
		if 1/f < 0 {
			return append(dst, "-0.0"...)
		}
		return append(dst, "0.0"...)
	}
	if f < 0 {
		dst = append(dst, '-')
		f = -f
	}
	// Shortest round-trip digits, in Go's form d.ddde±xx.
	var buf [32]byte
	sci := strconv.AppendFloat(buf[:0], f, 'e', -1, 64)
	var digits [24]byte
	n := 0
	i := 0
	for ; sci[i] != 'e'; i++ {
		if sci[i] != '.' {
			digits[n] = sci[i]
			n++
		}
	}
	exp, _ := strconv.Atoi(string(sci[i+1:])) // Go writes a sign and at least two digits
	d := digits[:n]
	switch {
	case exp < -5 || exp > 15:
		dst = append(dst, d[0])
		if n > 1 {
			dst = append(dst, '.')
			dst = append(dst, d[1:]...)
		}
		dst = append(dst, 'e')
		if exp >= 0 {
			dst = append(dst, '+')
		}
		return strconv.AppendInt(dst, int64(exp), 10)
	case n-1 <= exp: // an integer: 1234e7 -> 12340000000.0
		dst = append(dst, d...)
		for range exp + 1 - n {
			dst = append(dst, '0')
		}
		return append(dst, '.', '0')
	case exp >= 0: // 1234e-2 -> 12.34
		dst = append(dst, d[:exp+1]...)
		dst = append(dst, '.')
		return append(dst, d[exp+1:]...)
	default: // 1234e-6 -> 0.001234
		dst = append(dst, '0', '.')
		for range -exp - 1 {
			dst = append(dst, '0')
		}
		return append(dst, d...)
	}
}
