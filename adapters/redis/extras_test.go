package redis

import (
	"errors"
	"reflect"
	"testing"

	goredis "github.com/redis/go-redis/v9"
	"github.com/seastream/ss/streamer/driver"
)

// rawFields returns each entry of key as its field list, in the server's
// order.
func (e *env) rawFields(key driver.StreamKey) [][]any {
	e.t.Helper()
	v, err := e.client.Do(e.ctx, "XRANGE", string(key), "-", "+").Slice()
	if err != nil {
		e.t.Fatal(err)
	}
	var out [][]any
	for _, x := range v {
		out = append(out, x.([]any)[1].([]any))
	}
	return out
}

// SendExtras writes the attributes as fields after msg, in order, and a
// consumer gives them back as attributes in the same order; entries of msg
// alone have none.
func TestSendExtrasFields(t *testing.T) {
	e := newEnv(t, "")
	k := e.key("extras")
	p := e.producer(driver.ProducerOptions{})
	attrs := []driver.Attr{{Name: "z", Value: []byte("last")}, {Name: "a", Value: []byte("")}, {Name: "m", Value: []byte{0, 0xff}}}
	pe, err := p.SendExtras(e.ctx, driver.Header{StreamKey: k}, nil, attrs, []byte("with fields"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pe.Wait(e.ctx); err != nil {
		t.Fatal(err)
	}
	e.send(p, driver.Header{StreamKey: k}, "plain")

	want := [][]any{{"msg", "with fields", "z", "last", "a", "", "m", string([]byte{0, 0xff})}, {"msg", "plain"}}
	if got := e.rawFields(k); !reflect.DeepEqual(got, want) {
		t.Fatalf("entries %q, want %q", got, want)
	}

	c := e.consumer([]driver.StreamKey{k}, driver.ConsumerOptions{AutoStreamReset: driver.ResetEarliest})
	m := e.next(c, "the entry with fields")
	wantAttrs := []driver.Attr{{Name: "z", Value: []byte("last")}, {Name: "a", Value: []byte{}}, {Name: "m", Value: []byte{0, 0xff}}}
	if string(m.Payload) != "with fields" || m.Key != nil || !reflect.DeepEqual(m.Attrs, wantAttrs) {
		t.Fatalf("message %q key %q attrs %q, want attrs %q", m.Payload, m.Key, m.Attrs, wantAttrs)
	}
	if m := e.next(c, "the plain entry"); string(m.Payload) != "plain" || m.Attrs != nil {
		t.Fatalf("plain entry: %q attrs %q, want none", m.Payload, m.Attrs)
	}
}

// Entries written by another client with fields besides msg are handed out
// with them, in the entry's order, repeated names included; in every mode.
func TestForeignFieldsAreAttrs(t *testing.T) {
	for _, mode := range []driver.ConsumerMode{driver.RealTime, driver.Resumable, driver.LoadBalanced} {
		t.Run(mode.String(), func(t *testing.T) {
			e := newEnv(t, "")
			k := e.key("foreign")
			if err := e.client.XAdd(e.ctx, &goredis.XAddArgs{Stream: string(k), Values: []any{"user", "7", "msg", "hi", "kind", "greeting", "user", "8"}}).Err(); err != nil {
				t.Fatal(err)
			}
			opts := driver.ConsumerOptions{Mode: mode, AutoStreamReset: driver.ResetEarliest}
			if mode != driver.RealTime {
				opts.Group = "g"
			}
			c := e.consumer([]driver.StreamKey{k}, opts)
			m := e.next(c, "the entry")
			want := []driver.Attr{{Name: "user", Value: []byte("7")}, {Name: "kind", Value: []byte("greeting")}, {Name: "user", Value: []byte("8")}}
			if string(m.Payload) != "hi" || !reflect.DeepEqual(m.Attrs, want) {
				t.Fatalf("got %q attrs %q, want hi with %q", m.Payload, m.Attrs, want)
			}
		})
	}
}

func TestSendExtrasRefused(t *testing.T) {
	e := newEnv(t, "")
	k := e.key("refused")
	p := e.producer(driver.ProducerOptions{})
	for _, c := range []struct {
		key   []byte
		attrs []driver.Attr
		want  error
	}{
		{[]byte("k"), nil, ErrNoRecordKey},
		{nil, []driver.Attr{{Name: DefaultField, Value: []byte("x")}}, ErrFieldName},
	} {
		_, err := p.SendExtras(e.ctx, driver.Header{StreamKey: k}, c.key, c.attrs, []byte("v"))
		if !errors.Is(err, c.want) || !errors.Is(err, driver.ErrExtrasUnsupported) {
			t.Errorf("SendExtras(key %q, attrs %q) = %v, want %v", c.key, c.attrs, err, c.want)
		}
	}
	lp := e.producerOn(e.open("late_timestamps=clamp"), driver.ProducerOptions{})
	_, err := lp.SendExtras(e.ctx, driver.Header{StreamKey: k}, nil, []driver.Attr{{Name: "a", Value: []byte("1")}}, []byte("v"))
	if !errors.Is(err, ErrClampFields) {
		t.Errorf("SendExtras on a clamp producer = %v, want ErrClampFields", err)
	}
}
