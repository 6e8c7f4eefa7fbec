package redis

import "unsafe"

// ownBytes returns the bytes of a value go-redis read from a reply, without
// a copy. go-redis makes each bulk string of a reply from a buffer of its
// own, allocated for it alone (proto.Reader.readStringReply, as
// unsafe.String over a fresh []byte), and the entry's map is dropped once
// its message is made: nothing else refers to these bytes, so a message may
// own them, and writing to them changes nothing else. This spares a copy of
// every payload (and an arena per page) in the consumer's hot path.
func ownBytes(s string) []byte {
	if s == "" {
		return []byte{} // empty, not nil, as a copy would be
	}
	return unsafe.Slice(unsafe.StringData(s), len(s))
}
