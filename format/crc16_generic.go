//go:build !amd64

package format

// Without carry-less multiplication, UpdateCRC always slices by 16.
var useCLMUL, useAVX512 = false, false

const clmulMinLen = 0

func updateCLMUL(crc uint16, p []byte) uint16 { return updateTable(crc, p) }
