package format

import (
	"encoding/binary"
	"math"
	"unicode/utf8"
)

// Sizes and limits of format version 1.
const (
	Version    = 1
	HeaderSize = 128

	// MaxFileNameLen is the longest file name a header holds: 128 bytes less the
	// magic, version, name length, created_at, beacon interval and the final 0x0D.
	MaxFileNameLen = HeaderSize - 3 - 1 - 8 - 4 - 1

	// MinBeaconInterval is the smallest beacon interval: a beacon never falls
	// inside the file header.
	MinBeaconInterval = HeaderSize

	// MaxStreamKeyLen is the longest stream key SeaStreamer accepts.
	MaxStreamKeyLen = 249

	// MaxMarkers is the most markers one beacon carries.
	MaxMarkers = 255

	// MaxMarkerSize is the size of a marker with the longest key the u8
	// length field allows: SeaStreamer sizes beacons with it.
	MaxMarkerSize = 1 + 255 + 8 + 8 + 8 + 2

	// MaxTimestamp is the last millisecond of year 9999 UTC, the largest
	// timestamp SeaStreamer can represent.
	MaxTimestamp = 253402300799999

	// MaxPayloadSize is the largest payload the 32-bit size field holds.
	MaxPayloadSize = math.MaxUint32

	// Terminator ends messages, beacons and the header (and starts beacons).
	Terminator = 0x0D

	// messageOverhead is a frame's size less its key and payload.
	messageOverhead = 1 + 8 + 8 + 8 + 4 + 2 + 1
	// beaconOverhead is a beacon's size less its markers.
	beaconOverhead = 1 + 4 + 1 + 1
)

// Reserved stream key and payload of the end-of-stream message.
const (
	InternalStreamKey = "SEA_STREAMER_INTERNAL"
	EndOfStream       = "EOS"
)

var be = binary.BigEndian

// Header is the file header.
type Header struct {
	// FileName is informational; SeaStreamer writes the file's base name.
	FileName string
	// CreatedAt is in milliseconds since the Unix epoch.
	CreatedAt uint64
	// BeaconInterval is the distance in bytes between beacons, from the start
	// of the file. At least MinBeaconInterval.
	BeaconInterval uint32
}

// Validate reports whether h can be encoded.
func (h Header) Validate() error {
	if len(h.FileName) > MaxFileNameLen {
		return ErrFileNameTooLong
	}
	if !utf8.ValidString(h.FileName) {
		return ErrInvalidUTF8
	}
	if h.CreatedAt > MaxTimestamp {
		return ErrTimestampRange
	}
	if h.BeaconInterval < MinBeaconInterval {
		return ErrBeaconInterval
	}
	return nil
}

// AppendHeader appends the 128-byte encoding of h to dst.
func AppendHeader(dst []byte, h Header) ([]byte, error) {
	if err := h.Validate(); err != nil {
		return dst, err
	}
	start := len(dst)
	dst = append(dst, 0x53, 0x73, Version, byte(len(h.FileName)))
	dst = append(dst, h.FileName...)
	dst = be.AppendUint64(dst, h.CreatedAt)
	dst = be.AppendUint32(dst, h.BeaconInterval)
	for len(dst)-start < HeaderSize-1 {
		dst = append(dst, 0)
	}
	return append(dst, Terminator), nil
}

// DecodeHeader decodes a file header from the first HeaderSize bytes of b.
func DecodeHeader(b []byte) (Header, error) {
	if len(b) >= 1 && b[0] != 0x53 || len(b) >= 2 && b[1] != 0x73 {
		return Header{}, ErrMagic
	}
	if len(b) >= 3 && b[2] != Version {
		return Header{}, &VersionError{Version: b[2]}
	}
	if len(b) < HeaderSize {
		return Header{}, ErrShortInput
	}
	b = b[:HeaderSize]
	n := int(b[3])
	if n > MaxFileNameLen {
		return Header{}, ErrFileNameTooLong
	}
	name := b[4 : 4+n]
	if !utf8.Valid(name) {
		return Header{}, ErrInvalidUTF8
	}
	rest := b[4+n:]
	h := Header{
		FileName:       string(name),
		CreatedAt:      be.Uint64(rest),
		BeaconInterval: be.Uint32(rest[8:]),
	}
	for _, c := range rest[12 : len(rest)-1] {
		if c != 0 {
			return Header{}, ErrHeaderPadding
		}
	}
	if rest[len(rest)-1] != Terminator {
		return Header{}, ErrHeaderPadding
	}
	if h.CreatedAt > MaxTimestamp {
		return Header{}, ErrTimestampRange
	}
	if h.BeaconInterval < MinBeaconInterval {
		return Header{}, ErrBeaconInterval
	}
	return h, nil
}

// MessageHeader identifies a message: stream key, shard, sequence number and
// timestamp in milliseconds since the Unix epoch. Beacon markers carry one too.
type MessageHeader struct {
	StreamKey string
	ShardID   uint64
	SeqNo     uint64
	Timestamp uint64
}

// Size returns the encoded size of h.
func (h MessageHeader) Size() int { return 1 + len(h.StreamKey) + 24 }

func (h MessageHeader) validate() error {
	if !ValidStreamKey(h.StreamKey) {
		return ErrInvalidStreamKey
	}
	if h.Timestamp > MaxTimestamp {
		return ErrTimestampRange
	}
	return nil
}

func appendMessageHeader(dst []byte, h MessageHeader) []byte {
	dst = append(dst, byte(len(h.StreamKey)))
	dst = append(dst, h.StreamKey...)
	dst = be.AppendUint64(dst, h.ShardID)
	dst = be.AppendUint64(dst, h.SeqNo)
	return be.AppendUint64(dst, h.Timestamp)
}

// keyChar marks the bytes allowed in a stream key.
var keyChar = func() (t [256]bool) {
	for c := 0; c < 256; c++ {
		t[c] = 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			c == '.' || c == '_' || c == '-'
	}
	return t
}()

// ValidStreamKey reports whether key is a stream key SeaStreamer accepts in a
// file: at most MaxStreamKeyLen bytes of [A-Za-z0-9._-].
func ValidStreamKey[K string | []byte](key K) bool {
	if len(key) > MaxStreamKeyLen {
		return false
	}
	for i := 0; i < len(key); i++ {
		if !keyChar[key[i]] {
			return false
		}
	}
	return true
}

// MessageSize returns the size of a message frame with the given key and
// payload lengths.
func MessageSize(keyLen, payloadLen int) int { return messageOverhead + keyLen + payloadLen }

// AppendMessage appends the frame of one message to dst and returns it with
// the payload checksum. It does not allocate when dst has room.
func AppendMessage(dst []byte, h MessageHeader, payload []byte) ([]byte, uint16, error) {
	dst, err := AppendMessageHead(dst, h, len(payload))
	if err != nil {
		return dst, 0, err
	}
	sum := Checksum(payload)
	dst = append(dst, payload...)
	return AppendMessageTail(dst, sum), sum, nil
}

// AppendMessageHead appends what precedes the payload in a message frame: the
// header and the payload length. The frame goes on with the payload and
// AppendMessageTail; this is for callers that place the payload themselves,
// in pieces. It fails as AppendMessage does.
func AppendMessageHead(dst []byte, h MessageHeader, payloadLen int) ([]byte, error) {
	if err := h.validate(); err != nil {
		return dst, err
	}
	if payloadLen < 0 || uint64(payloadLen) > MaxPayloadSize {
		return dst, ErrPayloadTooLarge
	}
	dst = appendMessageHeader(dst, h)
	return be.AppendUint32(dst, uint32(payloadLen)), nil
}

// AppendMessageTail appends what follows the payload in a message frame: the
// payload checksum sum (Checksum of the payload) and the terminator.
func AppendMessageTail(dst []byte, sum uint16) []byte {
	dst = be.AppendUint16(dst, sum)
	return append(dst, Terminator)
}

// RawMessage is a decoded message frame. StreamKey and Payload alias the
// decoded bytes.
type RawMessage struct {
	StreamKey []byte
	ShardID   uint64
	SeqNo     uint64
	Timestamp uint64
	Payload   []byte
	Checksum  uint16
}

// Header returns the message header with the key copied into a string.
func (m *RawMessage) Header() MessageHeader {
	return MessageHeader{string(m.StreamKey), m.ShardID, m.SeqNo, m.Timestamp}
}

// DecodeMessage decodes the message frame at the start of b and returns it with
// the frame's size. It checks the structure and the payload checksum: a
// checksum mismatch returns the decoded message with a *ChecksumError, so that
// a caller can report where it was. It does not allocate, except for the error.
func DecodeMessage(b []byte) (RawMessage, int, error) {
	m, n, err := DecodeMessageUnverified(b)
	if err != nil {
		return m, n, err
	}
	return m, n, m.Verify()
}

// Verify checks m's payload against its checksum: a mismatch is a
// *ChecksumError. It does not allocate, except for the error.
func (m *RawMessage) Verify() error {
	if sum := Checksum(m.Payload); sum != m.Checksum {
		return &ChecksumError{Stored: m.Checksum, Computed: sum}
	}
	return nil
}

// DecodeMessageUnverified is DecodeMessage without the payload checksum: for
// skipping over frames, never for handing a payload out.
func DecodeMessageUnverified(b []byte) (RawMessage, int, error) {
	var m RawMessage
	n, err := DecodeMessageHeader(b, &m)
	if err != nil {
		return m, 0, err
	}
	if n, err = DecodeMessageRest(b, n, &m); err != nil {
		return m, 0, err
	}
	return m, n, nil
}

// DecodeMessageRest decodes what follows the header of the message frame at
// the start of b: the payload, its checksum and the terminator, into m, whose
// header DecodeMessageHeader decoded from b (or from a copy of b's first
// bytes) and returned n for. It returns the frame's size, and does not verify
// the checksum (Verify does). Split from DecodeMessageUnverified so that a
// reader that needs the header first (to find the frame's end, or to pass
// over the message) decodes it once.
func DecodeMessageRest(b []byte, n int, m *RawMessage) (int, error) {
	if n < 0 || len(b)-n < 4 {
		return 0, ErrShortInput
	}
	size := int(be.Uint32(b[n:]))
	n += 4
	if len(b)-n < size+3 {
		return 0, ErrShortInput
	}
	m.Payload = b[n : n+size : n+size]
	n += size
	m.Checksum = be.Uint16(b[n:])
	if b[n+2] != Terminator {
		return 0, ErrTerminator
	}
	return n + 3, nil
}

// DecodeMessageHeader decodes the header of the frame at the start of b and
// the payload size field after it into m (all but Payload and Checksum). It
// returns the number of bytes up to the payload size field, so the payload
// size is be.Uint32(b[n:]); it reports ErrShortInput unless those 4 bytes are
// there too.
func DecodeMessageHeader(b []byte, m *RawMessage) (int, error) {
	return decodeHeader(b, m, 4)
}

// decodeHeader decodes a message header followed by at least trailer bytes.
func decodeHeader(b []byte, m *RawMessage, trailer int) (int, error) {
	if len(b) < 1 {
		return 0, ErrShortInput
	}
	k := int(b[0])
	if k > MaxStreamKeyLen {
		return 0, ErrInvalidStreamKey
	}
	if len(b) < 1+k {
		if !ValidStreamKey(b[1:]) {
			return 0, ErrInvalidStreamKey
		}
		return 0, ErrShortInput
	}
	m.StreamKey = b[1 : 1+k : 1+k]
	if !ValidStreamKey(m.StreamKey) {
		return 0, ErrInvalidStreamKey
	}
	n := 1 + k
	if len(b) < n+24+trailer {
		return 0, ErrShortInput
	}
	m.ShardID = be.Uint64(b[n:])
	m.SeqNo = be.Uint64(b[n+8:])
	m.Timestamp = be.Uint64(b[n+16:])
	if m.Timestamp > MaxTimestamp {
		return 0, ErrTimestampRange
	}
	return n + 24, nil
}

// Marker is a beacon item: the latest header of one (stream key, shard) and its
// running checksum.
type Marker struct {
	MessageHeader
	RunningChecksum RunningChecksum
}

// Beacon summarises the streams at a beacon position.
type Beacon struct {
	// Remaining is how many bytes of the message spliced by this beacon
	// follow it; 0 when the beacon falls between messages.
	Remaining uint32
	Markers   []Marker
}

// Size returns the encoded size of b.
func (b *Beacon) Size() int {
	n := beaconOverhead
	for i := range b.Markers {
		n += b.Markers[i].Size() + 2
	}
	return n
}

// AppendBeacon appends the encoding of b to dst.
func AppendBeacon(dst []byte, b *Beacon) ([]byte, error) {
	if len(b.Markers) > MaxMarkers {
		return dst, ErrTooManyMarkers
	}
	for i := range b.Markers {
		if err := b.Markers[i].validate(); err != nil {
			return dst, err
		}
	}
	dst = append(dst, Terminator)
	dst = be.AppendUint32(dst, b.Remaining)
	dst = append(dst, byte(len(b.Markers)))
	for i := range b.Markers {
		dst = appendMessageHeader(dst, b.Markers[i].MessageHeader)
		dst = be.AppendUint16(dst, uint16(b.Markers[i].RunningChecksum))
	}
	return append(dst, Terminator), nil
}

// DecodeBeacon decodes the beacon at the start of b and returns it with its size.
func DecodeBeacon(b []byte) (Beacon, int, error) {
	info, err := ScanBeacon(b)
	if err != nil {
		return Beacon{}, 0, err
	}
	bc := Beacon{Remaining: info.Remaining, Markers: make([]Marker, info.Markers)}
	n := beaconOverhead - 1
	for i := range bc.Markers {
		var m RawMessage
		k, _ := decodeHeader(b[n:], &m, 2) // validated by ScanBeacon
		bc.Markers[i] = Marker{
			MessageHeader:   m.Header(),
			RunningChecksum: RunningChecksum(be.Uint16(b[n+k:])),
		}
		n += k + 2
	}
	return bc, info.Size, nil
}

// BeaconInfo is what ScanBeacon learns of a beacon without decoding its markers.
type BeaconInfo struct {
	Size      int
	Remaining uint32
	Markers   int
}

// ScanBeacon checks the structure of the beacon at the start of b and returns
// its size, without allocating.
func ScanBeacon(b []byte) (BeaconInfo, error) {
	if len(b) < 1 {
		return BeaconInfo{}, ErrShortInput
	}
	if b[0] != Terminator {
		return BeaconInfo{}, ErrTerminator
	}
	if len(b) < beaconOverhead-1 {
		return BeaconInfo{}, ErrShortInput
	}
	info := BeaconInfo{Remaining: be.Uint32(b[1:]), Markers: int(b[5])}
	n := beaconOverhead - 1
	for i := 0; i < info.Markers; i++ {
		var m RawMessage
		k, err := decodeHeader(b[n:], &m, 2)
		if err != nil {
			return BeaconInfo{}, err
		}
		n += k + 2
	}
	if len(b) < n+1 {
		return BeaconInfo{}, ErrShortInput
	}
	if b[n] != Terminator {
		return BeaconInfo{}, ErrTerminator
	}
	info.Size = n + 1
	return info, nil
}

// MaxMarkersIn returns how many markers of the largest size fit in space bytes
// of beacon, as SeaStreamer computes it.
func MaxMarkersIn(space int) int {
	if space < beaconOverhead {
		return 0
	}
	return min(MaxMarkers, (space-beaconOverhead)/MaxMarkerSize)
}

// MarkersPerBeacon returns how many markers SeaStreamer's writer puts in each
// beacon for a beacon interval: half of what could fit.
func MarkersPerBeacon(interval uint32) int { return MaxMarkersIn(int(interval)) / 2 }
