package ssjson

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// maxDepth is serde_json's recursion limit: 127 nested arrays or objects
// parse, 128 do not.
const maxDepth = 128

// AppendValue parses src as serde_json::from_str::<serde_json::Value> does
// and, when that succeeds, appends what serde_json::to_string prints for the
// value: no whitespace, object keys sorted by their bytes with the last of
// duplicate keys kept, strings escaped as AppendString does, integers as they
// are and other numbers as the f64 serde_json makes of them. It reports
// false, with dst unchanged, when serde_json would reject src: invalid UTF-8
// or JSON, trailing characters other than whitespace, a number out of the
// f64 range, a lone UTF-16 surrogate in an escape, or nesting deeper than 127.
func AppendValue(dst, src []byte) ([]byte, bool) {
	if !utf8.Valid(src) {
		return dst, false
	}
	p := parser{src: src, depth: maxDepth}
	start := len(dst)
	out, ok := p.value(dst)
	if ok {
		p.skipSpace()
		ok = p.pos == len(p.src)
	}
	if !ok {
		return dst[:start], false
	}
	return out, true
}

type parser struct {
	src   []byte
	pos   int
	depth int
	str   []byte // scratch for decoded strings
}

func (p *parser) skipSpace() {
	for p.pos < len(p.src) {
		switch p.src[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

// peek returns the next byte, or 0 at the end, as serde_json's peek_or_null.
func (p *parser) peek() byte {
	if p.pos < len(p.src) {
		return p.src[p.pos]
	}
	return 0
}

func (p *parser) value(dst []byte) ([]byte, bool) {
	p.skipSpace()
	if p.pos >= len(p.src) {
		return dst, false
	}
	switch c := p.src[p.pos]; c {
	case 'n':
		return p.ident(dst, "null")
	case 't':
		return p.ident(dst, "true")
	case 'f':
		return p.ident(dst, "false")
	case '-':
		p.pos++
		return p.number(dst, false)
	case '"':
		p.pos++
		s, ok := p.string()
		if !ok {
			return dst, false
		}
		return AppendString(dst, s), true
	case '[':
		return p.array(dst)
	case '{':
		return p.object(dst)
	default:
		if '0' <= c && c <= '9' {
			return p.number(dst, true)
		}
		return dst, false
	}
}

func (p *parser) ident(dst []byte, word string) ([]byte, bool) {
	if !strings.HasPrefix(string(p.src[p.pos:]), word) {
		return dst, false
	}
	p.pos += len(word)
	return append(dst, word...), true
}

func (p *parser) enter() bool {
	p.depth--
	return p.depth > 0
}

func (p *parser) array(dst []byte) ([]byte, bool) {
	if !p.enter() {
		return dst, false
	}
	defer func() { p.depth++ }()
	p.pos++
	dst = append(dst, '[')
	p.skipSpace()
	if p.peek() == ']' {
		p.pos++
		return append(dst, ']'), true
	}
	for first := true; ; first = false {
		if !first {
			dst = append(dst, ',')
		}
		var ok bool
		if dst, ok = p.value(dst); !ok {
			return dst, false
		}
		p.skipSpace()
		switch p.peek() {
		case ',':
			p.pos++
		case ']':
			p.pos++
			return append(dst, ']'), true
		default:
			return dst, false
		}
	}
}

// member is one object member: its decoded key and where its printed value
// sits in the output.
type member struct {
	key        string
	start, end int
}

func (p *parser) object(dst []byte) ([]byte, bool) {
	if !p.enter() {
		return dst, false
	}
	defer func() { p.depth++ }()
	p.pos++
	p.skipSpace()
	if p.peek() == '}' {
		p.pos++
		return append(dst, '{', '}'), true
	}
	// Print the values one after the other, then reorder them by key.
	base := len(dst)
	var members []member
	for {
		p.skipSpace()
		if p.peek() != '"' {
			return dst, false
		}
		p.pos++
		key, ok := p.string()
		if !ok {
			return dst, false
		}
		p.skipSpace()
		if p.peek() != ':' {
			return dst, false
		}
		p.pos++
		start := len(dst)
		if dst, ok = p.value(dst); !ok {
			return dst, false
		}
		members = append(members, member{key: key, start: start - base, end: len(dst) - base})
		p.skipSpace()
		switch p.peek() {
		case ',':
			p.pos++
			continue
		case '}':
			p.pos++
		default:
			return dst, false
		}
		break
	}
	values := slices.Clone(dst[base:])
	dst = append(dst[:base], '{')
	slices.SortStableFunc(members, func(a, b member) int { return strings.Compare(a.key, b.key) })
	first := true
	for i, m := range members {
		if i+1 < len(members) && members[i+1].key == m.key {
			continue // a later duplicate replaces it, as in a BTreeMap
		}
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = AppendString(dst, m.key)
		dst = append(dst, ':')
		dst = append(dst, values[m.start:m.end]...)
	}
	return append(dst, '}'), true
}

// string decodes the string literal whose opening quote was just read.
func (p *parser) string() (string, bool) {
	start := p.pos
	// Fast path: no escapes.
	for p.pos < len(p.src) {
		c := p.src[p.pos]
		if c == '"' {
			s := string(p.src[start:p.pos])
			p.pos++
			return s, true
		}
		if c == '\\' {
			break
		}
		if c < 0x20 {
			return "", false
		}
		p.pos++
	}
	p.str = append(p.str[:0], p.src[start:p.pos]...)
	for p.pos < len(p.src) {
		c := p.src[p.pos]
		p.pos++
		switch {
		case c == '"':
			return string(p.str), true
		case c < 0x20:
			return "", false
		case c != '\\':
			p.str = append(p.str, c)
			continue
		}
		if p.pos >= len(p.src) {
			return "", false
		}
		e := p.src[p.pos]
		p.pos++
		switch e {
		case '"', '\\', '/':
			p.str = append(p.str, e)
		case 'b':
			p.str = append(p.str, '\b')
		case 'f':
			p.str = append(p.str, '\f')
		case 'n':
			p.str = append(p.str, '\n')
		case 'r':
			p.str = append(p.str, '\r')
		case 't':
			p.str = append(p.str, '\t')
		case 'u':
			r, ok := p.unicodeEscape()
			if !ok {
				return "", false
			}
			p.str = utf8.AppendRune(p.str, r)
		default:
			return "", false
		}
	}
	return "", false
}

// unicodeEscape decodes the code point of a \u escape whose "\u" was just
// read, with the second half of a surrogate pair. Lone surrogates are
// errors, as serde_json reports when it decodes into a String.
func (p *parser) unicodeEscape() (rune, bool) {
	n, ok := p.hex4()
	if !ok || 0xDC00 <= n && n <= 0xDFFF {
		return 0, false
	}
	if n < 0xD800 || n > 0xDBFF {
		return rune(n), true
	}
	if p.peek() != '\\' {
		return 0, false
	}
	p.pos++
	if p.peek() != 'u' {
		return 0, false
	}
	p.pos++
	n2, ok := p.hex4()
	if !ok || n2 < 0xDC00 || n2 > 0xDFFF {
		return 0, false
	}
	return rune((n-0xD800)<<10|(n2-0xDC00)) + 0x10000, true
}

func (p *parser) hex4() (uint32, bool) {
	if len(p.src)-p.pos < 4 {
		return 0, false
	}
	var n uint32
	for _, c := range p.src[p.pos : p.pos+4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		n = n<<4 | uint32(c)
	}
	p.pos += 4
	return n, true
}

// The number parser follows serde_json's (without float_roundtrip) step by
// step, so that it makes the same f64 of every input, rounding included: an
// integer that fits a u64 (or, negative, an i64) stays an integer; other
// numbers keep at most the digits that fit a u64 significand and are scaled
// by one multiplication or division by a power of ten.

type number struct {
	kind byte // 'u', 'i' or 'f'
	u    uint64
	i    int64
	f    float64
}

func (p *parser) number(dst []byte, positive bool) ([]byte, bool) {
	n, ok := p.integer(positive)
	if !ok {
		return dst, false
	}
	switch n.kind {
	case 'u':
		return strconv.AppendUint(dst, n.u, 10), true
	case 'i':
		return strconv.AppendInt(dst, n.i, 10), true
	}
	return AppendFloat(dst, n.f), true
}

// overflows reports whether a*10+b exceeds max, as serde_json's overflow!.
func overflows[T uint64 | int32](a, b, max T) bool {
	return a >= max/10 && (a > max/10 || b > max%10)
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func (p *parser) integer(positive bool) (number, bool) {
	if p.pos >= len(p.src) {
		return number{}, false
	}
	c := p.src[p.pos]
	p.pos++
	switch {
	case c == '0':
		if isDigit(p.peek()) {
			return number{}, false // only one leading zero
		}
		return p.afterInteger(positive, 0)
	case isDigit(c):
		sig := uint64(c - '0')
		for isDigit(p.peek()) {
			d := uint64(p.peek() - '0')
			if overflows(sig, d, math.MaxUint64) {
				f, ok := p.longInteger(positive, sig)
				return number{kind: 'f', f: f}, ok
			}
			p.pos++
			sig = sig*10 + d
		}
		return p.afterInteger(positive, sig)
	}
	return number{}, false
}

func (p *parser) afterInteger(positive bool, sig uint64) (number, bool) {
	switch p.peek() {
	case '.':
		f, ok := p.decimal(positive, sig, 0)
		return number{kind: 'f', f: f}, ok
	case 'e', 'E':
		f, ok := p.exponent(positive, sig, 0)
		return number{kind: 'f', f: f}, ok
	}
	if positive {
		return number{kind: 'u', u: sig}, true
	}
	neg := -int64(sig) // wraps as Rust's wrapping_neg
	if neg >= 0 {
		// -0, or below i64: a float.
		return number{kind: 'f', f: -float64(sig)}, true
	}
	return number{kind: 'i', i: neg}, true
}

func (p *parser) decimal(positive bool, sig uint64, expBefore int32) (float64, bool) {
	p.pos++ // '.'
	var expAfter int32
	for isDigit(p.peek()) {
		d := uint64(p.peek() - '0')
		if overflows(sig, d, math.MaxUint64) {
			return p.decimalOverflow(positive, sig, expBefore+expAfter)
		}
		p.pos++
		sig = sig*10 + d
		expAfter--
	}
	if expAfter == 0 {
		return 0, false // a digit must follow the point
	}
	exp := expBefore + expAfter
	if c := p.peek(); c == 'e' || c == 'E' {
		return p.exponent(positive, sig, exp)
	}
	return f64FromParts(positive, sig, exp)
}

func (p *parser) decimalOverflow(positive bool, sig uint64, exp int32) (float64, bool) {
	for isDigit(p.peek()) {
		p.pos++ // further digits are ignored
	}
	if c := p.peek(); c == 'e' || c == 'E' {
		return p.exponent(positive, sig, exp)
	}
	return f64FromParts(positive, sig, exp)
}

func (p *parser) exponent(positive bool, sig uint64, startExp int32) (float64, bool) {
	p.pos++ // 'e'
	positiveExp := true
	switch p.peek() {
	case '+':
		p.pos++
	case '-':
		p.pos++
		positiveExp = false
	}
	if !isDigit(p.peek()) {
		return 0, false
	}
	exp := int32(p.src[p.pos] - '0')
	p.pos++
	for isDigit(p.peek()) {
		d := int32(p.peek() - '0')
		p.pos++
		if overflows(exp, d, math.MaxInt32) {
			return p.exponentOverflow(positive, sig == 0, positiveExp)
		}
		exp = exp*10 + d
	}
	var final int32
	if positiveExp {
		final = saturate(int64(startExp) + int64(exp))
	} else {
		final = saturate(int64(startExp) - int64(exp))
	}
	return f64FromParts(positive, sig, final)
}

func saturate(v int64) int32 {
	return int32(max(math.MinInt32, min(math.MaxInt32, v)))
}

func (p *parser) exponentOverflow(positive, zeroSig, positiveExp bool) (float64, bool) {
	if !zeroSig && positiveExp {
		return 0, false // out of range, rather than infinity
	}
	for isDigit(p.peek()) {
		p.pos++
	}
	if positive {
		return 0, true
	}
	return math.Copysign(0, -1), true
}

func (p *parser) longInteger(positive bool, sig uint64) (float64, bool) {
	var exp int32
	for {
		switch c := p.peek(); {
		case isDigit(c):
			p.pos++
			exp++
		case c == '.':
			return p.decimal(positive, sig, exp)
		case c == 'e' || c == 'E':
			return p.exponent(positive, sig, exp)
		default:
			return f64FromParts(positive, sig, exp)
		}
	}
}

// pow10 holds 1e0 to 1e308, each the f64 nearest the exact power.
var pow10 = func() (t [309]float64) {
	for i := range t {
		t[i], _ = strconv.ParseFloat("1e"+strconv.Itoa(i), 64)
	}
	return t
}()

func f64FromParts(positive bool, sig uint64, exp int32) (float64, bool) {
	f := float64(sig)
	for {
		abs := int64(exp)
		if abs < 0 {
			abs = -abs
		}
		if exp != math.MinInt32 && abs < int64(len(pow10)) {
			if exp >= 0 {
				f *= pow10[abs]
				if math.IsInf(f, 0) {
					return 0, false
				}
			} else {
				f /= pow10[abs]
			}
			break
		}
		if f == 0 {
			break
		}
		if exp >= 0 {
			return 0, false
		}
		f /= 1e308
		exp += 308
	}
	if !positive {
		f = -f
	}
	return f, true
}
