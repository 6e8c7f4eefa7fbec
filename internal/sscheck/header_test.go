package sscheck

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/seastream/ss/format"
)

// TestHeaderDamage: damage to one part of the header (magic bytes and
// version, name length, padding and terminator, beacon interval) is
// reported and the file read with the header the rest of it and the
// beacons confirm; damage to two parts, or to bytes that are no header, is
// fatal.
func TestHeaderDamage(t *testing.T) {
	h := header(1024) // file name "test.ss": name length 7, interval at 19
	msgs := randomMessages(5, 20, 100)
	data := build(t, h, msgs)
	for _, tc := range []struct {
		name  string
		off   []int
		val   []byte
		fatal bool
		at    int64 // where the header problem is reported
	}{
		{"magic", []int{0}, []byte{'X'}, false, 0},
		{"version", []int{2}, []byte{2}, false, 2},
		{"name length 7 → 6", []int{3}, []byte{6}, false, 3},
		{"name length 7 → 71", []int{3}, []byte{71}, false, 3},
		{"name length 7 → 135", []int{3}, []byte{135}, false, 3},
		{"name length 7 → 200", []int{3}, []byte{200}, true, 0},
		{"file name byte: invalid UTF-8", []int{4}, []byte{0xFF}, false, 4},
		{"interval 1024 → 0", []int{21}, []byte{0}, false, 19},
		{"interval 1024 → 3072", []int{21}, []byte{0x0C}, false, 19},
		{"interval 1024 → 1025", []int{22}, []byte{1}, false, 19},
		{"interval 1024 → 1024+2^24", []int{19}, []byte{1}, false, 19},
		{"interval 1024 → 0x1000400, byte 20 also damaged", []int{19, 20}, []byte{1, 1}, false, -1},
		{"padding", []int{60}, []byte{1}, false, 60},
		{"final 0x0D", []int{127}, []byte{0}, false, 127},
		{"magic and padding", []int{0, 60}, []byte{'X', 1}, true, 0},
		{"version and interval 1024 → 0", []int{2, 21}, []byte{2, 0}, true, 0},
	} {
		bad := slices.Clone(data)
		for i, off := range tc.off {
			bad[off] = tc.val[i]
		}
		r := scan(bad)
		if tc.fatal {
			if !errors.Is(r.err, ErrHeader) {
				t.Errorf("%s: err %v, want ErrHeader", tc.name, r.err)
			}
			continue
		}
		if tc.at < 0 {
			// Two bits of the interval damaged: no interval one bit away
			// is confirmed, so it stays as stored, and the beacons it
			// misses are reported.
			if r.err != nil || len(r.problems) == 0 || r.sum.Header.BeaconInterval != 0x01010400 {
				t.Errorf("%s: err %v, interval %d, problems %v", tc.name, r.err, r.sum.Header.BeaconInterval, r.problems)
			}
			continue
		}
		if r.err != nil || len(r.problems) != 1 || !errors.Is(r.problems[0], ErrHeader) || r.problems[0].Offset != tc.at || len(r.messages) != len(msgs) {
			t.Errorf("%s: err %v, problems %v, %d messages", tc.name, r.err, r.problems, len(r.messages))
			continue
		}
		sameMessages(t, r.messages, msgs)
		if err := r.sum.Header.Validate(); err != nil {
			t.Errorf("%s: the header for rewriting is not valid: %v", tc.name, err)
		}
		if r.sum.Header.BeaconInterval != h.BeaconInterval {
			t.Errorf("%s: interval %d, want %d", tc.name, r.sum.Header.BeaconInterval, h.BeaconInterval)
		}
	}
	for name, b := range map[string][]byte{
		"empty":                 nil,
		"shorter than a header": data[:100],
		"text":                  bytes.Repeat([]byte("not a .ss file at all\n"), 20),
		"zeros":                 make([]byte, 4096),
	} {
		if r := scan(b); !errors.Is(r.err, ErrHeader) {
			t.Errorf("%s: %v", name, r.err)
		}
	}
}

// TestHeaderFlipsRepair flips every bit of the header of files at several
// intervals, and repairs them: a flip in the magic bytes, version, name
// length, beacon interval, padding or terminator gives back the original
// file byte for byte; a flip in the file name or creation time, a file
// with every message and the header as read (a name made valid UTF-8, an
// impossible creation time 0).
func TestHeaderFlipsRepair(t *testing.T) {
	dir := t.TempDir()
	for _, iv := range []uint32{128, 1024, 4096} {
		h := header(iv)
		msgs := randomMessages(uint64(iv)+3, 60, 300)
		data := build(t, h, msgs)
		n := len(h.FileName)
		in, out := filepath.Join(dir, "in.ss"), filepath.Join(dir, "out.ss")
		for off := range format.HeaderSize {
			for bit := range 8 {
				if testing.Short() && bit != off%8 {
					continue // one bit of each byte
				}
				desc := fmt.Sprintf("interval %d, header byte %d bit %d", iv, off, bit)
				bad := slices.Clone(data)
				bad[off] ^= 1 << bit
				if err := os.WriteFile(in, bad, 0o644); err != nil {
					t.Fatal(err)
				}
				var problems []*Problem
				sum, err := Repair(in, RepairOptions{Out: out, Force: true}, func(p *Problem) error {
					problems = append(problems, p)
					return nil
				})
				if err != nil {
					t.Fatalf("%s: %v", desc, err)
				}
				if sum.Messages != int64(len(msgs)) {
					t.Fatalf("%s: kept %d of %d messages; %v", desc, sum.Messages, len(msgs), problems)
				}
				got, err := os.ReadFile(out)
				if err != nil {
					t.Fatal(err)
				}
				inName := off >= 4 && off < 4+n+8
				if !inName {
					if len(problems) != 1 || !errors.Is(problems[0], ErrHeader) {
						t.Errorf("%s: problems %v, want one ErrHeader", desc, problems)
					}
					if !bytes.Equal(got, data) {
						t.Errorf("%s: the repaired file differs from the original; problems %v", desc, problems)
					}
					continue
				}
				want := h
				want.FileName = string(bad[4 : 4+n])
				want.CreatedAt = binary.BigEndian.Uint64(bad[4+n:])
				if len(problems) > 0 {
					want.FileName = strings.ToValidUTF8(want.FileName, "?")
					if want.CreatedAt > format.MaxTimestamp {
						want.CreatedAt = 0
					}
				}
				r := scan(got)
				if len(r.problems) != 0 || r.sum.Header != want {
					t.Errorf("%s: the repaired file has header %+v, want %+v; problems %v", desc, r.sum.Header, want, r.problems)
				}
				sameMessages(t, r.messages, msgs)
			}
		}
	}
}
