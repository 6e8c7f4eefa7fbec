package ssfile

import (
	"time"

	"github.com/seastream/ss/format"
)

// Message is one message read from a file.
type Message struct {
	format.MessageHeader
	// Payload aliases the file mapping (or, for a message spliced by a
	// beacon, a buffer of its own). It may be used until the Reader is
	// closed and shows the file's bytes when used (see the package doc).
	Payload []byte
	// Checksum is the payload's CRC16, verified.
	Checksum uint16
	// Offset is where the message frame starts in the file.
	Offset int64
}

// Time returns the message timestamp.
func (m *Message) Time() time.Time { return time.UnixMilli(int64(m.Timestamp)).UTC() }

// IsEndOfStream reports whether m is the end-of-stream message a writer may
// put at the end of a file.
func (m *Message) IsEndOfStream() bool {
	return m.StreamKey == format.InternalStreamKey && string(m.Payload) == format.EndOfStream
}
