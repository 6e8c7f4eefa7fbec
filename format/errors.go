package format

import (
	"errors"
	"fmt"
)

var (
	// ErrShortInput means the input ends before the structure is complete. It is
	// not corruption by itself: a reader seeing it at the end of a file that is
	// still being written should wait for more bytes.
	ErrShortInput = errors.New("format: input ends before the structure is complete")

	// ErrMagic means the first two bytes are not "Ss": the data is not a .ss file.
	ErrMagic = errors.New("format: not a .ss file (magic bytes are not 0x53 0x73)")

	// ErrUnsupportedVersion is matched by a *VersionError.
	ErrUnsupportedVersion = errors.New("format: unsupported .ss format version")

	// ErrFileNameTooLong means a header's file name does not fit in the 128-byte
	// header: at most MaxFileNameLen bytes.
	ErrFileNameTooLong = errors.New("format: file name too long for the header (max 111 bytes)")

	// ErrInvalidUTF8 means a header file name is not valid UTF-8.
	ErrInvalidUTF8 = errors.New("format: file name is not valid UTF-8")

	// ErrHeaderPadding means the header padding is not zero or does not end in 0x0D.
	ErrHeaderPadding = errors.New("format: header padding is not zeros ending in 0x0D")

	// ErrBeaconInterval means a beacon interval is smaller than the header.
	ErrBeaconInterval = errors.New("format: beacon interval must be at least 128 bytes")

	// ErrInvalidStreamKey means a stream key is empty, longer than MaxStreamKeyLen or
	// has a character outside [A-Za-z0-9._-].
	ErrInvalidStreamKey = errors.New("format: invalid stream key (allowed: A-Z a-z 0-9 . _ -, at most 249 bytes)")

	// ErrTimestampRange means a timestamp is beyond year 9999, which SeaStreamer
	// cannot represent.
	ErrTimestampRange = errors.New("format: timestamp out of range (after year 9999)")

	// ErrPayloadTooLarge means a payload does not fit the 32-bit size field.
	ErrPayloadTooLarge = errors.New("format: payload larger than 4 GiB - 1")

	// ErrTerminator means a message or beacon does not end (or, for a beacon,
	// start) with 0x0D where the format requires it.
	ErrTerminator = errors.New("format: missing 0x0D terminator")

	// ErrTooManyMarkers means a beacon would carry more than 255 markers.
	ErrTooManyMarkers = errors.New("format: more than 255 beacon markers")

	// ErrChecksum is matched by a *ChecksumError.
	ErrChecksum = errors.New("format: payload checksum mismatch")
)

// VersionError reports a header whose version byte this package does not read.
type VersionError struct {
	Version byte
}

func (e *VersionError) Error() string {
	return fmt.Sprintf("format: unsupported .ss format version %d (this library reads version %d)", e.Version, Version)
}

// Is makes errors.Is(err, ErrUnsupportedVersion) true.
func (e *VersionError) Is(target error) bool { return target == ErrUnsupportedVersion }

// ChecksumError reports a payload whose CRC16 differs from the one stored after it.
type ChecksumError struct {
	Stored, Computed uint16
}

func (e *ChecksumError) Error() string {
	return fmt.Sprintf("format: payload checksum mismatch: stored 0x%04X, computed 0x%04X", e.Stored, e.Computed)
}

// Is makes errors.Is(err, ErrChecksum) true.
func (e *ChecksumError) Is(target error) bool { return target == ErrChecksum }
