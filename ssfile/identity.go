package ssfile

import (
	"bytes"
	"encoding/binary"

	"github.com/seastream/ss/format"
)

// identity is what a Reader remembers of the file it opened, to notice the
// file being recreated in place under it: same inode, truncated and written
// again (ssfile.Create on the path, a copy over it). An inode check cannot
// see that, and the mapping then shows the new file's bytes at the old
// offsets. The writers of .ss files never change a byte of a complete frame
// or of the header (Append and recovery only cut away what follows the last
// complete frame, or the end-of-stream message), so a change of the header or
// of the last bytes read means another file.
type identity struct {
	head   [format.HeaderSize]byte
	tail   [tailLen / 8]uint64 // the tail's bytes, 8 by 8 (little-endian)
	tailAt int64               // offset of the tail's first byte
	tailN  int                 // bytes of the tail in use; the words past them are zero
}

// tailLen bytes before the read position are remembered: the end of the
// last frame read, with its checksum, which differs between files for all
// but identical messages.
const tailLen = 32

// remember records the bytes of data just before pos. Held as words, the
// tail is read and compared without a call to copy or compare bytes: the
// Reader does both for every message it returns.
func (id *identity) remember(data []byte, pos int64) {
	id.tailAt = max(format.HeaderSize, pos-tailLen)
	t := data[id.tailAt:pos]
	id.tailN = len(t)
	if len(t) == tailLen {
		id.tail = [tailLen / 8]uint64{le.Uint64(t), le.Uint64(t[8:]), le.Uint64(t[16:]), le.Uint64(t[24:])}
		return
	}
	var b [tailLen]byte // near the header: fewer bytes
	copy(b[:], t)
	for i := range id.tail {
		id.tail[i] = le.Uint64(b[8*i:])
	}
}

// holds reports whether data, the bytes of the file known so far, still
// has the header and the tail remembered. data must reach past the tail.
func (id *identity) holds(data []byte) bool {
	if !bytes.Equal(data[:format.HeaderSize], id.head[:]) {
		return false
	}
	t := data[id.tailAt : id.tailAt+int64(id.tailN)]
	if len(t) == tailLen {
		return (le.Uint64(t)^id.tail[0])|(le.Uint64(t[8:])^id.tail[1])|
			(le.Uint64(t[16:])^id.tail[2])|(le.Uint64(t[24:])^id.tail[3]) == 0
	}
	var b [tailLen]byte
	copy(b[:], t)
	for i := range id.tail {
		if le.Uint64(b[8*i:]) != id.tail[i] {
			return false
		}
	}
	return true
}

var le = binary.LittleEndian

// forgetTailFrom drops the tail if it reaches past size (the read position
// moved back and the file was then cut back below the remembered bytes).
func (id *identity) forgetTailFrom(size int64) {
	if id.tailAt+int64(id.tailN) > size {
		id.tailN, id.tail = 0, [tailLen / 8]uint64{}
	}
}
