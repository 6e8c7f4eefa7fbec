package streamertest

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/seastream/ss/streamer"
)

// testKeysAndAttrs: a message sent with a key, attributes or both comes
// back with exactly them (a nil key stays nil, attributes keep their order
// and repeated names), or the send is refused at once with
// ErrExtrasUnsupported; a message sent without either comes back without.
func testKeysAndAttrs(t *testing.T, h Harness) {
	e := newEnv(t, h)
	k := e.key(0)
	s := e.open()
	c := e.consumer(s, []streamer.StreamKey{k})
	p := e.producer(s, k)
	attrs := []streamer.Attr{{Name: "b", Value: []byte("2")}, {Name: "a", Value: []byte("1")}, {Name: "b", Value: []byte("3")}}
	type message struct {
		key     []byte
		attrs   []streamer.Attr
		payload string
	}
	var want []message
	for i, m := range []message{{key: []byte("key")}, {key: []byte{}}, {attrs: attrs}, {key: []byte("k"), attrs: attrs}, {}} {
		m.payload = fmt.Sprintf("extras-%d", i)
		var opts []streamer.SendOption
		if m.key != nil {
			opts = append(opts, streamer.WithKey(m.key))
		}
		if m.attrs != nil {
			opts = append(opts, streamer.WithAttrs(m.attrs...))
		}
		r, err := p.Send(e.ctx, []byte(m.payload), opts...)
		if errors.Is(err, streamer.ErrExtrasUnsupported) && len(opts) > 0 {
			continue
		}
		if err != nil {
			t.Fatalf("Send %d (key %q, %d attributes): %v", i, m.key, len(m.attrs), err)
		}
		e.wait(r)
		want = append(want, m)
	}
	for i, m := range e.nextN(c, len(want), "messages with keys and attributes") {
		w := want[i]
		if string(m.Payload) != w.payload {
			t.Fatalf("message %d: payload %q, want %q", i, m.Payload, w.payload)
		}
		if (m.Key == nil) != (w.key == nil) || !bytes.Equal(m.Key, w.key) {
			t.Errorf("message %q: key %#v, want %#v", m.Payload, m.Key, w.key)
		}
		if len(m.Attrs) != len(w.attrs) {
			t.Errorf("message %q: attributes %q, want %q", m.Payload, m.Attrs, w.attrs)
			continue
		}
		for j, a := range m.Attrs {
			if a.Name != w.attrs[j].Name || !bytes.Equal(a.Value, w.attrs[j].Value) {
				t.Errorf("message %q: attributes %q, want %q", m.Payload, m.Attrs, w.attrs)
				break
			}
		}
	}
}
