package beacon

import (
	"github.com/seastream/ss/format"
)

// Muxer lays out a .ss byte stream: it appends message frames and inserts a
// beacon wherever the output reaches a multiple of the beacon interval. It
// does not allocate per message once its buffers have grown. It is not safe
// for concurrent use.
type Muxer struct {
	layout   Layout
	markers  int
	offset   int64 // file offset of the next byte appended
	tracker  *Tracker
	scratch  []format.Marker
	beaconBu []byte
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
// was and no state changes.
func (m *Muxer) AppendMessage(dst []byte, h format.MessageHeader, payload []byte) ([]byte, uint16, error) {
	start := len(dst)
	dst, sum, err := format.AppendMessage(dst, h, payload)
	if err != nil {
		return dst[:start], 0, err
	}
	// SeaStreamer updates the stream state before writing, so the beacon
	// splicing this message already counts it.
	m.tracker.Update(h.StreamKey, h.ShardID, h.SeqNo, h.Timestamp, sum)
	pos := start
	left := int64(len(dst) - start)
	for {
		room := m.layout.Room(m.offset)
		if left < room {
			m.offset += left
			return dst, sum, nil
		}
		pos += int(room)
		m.offset += room
		left -= room
		tail := len(dst) - pos
		dst = m.appendBeacon(dst, uint32(left))
		// The beacon went to the end; rotate it to pos, before the tail.
		n := len(dst) - pos - tail
		if tail > 0 {
			m.beaconBu = append(m.beaconBu[:0], dst[len(dst)-n:]...)
			copy(dst[pos+n:], dst[pos:pos+tail])
			copy(dst[pos:], m.beaconBu)
		}
		pos += n
		if left == 0 {
			return dst, sum, nil
		}
	}
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
