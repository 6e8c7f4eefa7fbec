package filedriver

import (
	"context"
	"fmt"
	"strconv"

	"github.com/seastream/ss/streamer/driver"
	"github.com/seastream/ss/streamer/envelope"
)

// Envelope says how a file's payloads are encoded (WithEnvelope, or the URI
// option envelope=none|v1).
type Envelope uint8

// Values of Envelope.
const (
	// EnvelopeNone keeps plain SeaStreamer payloads. It is the default.
	EnvelopeNone Envelope = iota
	// EnvelopeV1 stores each payload in the archive envelope, version 1,
	// with the message's key and attributes (package envelope).
	EnvelopeV1
)

func (e Envelope) String() string {
	switch e {
	case EnvelopeNone:
		return "none"
	case EnvelopeV1:
		return "v1"
	}
	return "Envelope(" + strconv.Itoa(int(e)) + ")"
}

// ErrNoEnvelope is returned by SendExtras on a producer of a file without
// the archive envelope.
var ErrNoEnvelope = driver.NewSentinel(driver.ErrExtrasUnsupported,
	"file: plain SeaStreamer payloads cannot hold a message's key or attributes: add ?envelope=v1 to the file's URI (filedriver.WithEnvelope) to keep them")

// SendExtras implements driver.ExtrasProducer: with the envelope, the
// payload is stored with key and attrs; without, a message with a key or
// attributes is refused with ErrNoEnvelope.
func (p *producer) SendExtras(ctx context.Context, h driver.Header, key []byte, attrs []driver.Attr, payload []byte) (driver.Pending, error) {
	if p.envelope == EnvelopeNone {
		if key == nil && len(attrs) == 0 {
			return p.Send(ctx, h, payload)
		}
		return nil, ErrNoEnvelope
	}
	return p.send(ctx, h, envelope.Encode(key, attrs, payload))
}

// open decodes the envelope of m's payload into m.
func (c *consumer) open(m driver.Message) (driver.Message, error) {
	key, attrs, value, err := envelope.Decode(m.Payload)
	if err != nil {
		return driver.Message{}, fmt.Errorf("file: message %s of %s (read with envelope=%s): %w", m.Header, c.conn.cfg.path, c.conn.cfg.envelope, err)
	}
	m.Payload, m.Key, m.Attrs = value, key, attrs
	return m, nil
}
