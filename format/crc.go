package format

// CRC16/CDMA2000: polynomial 0xC867, initial value 0xFFFF, not reflected, no
// final xor. Check value: "123456789" gives 0x4C06.
const (
	crcPoly = 0xC867
	// CRCInit is the initial value of a checksum, and of a running checksum.
	CRCInit uint16 = 0xFFFF
)

// crcTables[k][b] is the CRC register after feeding byte b followed by k zero
// bytes into a zero register. Table 0 is the ordinary byte-at-a-time table; the
// others let Checksum fold 16 bytes per step (slicing-by-16), which is what gets
// it past 2 GB/s. Being a pure function of the polynomial, it is computed once.
var crcTables = func() (t [16][256]uint16) {
	for b := 0; b < 256; b++ {
		crc := uint16(b) << 8
		for i := 0; i < 8; i++ {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ crcPoly
			} else {
				crc <<= 1
			}
		}
		t[0][b] = crc
	}
	for k := 1; k < 16; k++ {
		for b := 0; b < 256; b++ {
			prev := t[k-1][b]
			t[k][b] = t[0][prev>>8] ^ prev<<8
		}
	}
	return t
}()

// Checksum returns the CRC16/CDMA2000 of p.
func Checksum(p []byte) uint16 { return UpdateCRC(CRCInit, p) }

// UpdateCRC continues a CRC16/CDMA2000 computation over p. On amd64 CPUs
// with PCLMULQDQ, inputs from 18 bytes are folded by carry-less
// multiplication (crc16_amd64.s); the result is the same on every path.
func UpdateCRC(crc uint16, p []byte) uint16 {
	if useCLMUL && len(p) >= clmulMinLen {
		return updateCLMUL(crc, p)
	}
	return updateTable(crc, p)
}

// updateTable is the portable implementation, slicing-by-16: what every
// platform without carry-less multiplication runs, and what short inputs run
// everywhere (below clmulMinLen the vector path's fixed cost loses).
func updateTable(crc uint16, p []byte) uint16 {
	t := &crcTables
	for len(p) >= 16 {
		p = p[:len(p):len(p)]
		crc = t[15][byte(crc>>8)^p[0]] ^ t[14][byte(crc)^p[1]] ^
			t[13][p[2]] ^ t[12][p[3]] ^ t[11][p[4]] ^ t[10][p[5]] ^
			t[9][p[6]] ^ t[8][p[7]] ^ t[7][p[8]] ^ t[6][p[9]] ^
			t[5][p[10]] ^ t[4][p[11]] ^ t[3][p[12]] ^ t[2][p[13]] ^
			t[1][p[14]] ^ t[0][p[15]]
		p = p[16:]
	}
	for _, b := range p {
		crc = t[0][byte(crc>>8)^b] ^ crc<<8
	}
	return crc
}

// RunningChecksum is the checksum a beacon marker carries for one (stream key,
// shard): the CRC of the big-endian bytes of every message checksum so far.
// The zero value is not ready to use; start from NewRunningChecksum or Resume.
type RunningChecksum uint16

// NewRunningChecksum returns the running checksum of a stream with no messages.
func NewRunningChecksum() RunningChecksum { return RunningChecksum(CRCInit) }

// Add feeds one message checksum into the running checksum.
func (r RunningChecksum) Add(messageChecksum uint16) RunningChecksum {
	crc := uint16(r)
	crc = crcTables[0][byte(crc>>8)^byte(messageChecksum>>8)] ^ crc<<8
	crc = crcTables[0][byte(crc>>8)^byte(messageChecksum)] ^ crc<<8
	return RunningChecksum(crc)
}
