package format

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// These tests hold UpdateCRC, whichever path it takes on this machine, to
// the portable table (updateTable), and the table to the bitwise definition
// (bytewise, format_test.go). On amd64 they also call the vector path
// (updateCLMUL) directly, so that the comparison does not depend on where
// clmulMinLen sits.

func randomBytes(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	p := make([]byte, n)
	for i := range p {
		p[i] = byte(r.Uint32())
	}
	return p
}

var crcStarts = []uint16{CRCInit, 0, 0x8000, 0x0001, 0x4C06, 0xA5A5}

// checkCRC compares every path over p from start.
func checkCRC(t *testing.T, start uint16, p []byte, what string) {
	t.Helper()
	want := updateTable(start, p)
	if got := UpdateCRC(start, p); got != want {
		t.Fatalf("%s: UpdateCRC(%#04x, len %d) = %#04x, table gives %#04x", what, start, len(p), got, want)
	}
	checkVector(t, start, p, want, what)
}

// checkVector compares the vector path with want, with and without its
// AVX-512 loop.
func checkVector(t *testing.T, start uint16, p []byte, want uint16, what string) {
	t.Helper()
	if !useCLMUL || len(p) < 16 {
		return
	}
	if got := updateCLMUL(start, p); got != want {
		t.Fatalf("%s: updateCLMUL(%#04x, len %d) = %#04x, table gives %#04x", what, start, len(p), got, want)
	}
	if useAVX512 {
		useAVX512 = false
		got := updateCLMUL(start, p)
		useAVX512 = true
		if got != want {
			t.Fatalf("%s: updateCLMUL without AVX-512 (%#04x, len %d) = %#04x, table gives %#04x", what, start, len(p), got, want)
		}
	}
}

func TestCRCMatchesTable(t *testing.T) {
	t.Logf("carry-less multiplication: %v, from %d bytes; AVX-512: %v", useCLMUL, clmulMinLen, useAVX512)
	const maxLen = 4096
	buf := randomBytes(1, maxLen+16)
	// Every length up to past where the AVX-512 loop starts (512), at every
	// alignment; then every length to 4096 at one alignment each, in turn,
	// and a few long ones; then all-ones and all-zero inputs, which stress
	// the top bits of every fold.
	for off := range 16 {
		for n := 0; n <= 600; n++ {
			checkCRC(t, crcStarts[(n+off)%len(crcStarts)], buf[off:off+n], "random")
		}
	}
	for n := 601; n <= maxLen; n++ {
		off := n % 16
		checkCRC(t, crcStarts[n%len(crcStarts)], buf[off:off+n], "random")
	}
	big := randomBytes(11, 1<<17+16)
	for _, n := range []int{8191, 1 << 16, 1<<16 + 15, 1<<16 + 257, 1 << 17} {
		checkCRC(t, CRCInit, big[n%16:n%16+n], "random")
	}
	for _, c := range []byte{0x00, 0xFF} {
		p := bytes.Repeat([]byte{c}, maxLen)
		for n := 0; n <= maxLen; n += 13 {
			for _, s := range crcStarts {
				checkCRC(t, s, p[:n], "constant")
			}
		}
	}
}

func TestCRCMatchesBitwiseDefinition(t *testing.T) {
	p := randomBytes(2, 2048)
	for n := 0; n <= len(p); n += 5 {
		if got, want := Checksum(p[:n]), bytewise(p[:n]); got != want {
			t.Fatalf("len %d: Checksum %#04x, bitwise %#04x", n, got, want)
		}
	}
}

func TestCRCRunningUpdates(t *testing.T) {
	p := randomBytes(3, 1200)
	r := rand.New(rand.NewPCG(4, 5))
	for n := 0; n <= len(p); n += 1 + n/64 {
		whole := updateTable(CRCInit, p[:n])
		// Every split of short inputs; a few random ones of long inputs.
		splits := r.Perm(n + 1)
		if n > 80 {
			splits = splits[:8]
		}
		for _, k := range splits {
			if got := UpdateCRC(UpdateCRC(CRCInit, p[:k]), p[k:n]); got != whole {
				t.Fatalf("len %d split at %d: %#04x, whole %#04x", n, k, got, whole)
			}
		}
		// Three pieces, the middle one long enough for the vector path.
		if n >= 40 {
			a, b := r.IntN(n/2), n/2+r.IntN(n/2)
			c := UpdateCRC(UpdateCRC(UpdateCRC(CRCInit, p[:a]), p[a:b]), p[b:n])
			if c != whole {
				t.Fatalf("len %d split at %d and %d: %#04x, whole %#04x", n, a, b, c, whole)
			}
		}
	}
}

// TestCRCPortablePath is the way to force the table everywhere: clear
// useCLMUL (tests of this package do not run in parallel).
func TestCRCPortablePath(t *testing.T) {
	p := randomBytes(6, 5000)
	fast := Checksum(p)
	defer func(v, w bool) { useCLMUL, useAVX512 = v, w }(useCLMUL, useAVX512)
	useCLMUL, useAVX512 = false, false
	if got := Checksum(p); got != fast || got != bytewise(p) {
		t.Fatalf("portable %#04x, default %#04x, bitwise %#04x", got, fast, bytewise(p))
	}
}

func TestCRCNoAllocs(t *testing.T) {
	p := randomBytes(7, 64<<10)
	for _, n := range []int{15, 64, 1000, len(p)} {
		if a := testing.AllocsPerRun(20, func() { UpdateCRC(CRCInit, p[:n]) }); a != 0 {
			t.Errorf("UpdateCRC of %d bytes allocates %v", n, a)
		}
	}
}

// FuzzCRC16 compares the vector path with the table on random data, start
// values, alignments and split points:
//
//	go test ./format -run=^$ -fuzz=^FuzzCRC16$ -fuzztime=1m
func FuzzCRC16(f *testing.F) {
	f.Add([]byte("123456789"), uint16(CRCInit), uint16(4), uint8(0))
	f.Add(bytes.Repeat([]byte{0xFF}, 100), uint16(0), uint16(33), uint8(3))
	f.Add(randomBytes(8, 300), uint16(0x1234), uint16(129), uint8(15))
	f.Add(randomBytes(9, 1025), uint16(0x8000), uint16(1), uint8(7))
	f.Fuzz(func(t *testing.T, data []byte, start, split uint16, off uint8) {
		p := data[min(int(off%16), len(data)):]
		k := int(split) % (len(p) + 1)
		want := updateTable(start, p)
		checkVector(t, start, p, want, "fuzz")
		if got := UpdateCRC(UpdateCRC(start, p[:k]), p[k:]); got != want {
			t.Fatalf("split at %d of %d: %#04x, table gives %#04x", k, len(p), got, want)
		}
	})
}
