package format

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
)

func TestChecksumCheckValues(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want uint16
	}{
		{"123456789", 0x4C06},
		{"hello, world", 0x8028},
		{"123456789abcd", 0xA106},
		{"", 0xFFFF},
	} {
		if got := Checksum([]byte(tc.in)); got != tc.want {
			t.Errorf("Checksum(%q) = %#04x, want %#04x", tc.in, got, tc.want)
		}
	}
}

// bytewise is the textbook definition, to check the sliced tables against.
func bytewise(p []byte) uint16 {
	crc := CRCInit
	for _, b := range p {
		crc ^= uint16(b) << 8
		for i := 0; i < 8; i++ {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ crcPoly
			} else {
				crc <<= 1
			}
		}
	}
	return crc
}

func TestChecksumMatchesBitwiseDefinition(t *testing.T) {
	p := make([]byte, 1000)
	for i := range p {
		p[i] = byte(i*131 + i>>3)
	}
	for n := 0; n <= len(p); n += 7 {
		if got, want := Checksum(p[:n]), bytewise(p[:n]); got != want {
			t.Fatalf("len %d: got %#04x want %#04x", n, got, want)
		}
	}
}

func TestRunningChecksum(t *testing.T) {
	// Feeding checksums 0x3132 ("12") and 0x3334 ("34") equals the CRC of "1234".
	r := NewRunningChecksum().Add(0x3132).Add(0x3334)
	if want := Checksum([]byte("1234")); uint16(r) != want {
		t.Fatalf("running checksum %#04x, want %#04x", r, want)
	}
}

func readVector(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("../testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestHeaderVectors(t *testing.T) {
	for _, tc := range []struct {
		file string
		want Header
	}{
		{"sample-1.ss", Header{"vec_map-1694767177436.firedbg.ss", 1694767177437, 1048576}},
		{"consumer.ss", Header{"consumer-1691686154741", 1691686154742, 1024}},
	} {
		b := readVector(t, tc.file)
		h, err := DecodeHeader(b)
		if err != nil {
			t.Fatalf("%s: %v", tc.file, err)
		}
		if h != tc.want {
			t.Fatalf("%s: header %+v, want %+v", tc.file, h, tc.want)
		}
		enc, err := AppendHeader(nil, h)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(enc, b[:HeaderSize]) {
			t.Fatalf("%s: re-encoded header differs\n got %x\nwant %x", tc.file, enc, b[:HeaderSize])
		}
	}
}

func TestHeaderErrors(t *testing.T) {
	good, _ := AppendHeader(nil, Header{"x.ss", 1, 1024})
	mut := func(i int, v byte) []byte {
		b := bytes.Clone(good)
		b[i] = v
		return b
	}
	for _, tc := range []struct {
		name string
		in   []byte
		want error
	}{
		{"empty", nil, ErrShortInput},
		{"short", good[:100], ErrShortInput},
		{"magic", mut(0, 'X'), ErrMagic},
		{"magic2", mut(1, 'X'), ErrMagic},
		{"version", mut(2, 2), ErrUnsupportedVersion},
		{"name too long", mut(3, 112), ErrFileNameTooLong},
		{"name utf8", mut(4, 0xff), ErrInvalidUTF8},
		{"padding", mut(50, 1), ErrHeaderPadding},
		{"terminator", mut(127, 0), ErrHeaderPadding},
		{"interval", mut(4+4+8+2, 0), ErrBeaconInterval},
	} {
		_, err := DecodeHeader(tc.in)
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: err %v, want %v", tc.name, err, tc.want)
		}
	}
	var ve *VersionError
	if _, err := DecodeHeader(mut(2, 9)); !errors.As(err, &ve) || ve.Version != 9 {
		t.Errorf("version error %v", err)
	}
	if _, err := AppendHeader(nil, Header{strings.Repeat("a", 112), 1, 1024}); !errors.Is(err, ErrFileNameTooLong) {
		t.Errorf("112-byte name: %v", err)
	}
	if b, err := AppendHeader(nil, Header{strings.Repeat("a", 111), 1, 1024}); err != nil || len(b) != HeaderSize || b[127] != Terminator {
		t.Errorf("111-byte name: %v", err)
	}
	if _, err := AppendHeader(nil, Header{"a", 1, 127}); !errors.Is(err, ErrBeaconInterval) {
		t.Errorf("interval 127: %v", err)
	}
}

func TestDecodeFirstMessageOfSample(t *testing.T) {
	b := readVector(t, "sample-1.ss")
	m, n, err := DecodeMessage(b[HeaderSize:])
	if err != nil {
		t.Fatal(err)
	}
	if string(m.StreamKey) != "file" || m.ShardID != 0 || m.SeqNo != 1 || m.Timestamp != 1694767177912 ||
		len(m.Payload) != 134 || m.Checksum != 0xEFF5 {
		t.Fatalf("unexpected message %+v", m.Header())
	}
	if n != MessageSize(4, 134) {
		t.Fatalf("size %d", n)
	}
	re, sum, err := AppendMessage(nil, m.Header(), m.Payload)
	if err != nil || sum != 0xEFF5 || !bytes.Equal(re, b[HeaderSize:HeaderSize+n]) {
		t.Fatalf("re-encode: %v %#x", err, sum)
	}
}

func TestMessageErrors(t *testing.T) {
	good, _, err := AppendMessage(nil, MessageHeader{"key", 1, 2, 3}, []byte("payload"))
	if err != nil {
		t.Fatal(err)
	}
	mut := func(i int, v byte) []byte {
		b := bytes.Clone(good)
		b[i] = v
		return b
	}
	for i := 0; i < len(good); i++ {
		if _, _, err := DecodeMessage(good[:i]); !errors.Is(err, ErrShortInput) {
			t.Fatalf("cut at %d: %v", i, err)
		}
	}
	for _, tc := range []struct {
		name string
		in   []byte
		want error
	}{
		{"key char", mut(2, '/'), ErrInvalidStreamKey},
		{"key len", mut(0, 250), ErrInvalidStreamKey},
		{"timestamp", mut(1+3+16, 0xff), ErrTimestampRange},
		{"payload", mut(1+3+24+4, 'P'), ErrChecksum},
		{"checksum", mut(len(good)-2, 0), ErrChecksum},
		{"terminator", mut(len(good)-1, 0), ErrTerminator},
	} {
		_, _, err := DecodeMessage(tc.in)
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: err %v, want %v", tc.name, err, tc.want)
		}
	}
	var ce *ChecksumError
	if _, _, err := DecodeMessage(mut(len(good)-3, 0)); !errors.As(err, &ce) || ce.Computed != Checksum([]byte("payload")) {
		t.Errorf("checksum error: %v", err)
	}
	if _, _, err := AppendMessage(nil, MessageHeader{"bad key", 0, 0, 0}, nil); !errors.Is(err, ErrInvalidStreamKey) {
		t.Errorf("encode bad key: %v", err)
	}
	if _, _, err := AppendMessage(nil, MessageHeader{strings.Repeat("k", 250), 0, 0, 0}, nil); !errors.Is(err, ErrInvalidStreamKey) {
		t.Errorf("encode long key: %v", err)
	}
	if _, _, err := AppendMessage(nil, MessageHeader{"k", 0, 0, MaxTimestamp + 1}, nil); !errors.Is(err, ErrTimestampRange) {
		t.Errorf("encode big timestamp: %v", err)
	}
}

func TestBeaconOfConsumerVector(t *testing.T) {
	b := readVector(t, "consumer.ss")
	bc, n, err := DecodeBeacon(b[1024:])
	if err != nil {
		t.Fatal(err)
	}
	if bc.Remaining != 39 || len(bc.Markers) != 1 || n != 7+30+2 {
		t.Fatalf("beacon %+v size %d", bc, n)
	}
	mk := bc.Markers[0]
	if mk.StreamKey != "hello" || mk.ShardID != 1 || mk.SeqNo != 20 || mk.Timestamp != 1691686154773 || mk.RunningChecksum != 0x0B47 {
		t.Fatalf("marker %+v", mk)
	}
	re, err := AppendBeacon(nil, &bc)
	if err != nil || !bytes.Equal(re, b[1024:1024+n]) || bc.Size() != n {
		t.Fatalf("re-encode: %v", err)
	}
	for i := 0; i < n; i++ {
		if _, err := ScanBeacon(b[1024 : 1024+i]); !errors.Is(err, ErrShortInput) {
			t.Fatalf("cut at %d: %v", i, err)
		}
	}
	bad := bytes.Clone(b[1024 : 1024+n])
	bad[0] = 0
	if _, err := ScanBeacon(bad); !errors.Is(err, ErrTerminator) {
		t.Fatal(err)
	}
	bad = bytes.Clone(b[1024 : 1024+n])
	bad[n-1] = 0
	if _, err := ScanBeacon(bad); !errors.Is(err, ErrTerminator) {
		t.Fatal(err)
	}
	if _, err := AppendBeacon(nil, &Beacon{Markers: make([]Marker, 256)}); !errors.Is(err, ErrTooManyMarkers) {
		t.Fatal(err)
	}
}

func TestMarkersPerBeacon(t *testing.T) {
	for _, tc := range []struct {
		interval uint32
		want     int
	}{{128, 0}, {640, 1}, {1024, 1}, {1 << 20, 127}, {1 << 30, 127}} {
		if got := MarkersPerBeacon(tc.interval); got != tc.want {
			t.Errorf("MarkersPerBeacon(%d) = %d, want %d", tc.interval, got, tc.want)
		}
	}
}

func TestNoAllocs(t *testing.T) {
	payload := bytes.Repeat([]byte("x"), 256)
	buf := make([]byte, 0, 512)
	h := MessageHeader{"stream", 1, 2, 3}
	frame, _, _ := AppendMessage(nil, h, payload)
	if a := testing.AllocsPerRun(100, func() { _, _, _ = AppendMessage(buf[:0], h, payload) }); a != 0 {
		t.Errorf("AppendMessage allocates %v", a)
	}
	if a := testing.AllocsPerRun(100, func() { _, _, _ = DecodeMessage(frame) }); a != 0 {
		t.Errorf("DecodeMessage allocates %v", a)
	}
}

func BenchmarkChecksum(b *testing.B) {
	for _, n := range []int{256, 64 << 10} {
		p := make([]byte, n)
		b.Run(byteSize(n), func(b *testing.B) {
			b.SetBytes(int64(n))
			for b.Loop() {
				Checksum(p)
			}
		})
	}
}

func BenchmarkChecksumBytewise(b *testing.B) {
	p := make([]byte, 64<<10)
	b.SetBytes(int64(len(p)))
	for b.Loop() {
		crc := CRCInit
		for _, c := range p {
			crc = crcTables[0][byte(crc>>8)^c] ^ crc<<8
		}
	}
}

func byteSize(n int) string {
	if n >= 1024 {
		return fmt.Sprintf("%dKiB", n/1024)
	}
	return fmt.Sprintf("%dB", n)
}
