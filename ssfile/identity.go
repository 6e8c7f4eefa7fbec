package ssfile

import (
	"bytes"

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
	tail   [tailLen]byte
	tailAt int64 // offset of tail[0]
	tailN  int   // bytes of tail in use
}

// tailLen bytes before the read position are remembered: the end of the
// last frame read, with its checksum, which differs between files for all
// but identical messages.
const tailLen = 32

// remember records the header and the bytes of data just before pos.
func (id *identity) remember(data []byte, pos int64) {
	id.tailAt = max(format.HeaderSize, pos-tailLen)
	id.tailN = copy(id.tail[:], data[id.tailAt:pos])
}

// holds reports whether data, the bytes of the file known so far, still
// has the header and the tail remembered. data must reach past the tail.
func (id *identity) holds(data []byte) bool {
	return bytes.Equal(data[:format.HeaderSize], id.head[:]) &&
		bytes.Equal(data[id.tailAt:id.tailAt+int64(id.tailN)], id.tail[:id.tailN])
}

// forgetTailFrom drops the tail if it reaches past size (the read position
// moved back and the file was then cut back below the remembered bytes).
func (id *identity) forgetTailFrom(size int64) {
	if id.tailAt+int64(id.tailN) > size {
		id.tailN = 0
	}
}
