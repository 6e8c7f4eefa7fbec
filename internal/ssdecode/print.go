package ssdecode

import (
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/seastream/ss/format"
	"github.com/seastream/ss/internal/ssjson"
	"github.com/seastream/ss/ssfile"
)

// Format is an output format.
type Format int

const (
	// Log prints one message a line, "[timestamp | stream key | sequence |
	// shard] payload", and the header and beacons as "# " comments.
	Log Format = iota
	// NDJSON prints one JSON object a message, and the header and beacons as
	// "/* */" comments.
	NDJSON
)

// ParseFormat parses "log" or "ndjson", as SeaStreamer's --format does.
func ParseFormat(s string) (Format, error) {
	switch s {
	case "log":
		return Log, nil
	case "ndjson":
		return NDJSON, nil
	}
	return 0, fmt.Errorf("ssdecode: unknown format %q (want log or ndjson)", s)
}

func (f Format) String() string {
	if f == NDJSON {
		return "ndjson"
	}
	return "log"
}

// AppendTimestamp appends a timestamp in milliseconds as SeaStreamer prints
// it (the time crate's "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond]"),
// in UTC: the fraction of a second has its trailing zeros trimmed but keeps
// at least one digit, so …:53.001, …:53.12 and …:53.0.
func AppendTimestamp(dst []byte, ms uint64) []byte {
	t := time.UnixMilli(int64(ms)).UTC()
	year, month, day := t.Date()
	dst = appendPadded(dst, year, 4)
	dst = append(dst, '-')
	dst = appendPadded(dst, int(month), 2)
	dst = append(dst, '-')
	dst = appendPadded(dst, day, 2)
	dst = append(dst, 'T')
	dst = appendPadded(dst, t.Hour(), 2)
	dst = append(dst, ':')
	dst = appendPadded(dst, t.Minute(), 2)
	dst = append(dst, ':')
	dst = appendPadded(dst, t.Second(), 2)
	dst = append(dst, '.')
	frac := int(ms % 1000)
	switch {
	case frac%100 == 0:
		return appendPadded(dst, frac/100, 1)
	case frac%10 == 0:
		return appendPadded(dst, frac/10, 2)
	}
	return appendPadded(dst, frac, 3)
}

func appendPadded(dst []byte, v, width int) []byte {
	var buf [20]byte
	s := strconv.AppendInt(buf[:0], int64(v), 10)
	for i := len(s); i < width; i++ {
		dst = append(dst, '0')
	}
	return append(dst, s...)
}

// printer renders the lines of SeaStreamer's ss-decode into a reused buffer.
type printer struct {
	format     Format
	headerOnly bool
	buf        []byte
}

func (p *printer) comment(body func([]byte) []byte) []byte {
	if p.format == Log {
		p.buf = append(p.buf[:0], "# "...)
		p.buf = body(p.buf)
	} else {
		p.buf = append(p.buf[:0], "/* "...)
		p.buf = body(p.buf)
		p.buf = append(p.buf, " */"...)
	}
	return append(p.buf, '\n')
}

// header renders the file header line: serde_json of SeaStreamer's HeaderV1.
func (p *printer) header(h format.Header) []byte {
	return p.comment(func(b []byte) []byte {
		b = append(b, `{"file_name":`...)
		b = ssjson.AppendString(b, h.FileName)
		b = append(b, `,"created_at":"`...)
		b = AppendTimestamp(b, h.CreatedAt)
		b = append(b, `","beacon_interval":`...)
		b = strconv.AppendUint(b, uint64(h.BeaconInterval), 10)
		return append(b, '}')
	})
}

// beacon renders a beacon line: serde_json of SeaStreamer's markers.
func (p *printer) beacon(markers []format.Marker) []byte {
	return p.comment(func(b []byte) []byte {
		b = append(b, '[')
		for i := range markers {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"header":`...)
			b = appendHeaderJSON(b, &markers[i].MessageHeader)
			b = append(b, `,"running_checksum":`...)
			b = strconv.AppendUint(b, uint64(markers[i].RunningChecksum), 10)
			b = append(b, '}')
		}
		return append(b, ']')
	})
}

// appendHeaderJSON appends serde_json of SeaStreamer's MessageHeader.
func appendHeaderJSON(b []byte, h *format.MessageHeader) []byte {
	b = append(b, `{"stream_key":`...)
	b = ssjson.AppendString(b, h.StreamKey)
	b = append(b, `,"shard_id":`...)
	b = strconv.AppendUint(b, h.ShardID, 10)
	b = append(b, `,"sequence":`...)
	b = strconv.AppendUint(b, h.SeqNo, 10)
	b = append(b, `,"timestamp":"`...)
	b = AppendTimestamp(b, h.Timestamp)
	return append(b, `"}`...)
}

// message renders a message line. A payload that is valid UTF-8 is printed
// as it is in the log format (line breaks included, as SeaStreamer does) and,
// in NDJSON, inline when it parses as JSON or as a JSON string otherwise.
// Other payloads are "<BINARY BLOB>" in the log format and an array of byte
// values in NDJSON. With headerOnly the log line stops after the header and
// the NDJSON payload is null.
func (p *printer) message(m *ssfile.Message) []byte {
	b := p.buf[:0]
	if p.format == Log {
		b = append(b, '[')
		b = AppendTimestamp(b, m.Timestamp)
		b = append(b, " | "...)
		b = append(b, m.StreamKey...)
		b = append(b, " | "...)
		b = strconv.AppendUint(b, m.SeqNo, 10)
		b = append(b, " | "...)
		b = strconv.AppendUint(b, m.ShardID, 10)
		b = append(b, ']')
		if !p.headerOnly {
			b = append(b, ' ')
			if utf8.Valid(m.Payload) {
				b = append(b, m.Payload...)
			} else {
				b = append(b, "<BINARY BLOB>"...)
			}
		}
	} else {
		b = append(b, `{"header":`...)
		b = appendHeaderJSON(b, &m.MessageHeader)
		b = append(b, `,"payload":`...)
		switch {
		case p.headerOnly:
			b = append(b, "null"...)
		case utf8.Valid(m.Payload):
			var ok bool
			if b, ok = ssjson.AppendValue(b, m.Payload); !ok {
				b = ssjson.AppendString(b, m.Payload)
			}
		default:
			b = append(b, '[')
			for i, c := range m.Payload {
				if i > 0 {
					b = append(b, ',')
				}
				b = strconv.AppendUint(b, uint64(c), 10)
			}
			b = append(b, ']')
		}
		b = append(b, '}')
	}
	p.buf = append(b, '\n')
	return p.buf
}
