package streamer

import "github.com/seastream/ss/streamer/driver"

// forScheme returns a copy of extra (the caller's slice is never the
// driver's) without the driver.SchemeOption values of a scheme other than
// scheme: a backend's options that other backends are not to see, so that
// one set of options can serve URIs of any scheme.
func forScheme(extra []any, scheme string) []any {
	if extra == nil {
		return nil
	}
	out := make([]any, 0, len(extra))
	for _, v := range extra {
		if so, ok := v.(driver.SchemeOption); ok && so.OptionScheme() != scheme {
			continue
		}
		out = append(out, v)
	}
	return out
}
