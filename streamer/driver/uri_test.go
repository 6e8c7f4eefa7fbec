package driver_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/seastream/ss/streamer/driver"
)

func TestParseURI(t *testing.T) {
	tests := []struct {
		in      string
		scheme  string
		addr    string
		nodes   []string
		streams []driver.StreamKey
	}{
		// SeaStreamer's own cases (sea-streamer-types streamer.rs tests).
		{"proto://sea-ql.org:1234/", "proto", "sea-ql.org:1234", []string{"sea-ql.org:1234"}, nil},
		{"proto://sea-ql.org:1234/stream", "proto", "sea-ql.org:1234", []string{"sea-ql.org:1234"}, []driver.StreamKey{"stream"}},
		{"proto://sea-ql.org:1234/a,b", "proto", "sea-ql.org:1234", []string{"sea-ql.org:1234"}, []driver.StreamKey{"a", "b"}},
		{"kafka://node-a:1234,node-b:1234/a,b", "kafka", "node-a:1234,node-b:1234", []string{"node-a:1234", "node-b:1234"}, []driver.StreamKey{"a", "b"}},
		{"stdio:///", "stdio", "", nil, nil},
		{"redis://localhost/", "redis", "localhost", []string{"localhost"}, nil},
		{"redis://localhost/a,b", "redis", "localhost", []string{"localhost"}, []driver.StreamKey{"a", "b"}},
		{"stdio:///a,b", "stdio", "", nil, []driver.StreamKey{"a", "b"}},
		{"file://./path/to/hi/a,b", "file", "./path/to/hi", []string{"./path/to/hi"}, []driver.StreamKey{"a", "b"}},
		{"file://./path/to/hi/", "file", "./path/to/hi", []string{"./path/to/hi"}, nil},
		// Ours.
		{"kafka://localhost:9092", "kafka", "localhost:9092", []string{"localhost:9092"}, nil},
		{"stdio://", "stdio", "", nil, nil},
		{"KAFKA://h:1/t", "kafka", "h:1", []string{"h:1"}, []driver.StreamKey{"t"}},
		{"redis://localhost:6379/key", "redis", "localhost:6379", []string{"localhost:6379"}, []driver.StreamKey{"key"}},
		{"kafka://host1:9092,host2:9092/topic", "kafka", "host1:9092,host2:9092", []string{"host1:9092", "host2:9092"}, []driver.StreamKey{"topic"}},
		{"file://./data/app.ss/orders,payments", "file", "./data/app.ss", []string{"./data/app.ss"}, []driver.StreamKey{"orders", "payments"}},
		{"file:///abs/path.ss", "file", "/abs/path.ss", []string{"/abs/path.ss"}, nil},
		{"file://./app.ss", "file", "./app.ss", []string{"./app.ss"}, nil},
		{"file://app.ss", "file", "app.ss", []string{"app.ss"}, nil},
		{"file:///abs/path.ss/x.ss", "file", "/abs/path.ss", []string{"/abs/path.ss"}, []driver.StreamKey{"x.ss"}},
		{"file:///abs/path.ss/,a,,b,", "file", "/abs/path.ss", []string{"/abs/path.ss"}, []driver.StreamKey{"a", "b"}},
		{"file:///d/app.ss/SEA_STREAMER_WILDCARD", "file", "/d/app.ss", []string{"/d/app.ss"}, []driver.StreamKey{driver.Wildcard}},
		{"kafka://h:1/x.ss", "kafka", "h:1", []string{"h:1"}, []driver.StreamKey{"x.ss"}},
		{"file:///tmp/a.ss/s?create=true&beacon_interval=1024", "file", "/tmp/a.ss", []string{"/tmp/a.ss"}, []driver.StreamKey{"s"}},
	}
	for _, tt := range tests {
		u, err := driver.ParseURI(tt.in)
		if err != nil {
			t.Errorf("ParseURI(%q): %v", tt.in, err)
			continue
		}
		if u.Scheme != tt.scheme || u.Addr != tt.addr || !slices.Equal(u.Nodes, tt.nodes) || !slices.Equal(u.Streams, tt.streams) {
			t.Errorf("ParseURI(%q) = scheme %q addr %q nodes %q streams %q; want %q %q %q %q",
				tt.in, u.Scheme, u.Addr, u.Nodes, u.Streams, tt.scheme, tt.addr, tt.nodes, tt.streams)
		}
		if u.String() != tt.in {
			t.Errorf("String() = %q, want %q", u.String(), tt.in)
		}
	}
}

func TestParseURIErrors(t *testing.T) {
	tests := []struct {
		in   string
		also error
	}{
		{"sea-ql.org:1234", nil},
		{"://x/a", nil},
		{"1abc://x/a", nil},
		{"proto://sea-ql.org:1234/stream#", driver.ErrInvalidStreamKey},
		{"proto://h/a b", driver.ErrInvalidStreamKey},
		{"proto://h/" + strings.Repeat("x", 250), driver.ErrInvalidStreamKey},
		{"file:///a.ss/SEA_STREAMER_INTERNAL", driver.ErrReservedStreamKey},
		{"file:///a.ss?create=1&create=0", nil},
		{"file:///a.ss?%zz=1", nil},
		{"file:///a.ss?=1", nil},
	}
	for _, tt := range tests {
		_, err := driver.ParseURI(tt.in)
		var ue *driver.URIError
		if !errors.Is(err, driver.ErrInvalidURI) || !errors.As(err, &ue) || ue.URI != tt.in {
			t.Errorf("ParseURI(%q) = %v, want a *URIError", tt.in, err)
			continue
		}
		if tt.also != nil && !errors.Is(err, tt.also) {
			t.Errorf("ParseURI(%q) = %v, want it to match %v", tt.in, err, tt.also)
		}
	}
}

func TestURIOptions(t *testing.T) {
	u, err := driver.ParseURI("file:///a.ss?create&eos=false&limit=16GiB&n=0x10&every=250ms&bad=zz&neg=-1s")
	if err != nil {
		t.Fatal(err)
	}
	if v, ok, err := u.OptionBool("create"); !v || !ok || err != nil {
		t.Errorf("create = %v %v %v", v, ok, err)
	}
	if v, ok, err := u.OptionBool("eos"); v || !ok || err != nil {
		t.Errorf("eos = %v %v %v", v, ok, err)
	}
	if _, ok, err := u.OptionBool("absent"); ok || err != nil {
		t.Errorf("absent = %v %v", ok, err)
	}
	if v, _, err := u.OptionSize("limit"); v != 16<<30 || err != nil {
		t.Errorf("limit = %v %v", v, err)
	}
	if v, _, err := u.OptionUint("n"); v != 16 || err != nil {
		t.Errorf("n = %v %v", v, err)
	}
	if v, _, err := u.OptionDuration("every"); v != 250*time.Millisecond || err != nil {
		t.Errorf("every = %v %v", v, err)
	}
	for _, f := range []func(string) error{
		func(n string) error { _, _, err := u.OptionBool(n); return err },
		func(n string) error { _, _, err := u.OptionUint(n); return err },
		func(n string) error { _, _, err := u.OptionSize(n); return err },
		func(n string) error { _, _, err := u.OptionDuration(n); return err },
	} {
		err := f("bad")
		var oe *driver.OptionError
		if !errors.Is(err, driver.ErrInvalidOption) || !errors.As(err, &oe) || oe.Name != "bad" || oe.Value != "zz" {
			t.Errorf("bad option gave %v", err)
		}
	}
	if _, _, err := u.OptionDuration("neg"); !errors.Is(err, driver.ErrInvalidOption) {
		t.Errorf("negative duration accepted: %v", err)
	}
	err = u.CheckOptions("create", "eos", "limit", "n", "every", "neg")
	var oe *driver.OptionError
	if !errors.Is(err, driver.ErrUnknownOption) || !errors.As(err, &oe) || oe.Name != "bad" || oe.Scheme != "file" {
		t.Errorf("CheckOptions = %v", err)
	}
	if !strings.Contains(err.Error(), "known options are create, eos, every, limit, n, neg") {
		t.Errorf("CheckOptions message does not list the known options: %v", err)
	}
	if err := u.CheckOptions("create", "eos", "limit", "n", "every", "neg", "bad"); err != nil {
		t.Errorf("CheckOptions with all known = %v", err)
	}
	c := u.Clone()
	c.Query.Set("create", "false")
	c.Streams = append(c.Streams, "x")
	if v, _, _ := u.OptionBool("create"); !v || len(u.Streams) != 0 {
		t.Error("Clone shares state with the original")
	}
	for _, s := range []string{"1TiB", "3", "2k", "5MB", "7b"} {
		u2, _ := driver.ParseURI("file:///a.ss?s=" + s)
		if _, _, err := u2.OptionSize("s"); err != nil {
			t.Errorf("size %q: %v", s, err)
		}
	}
	for _, s := range []string{"", "KiB", "1XB", "-1", "99999999999TiB"} {
		u2, _ := driver.ParseURI("file:///a.ss?s=" + s)
		if _, _, err := u2.OptionSize("s"); err == nil {
			t.Errorf("size %q accepted", s)
		}
	}
}
