package driver

import (
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// URI is a parsed streamer URI. SeaStreamer's rules apply: after
// "scheme://", the text up to the last "/" names the server nodes
// (comma-separated) or, for file://, the file; the last segment is a
// comma-separated list of stream keys, empty when the URI ends with "/".
//
//	kafka://host1:9092,host2:9092/orders   nodes host1:9092, host2:9092; stream orders
//	redis://localhost:6379/a,b             node localhost:6379; streams a, b
//	stdio:///key1,key2                     no node; streams key1, key2
//	file://./data/app.ss/orders,payments   file ./data/app.ss; streams orders, payments
//	file://./data/app/                     file ./data/app; no stream
//
// Additions to SeaStreamer's rules:
//
//   - A URI with no "/" after "scheme://" has no stream key
//     (kafka://localhost:9092).
//   - file:// only: a last segment ending in ".ss" names the file itself,
//     not a stream, unless the segment before it also ends in ".ss":
//     file:///abs/path.ss is the file /abs/path.ss with no stream, and
//     file:///abs/path.ss/x.ss is stream x.ss of that file.
//   - A query (?name=value&...) carries options; each driver rejects names it
//     does not know (CheckOptions).
type URI struct {
	// Raw is the URI as given.
	Raw string
	// Scheme is the lower-cased scheme, e.g. "file".
	Scheme string
	// Addr is the text between "scheme://" and the stream keys, as written
	// (not percent-decoded): "host1:9092,host2:9092", "./data/app.ss", or "".
	Addr string
	// Nodes is Addr split at commas, empty parts dropped.
	Nodes []string
	// Streams are the stream keys of the last segment, in order. They are
	// syntactically valid; Wildcard may be among them, Internal never is.
	Streams []StreamKey
	// Query holds the options of the query string.
	Query url.Values
}

// ParseURI parses s by the rules documented on URI. Errors are *URIError
// (errors.Is ErrInvalidURI), wrapping a *StreamKeyError for a bad key.
func ParseURI(s string) (*URI, error) {
	fail := func(reason string, err error) (*URI, error) {
		return nil, &URIError{URI: s, Reason: reason, Err: err}
	}
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok {
		return fail(`no scheme: write it as scheme://..., e.g. file://./app.ss/stream or kafka://localhost:9092/topic`, nil)
	}
	if !validScheme(scheme) {
		return fail("bad scheme "+strconv.Quote(scheme)+": expected letters, digits, '+', '-' or '.' starting with a letter", nil)
	}
	u := &URI{Raw: s, Scheme: strings.ToLower(scheme)}

	rest, query, hasQuery := strings.Cut(rest, "?")
	if hasQuery {
		q, err := url.ParseQuery(query)
		if err != nil {
			return fail("bad query string", err)
		}
		for name, vs := range q {
			if name == "" {
				return fail("empty option name in the query string", nil)
			}
			if len(vs) > 1 {
				return fail("option "+strconv.Quote(name)+" is given more than once", nil)
			}
		}
		u.Query = q
	} else {
		u.Query = url.Values{}
	}

	addr, keys := rest, ""
	if i := strings.LastIndexByte(rest, '/'); i >= 0 {
		addr, keys = rest[:i], rest[i+1:]
		if u.Scheme == "file" && strings.HasSuffix(keys, ".ss") && !strings.HasSuffix(lastSegment(addr), ".ss") {
			addr, keys = rest, ""
		}
	}
	u.Addr = addr
	for n := range strings.SplitSeq(addr, ",") {
		if n != "" {
			u.Nodes = append(u.Nodes, n)
		}
	}
	for k := range strings.SplitSeq(keys, ",") {
		if k == "" {
			continue
		}
		if err := ValidateStreamKeySyntax(k); err != nil {
			return fail("bad stream key in the last path segment", err)
		}
		if StreamKey(k) == Internal {
			return fail("bad stream key in the last path segment", &StreamKeyError{Key: k, Err: ErrReservedStreamKey})
		}
		u.Streams = append(u.Streams, StreamKey(k))
	}
	return u, nil
}

func validScheme(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i] | 0x20 // lower-case letters
		switch {
		case c >= 'a' && c <= 'z':
		case i > 0 && (s[i] >= '0' && s[i] <= '9' || s[i] == '+' || s[i] == '-' || s[i] == '.'):
		default:
			return false
		}
	}
	return true
}

func lastSegment(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[i+1:]
	}
	return p
}

// String returns the URI as given.
func (u *URI) String() string { return u.Raw }

// Clone returns a deep copy of u.
func (u *URI) Clone() *URI {
	c := *u
	c.Nodes = slices.Clone(u.Nodes)
	c.Streams = slices.Clone(u.Streams)
	c.Query = make(url.Values, len(u.Query))
	for k, v := range u.Query {
		c.Query[k] = slices.Clone(v)
	}
	return &c
}

// CheckOptions returns an *OptionError wrapping ErrUnknownOption for the
// first query option (in name order) that is not in known, listing the known
// ones.
func (u *URI) CheckOptions(known ...string) error {
	names := make([]string, 0, len(u.Query))
	for name := range u.Query {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if !slices.Contains(known, name) {
			reason := "this backend has no options"
			if len(known) > 0 {
				k := slices.Clone(known)
				sort.Strings(k)
				reason = "known options are " + strings.Join(k, ", ")
			}
			return &OptionError{Scheme: u.Scheme, Name: name, Value: u.Query.Get(name), Reason: reason, Err: ErrUnknownOption}
		}
	}
	return nil
}

// Option returns the value of query option name and whether it is present.
func (u *URI) Option(name string) (string, bool) {
	vs, ok := u.Query[name]
	if !ok || len(vs) == 0 {
		return "", false
	}
	return vs[0], true
}

func (u *URI) badOption(name, value, reason string) error {
	return &OptionError{Scheme: u.Scheme, Name: name, Value: value, Reason: reason, Err: ErrInvalidOption}
}

// OptionBool returns query option name as a bool. An option present with an
// empty value (?create) is true; otherwise strconv.ParseBool's forms are
// accepted. ok is false if the option is absent.
func (u *URI) OptionBool(name string) (v, ok bool, err error) {
	s, ok := u.Option(name)
	if !ok {
		return false, false, nil
	}
	if s == "" {
		return true, true, nil
	}
	v, perr := strconv.ParseBool(s)
	if perr != nil {
		return false, true, u.badOption(name, s, "expected true or false")
	}
	return v, true, nil
}

// OptionUint returns query option name as an unsigned integer (decimal, or
// with a 0x prefix).
func (u *URI) OptionUint(name string) (v uint64, ok bool, err error) {
	s, ok := u.Option(name)
	if !ok {
		return 0, false, nil
	}
	v, perr := strconv.ParseUint(s, 0, 64)
	if perr != nil {
		return 0, true, u.badOption(name, s, "expected a non-negative integer")
	}
	return v, true, nil
}

// OptionDuration returns query option name as a time.Duration ("1.5s",
// "200ms"; see time.ParseDuration). Negative durations are rejected.
func (u *URI) OptionDuration(name string) (v time.Duration, ok bool, err error) {
	s, ok := u.Option(name)
	if !ok {
		return 0, false, nil
	}
	v, perr := time.ParseDuration(s)
	if perr != nil || v < 0 {
		return 0, true, u.badOption(name, s, `expected a duration such as "500ms" or "2s"`)
	}
	return v, true, nil
}

// OptionSize returns query option name as a size in bytes: an integer with an
// optional binary suffix KiB, MiB, GiB or TiB (K, KB, M, MB... are binary
// too), e.g. "64KiB",
// "16GiB".
func (u *URI) OptionSize(name string) (v uint64, ok bool, err error) {
	s, ok := u.Option(name)
	if !ok {
		return 0, false, nil
	}
	v, perr := parseSize(s)
	if perr {
		return 0, true, u.badOption(name, s, `expected a size in bytes such as "4096", "64KiB" or "16GiB"`)
	}
	return v, true, nil
}

func parseSize(s string) (uint64, bool) {
	num := strings.TrimRight(s, "KMGTiBkmgtib")
	suffix := strings.ToLower(s[len(num):])
	var shift uint
	switch suffix {
	case "", "b":
	case "k", "kib", "kb":
		shift = 10
	case "m", "mib", "mb":
		shift = 20
	case "g", "gib", "gb":
		shift = 30
	case "t", "tib", "tb":
		shift = 40
	default:
		return 0, true
	}
	n, err := strconv.ParseUint(num, 10, 64)
	if err != nil || n > (^uint64(0))>>shift {
		return 0, true
	}
	return n << shift, false
}
