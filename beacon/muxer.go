package beacon

import (
	"github.com/seastream/ss/format"
)

// Muxer lays out a .ss byte stream: it appends message frames and inserts a
// beacon wherever the output reaches a multiple of the beacon interval. It
// does not allocate per message once its buffers have grown. It is not safe
// for concurrent use.
type Muxer struct {
	layout  Layout
	markers int
	offset  int64 // file offset of the next byte appended
	tracker *Tracker
	scratch []format.Marker
	head    []byte // the frame head of the message being laid out
}

// NewMuxer returns a Muxer for a file with the given beacon interval whose
// next byte is at offset, with the streams' state so far.
func NewMuxer(interval uint32, offset int64, tracker *Tracker) *Muxer {
	if tracker == nil {
		tracker = new(Tracker)
	}
	return &Muxer{
		layout:  Layout{Interval: int64(interval)},
		markers: format.MarkersPerBeacon(interval),
		offset:  offset,
		tracker: tracker,
	}
}

// Offset returns the file offset of the next byte.
func (m *Muxer) Offset() int64 { return m.offset }

// Tracker returns the stream state the muxer maintains.
func (m *Muxer) Tracker() *Tracker { return m.tracker }

// AppendHeader appends a file header, and the empty beacon SeaStreamer writes
// right after it when the interval is exactly the header size. The muxer must
// be at offset 0.
func (m *Muxer) AppendHeader(dst []byte, h format.Header) ([]byte, error) {
	dst, err := format.AppendHeader(dst, h)
	if err != nil {
		return dst, err
	}
	m.offset += format.HeaderSize
	if m.layout.IsBoundary(m.offset) {
		dst = m.appendEmptyBeacon(dst)
	}
	return dst, nil
}

// AppendPendingBeacon appends the beacon that belongs at the current offset
// when it is a boundary: a file cut right after a message that ended on a
// boundary lacks it. The beacon is the one the original writer would have
// written. It does nothing elsewhere.
func (m *Muxer) AppendPendingBeacon(dst []byte) []byte {
	if !m.layout.IsBoundary(m.offset) {
		return dst
	}
	if m.offset == format.HeaderSize {
		return m.appendEmptyBeacon(dst)
	}
	return m.appendBeacon(dst, 0)
}

func (m *Muxer) appendEmptyBeacon(dst []byte) []byte {
	n := len(dst)
	dst, _ = format.AppendBeacon(dst, &format.Beacon{})
	m.offset += int64(len(dst) - n)
	return dst
}

// AppendMessage appends one message frame, spliced around any beacons it
// crosses, and returns the payload checksum. On error dst is returned as it
// was and no state changes. It copies each byte of the frame once, so its
// time is linear in the frame's size.
func (m *Muxer) AppendMessage(dst []byte, h format.MessageHeader, payload []byte) ([]byte, uint16, error) {
	return m.appendMessage(dst, 0, h, payload, nil)
}

// AppendMessageChunked lays out a message as AppendMessage does, for a
// payload too large to buffer whole: whenever dst holds limit bytes or more,
// it passes dst to flush and goes on appending to the slice flush returns
// (typically dst[:0] or another empty buffer). flush may be called in the
// middle of the frame; the bytes it receives, followed by the returned dst,
// are exactly what AppendMessage would append. When validation fails nothing
// changes, as with AppendMessage. When flush fails, its error is returned,
// and the Muxer stands in the middle of the frame: it must not be used again.
func (m *Muxer) AppendMessageChunked(dst []byte, limit int, h format.MessageHeader, payload []byte,
	flush func([]byte) ([]byte, error)) ([]byte, uint16, error) {
	return m.appendMessage(dst, max(limit, 1), h, payload, flush)
}

func (m *Muxer) appendMessage(dst []byte, limit int, h format.MessageHeader, payload []byte,
	flush func([]byte) ([]byte, error)) ([]byte, uint16, error) {
	if limit == 0 && int64(format.MessageSize(len(h.StreamKey), len(payload))) < m.layout.Room(m.offset) {
		// The common case, a frame that reaches no boundary: in one piece.
		n := len(dst)
		dst, sum, err := format.AppendMessage(dst, h, payload)
		if err != nil {
			return dst, 0, err
		}
		m.tracker.Update(h.StreamKey, h.ShardID, h.SeqNo, h.Timestamp, sum)
		m.offset += int64(len(dst) - n)
		return dst, sum, nil
	}
	head, err := format.AppendMessageHead(m.head[:0], h, len(payload))
	if err != nil {
		return dst, 0, err
	}
	m.head = head
	sum := format.Checksum(payload)
	var tail [3]byte
	// SeaStreamer updates the stream state before writing, so the beacon
	// splicing this message already counts it.
	m.tracker.Update(h.StreamKey, h.ShardID, h.SeqNo, h.Timestamp, sum)
	// The frame is head, payload, tail; each piece is copied once, cut
	// where a beacon falls (and, chunked, where dst is full).
	left := int64(len(head) + len(payload) + len(tail)) // frame bytes not yet appended
	room := m.layout.Room(m.offset)
	for _, p := range [...][]byte{head, payload, format.AppendMessageTail(tail[:0], sum)} {
		for len(p) > 0 {
			n := min(int64(len(p)), room)
			if limit > 0 {
				n = min(n, int64(max(limit-len(dst), 1)))
			}
			dst = append(dst, p[:n]...)
			p = p[n:]
			m.offset += n
			left -= n
			if room -= n; room == 0 {
				// A frame ending on a boundary gets its beacon now, with
				// Remaining 0, as SeaStreamer writes it.
				dst = m.appendBeacon(dst, uint32(left))
				room = m.layout.Room(m.offset)
			}
			if limit > 0 && len(dst) >= limit && left > 0 {
				if dst, err = flush(dst); err != nil {
					return dst, sum, err
				}
			}
		}
	}
	return dst, sum, nil
}

// appendBeacon appends a beacon with the next markers and advances the offset.
func (m *Muxer) appendBeacon(dst []byte, remaining uint32) []byte {
	m.scratch = m.tracker.NextMarkers(m.scratch[:0], m.markers)
	b := format.Beacon{Remaining: remaining, Markers: m.scratch}
	n := len(dst)
	dst, _ = format.AppendBeacon(dst, &b) // markers come from validated messages
	m.offset += int64(len(dst) - n)
	return dst
}

// Clone returns an independent copy of m, to try a layout without changing m.
func (m *Muxer) Clone() *Muxer {
	return &Muxer{layout: m.layout, markers: m.markers, offset: m.offset, tracker: m.tracker.Clone()}
}
