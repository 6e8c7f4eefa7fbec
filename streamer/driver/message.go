package driver

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// TimestampFormat is SeaStreamer's display format of a timestamp (in UTC,
// millisecond precision), as printed by ss-decode and the stdio backend:
// 2023-06-05T13:55:53.001.
const TimestampFormat = "2006-01-02T15:04:05.000"

// Header is the metadata of a message.
//
// When given to Producer.Send, StreamKey and Shard say where the message goes;
// Seq and Timestamp are zero to let the backend assign them (unless
// ProducerOptions.Verbatim is set). In a received Message or a receipt, all
// four are set by the backend.
type Header struct {
	StreamKey StreamKey
	Shard     ShardID
	Seq       SeqNo
	// Timestamp is when the message was produced, as stored by the backend.
	// Backends store milliseconds (the file format, Kafka, Redis), so a
	// received Timestamp has millisecond precision and is in UTC.
	Timestamp time.Time
}

// StreamShard returns the (stream, shard) of h.
func (h Header) StreamShard() StreamShard { return StreamShard{Stream: h.StreamKey, Shard: h.Shard} }

// ID returns the triple that identifies the message.
func (h Header) ID() MessageID { return MessageID{Stream: h.StreamKey, Shard: h.Shard, Seq: h.Seq} }

// String formats h as SeaStreamer does:
// [2023-06-05T13:55:53.001 | hello | 1 | 0] (timestamp, key, seq, shard).
func (h Header) String() string {
	var b strings.Builder
	b.Grow(48 + len(h.StreamKey))
	b.WriteByte('[')
	b.WriteString(h.Timestamp.UTC().Format(TimestampFormat))
	b.WriteString(" | ")
	b.WriteString(string(h.StreamKey))
	b.WriteString(" | ")
	b.WriteString(strconv.FormatUint(uint64(h.Seq), 10))
	b.WriteString(" | ")
	b.WriteString(strconv.FormatUint(uint64(h.Shard), 10))
	b.WriteByte(']')
	return b.String()
}

// MessageID identifies a message: (stream, shard, sequence number). It is
// comparable and can be a map key.
type MessageID struct {
	Stream StreamKey
	Shard  ShardID
	Seq    SeqNo
}

// Message is a received message: its header, its payload and, from the
// backends that have them, the record's key and attributes.
//
// The payload is read-only: consumers of the same message may share it. It
// never changes after Next returns it (no backend reuses its buffer, and the
// file backend copies out of its memory mapping), and it stays valid for as
// long as it is referenced, after the Consumer is closed too. Use Bytes or
// Clone for a copy to modify.
//
// Key and Attrs are the extras of a message that SeaStreamer's format does
// not carry: Kafka fills Key with the record's key (nil for a null key) and
// Attrs with its headers; Redis fills Attrs with the entry's fields other
// than the payload's; a file:// consumer with the archive envelope
// (filedriver.WithEnvelope) gives back the extras stored with the message.
// Other backends leave both nil. They are read-only like the payload.
type Message struct {
	Header
	Payload []byte
	Key     []byte
	Attrs   []Attr
}

// Attr is one attribute of a message: a Kafka record header, or a Redis
// entry field besides the payload's. A message's attributes are ordered and
// a name may repeat, as Kafka headers may. A nil Value is a null one (Kafka
// headers may have null values); Redis never gives one.
type Attr struct {
	Name  string
	Value []byte
}

// HasExtras reports whether m has a key or attributes.
func (m Message) HasExtras() bool { return m.Key != nil || len(m.Attrs) > 0 }

// Size returns the payload's length in bytes.
func (m Message) Size() int { return len(m.Payload) }

// String returns the payload as a string (a copy), without checking that it
// is UTF-8; use Text for a checked conversion.
func (m Message) String() string { return string(m.Payload) }

// Text returns the payload as a string, or an error wrapping ErrInvalidUTF8
// if it is not valid UTF-8.
func (m Message) Text() (string, error) {
	if !utf8.Valid(m.Payload) {
		return "", ErrInvalidUTF8
	}
	return string(m.Payload), nil
}

// Bytes returns a copy of the payload that the caller owns. It returns an
// empty, non-nil slice for an empty payload.
func (m Message) Bytes() []byte {
	b := make([]byte, len(m.Payload))
	copy(b, m.Payload)
	return b
}

// DecodeJSON unmarshals the payload, as JSON, into v.
func (m Message) DecodeJSON(v any) error { return json.Unmarshal(m.Payload, v) }

// Clone returns a copy of m whose payload, key and attributes are owned by
// the caller.
func (m Message) Clone() Message {
	m.Payload = m.Bytes()
	if m.Key != nil {
		m.Key = append(make([]byte, 0, len(m.Key)), m.Key...)
	}
	m.Attrs = CloneAttrs(m.Attrs)
	return m
}

// CloneAttrs returns a deep copy of attrs (nil for none), keeping nil values
// nil.
func CloneAttrs(attrs []Attr) []Attr {
	if len(attrs) == 0 {
		return nil
	}
	out := make([]Attr, len(attrs))
	for i, a := range attrs {
		out[i].Name = a.Name
		if a.Value != nil {
			out[i].Value = append(make([]byte, 0, len(a.Value)), a.Value...)
		}
	}
	return out
}
