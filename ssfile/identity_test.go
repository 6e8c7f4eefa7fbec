package ssfile

import (
	"testing"

	"github.com/seastream/ss/format"
)

// TestIdentityTail checks the remembered tail word by word: whole, shorter
// (just after the header), forgotten, and that a change of any byte of it
// or of the header is seen.
func TestIdentityTail(t *testing.T) {
	data := make([]byte, 400)
	for i := range data {
		data[i] = byte(i*7 + 1)
	}
	for _, pos := range []int64{format.HeaderSize, format.HeaderSize + 1, format.HeaderSize + 13, format.HeaderSize + tailLen, 300, 400} {
		var id identity
		copy(id.head[:], data)
		id.remember(data, pos)
		if !id.holds(data) {
			t.Fatalf("pos %d: the same bytes do not hold", pos)
		}
		for _, at := range []int64{0, format.HeaderSize - 1, max(format.HeaderSize, pos-tailLen), pos - 1} {
			if at >= pos {
				continue
			}
			changed := append([]byte(nil), data...)
			changed[at] ^= 0x40
			if id.holds(changed) {
				t.Errorf("pos %d: a change at %d is not seen", pos, at)
			}
		}
		id.forgetTailFrom(pos - 1)
		changed := append([]byte(nil), data...)
		if pos > format.HeaderSize {
			changed[pos-1] ^= 0x40
		}
		if pos > format.HeaderSize && !id.holds(changed[:pos-1]) {
			t.Errorf("pos %d: a forgotten tail still counts", pos)
		}
	}
}
