package filedriver

import (
	"bytes"
	"errors"
	"reflect"
	"testing"

	"github.com/seastream/ss/internal/testkit"
	"github.com/seastream/ss/streamer/driver"
	"github.com/seastream/ss/streamer/envelope"
)

// With envelope=v1 a message's key and attributes go into the file and
// come back, null and empty values kept apart; a plain Send is enveloped
// too.
func TestEnvelopeRoundTrip(t *testing.T) {
	ctx := testkit.Context(t)
	path := tempFile(t)
	c := open(t, path, "create=if-missing&envelope=v1")
	p := newProducer(t, c).(driver.ExtrasProducer)
	attrs := []driver.Attr{{Name: "h", Value: []byte("1")}, {Name: "h", Value: []byte("2")}, {Name: "null"}, {Name: "empty", Value: []byte{}}}
	if _, err := p.SendExtras(ctx, driver.Header{StreamKey: "a"}, []byte("k"), attrs, []byte("v1")); err != nil {
		t.Fatal(err)
	}
	if _, err := p.SendExtras(ctx, driver.Header{StreamKey: "a"}, []byte{}, nil, []byte("v2")); err != nil {
		t.Fatal(err)
	}
	send(t, ctx, p, driver.Header{StreamKey: "a"}, "v3")
	if err := p.Flush(ctx); err != nil {
		t.Fatal(err)
	}

	// In the file: the envelope, readable by package envelope.
	raw := readAll(t, path)
	if len(raw) != 3 {
		t.Fatalf("%d messages in the file, want 3", len(raw))
	}
	if !bytes.HasPrefix(raw[0].Payload, []byte(envelope.Magic)) {
		t.Fatalf("payload in the file %q has no envelope", raw[0].Payload)
	}

	cons := newCons(t, c, earliest, "a")
	m := next(t, ctx, cons)
	if string(m.Payload) != "v1" || string(m.Key) != "k" || !reflect.DeepEqual(m.Attrs, attrs) {
		t.Errorf("message 1 = %q key %q attrs %q, want v1, k, %q", m.Payload, m.Key, m.Attrs, attrs)
	}
	if m.Attrs[2].Value != nil || m.Attrs[3].Value == nil {
		t.Errorf("null and empty attribute values are not kept apart: %#v", m.Attrs)
	}
	m = next(t, ctx, cons)
	if string(m.Payload) != "v2" || m.Key == nil || len(m.Key) != 0 || m.Attrs != nil {
		t.Errorf("message 2 = %q key %#v attrs %q, want v2, an empty key, no attrs", m.Payload, m.Key, m.Attrs)
	}
	m = next(t, ctx, cons)
	if string(m.Payload) != "v3" || m.Key != nil || m.Attrs != nil {
		t.Errorf("message 3 = %q key %#v attrs %q, want v3 alone", m.Payload, m.Key, m.Attrs)
	}
}

// Without the option a payload is stored exactly as given, and a key or
// attributes are refused with ErrExtrasUnsupported.
func TestNoEnvelopePlainPayloads(t *testing.T) {
	ctx := testkit.Context(t)
	path := tempFile(t)
	c := open(t, path, "create=if-missing")
	p := newProducer(t, c).(driver.ExtrasProducer)
	_, err := p.SendExtras(ctx, driver.Header{StreamKey: "a"}, []byte("k"), nil, []byte("v"))
	if !errors.Is(err, driver.ErrExtrasUnsupported) || !errors.Is(err, ErrNoEnvelope) {
		t.Fatalf("SendExtras with a key and no envelope = %v, want ErrNoEnvelope", err)
	}
	if _, err := p.SendExtras(ctx, driver.Header{StreamKey: "a"}, nil, nil, []byte("plain")); err != nil {
		t.Fatal(err)
	}
	send(t, ctx, p, driver.Header{StreamKey: "a"}, "SSe\x01 not an envelope")
	if err := p.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	raw := readAll(t, path)
	if len(raw) != 2 || string(raw[0].Payload) != "plain" || string(raw[1].Payload) != "SSe\x01 not an envelope" {
		t.Fatalf("file holds %d messages %v, want the payloads exactly", len(raw), raw)
	}
}

// A consumer with the envelope refuses a payload without one, naming the
// problem, and goes on with the next message.
func TestEnvelopeRefusesPlainPayload(t *testing.T) {
	ctx := testkit.Context(t)
	path := tempFile(t)
	c := open(t, path, "create=if-missing")
	p := newProducer(t, c)
	send(t, ctx, p, driver.Header{StreamKey: "a"}, "plain")
	if err := p.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	ce := open(t, path, "envelope=v1")
	pe := newProducer(t, ce)
	send(t, ctx, pe, driver.Header{StreamKey: "a"}, "wrapped")
	if err := pe.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	cons := newCons(t, ce, earliest, "a")
	err := nextErr(t, ctx, cons)
	if !errors.Is(err, envelope.ErrNotEnveloped) {
		t.Fatalf("Next on a plain payload with envelope=v1 = %v, want ErrNotEnveloped", err)
	}
	if m := next(t, ctx, cons); string(m.Payload) != "wrapped" {
		t.Fatalf("next message = %q, want wrapped", m.Payload)
	}
}

func TestEnvelopeOption(t *testing.T) {
	if _, err := openErr(tempFile(t), "create=if-missing&envelope=v2"); !errors.Is(err, driver.ErrInvalidOption) {
		t.Fatalf("envelope=v2: %v, want ErrInvalidOption", err)
	}
	c := open(t, tempFile(t), "create=if-missing", driver.ConnectOptions{Extra: []any{WithEnvelope(EnvelopeV1)}})
	if c.(*conn).cfg.envelope != EnvelopeV1 {
		t.Fatal("WithEnvelope(EnvelopeV1) not applied")
	}
}
