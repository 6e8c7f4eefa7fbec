package redis

import (
	"math"
	"strconv"
	"time"

	"github.com/seastream/ss/streamer/driver"
)

// ID is a Redis stream entry id, written "<ms>-<seq>": the entry's time in
// milliseconds since the Unix epoch and a counter within that millisecond.
type ID struct {
	Ms  uint64
	Seq uint64
}

// Limits of the id ↔ sequence number packing (see SeqNo).
const (
	// MaxPackedMs is the largest millisecond part a SeqNo can carry:
	// 2^48-1, in the year 10889.
	MaxPackedMs = 1<<48 - 1
	// MaxPackedSeq is the largest per-millisecond counter a SeqNo can carry:
	// 2^16-1 (65536 entries in one millisecond of one stream).
	MaxPackedSeq = 1<<16 - 1
)

// ParseID parses "<ms>-<seq>" (both parts unsigned decimal, as Redis
// writes them). A bare "<ms>" is not accepted: it is ambiguous (Redis reads
// it as <ms>-0 or <ms>-max depending on the command).
func ParseID(s string) (ID, error) {
	for i := 0; i < len(s); i++ {
		if s[i] != '-' {
			continue
		}
		ms, err1 := parseDecimal(s[:i])
		seq, err2 := parseDecimal(s[i+1:])
		if err1 != nil || err2 != nil {
			break
		}
		return ID{Ms: ms, Seq: seq}, nil
	}
	return ID{}, &IDError{ID: s, Err: ErrInvalidID}
}

// parseDecimal accepts only plain decimal digits (no sign, no prefix), in
// one pass: it runs twice for every entry a consumer reads.
func parseDecimal(s string) (uint64, error) {
	if s == "" || len(s) > 20 {
		return 0, strconv.ErrSyntax
	}
	var n uint64
	for i := 0; i < len(s); i++ {
		d := uint64(s[i] - '0')
		if d > 9 {
			return 0, strconv.ErrSyntax
		}
		// 19 digits always fit in 64 bits; only a 20th can overflow.
		if i == 19 && n > (math.MaxUint64-d)/10 {
			return 0, strconv.ErrRange
		}
		n = n*10 + d
	}
	return n, nil
}

// String returns the id as Redis writes it, "<ms>-<seq>".
func (id ID) String() string {
	return string(id.AppendText(make([]byte, 0, 24)))
}

// AppendText appends the id as "<ms>-<seq>" to b.
func (id ID) AppendText(b []byte) []byte {
	b = strconv.AppendUint(b, id.Ms, 10)
	b = append(b, '-')
	return strconv.AppendUint(b, id.Seq, 10)
}

// Compare returns -1, 0 or +1 as id sorts before, equal to or after o, in
// Redis order.
func (id ID) Compare(o ID) int {
	switch {
	case id.Ms < o.Ms:
		return -1
	case id.Ms > o.Ms:
		return 1
	case id.Seq < o.Seq:
		return -1
	case id.Seq > o.Seq:
		return 1
	}
	return 0
}

// Time returns the millisecond part as a UTC time (the entry's timestamp).
func (id ID) Time() time.Time {
	if id.Ms > math.MaxInt64 {
		return time.UnixMilli(math.MaxInt64).UTC()
	}
	return time.UnixMilli(int64(id.Ms)).UTC()
}

// SeqNo packs the id into a sequence number the way SeaStreamer does:
// ms<<16 | seq. The packing preserves order and is exact for ids with
// Ms <= MaxPackedMs and Seq <= MaxPackedSeq, which covers every id Redis
// generates itself until the year 10889 unless 65536 entries share one
// millisecond. Other ids give an *IDError wrapping ErrIDRange.
func (id ID) SeqNo() (driver.SeqNo, error) {
	if id.Ms > MaxPackedMs || id.Seq > MaxPackedSeq {
		return 0, &IDError{ID: id.String(), Err: ErrIDRange}
	}
	return driver.SeqNo(id.Ms<<16 | id.Seq), nil
}

// IDFromSeqNo is the inverse of ID.SeqNo: it unpacks ms<<16 | seq.
func IDFromSeqNo(n driver.SeqNo) ID {
	return ID{Ms: uint64(n) >> 16, Seq: uint64(n) & MaxPackedSeq}
}

// prev returns the greatest id before id (the exclusive start that makes a
// read return id itself first), or 0-0 for 0-0.
func (id ID) prev() ID {
	switch {
	case id.Seq > 0:
		return ID{Ms: id.Ms, Seq: id.Seq - 1}
	case id.Ms > 0:
		return ID{Ms: id.Ms - 1, Seq: math.MaxUint64}
	}
	return ID{}
}

// next returns the least id after id (id itself for the greatest).
func (id ID) next() ID {
	switch {
	case id.Seq < math.MaxUint64:
		return ID{Ms: id.Ms, Seq: id.Seq + 1}
	case id.Ms < math.MaxUint64:
		return ID{Ms: id.Ms + 1}
	}
	return id
}

// afterTime returns the exclusive start id that makes a read return the
// first entry with a timestamp later than t.
func afterTime(t time.Time) ID {
	ms := t.UnixMilli()
	if ms < 0 {
		// Every entry is later than a time before 1970... except one at
		// 0-x, which is later than any negative time too: start before all.
		return ID{}
	}
	return ID{Ms: uint64(ms), Seq: math.MaxUint64}
}

// timeMs converts a timestamp to the milliseconds of an entry id.
func timeMs(t time.Time) (uint64, bool) {
	ms := t.UnixMilli()
	if ms < 0 {
		return 0, false
	}
	return uint64(ms), true
}
