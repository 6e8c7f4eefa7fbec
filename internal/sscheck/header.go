package sscheck

import (
	"encoding/binary"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/seastream/ss/format"
)

// readHeader decodes the file header. Damage that leaves the beacon interval
// readable is returned as problems, with a header whose fields are usable
// for rewriting the file: an invalid file name has its bad bytes replaced by
// '?', an impossible creation time becomes 0.
func readHeader(b []byte) (format.Header, []*Problem, error) {
	if len(b) == 0 {
		return format.Header{}, nil, fmt.Errorf("%w: the file is empty", ErrHeader)
	}
	if b[0] != 0x53 || len(b) > 1 && b[1] != 0x73 {
		return format.Header{}, nil, fmt.Errorf("%w: %w", ErrHeader, format.ErrMagic)
	}
	if len(b) > 2 && b[2] != format.Version {
		return format.Header{}, nil, fmt.Errorf("%w: %w", ErrHeader, &format.VersionError{Version: b[2]})
	}
	if len(b) < format.HeaderSize {
		return format.Header{}, nil, fmt.Errorf("%w: the file has %d bytes, fewer than the %d of a header", ErrHeader, len(b), format.HeaderSize)
	}
	n := int(b[3])
	if n > format.MaxFileNameLen {
		return format.Header{}, nil, fmt.Errorf("%w: file name length %d is more than %d, so the beacon interval cannot be found", ErrHeader, n, format.MaxFileNameLen)
	}
	rest := b[4+n : format.HeaderSize]
	h := format.Header{
		FileName:       string(b[4 : 4+n]),
		CreatedAt:      binary.BigEndian.Uint64(rest),
		BeaconInterval: binary.BigEndian.Uint32(rest[8:]),
	}
	if h.BeaconInterval < format.MinBeaconInterval {
		return format.Header{}, nil, fmt.Errorf("%w: beacon interval %d is less than %d", ErrHeader, h.BeaconInterval, format.MinBeaconInterval)
	}
	var problems []*Problem
	report := func(off int64, f string, args ...any) {
		problems = append(problems, &Problem{Offset: off, End: off, Err: fmt.Errorf("%w: "+f, append([]any{ErrHeader}, args...)...)})
	}
	if !utf8.ValidString(h.FileName) {
		report(4, "the file name %q is not valid UTF-8", h.FileName)
		h.FileName = strings.ToValidUTF8(h.FileName, "?")
	}
	if h.CreatedAt > format.MaxTimestamp {
		report(int64(4+n), "creation time %d ms is after year 9999; a rewritten file gets 0", h.CreatedAt)
		h.CreatedAt = 0
	}
	for i, c := range rest[12 : len(rest)-1] {
		if c != 0 {
			report(int64(4+n+12+i), "padding byte is 0x%02X, not 0", c)
			break
		}
	}
	if c := rest[len(rest)-1]; c != format.Terminator {
		report(format.HeaderSize-1, "the header ends with 0x%02X, not 0x0D", c)
	}
	return h, problems, nil
}
