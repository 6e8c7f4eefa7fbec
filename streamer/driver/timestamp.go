package driver

import (
	"fmt"
	"time"
)

// ParseTimestamp parses a timestamp in SeaStreamer's stdio form,
// YYYY-MM-DDTHH:MM:SS or YYYY-MM-DDTHH:MM:SS.f with 1 to 9 fraction digits,
// as UTC: the form of SeaStreamer's text lines and of the tools' time
// arguments. Invalid dates (2022-02-30) are rejected. Errors wrap
// ErrInvalidTimestamp.
func ParseTimestamp(s string) (time.Time, error) {
	bad := func() (time.Time, error) {
		return time.Time{}, fmt.Errorf("%w: %q", ErrInvalidTimestamp, truncate(s, 40))
	}
	if len(s) < 19 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' {
		return bad()
	}
	year, ok1 := digits(s[0:4])
	month, ok2 := digits(s[5:7])
	day, ok3 := digits(s[8:10])
	hour, ok4 := digits(s[11:13])
	minute, ok5 := digits(s[14:16])
	sec, ok6 := digits(s[17:19])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) {
		return bad()
	}
	nsec := 0
	if len(s) > 19 {
		frac := s[20:]
		if s[19] != '.' || len(frac) < 1 || len(frac) > 9 {
			return bad()
		}
		n, ok := digits(frac)
		if !ok {
			return bad()
		}
		for i := len(frac); i < 9; i++ {
			n *= 10
		}
		nsec = n
	}
	if month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || sec > 59 {
		return bad()
	}
	if day > daysIn(year, time.Month(month)) {
		return bad()
	}
	return time.Date(year, time.Month(month), day, hour, minute, sec, nsec, time.UTC), nil
}

func digits(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

func daysIn(year int, m time.Month) int {
	return time.Date(year, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}
