package stdio

import (
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/seastream/ss/streamer/driver"
)

func ts(s string) time.Time {
	t, err := time.Parse("2006-01-02T15:04:05.999999999", s)
	if err != nil {
		panic(err)
	}
	return t
}

// TestParseLineValid covers the valid examples of SeaStreamer's stdio
// documentation and of its parser's tests, plus edge cases of its grammar.
func TestParseLineValid(t *testing.T) {
	long := strings.Repeat("k", driver.MaxStreamKeyLen)
	cases := []struct {
		line    string
		meta    Meta
		payload string
	}{
		// The documentation's valid examples.
		{`a plain, raw message`, Meta{}, `a plain, raw message`},
		{`[2022-01-01T00:00:00] { "payload": "anything" }`,
			Meta{Timestamp: ts("2022-01-01T00:00:00"), HasTimestamp: true}, `{ "payload": "anything" }`},
		{`[2022-01-01T00:00:00.123 | my_topic] "a string payload"`,
			Meta{Timestamp: ts("2022-01-01T00:00:00.123"), HasTimestamp: true, StreamKey: "my_topic"}, `"a string payload"`},
		{`[2022-01-01T00:00:00 | my-topic-2 | 123] ["array", "of", "values"]`,
			Meta{Timestamp: ts("2022-01-01T00:00:00"), HasTimestamp: true, StreamKey: "my-topic-2", Seq: 123, HasSeq: true}, `["array", "of", "values"]`},
		{`[2022-01-01T00:00:00 | my-topic-2 | 123 | 4] { "payload": "anything" }`,
			Meta{Timestamp: ts("2022-01-01T00:00:00"), HasTimestamp: true, StreamKey: "my-topic-2", Seq: 123, HasSeq: true, Shard: 4, HasShard: true}, `{ "payload": "anything" }`},
		{`[my_topic] a string payload`, Meta{StreamKey: "my_topic"}, `a string payload`},
		{`[my_topic | 123] { "payload": "anything" }`, Meta{StreamKey: "my_topic", Seq: 123, HasSeq: true}, `{ "payload": "anything" }`},
		{`[my_topic | 123 | 4] { "payload": "anything" }`,
			Meta{StreamKey: "my_topic", Seq: 123, HasSeq: true, Shard: 4, HasShard: true}, `{ "payload": "anything" }`},
		// Listed as invalid by SeaStreamer's documentation, but accepted by
		// its parser: a timestamp, then the payload "12345".
		{`[2022-01-01T00:00:00] 12345`, Meta{Timestamp: ts("2022-01-01T00:00:00"), HasTimestamp: true}, `12345`},

		// SeaStreamer's parser tests.
		{`{ "payload": "anything" }`, Meta{}, `{ "payload": "anything" }`},
		{`[2022-01-02T03:04:05.678 | my-fancy_topic.1] ["array", "of", "values"]`,
			Meta{Timestamp: ts("2022-01-02T03:04:05.678"), HasTimestamp: true, StreamKey: "my-fancy_topic.1"}, `["array", "of", "values"]`},

		// No meta: the whole line is the payload, untrimmed.
		{``, Meta{}, ``},
		{`  spaced  `, Meta{}, `  spaced  `},
		{`[] empty brackets`, Meta{}, `[] empty brackets`},
		{`[no closing bracket`, Meta{}, `[no closing bracket`},
		{`x [my_topic] not at the start`, Meta{}, `x [my_topic] not at the start`},
		{`[`, Meta{}, `[`},
		// Meta: parts trimmed, payload trimmed on both sides.
		{"[  my_topic\t|  7 ]\t  payload with ] bracket  ", Meta{StreamKey: "my_topic", Seq: 7, HasSeq: true}, `payload with ] bracket`},
		{`[my_topic]`, Meta{StreamKey: "my_topic"}, ``},
		{`[k|1|2]x`, Meta{StreamKey: "k", Seq: 1, HasSeq: true, Shard: 2, HasShard: true}, `x`},
		{`[k] [nested] brackets`, Meta{StreamKey: "k"}, `[nested] brackets`},
		// A number first is a stream key (keys may be digits).
		{`[123] x`, Meta{StreamKey: "123"}, `x`},
		{`[2022-01-01T00:00:00 | 123] x`, Meta{Timestamp: ts("2022-01-01T00:00:00"), HasTimestamp: true, StreamKey: "123"}, `x`},
		// Rust's u64 parsing accepts a leading "+"; the maximum u64.
		{`[k | +5 | 18446744073709551615] x`, Meta{StreamKey: "k", Seq: 5, HasSeq: true, Shard: 18446744073709551615, HasShard: true}, `x`},
		// Timestamps: 1 to 9 fraction digits, leap day.
		{`[2024-02-29T23:59:59.1] x`, Meta{Timestamp: ts("2024-02-29T23:59:59.1"), HasTimestamp: true}, `x`},
		{`[2022-01-01T00:00:00.123456789 | k] x`, Meta{Timestamp: ts("2022-01-01T00:00:00.123456789"), HasTimestamp: true, StreamKey: "k"}, `x`},
		// Longest key.
		{`[` + long + `] x`, Meta{StreamKey: driver.StreamKey(long)}, `x`},
		// Non-ASCII payload.
		{`[k] héllo wörld ✓`, Meta{StreamKey: "k"}, `héllo wörld ✓`},
	}
	for _, c := range cases {
		m, p, err := ParseLine(c.line)
		if err != nil {
			t.Errorf("ParseLine(%q): %v", c.line, err)
			continue
		}
		if m != c.meta {
			t.Errorf("ParseLine(%q) meta = %+v, want %+v", c.line, m, c.meta)
		}
		if p != c.payload {
			t.Errorf("ParseLine(%q) payload = %q, want %q", c.line, p, c.payload)
		}
	}
}

func TestParseLineInvalid(t *testing.T) {
	cases := []struct {
		line   string
		part   string
		reason string // substring of the reason
		err    error  // errors.Is target
	}{
		// The documentation's invalid example.
		{`[Jan 1, 2022] { "payload": "anything" }`, "Jan 1, 2022", "neither a timestamp", ErrBadMeta},
		// SeaStreamer's parser test: a blank meta.
		{`[ ]`, "", "empty part", ErrBadMeta},
		{`[k | ] x`, "", "empty part", ErrBadMeta},
		{`[| k] x`, "", "empty part", ErrBadMeta},
		// Order matters: a timestamp only comes first; seq needs a key.
		{`[k | 2022-01-01T00:00:00] x`, "2022-01-01T00:00:00", "not a sequence number", ErrBadMeta},
		{`[2022-01-01T00:00:00 | 2022-01-01T00:00:01] x`, "2022-01-01T00:00:01", "not a stream key", ErrBadMeta},
		{`[a | b] x`, "b", "not a sequence number", ErrBadMeta},
		{`[a | 1 | b] x`, "b", "not a shard id", ErrBadMeta},
		{`[a | 1 | 2 | 3] x`, "3", "after the shard", ErrBadMeta},
		{`[a | -1] x`, "-1", "not a sequence number", ErrBadMeta},
		{`[a | 18446744073709551616] x`, "18446744073709551616", "not a sequence number", ErrBadMeta},
		{`[a | ++1] x`, "++1", "not a sequence number", ErrBadMeta},
		{`[my topic] x`, "my topic", "neither", ErrBadMeta},
		{`[a[b] x`, "a[b", "neither", ErrBadMeta},
		// Bad timestamps are neither timestamps nor keys.
		{`[2022-13-01T00:00:00] x`, "2022-13-01T00:00:00", "neither", ErrBadMeta},
		{`[2022-02-29T00:00:00] x`, "2022-02-29T00:00:00", "neither", ErrBadMeta},
		{`[2022-01-01T24:00:00] x`, "2022-01-01T24:00:00", "neither", ErrBadMeta},
		{`[2022-01-01T00:00:60] x`, "2022-01-01T00:00:60", "neither", ErrBadMeta},
		{`[2022-01-01T00:00:00.] x`, "2022-01-01T00:00:00.", "neither", ErrBadMeta},
		{`[2022-01-01T00:00:00.1234567890] x`, "2022-01-01T00:00:00.1234567890", "neither", ErrBadMeta},
		{`[2022-01-01 00:00:00] x`, "2022-01-01 00:00:00", "neither", ErrBadMeta},
		{`[2022-01-01T00:00:00Z] x`, "2022-01-01T00:00:00Z", "neither", ErrBadMeta},
		{`[22-01-01T00:00:00] x`, "22-01-01T00:00:00", "neither", ErrBadMeta},
		// Over-long and reserved keys.
		{`[` + strings.Repeat("k", driver.MaxStreamKeyLen+1) + `] x`, strings.Repeat("k", driver.MaxStreamKeyLen+1), "250 bytes long", driver.ErrInvalidStreamKey},
		{`[SEA_STREAMER_INTERNAL] EOS`, "SEA_STREAMER_INTERNAL", "reserved", driver.ErrReservedStreamKey},
		{`[SEA_STREAMER_WILDCARD | 1] x`, "SEA_STREAMER_WILDCARD", "reserved", driver.ErrReservedStreamKey},
	}
	for _, c := range cases {
		m, p, err := ParseLine(c.line)
		if err == nil {
			t.Errorf("ParseLine(%q) = %+v, %q; want an error", c.line, m, p)
			continue
		}
		var me *MetaError
		if !errors.As(err, &me) {
			t.Errorf("ParseLine(%q) error %T %v, want *MetaError", c.line, err, err)
			continue
		}
		if !errors.Is(err, c.err) {
			t.Errorf("ParseLine(%q) error %v, want errors.Is %v", c.line, err, c.err)
		}
		if me.Part != c.part {
			t.Errorf("ParseLine(%q) part %q, want %q", c.line, me.Part, c.part)
		}
		if !strings.Contains(me.Reason, c.reason) {
			t.Errorf("ParseLine(%q) reason %q, want it to contain %q", c.line, me.Reason, c.reason)
		}
		if !strings.Contains(err.Error(), "[timestamp | stream_key | seq | shard]") {
			t.Errorf("ParseLine(%q) error %q does not show the expected form", c.line, err)
		}
	}
}

func TestAppendLine(t *testing.T) {
	at := time.Date(2023, 6, 5, 13, 55, 53, 1_999_999, time.UTC)
	cases := []struct {
		f    Format
		h    driver.Header
		p    string
		want string
	}{
		// SeaStreamer's producer: seconds, three parts, no shard.
		{Format{}, driver.Header{StreamKey: "hello", Seq: 1, Timestamp: at}, "message-1",
			"[2023-06-05T13:55:53 | hello | 1] message-1\n"},
		{Format{Millis: true}, driver.Header{StreamKey: "hello", Seq: 1, Timestamp: at}, "message-1",
			"[2023-06-05T13:55:53.001 | hello | 1] message-1\n"},
		{Format{}, driver.Header{StreamKey: "clock", Seq: 0, Timestamp: time.Date(2022, 12, 6, 18, 31, 23, 0, time.UTC)}, `{ "tick": 0 }`,
			"[2022-12-06T18:31:23 | clock | 0] { \"tick\": 0 }\n"},
		// A shard other than 0 is written as a fourth part.
		{Format{}, driver.Header{StreamKey: "s", Shard: 7, Seq: 18446744073709551615, Timestamp: at}, "x",
			"[2023-06-05T13:55:53 | s | 18446744073709551615 | 7] x\n"},
		// Other time zones are converted to UTC; small years are padded.
		{Format{}, driver.Header{StreamKey: "s", Timestamp: time.Date(2023, 6, 5, 15, 55, 53, 0, time.FixedZone("CEST", 7200))}, "",
			"[2023-06-05T13:55:53 | s | 0] \n"},
		{Format{Millis: true}, driver.Header{StreamKey: "s", Timestamp: time.Date(7, 1, 2, 3, 4, 5, 6e6, time.UTC)}, "p",
			"[0007-01-02T03:04:05.006 | s | 0] p\n"},
	}
	for _, c := range cases {
		got := string(c.f.AppendLine([]byte("prefix:"), c.h, []byte(c.p)))
		if got != "prefix:"+c.want {
			t.Errorf("AppendLine(%+v, %+v, %q) = %q, want %q", c.f, c.h, c.p, got, "prefix:"+c.want)
		}
	}
}

func TestLineRoundTrip(t *testing.T) {
	for _, f := range []Format{{}, {Millis: true}} {
		for _, h := range []driver.Header{
			{StreamKey: "a", Seq: 0, Timestamp: time.Date(2022, 1, 1, 0, 0, 0, 0, time.UTC)},
			{StreamKey: "a.b-c_d", Shard: 3, Seq: 99, Timestamp: time.Date(2023, 6, 5, 13, 55, 53, 1e6, time.UTC)},
		} {
			for _, p := range []string{"x", `{ "tick": 1 }`, "[k] looks like meta", "", "a | b ] c"} {
				line := f.AppendLine(nil, h, []byte(p))
				m, got, err := ParseLine(strings.TrimSuffix(string(line), "\n"))
				if err != nil {
					t.Fatalf("ParseLine(%q): %v", line, err)
				}
				want := Meta{Timestamp: h.Timestamp.Truncate(f.Precision()), HasTimestamp: true, StreamKey: h.StreamKey,
					Seq: h.Seq, HasSeq: true, Shard: h.Shard, HasShard: h.Shard != 0}
				if m != want || got != p {
					t.Errorf("round trip of %q: %+v %q, want %+v %q", line, m, got, want, p)
				}
			}
		}
	}
}

func TestCheckTimestamp(t *testing.T) {
	if err := CheckTimestamp(time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)); err != nil {
		t.Errorf("year 9999: %v", err)
	}
	for _, y := range []int{-1, 10000} {
		if err := CheckTimestamp(time.Date(y, 1, 1, 0, 0, 0, 0, time.UTC)); !errors.Is(err, ErrBadTimestamp) {
			t.Errorf("year %d: %v, want ErrBadTimestamp", y, err)
		}
	}
}

func FuzzParseLine(f *testing.F) {
	for _, s := range []string{"a plain, raw message", "[2022-01-01T00:00:00.123 | my_topic] x",
		"[my_topic | 123 | 4] { }", "[ ]", "[Jan 1, 2022] x", "[k|+1|2]", "[]", "[2022-02-29T00:00:00]"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		if !utf8.ValidString(line) || strings.ContainsAny(line, "\n") {
			return
		}
		m, p, err := ParseLine(line)
		if err != nil {
			var me *MetaError
			if !errors.As(err, &me) || err.Error() == "" {
				t.Fatalf("ParseLine(%q): error %T %v", line, err, err)
			}
			return
		}
		if !strings.Contains(line, p) {
			t.Fatalf("ParseLine(%q): payload %q is not part of the line", line, p)
		}
		if m.StreamKey == "" || !m.HasTimestamp || !m.HasSeq || p != strings.TrimSpace(p) {
			return
		}
		// A complete meta written back in millisecond form parses the same.
		h := driver.Header{StreamKey: m.StreamKey, Shard: m.Shard, Seq: m.Seq, Timestamp: m.Timestamp}
		f := Format{Millis: true}
		m2, p2, err := ParseLine(strings.TrimSuffix(string(f.AppendLine(nil, h, []byte(p))), "\n"))
		if err != nil || p2 != p || m2.StreamKey != m.StreamKey || m2.Seq != m.Seq || m2.Shard != m.Shard ||
			!m2.Timestamp.Equal(m.Timestamp.Truncate(time.Millisecond)) {
			t.Fatalf("rewrite of %q: %+v %q %v", line, m2, p2, err)
		}
	})
}
