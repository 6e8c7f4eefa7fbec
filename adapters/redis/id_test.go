package redis

import (
	"errors"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/seastream/ss/streamer/driver"
)

func TestParseID(t *testing.T) {
	good := []struct {
		in   string
		want ID
	}{
		{"0-0", ID{}},
		{"1-1", ID{1, 1}},
		{"1678280595282-7", ID{1678280595282, 7}},
		{"18446744073709551615-18446744073709551615", ID{math.MaxUint64, math.MaxUint64}},
	}
	for _, c := range good {
		got, err := ParseID(c.in)
		if err != nil || got != c.want {
			t.Errorf("ParseID(%q) = %v, %v; want %v", c.in, got, err, c.want)
		}
		if got.String() != c.in {
			t.Errorf("ParseID(%q).String() = %q", c.in, got.String())
		}
	}
	for _, in := range []string{"", "123", "-", "1-", "-1", "a-1", "1-b", "1-2-3", "1.5-0", " 1-0", "-1-0", "+1-0", "1-+2",
		"18446744073709551616-0", "0-18446744073709551616", "0x1-0"} {
		_, err := ParseID(in)
		var ie *IDError
		if !errors.Is(err, ErrInvalidID) || !errors.As(err, &ie) || ie.ID != in {
			t.Errorf("ParseID(%q) = %v, want an *IDError wrapping ErrInvalidID", in, err)
		}
	}
}

// The packing is SeaStreamer's: ms<<16 | seq.
func TestSeqNoPacking(t *testing.T) {
	id := ID{Ms: 1678280595282, Seq: 7}
	n, err := id.SeqNo()
	if err != nil {
		t.Fatal(err)
	}
	if want := driver.SeqNo(1678280595282<<16 | 7); n != want {
		t.Fatalf("SeqNo = %d, want %d", n, want)
	}
	if back := IDFromSeqNo(n); back != id {
		t.Fatalf("IDFromSeqNo(%d) = %v, want %v", n, back, id)
	}
	if got := id.Time(); !got.Equal(time.UnixMilli(1678280595282)) || got.Location() != time.UTC {
		t.Fatalf("Time = %v", got)
	}
	for _, bad := range []ID{{Ms: MaxPackedMs + 1}, {Seq: MaxPackedSeq + 1}, {math.MaxUint64, math.MaxUint64}} {
		if _, err := bad.SeqNo(); !errors.Is(err, ErrIDRange) {
			t.Errorf("%v.SeqNo() error %v, want ErrIDRange", bad, err)
		}
	}
	// Order is preserved and the round trip is exact over the whole range.
	r := rand.New(rand.NewPCG(1, 2))
	rnd := func() ID {
		return ID{Ms: r.Uint64N(MaxPackedMs + 1), Seq: r.Uint64N(MaxPackedSeq + 1)}
	}
	for range 100000 {
		a, b := rnd(), rnd()
		if r.IntN(4) == 0 {
			b.Ms = a.Ms
		}
		na, _ := a.SeqNo()
		nb, _ := b.SeqNo()
		if IDFromSeqNo(na) != a {
			t.Fatalf("round trip of %v", a)
		}
		cmp := 0
		switch {
		case na < nb:
			cmp = -1
		case na > nb:
			cmp = 1
		}
		if cmp != a.Compare(b) {
			t.Fatalf("%v vs %v: seq order %d, id order %d", a, b, cmp, a.Compare(b))
		}
	}
}

func TestPrevAndAfterTime(t *testing.T) {
	cases := []struct{ in, want ID }{
		{ID{5, 3}, ID{5, 2}},
		{ID{5, 0}, ID{4, math.MaxUint64}},
		{ID{0, 0}, ID{0, 0}},
	}
	for _, c := range cases {
		if got := c.in.prev(); got != c.want {
			t.Errorf("%v.prev() = %v, want %v", c.in, got, c.want)
		}
	}
	if got := afterTime(time.UnixMilli(1000).Add(500 * time.Microsecond)); got != (ID{1000, math.MaxUint64}) {
		t.Errorf("afterTime(1000.5ms) = %v", got)
	}
	if got := afterTime(time.Unix(-5, 0)); got != (ID{}) {
		t.Errorf("afterTime(before 1970) = %v", got)
	}
}

func FuzzParseID(f *testing.F) {
	for _, s := range []string{"0-0", "1-1", "1678280595282-7", "1-", "-", "99999999999999999999-1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, err := ParseID(s)
		if err != nil {
			return
		}
		again, err := ParseID(id.String())
		if err != nil || again != id {
			t.Fatalf("%q: re-parse of %q gave %v, %v", s, id.String(), again, err)
		}
	})
}

// TestParseDecimal compares parseDecimal with strconv.ParseUint at the
// edges of 64 bits.
func TestParseDecimal(t *testing.T) {
	for _, s := range []string{"0", "7", "00012", "18446744073709551615", "18446744073709551616",
		"99999999999999999999", "9999999999999999999", "10000000000000000000", "184467440737095516150",
		"", "-1", "+1", "1a", " 1", "0x10"} {
		got, err := parseDecimal(s)
		want, werr := strconv.ParseUint(s, 10, 64)
		plain := s != "" && strings.Trim(s, "0123456789") == ""
		if (err == nil) != (werr == nil && plain) || (err == nil && got != want) {
			t.Errorf("parseDecimal(%q) = %d, %v; strconv: %d, %v", s, got, err, want, werr)
		}
	}
}
