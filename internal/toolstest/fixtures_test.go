package toolstest

import (
	"strings"
	"testing"

	"github.com/seastream/ss/beacon"
	"github.com/seastream/ss/format"
)

// The fixtures are .ss files laid out by the writer's rules (beacon.Muxer),
// committed in testdata/ so that SeaStreamer's own ss-decode can be run on
// them (see TestDecodeMatchesReference). TestFixtures checks that they are
// what the generators below make.

type entry struct {
	key     string
	shard   uint64
	payload string
}

// jsonPayloads are payloads that probe how serde_json reads and prints a
// value: key order, duplicates, every number form, escapes, and what it
// rejects (printed as strings instead).
var jsonPayloads = []string{
	`{"b":1,"a":2}`,
	`{"a":1,"a":2}`,
	`{"z":{"y":[3,2,1],"x":null},"é":true,"A":false,"_":"u","aa":{},"":[]}`,
	`{ "spaced" : [ 1 , 2 ] , "tabs"	:	"x" }`,
	`[1, 2.50, -0, 1e16, 1e15, 0.000001, 0.00001, -1.5e-7, 100, 1E2, 12.5e-1]`,
	`[1E400]`,
	`[0e99999999999, 1e-99999999999, -1e-400, 0.0, -0.0]`,
	`123`,
	`-9223372036854775808`,
	`-9223372036854775809`,
	`18446744073709551615`,
	`18446744073709551616`,
	`123456789012345678901234567890`,
	`18446744073709551619.5`,
	`0.30000000000000004`,
	`0.1234567890123456789`,
	`9007199254740993`,
	`1.00000000000000011102230246251565404236316680908203125`,
	`8.988465674311579e307`,
	`2.4e-320`,
	`1.7976931348623157e308`,
	`2.2250738585072014e-308`,
	`7.2057594037927933e16`,
	`1e23`,
	`3.141592653589793238462643383279`,
	`[5e-324, 4.9e-324, 123.456e-300, 9.999999999999999e22, 1.5e300, 6.02214076e23]`,
	`"just a string"`,
	`"esc \u00e9 \ud83d\ude00 \/ \" \\ \b\f\n\r\t \u0001 \u001F \u007f \u2028"`,
	` "padded" `,
	`true`,
	` null `,
	`{"x":1,}`,
	`{"a" 1}`,
	`"\ud800"`,
	`"\udc00x"`,
	`[[[[[[[[[[]]]]]]]]]]`,
	strings.Repeat("[", 127) + strings.Repeat("]", 127),
	strings.Repeat("[", 128) + strings.Repeat("]", 128),
	`01`,
	`1.`,
	`-`,
	`0x10`,
	"{\"ctl\":\"raw\x01control\"}",
}

// textPayloads are UTF-8 payloads that are not JSON.
var textPayloads = []string{
	"message-1",
	"hello \"world\"\twith\ttabs",
	"</script>&<",
	"é€😀",
	"with\x01control and \x7f del",
	"line1\nline2",
	"",
	"  ",
	"trailing backslash \\",
}

// binaryPayloads are not valid UTF-8.
var binaryPayloads = []string{
	"\x00\x01\x02\xff",
	"\xff\xfe",
	"\xc3\x28",
	"valid start then \xed\xa0\x80 surrogate",
	func() string {
		b := make([]byte, 256)
		for i := range b {
			b[i] = byte(i)
		}
		return string(b)
	}(),
}

const baseTime = 1685973353000 // 2023-06-05T13:55:53.000Z

// layout writes the entries as the writer does.
func layout(t testing.TB, name string, iv uint32, entries []entry) []byte {
	t.Helper()
	h := format.Header{FileName: name, CreatedAt: baseTime, BeaconInterval: iv}
	mux := beacon.NewMuxer(iv, 0, nil)
	data, err := mux.AppendHeader(nil, h)
	if err != nil {
		t.Fatal(err)
	}
	seq := map[string]uint64{}
	// Timestamps step so that the fractions print in every form: .0, .1,
	// .12, .123, .001.
	steps := []uint64{1, 99, 20, 3, 877, 1000, 120, 1}
	ts := uint64(baseTime)
	for i, e := range entries {
		id := e.key + "/" + string(rune('0'+e.shard))
		seq[id]++
		ts += steps[i%len(steps)]
		if e.key == format.InternalStreamKey {
			seq[id] = 0
		}
		h := format.MessageHeader{StreamKey: e.key, ShardID: e.shard, SeqNo: seq[id], Timestamp: ts}
		if data, _, err = mux.AppendMessage(data, h, []byte(e.payload)); err != nil {
			t.Fatal(err)
		}
	}
	return data
}

var eos = entry{format.InternalStreamKey, 0, format.EndOfStream}

// fixtures returns the name and bytes of every fixture.
func fixtures(t testing.TB) map[string][]byte {
	out := map[string][]byte{}

	// mixed.ss: JSON and text payloads over four streams, a payload larger
	// than the interval, an end-of-stream message.
	var mixed []entry
	keys := []entry{{"hello", 0, ""}, {"json", 0, ""}, {"json", 3, ""}, {"orders.eu-1", 1, ""}}
	for i, p := range append(append([]string{}, jsonPayloads...), textPayloads...) {
		k := keys[i%len(keys)]
		mixed = append(mixed, entry{k.key, k.shard, p})
		if i == 10 {
			mixed = append(mixed, entry{"hello", 0, strings.Repeat("0123456789", 250)})
		}
	}
	mixed = append(mixed, eos)
	out["mixed.ss"] = layout(t, "mixed \"quoted\" é.ss", 1024, mixed)

	// tiny.ss: the smallest interval, so beacons fall inside headers, sizes
	// and checksums, messages span several beacons and some end right at one.
	var tiny []entry
	for i := range 60 {
		k := []string{"a", "bb", "ccc"}[i%3]
		tiny = append(tiny, entry{k, uint64(i % 2), strings.Repeat("x", (i*37)%150)})
	}
	tiny = append(tiny, eos)
	out["tiny.ss"] = layout(t, "tiny", 128, tiny)

	// binary.ss: binary payloads, and messages after an end-of-stream
	// message, which SeaStreamer does not print.
	var bin []entry
	for i, p := range append(append([]string{}, binaryPayloads...), textPayloads...) {
		bin = append(bin, entry{"bin", uint64(i % 2), p})
	}
	bin = append(bin, eos, entry{"after", 0, "never printed"})
	out["binary.ss"] = layout(t, "binary.ss", 1024, bin)

	// torn.ss: tiny.ss cut in the middle of a message.
	out["torn.ss"] = out["tiny.ss"][:2000]
	return out
}
