// Package envelope is the archive envelope: a payload encoding that keeps a
// message's key and attributes (driver.Message.Key, Attrs) beside its value,
// so that a .ss file can hold what Kafka records (keys, headers) and Redis
// entries (fields besides the payload's) carry, and a replay can give it
// back. A file:// URI chooses it with ?envelope=v1 (filedriver.WithEnvelope);
// without it, payloads are plain SeaStreamer payloads.
//
// # Format, version 1
//
// An enveloped payload is, in order (uvarint is encoding/binary's unsigned
// varint):
//
//	magic    4 bytes "SSe\x01": "SSe" and the version, 1
//	flags    1 byte: bit 0 set if there is a key; the other bits are 0
//	key      if bit 0: uvarint length, then the key's bytes
//	count    uvarint: the number of attributes
//	attrs    count times: uvarint name length, the name's bytes, then
//	         uvarint value length + 1 (0 for a null value), the value's bytes
//	value    the rest: the message's own payload, unchanged
//
// A key of length 0 (flag set) is an empty key, distinct from no key (Kafka's
// null key); likewise an attribute's empty value and a null one. Decoding is
// strict: a payload without the magic, of another version, with unknown
// flags or cut short is refused with an error that wraps ErrFormat (and
// ErrNotEnveloped for a missing magic, ErrVersion for another version).
// A later version gets another magic byte; version 1 will not change.
package envelope

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/seastream/ss/streamer/driver"
)

// Version is the version this package writes.
const Version = 1

// Magic starts every enveloped payload of version 1.
const Magic = "SSe\x01"

const flagKey = 1

// Errors of Decode.
var (
	// ErrFormat is wrapped by every error of Decode.
	ErrFormat = errors.New("envelope: payload is not a valid archive envelope")
	// ErrNotEnveloped is wrapped by Decode's error for a payload that does
	// not start with an envelope's magic: a plain payload.
	ErrNotEnveloped = fmt.Errorf("%w: no envelope magic (a plain payload: read it without ?envelope)", ErrFormat)
	// ErrVersion is wrapped by Decode's error for an envelope of a version
	// this package does not read.
	ErrVersion = fmt.Errorf("%w: unknown envelope version", ErrFormat)
)

// Size returns the length of the envelope of key, attrs and value.
func Size(key []byte, attrs []driver.Attr, value []byte) int {
	n := len(Magic) + 1
	if key != nil {
		n += uvarintLen(uint64(len(key))) + len(key)
	}
	n += uvarintLen(uint64(len(attrs)))
	for _, a := range attrs {
		n += uvarintLen(uint64(len(a.Name))) + len(a.Name)
		if a.Value == nil {
			n++
		} else {
			n += uvarintLen(uint64(len(a.Value))+1) + len(a.Value)
		}
	}
	return n + len(value)
}

// Append appends the envelope of key, attrs and value to dst and returns
// the extended slice.
func Append(dst, key []byte, attrs []driver.Attr, value []byte) []byte {
	dst = append(dst, Magic...)
	if key != nil {
		dst = append(dst, flagKey)
		dst = binary.AppendUvarint(dst, uint64(len(key)))
		dst = append(dst, key...)
	} else {
		dst = append(dst, 0)
	}
	dst = binary.AppendUvarint(dst, uint64(len(attrs)))
	for _, a := range attrs {
		dst = binary.AppendUvarint(dst, uint64(len(a.Name)))
		dst = append(dst, a.Name...)
		if a.Value == nil {
			dst = append(dst, 0)
			continue
		}
		dst = binary.AppendUvarint(dst, uint64(len(a.Value))+1)
		dst = append(dst, a.Value...)
	}
	return append(dst, value...)
}

// Encode returns the envelope of key, attrs and value in a new slice.
func Encode(key []byte, attrs []driver.Attr, value []byte) []byte {
	return Append(make([]byte, 0, Size(key, attrs, value)), key, attrs, value)
}

// Decode splits an enveloped payload into its key (nil for none), its
// attributes (nil for none) and its value. key, the values of attrs and value
// share b's memory; the names are strings of their own.
func Decode(b []byte) (key []byte, attrs []driver.Attr, value []byte, err error) {
	if len(b) < len(Magic) || string(b[:len(Magic)-1]) != Magic[:len(Magic)-1] {
		return nil, nil, nil, ErrNotEnveloped
	}
	if v := b[len(Magic)-1]; v != Version {
		return nil, nil, nil, fmt.Errorf("%w %d (this program reads version %d)", ErrVersion, v, Version)
	}
	r := reader{b: b, off: len(Magic)}
	flags, ok := r.byte()
	if !ok {
		return nil, nil, nil, r.short("flags")
	}
	if flags&^flagKey != 0 {
		return nil, nil, nil, fmt.Errorf("%w: unknown flags %#x", ErrFormat, flags)
	}
	if flags&flagKey != 0 {
		if key, ok = r.bytes(); !ok {
			return nil, nil, nil, r.short("key")
		}
		key = key[:len(key):len(key)]
	}
	n, ok := r.uvarint()
	if !ok {
		return nil, nil, nil, r.short("attribute count")
	}
	// Each attribute takes at least two bytes: a count beyond that is
	// damage, refused before it sizes an allocation.
	if n > uint64(len(b)-r.off)/2 {
		return nil, nil, nil, fmt.Errorf("%w: %d attributes in %d bytes", ErrFormat, n, len(b)-r.off)
	}
	if n > 0 {
		attrs = make([]driver.Attr, n)
	}
	for i := range attrs {
		name, ok := r.bytes()
		if !ok {
			return nil, nil, nil, r.short("attribute name")
		}
		attrs[i].Name = string(name)
		vl, ok := r.uvarint()
		if !ok {
			return nil, nil, nil, r.short("attribute value")
		}
		if vl == 0 {
			continue // a null value
		}
		vl--
		if vl > uint64(len(b)-r.off) {
			return nil, nil, nil, r.short("attribute value")
		}
		end := r.off + int(vl)
		attrs[i].Value = b[r.off:end:end]
		r.off = end
	}
	return key, attrs, b[r.off:], nil
}

type reader struct {
	b   []byte
	off int
}

func (r *reader) byte() (byte, bool) {
	if r.off >= len(r.b) {
		return 0, false
	}
	r.off++
	return r.b[r.off-1], true
}

func (r *reader) uvarint() (uint64, bool) {
	v, n := binary.Uvarint(r.b[r.off:])
	if n <= 0 {
		return 0, false
	}
	r.off += n
	return v, true
}

// bytes reads a uvarint length and that many bytes.
func (r *reader) bytes() ([]byte, bool) {
	n, ok := r.uvarint()
	if !ok || n > uint64(len(r.b)-r.off) {
		return nil, false
	}
	end := r.off + int(n)
	s := r.b[r.off:end]
	r.off = end
	return s, true
}

func (r *reader) short(what string) error {
	return fmt.Errorf("%w: cut short or damaged at byte %d (%s)", ErrFormat, r.off, what)
}

func uvarintLen(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}
