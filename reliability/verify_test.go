package reliability

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/seastream/ss/format"
	"github.com/seastream/ss/ssfile"
)

// sameMessages reports whether the report holds exactly want.
func sameMessages(t *testing.T, rep *Report, want []rec) {
	t.Helper()
	if len(rep.Messages) != len(want) {
		t.Fatalf("%d messages, want %d (problems: %v)", len(rep.Messages), len(want), rep.Problems)
	}
	for i, m := range rep.Messages {
		if m.MessageHeader != want[i].h || !bytes.Equal(m.Payload, want[i].payload) {
			t.Fatalf("message %d: %+v, want %+v", i, m.MessageHeader, want[i].h)
		}
	}
}

// TestVerifyVectors: the files SeaStreamer wrote are sound, even by the
// strict rules.
func TestVerifyVectors(t *testing.T) {
	paths, _ := filepath.Glob("../testdata/*.ss")
	if len(paths) == 0 {
		t.Fatal("no test vectors in ../testdata")
	}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		rep := Verify(data, Options{Strict: true})
		if err := rep.Err(); err != nil {
			t.Errorf("%s: %v", p, err)
		}
		r, err := ssfile.NewBytesReader(data)
		if err != nil {
			t.Fatal(err)
		}
		want, err := readAll(r)
		if err != nil {
			t.Fatal(err)
		}
		sameMessages(t, rep, want)
		if filepath.Base(p) == "consumer.ss" && (rep.Beacons != 4 || rep.Markers != 4) {
			t.Errorf("consumer.ss: %d beacons, %d markers checked, want 4 and 4", rep.Beacons, rep.Markers)
		}
	}
}

// TestVerifySound: files written by ssfile at several intervals, with many
// streams, pass every check and give back every message.
func TestVerifySound(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, interval := range []uint32{128, 200, 1024, 4096} {
		msgs := genMessages(rng, genSpec{n: 300, streams: 9, shards: 3, maxPayload: 600})
		data := layoutFile(t, msgs, interval)
		rep := Verify(data, Options{Strict: true})
		if err := rep.Err(); err != nil {
			t.Fatalf("interval %d: %v", interval, err)
		}
		sameMessages(t, rep, msgs)
		if want := (len(data) - 1) / int(interval); rep.Beacons != want {
			t.Errorf("interval %d: %d beacons, want %d", interval, rep.Beacons, want)
		}
		if interval >= 1024 && rep.Markers < rep.Beacons {
			t.Errorf("interval %d: %d markers checked in %d beacons", interval, rep.Markers, rep.Beacons)
		}
	}
}

// damage is one change to a sound file and what Verify must say of it.
type damage struct {
	name   string
	change func(data []byte, lbl []label) int64 // returns the offset Verify must report
	want   error
	lost   int // messages Verify may not give back
}

// fieldAt returns the offset of the nth byte labelled field in region.
func fieldAt(lbl []label, region, field string, nth int) int {
	for i, l := range lbl {
		if l.region == region && l.field == field {
			if nth == 0 {
				return i
			}
			nth--
		}
	}
	panic("no such field: " + field)
}

// frameStart returns the offset where the frame holding byte i starts.
func frameStart(lbl []label, i int) int64 {
	for j := i; j >= 0; j-- {
		if lbl[j].field == "key length" && lbl[j].frame == lbl[i].frame {
			return int64(j)
		}
	}
	return -1
}

// beaconStart returns the offset of the beacon holding byte i.
func beaconStart(lbl []label, i int) int64 {
	for j := i; j >= 0; j-- {
		if lbl[j].field == "start 0x0D" {
			return int64(j)
		}
	}
	return -1
}

func TestVerifyFindsDamage(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	msgs := genMessages(rng, genSpec{n: 200, streams: 4, shards: 2, maxPayload: 300})
	sound := layoutFile(t, msgs, 1024)
	lbl := labelFile(t, sound)
	mid := len(msgs) / 2
	inFrame := func(field string) int {
		for i, l := range lbl {
			if l.frame == mid && l.field == field {
				return i
			}
		}
		panic(field)
	}
	for _, d := range []damage{
		{"payload bit", func(b []byte, lbl []label) int64 {
			i := inFrame("payload")
			b[i] ^= 0x10
			return frameStart(lbl, i)
		}, format.ErrChecksum, 1},
		{"checksum bit", func(b []byte, lbl []label) int64 {
			i := inFrame("checksum")
			b[i] ^= 0x01
			return frameStart(lbl, i)
		}, format.ErrChecksum, 1},
		{"key to an invalid character", func(b []byte, lbl []label) int64 {
			i := inFrame("key")
			b[i] = '/'
			return frameStart(lbl, i)
		}, format.ErrInvalidStreamKey, 1},
		{"key to another stream", func(b []byte, lbl []label) int64 {
			i := inFrame("key") + 1 // s0..s3: the digit
			b[i] = '0' + (b[i]-'0'+1)%4
			return -1 // found at a later marker
		}, nil, 0},
		{"size field", func(b []byte, lbl []label) int64 {
			i := inFrame("payload size") + 2
			b[i] ^= 0x04
			return frameStart(lbl, i)
		}, nil, 1},
		{"seq", func(b []byte, lbl []label) int64 {
			i := inFrame("seq") + 7
			b[i] ^= 0x02
			return frameStart(lbl, i)
		}, ErrSeqOrder, 0},
		{"terminator", func(b []byte, lbl []label) int64 {
			i := inFrame("terminator")
			b[i] = 0
			return frameStart(lbl, i)
		}, format.ErrTerminator, 1},
		{"marker running checksum", func(b []byte, lbl []label) int64 {
			i := fieldAt(lbl, regionBeacon, "marker running checksum", 6)
			b[i] ^= 0x80
			return beaconStart(lbl, i)
		}, ErrRunningChecksum, 0},
		{"marker seq", func(b []byte, lbl []label) int64 {
			i := fieldAt(lbl, regionBeacon, "marker seq", 3*8+7)
			b[i] ^= 0x01
			return beaconStart(lbl, i)
		}, ErrMarker, 0},
		{"beacon remaining", func(b []byte, lbl []label) int64 {
			i := fieldAt(lbl, regionBeacon, "remaining bytes", 5*4+3)
			b[i] ^= 0x01
			return beaconStart(lbl, i)
		}, ErrRemaining, 0},
		{"beacon terminator", func(b []byte, lbl []label) int64 {
			i := fieldAt(lbl, regionBeacon, "end 0x0D", 2)
			b[i] = 0
			return beaconStart(lbl, i)
		}, format.ErrTerminator, 0},
		{"header padding", func(b []byte, lbl []label) int64 {
			b[fieldAt(lbl, regionHeader, "padding", 10)] = 1
			return 0
		}, format.ErrHeaderPadding, len(msgs)},
		{"torn tail", func(b []byte, lbl []label) int64 { return -2 }, ErrTornTail, 1},
	} {
		t.Run(d.name, func(t *testing.T) {
			data := bytes.Clone(sound)
			off := d.change(data, lbl)
			if off == -2 {
				data = data[:len(data)-5]
				off = frameStart(lbl, len(data))
			}
			rep := Verify(data, Options{Strict: true})
			if len(rep.Problems) == 0 {
				t.Fatal("no problem found")
			}
			if d.want != nil && !errors.Is(rep.Problems[0], d.want) {
				t.Errorf("first problem %v, want %v", rep.Problems[0], d.want)
			}
			if off >= 0 && rep.Problems[0].Offset != off {
				t.Errorf("first problem at %d, want %d: %v", rep.Problems[0].Offset, off, rep.Problems[0])
			}
			// Every message not damaged is still found.
			found := make(map[int64]bool)
			for _, m := range rep.Messages {
				found[m.Offset] = true
			}
			starts, _ := frameBounds(t, sound)
			missing := 0
			for _, s := range starts {
				if !found[s] {
					missing++
				}
			}
			if missing > d.lost {
				t.Errorf("%d messages not given back, at most %d may be (problems: %v)", missing, d.lost, rep.Problems)
			}
		})
	}
}

// TestVerifyNoPanic runs Verify over random and mangled bytes.
func TestVerifyNoPanic(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	msgs := genMessages(rng, genSpec{n: 60, streams: 3, shards: 2, maxPayload: 400})
	sound := layoutFile(t, msgs, 128)
	for range 300 {
		data := bytes.Clone(sound)
		for range 1 + rng.IntN(20) {
			switch i := rng.IntN(len(data)); rng.IntN(3) {
			case 0:
				data[i] = byte(rng.Uint32())
			case 1:
				if i+4 <= len(data) {
					binary.BigEndian.PutUint32(data[i:], rng.Uint32())
				}
			default:
				data = data[:i]
			}
			if len(data) < 8 {
				break
			}
		}
		Verify(data, Options{Strict: true})
		Verify(data, Options{})
	}
}
