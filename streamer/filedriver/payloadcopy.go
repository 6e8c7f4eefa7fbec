package filedriver

import "bytes"

// payloadCopier copies payloads out of the file's memory mapping, so that a
// message never changes after Next returns it, whatever later happens to
// the file (ssfile hands out slices of its mapping, which show the file's
// bytes of the moment: another file's if it is recreated in place). Small
// payloads share chunks, so a copy is not an allocation per message; a
// chunk is freed when no message in it is referenced any more.
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
