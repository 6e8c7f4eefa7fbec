package kafka_test

import (
	"reflect"
	"testing"

	"github.com/seastream/ss/internal/testkit"
	"github.com/seastream/ss/streamer"
)

// TestKeysAndHeaders: a message sent WithKey and WithAttrs is a record with
// that key and those headers (in order, repeated names and null values
// kept), and a consumer gives them back in Message.Key and Attrs; a message
// sent without has a null key and no headers.
func TestKeysAndHeaders(t *testing.T) {
	ctx := testkit.Context(t)
	s := open(t, "kafka://"+newBrokers(t, 1))
	k := topic(t, "extras")
	p, err := s.NewProducer(ctx, k)
	if err != nil {
		t.Fatal(err)
	}
	attrs := []streamer.Attr{{Name: "h", Value: []byte("1")}, {Name: "h", Value: []byte("2")}, {Name: "null"}, {Name: "empty", Value: []byte{}}}
	send(t, ctx, p, k, "keyed", streamer.WithKey([]byte("key")), streamer.WithAttrs(attrs...))
	send(t, ctx, p, k, "empty key", streamer.WithKey([]byte{}))
	send(t, ctx, p, k, "plain")

	c, err := s.NewConsumer(ctx, []streamer.StreamKey{k}, streamer.WithAutoStreamReset(streamer.ResetEarliest))
	if err != nil {
		t.Fatal(err)
	}
	m := next(t, ctx, c)
	if string(m.Payload) != "keyed" || string(m.Key) != "key" || !reflect.DeepEqual(m.Attrs, attrs) {
		t.Fatalf("got %q key %q headers %q, want keyed, key, %q", m.Payload, m.Key, m.Attrs, attrs)
	}
	if m.Attrs[2].Value != nil || m.Attrs[3].Value == nil {
		t.Errorf("null and empty header values are not kept apart: %#v", m.Attrs)
	}
	if m := next(t, ctx, c); m.Key == nil || len(m.Key) != 0 || m.Attrs != nil {
		t.Errorf("got key %#v headers %q, want an empty key and no headers", m.Key, m.Attrs)
	}
	if m := next(t, ctx, c); m.Key != nil || m.Attrs != nil {
		t.Errorf("got key %#v headers %q, want a null key and no headers", m.Key, m.Attrs)
	}
}
