package ssfile

import "bytes"

// payloadCopier copies payloads out of the file's memory mapping for
// WithOwnPayloads. Small payloads share chunks, so a copy is not an
// allocation per message; a chunk is freed when no message in it is
// referenced any more.
type payloadCopier struct{ chunk []byte }

const (
	payloadChunk = 64 << 10
	// Larger payloads get a buffer of their own, so that a chunk is never
	// mostly waste.
	payloadShared = payloadChunk / 8
)

func (p *payloadCopier) copy(b []byte) []byte {
	if len(b) > payloadShared {
		return bytes.Clone(b)
	}
	if len(b) > cap(p.chunk)-len(p.chunk) {
		p.chunk = make([]byte, 0, payloadChunk)
	}
	n := len(p.chunk)
	p.chunk = append(p.chunk, b...)
	// Capacity cut at the end: appending to one payload cannot overwrite
	// the next.
	return p.chunk[n:len(p.chunk):len(p.chunk)]
}

// WithOwnPayloads makes Next return payloads copied out of the mapping into
// memory the Reader never reuses: they never change, whatever later happens
// to the file, and stay valid after Close. The copy is made before the
// Reader checks that the file is still the one it opened, so a copy is never
// of another file's bytes. Without it, payloads alias the mapping (see the
// package doc).
func WithOwnPayloads() ReaderOption {
	return readerOption(func(c *readerConfig) error { c.ownPayloads = true; return nil })
}
