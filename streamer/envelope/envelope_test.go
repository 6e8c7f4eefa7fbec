package envelope_test

import (
	"bytes"
	"errors"
	"reflect"
	"testing"

	"github.com/seastream/ss/streamer/driver"
	"github.com/seastream/ss/streamer/envelope"
)

var cases = []struct {
	name  string
	key   []byte
	attrs []driver.Attr
	value []byte
}{
	{"plain", nil, nil, []byte("hello")},
	{"empty", nil, nil, nil},
	{"empty key", []byte{}, nil, []byte("v")},
	{"key", []byte("k1"), nil, []byte("v")},
	{"attrs", []byte("k"), []driver.Attr{attr("a", []byte("1")), attr("a", []byte("2")), attr("null", nil), attr("empty", []byte{}), attr("", []byte("x"))}, []byte("value")},
	{"large", bytes.Repeat([]byte{0xff}, 300), []driver.Attr{attr(string(bytes.Repeat([]byte("n"), 200)), bytes.Repeat([]byte{0}, 70000))}, bytes.Repeat([]byte("SSe\x01"), 100)},
}

func TestRoundTrip(t *testing.T) {
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := envelope.Encode(c.key, c.attrs, c.value)
			if len(b) != envelope.Size(c.key, c.attrs, c.value) {
				t.Fatalf("Size = %d, encoded %d bytes", envelope.Size(c.key, c.attrs, c.value), len(b))
			}
			key, attrs, value, err := envelope.Decode(b)
			if err != nil {
				t.Fatal(err)
			}
			if (key == nil) != (c.key == nil) || !bytes.Equal(key, c.key) {
				t.Errorf("key = %q (nil %v), want %q (nil %v)", key, key == nil, c.key, c.key == nil)
			}
			if len(attrs) != len(c.attrs) {
				t.Fatalf("attrs = %q, want %q", attrs, c.attrs)
			}
			for i := range attrs {
				if attrs[i].Name != c.attrs[i].Name || !bytes.Equal(attrs[i].Value, c.attrs[i].Value) || (attrs[i].Value == nil) != (c.attrs[i].Value == nil) {
					t.Errorf("attr %d = %q, want %q", i, attrs[i], c.attrs[i])
				}
			}
			if !bytes.Equal(value, c.value) {
				t.Errorf("value = %q, want %q", value, c.value)
			}
		})
	}
}

func TestLayout(t *testing.T) {
	got := envelope.Encode([]byte("k"), []driver.Attr{attr("h", []byte("v")), attr("n", nil)}, []byte("pay"))
	want := []byte("SSe\x01\x01\x01k\x02\x01h\x02v\x01n\x00pay")
	if !bytes.Equal(got, want) {
		t.Fatalf("Encode = %q, want %q", got, want)
	}
}

func TestDecodeErrors(t *testing.T) {
	for _, c := range []struct {
		in   string
		want error
	}{
		{"hello", envelope.ErrNotEnveloped},
		{"", envelope.ErrNotEnveloped},
		{"SSe\x02\x00\x00", envelope.ErrVersion},
		{"SSe\x01", envelope.ErrFormat},
		{"SSe\x01\x02\x00", envelope.ErrFormat},
		{"SSe\x01\x01\x05ab", envelope.ErrFormat},
		{"SSe\x01\x00\x7f", envelope.ErrFormat},
		{"SSe\x01\x00\x01\x01a\x05x", envelope.ErrFormat},
	} {
		_, _, _, err := envelope.Decode([]byte(c.in))
		if !errors.Is(err, c.want) || !errors.Is(err, envelope.ErrFormat) {
			t.Errorf("Decode(%q) = %v, want %v", c.in, err, c.want)
		}
	}
}

func FuzzDecode(f *testing.F) {
	for _, c := range cases {
		f.Add(envelope.Encode(c.key, c.attrs, c.value))
	}
	f.Add([]byte("SSe\x01\x00\xff\xff\xff\xff\x0f"))
	f.Fuzz(func(t *testing.T, b []byte) {
		key, attrs, value, err := envelope.Decode(b)
		if err != nil {
			return
		}
		// What decodes encodes back to a payload that decodes the same.
		again := envelope.Encode(key, attrs, value)
		k2, a2, v2, err := envelope.Decode(again)
		if err != nil {
			t.Fatalf("re-encoded payload does not decode: %v", err)
		}
		if !bytes.Equal(k2, key) || (k2 == nil) != (key == nil) || !bytes.Equal(v2, value) || !reflect.DeepEqual(norm(a2), norm(attrs)) {
			t.Fatalf("re-encoding changed the message")
		}
	})
}

func norm(attrs []driver.Attr) []string {
	var s []string
	for _, a := range attrs {
		s = append(s, a.Name, string(a.Value), map[bool]string{true: "nil"}[a.Value == nil])
	}
	return s
}

func attr(name string, value []byte) driver.Attr { return driver.Attr{Name: name, Value: value} }
