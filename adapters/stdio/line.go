package stdio

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/seastream/ss/streamer/driver"
)

// This file is the line codec: SeaStreamer's stdio format, pure functions on
// strings and byte slices.
//
// A line is an optional meta in literal square brackets, then the payload:
//
//	[timestamp | stream_key | seq | shard] payload
//
// Every part of the meta is optional, but they come in this order, and seq
// and shard need a stream key before them. The parser follows SeaStreamer's
// (sea-streamer-stdio, parser.rs) exactly:
//
//   - A line that does not start with "[", has nothing before the first "]"
//     or has no "]" at all has no meta: all of it is the payload.
//   - The meta is split at "|" and each part trimmed of white space. A part is
//     a timestamp only if it comes first; else it is the stream key if there
//     is none yet and it is 1 to 249 characters of [A-Za-z0-9._-]; else, after
//     the key, an unsigned integer is the seq, then the shard. Anything else
//     (an empty part included) makes the line invalid.
//   - After the meta, the payload is trimmed of white space on both sides.
//
// Timestamps are YYYY-MM-DDTHH:MM:SS with an optional fraction of 1 to 9
// digits, in UTC. The producer writes the seconds-only form, as SeaStreamer
// does, or milliseconds when asked (Format.Millis).
//
// Differences from SeaStreamer: a reserved stream key (SEA_STREAMER_INTERNAL,
// SEA_STREAMER_WILDCARD) in a line is an error here; over-long keys get their
// own error instead of a generic one. SeaStreamer's documentation lists
// "[2022-01-01T00:00:00] 12345" as invalid, but its parser accepts it (a
// timestamp, then the payload "12345"), and so does this one.

// Broadcast is the stream key of lines without one. Such lines are delivered
// to every consumer, whatever streams it subscribed to (one member per
// consumer group).
const Broadcast driver.StreamKey = "broadcast"

// Meta is the parsed meta of a line. Fields absent from the line are zero,
// with their Has flag false.
type Meta struct {
	Timestamp    time.Time        // UTC
	HasTimestamp bool             //
	StreamKey    driver.StreamKey // "" when absent
	Seq          driver.SeqNo     //
	HasSeq       bool             //
	Shard        driver.ShardID   //
	HasShard     bool             //
}

// Empty reports whether m has no field at all.
func (m Meta) Empty() bool {
	return !m.HasTimestamp && m.StreamKey == "" && !m.HasSeq && !m.HasShard
}

// ParseLine splits line (without its line terminator) into its meta and its
// payload. A line without meta is all payload, with a zero Meta. A bracketed
// meta that cannot be parsed gives a *MetaError. The payload is a substring
// of line.
func ParseLine(line string) (Meta, string, error) {
	if len(line) < 3 || line[0] != '[' {
		return Meta{}, line, nil
	}
	end := strings.IndexByte(line, ']')
	if end <= 1 {
		// No "]", or "[]": SeaStreamer treats the whole line as payload.
		return Meta{}, line, nil
	}
	raw := line[1:end]
	m, err := parseMeta(raw)
	if err != nil {
		return Meta{}, "", err
	}
	return m, strings.TrimSpace(line[end+1:]), nil
}

func parseMeta(raw string) (Meta, error) {
	var m Meta
	rest := raw
	for {
		part, tail, more := strings.Cut(rest, "|")
		part = strings.TrimSpace(part)
		if err := m.addPart(raw, part); err != nil {
			return Meta{}, err
		}
		if !more {
			break
		}
		rest = tail
	}
	return m, nil
}

// addPart applies SeaStreamer's rules for one part of the meta.
func (m *Meta) addPart(raw, part string) error {
	if m.Empty() {
		if t, err := driver.ParseTimestamp(part); err == nil {
			m.Timestamp, m.HasTimestamp = t, true
			return nil
		}
	}
	if m.StreamKey == "" && isKeyText(part) {
		if len(part) > driver.MaxStreamKeyLen {
			return &MetaError{Meta: raw, Part: part,
				Reason: fmt.Sprintf("stream key %q is %d bytes long, the maximum is %d", clip(part, 40), len(part), driver.MaxStreamKeyLen),
				Err:    &driver.StreamKeyError{Key: part, Err: driver.ErrInvalidStreamKey}}
		}
		k := driver.StreamKey(part)
		if k.IsReserved() {
			return &MetaError{Meta: raw, Part: part,
				Reason: fmt.Sprintf("stream key %q is reserved", part),
				Err:    &driver.StreamKeyError{Key: part, Err: driver.ErrReservedStreamKey}}
		}
		m.StreamKey = k
		return nil
	}
	if m.StreamKey != "" && !m.HasShard {
		if n, ok := parseUint(part); ok {
			if !m.HasSeq {
				m.Seq, m.HasSeq = driver.SeqNo(n), true
			} else {
				m.Shard, m.HasShard = driver.ShardID(n), true
			}
			return nil
		}
	}
	return &MetaError{Meta: raw, Part: part, Reason: partReason(m, part), Err: ErrBadMeta}
}

// partReason says why part was rejected, given what was parsed before it.
func partReason(m *Meta, part string) string {
	q := strconv.Quote(clip(part, 60))
	switch {
	case part == "":
		return "empty part"
	case m.HasShard:
		return "unexpected part " + q + " after the shard"
	case m.StreamKey == "" && m.Empty():
		return q + " is neither a timestamp (YYYY-MM-DDTHH:MM:SS[.fff]) nor a stream key ([A-Za-z0-9._-])"
	case m.StreamKey == "":
		return q + " is not a stream key ([A-Za-z0-9._-], 1 to 249 characters)"
	case !m.HasSeq:
		return q + " is not a sequence number (an unsigned 64-bit integer)"
	default:
		return q + " is not a shard id (an unsigned 64-bit integer)"
	}
}

// isKeyText reports whether s is non-empty and made of stream key characters
// only (its length is checked by the caller).
func isKeyText(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !driver.IsStreamKeyByte(s[i]) {
			return false
		}
	}
	return true
}

// parseUint parses a decimal u64 the way Rust's str::parse does: an optional
// "+" then at least one digit, no overflow.
func parseUint(s string) (uint64, bool) {
	s = strings.TrimPrefix(s, "+")
	if s == "" || s[0] < '0' || s[0] > '9' {
		return 0, false
	}
	n, err := strconv.ParseUint(s, 10, 64)
	return n, err == nil
}

// Format is how the producer writes lines. The zero value writes exactly
// what SeaStreamer's stdio producer writes.
type Format struct {
	// Millis writes timestamps with milliseconds
	// (2022-01-01T00:00:00.123) instead of whole seconds. SeaStreamer reads
	// both forms.
	Millis bool
}

// Precision is the precision of the timestamps f writes: time.Second, or
// time.Millisecond with Millis.
func (f Format) Precision() time.Duration {
	if f.Millis {
		return time.Millisecond
	}
	return time.Second
}

// AppendTimestamp appends t, in UTC, as YYYY-MM-DDTHH:MM:SS, plus .fff if
// f.Millis. The year must be within 0 to 9999 (see CheckTimestamp).
func (f Format) AppendTimestamp(dst []byte, t time.Time) []byte {
	t = t.UTC()
	year, month, day := t.Date()
	hour, minute, sec := t.Clock()
	dst = appendPadded(dst, year, 4)
	dst = append(dst, '-')
	dst = appendPadded(dst, int(month), 2)
	dst = append(dst, '-')
	dst = appendPadded(dst, day, 2)
	dst = append(dst, 'T')
	dst = appendPadded(dst, hour, 2)
	dst = append(dst, ':')
	dst = appendPadded(dst, minute, 2)
	dst = append(dst, ':')
	dst = appendPadded(dst, sec, 2)
	if f.Millis {
		dst = append(dst, '.')
		dst = appendPadded(dst, t.Nanosecond()/1e6, 3)
	}
	return dst
}

// CheckTimestamp returns an error wrapping ErrBadTimestamp if t (in UTC) is
// outside the years 0000 to 9999, which the line format cannot hold.
func CheckTimestamp(t time.Time) error {
	if y := t.UTC().Year(); y < 0 || y > 9999 {
		return fmt.Errorf("%w: year %d", ErrBadTimestamp, y)
	}
	return nil
}

// AppendLine appends the line SeaStreamer's stdio producer writes for a
// message, with its newline:
//
//	[2022-01-01T00:00:00 | my_topic | 3] payload
//
// The shard is written as a fourth part only when it is not 0 (SeaStreamer
// writes shard 0 only, and omits it). payload must not contain a newline and
// h.Timestamp must pass CheckTimestamp; the producer checks both.
func (f Format) AppendLine(dst []byte, h driver.Header, payload []byte) []byte {
	dst = append(dst, '[')
	dst = f.AppendTimestamp(dst, h.Timestamp)
	dst = append(dst, " | "...)
	dst = append(dst, h.StreamKey...)
	dst = append(dst, " | "...)
	dst = strconv.AppendUint(dst, uint64(h.Seq), 10)
	if h.Shard != 0 {
		dst = append(dst, " | "...)
		dst = strconv.AppendUint(dst, uint64(h.Shard), 10)
	}
	dst = append(dst, "] "...)
	dst = append(dst, payload...)
	return append(dst, '\n')
}

func appendPadded(dst []byte, v, width int) []byte {
	var buf [20]byte
	b := strconv.AppendInt(buf[:0], int64(v), 10)
	for i := len(b); i < width; i++ {
		dst = append(dst, '0')
	}
	return append(dst, b...)
}
