package driver_test

import (
	"errors"
	"testing"

	"github.com/seastream/ss/streamer/driver"
)

// FuzzParseURI: ParseURI never panics; on success every stream key is valid
// and the URI prints back as given; on failure the error is a *URIError.
func FuzzParseURI(f *testing.F) {
	for _, s := range []string{
		"file://./data/app.ss/orders,payments?create=true",
		"file:///abs/path.ss", "kafka://h1:9092,h2:9092/topic", "redis://localhost:6379/key",
		"stdio:///a,b", "stdio://", "x://a/b/c.ss/d.ss?%zz", "://", "file://?a=1&a=2",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, err := driver.ParseURI(s)
		if err != nil {
			var ue *driver.URIError
			if !errors.As(err, &ue) || !errors.Is(err, driver.ErrInvalidURI) {
				t.Fatalf("ParseURI(%q): error %v is not a *URIError", s, err)
			}
			return
		}
		if u.String() != s {
			t.Fatalf("String() = %q, want %q", u.String(), s)
		}
		for _, k := range u.Streams {
			if err := driver.ValidateStreamKeySyntax(string(k)); err != nil || k == driver.Internal {
				t.Fatalf("ParseURI(%q) returned bad stream key %q", s, k)
			}
		}
		_ = u.CheckOptions("create")
		for name := range u.Query {
			_, _, _ = u.OptionBool(name)
			_, _, _ = u.OptionSize(name)
			_, _, _ = u.OptionUint(name)
			_, _, _ = u.OptionDuration(name)
		}
		_ = u.Clone()
	})
}
