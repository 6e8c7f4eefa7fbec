package sscheck

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/seastream/ss/format"
)

// The header has four parts a reading can check: the magic bytes and the
// version, the file name length, the padding and final 0x0D, and the beacon
// interval, which the beacons confirm. A flipped bit damages one of them.
// readHeader takes the header as stored when nothing says otherwise;
// otherwise it weighs every reading in which at most one part is damaged:
// the bytes as stored, with one bit of the name length flipped back, or
// with one bit of the beacon interval flipped back.

// reading is one way of reading the header.
type reading struct {
	h         format.Header // FileName as stored, which may not be UTF-8
	nameLen   int
	storedIv  uint32 // the interval as stored where nameLen puts it
	nFlipped  bool   // nameLen is one bit away from the stored length
	ivFlipped bool   // h.BeaconInterval is one bit away from storedIv
	padBad    bool   // the padding or the final 0x0D is damaged
	found     int    // beacons found among those the interval places (see beaconsAt)
	placed    int
}

// confirmed reports whether the beacons stand where the reading's interval
// places them, and it places some.
func (r *reading) confirmed() bool { return r.placed > 0 && r.found == r.placed }

func (r *reading) asStored() bool { return !r.nFlipped && !r.ivFlipped }

// readHeader reads the file header of data. Damage that leaves the file
// readable is returned as problems (ErrHeader), with a header whose fields
// are usable for rewriting the file: an invalid file name has its bad bytes
// replaced by '?', an impossible creation time becomes 0, and a damaged
// name length or beacon interval is replaced by the one the file confirms.
//
// The header as stored is taken, without more work, when its magic bytes,
// version, name length and interval read, the beacons stand where its
// interval places them, and no reading one bit away puts beacons where they
// stand and it puts none. Otherwise each reading with at most one damaged
// part, and an interval the beacons confirm or that places no beacon in the
// file, is tried by scanning the file with it until a problem shows (at most
// a few dozen readings, most of them stopped at the first beacon out of
// place): the one that reads the file soundly is taken. When none does (the
// file is damaged beyond its header too) or more than one does, the header
// as stored is taken if it reads, else the reading whose beacons stand.
//
// It fails, with an error matching ErrHeader, when the file is shorter than
// a header, or when no such reading is left: the header as stored does not
// read (bad magic bytes or version, a name length over
// format.MaxFileNameLen, an interval under format.MinBeaconInterval) and no
// reading with a single damaged part reads the file soundly or has its
// beacons where it places them. release is passed to the trial scans, and
// the state the file goes on from (cfg's From) too.
func readHeader(b []byte, release func(lo, hi int64), cfg config) (format.Header, []*Problem, error) {
	if len(b) < format.HeaderSize {
		switch {
		case len(b) == 0:
			return format.Header{}, nil, fmt.Errorf("%w: the file is empty", ErrHeader)
		case b[0] != 0x53 || len(b) > 1 && b[1] != 0x73:
			return format.Header{}, nil, fmt.Errorf("%w: %w", ErrHeader, format.ErrMagic)
		case len(b) > 2 && b[2] != format.Version:
			return format.Header{}, nil, fmt.Errorf("%w: %w", ErrHeader, &format.VersionError{Version: b[2]})
		}
		return format.Header{}, nil, fmt.Errorf("%w: the file has %d bytes, fewer than the %d of a header", ErrHeader, len(b), format.HeaderSize)
	}
	magicBad := b[0] != 0x53 || b[1] != 0x73 || b[2] != format.Version
	rs := readings(b, magicBad)
	r, why, err := choose(b, rs, magicBad, release, cfg.seed)
	if err != nil {
		return format.Header{}, nil, err
	}
	return r.h, headerProblems(b, r, magicBad, why), nil
}

// readings returns the readings of the header with at most one damaged
// part, the one as stored first when there is one.
func readings(b []byte, magicBad bool) []reading {
	var rs []reading
	for i, n := range flips(uint32(b[3]), 8) {
		if n > format.MaxFileNameLen {
			continue
		}
		rest := b[4+n : format.HeaderSize]
		padBad := rest[len(rest)-1] != format.Terminator
		for _, c := range rest[12 : len(rest)-1] {
			padBad = padBad || c != 0
		}
		stored := binary.BigEndian.Uint32(rest[8:])
		for j, iv := range flips(stored, 32) {
			damaged := 0
			for _, bad := range []bool{magicBad, padBad, i > 0, j > 0} {
				if bad {
					damaged++
				}
			}
			if damaged > 1 || iv < format.MinBeaconInterval {
				continue
			}
			r := reading{
				h:         format.Header{FileName: string(b[4 : 4+n]), CreatedAt: binary.BigEndian.Uint64(rest), BeaconInterval: iv},
				nameLen:   int(n),
				storedIv:  stored,
				nFlipped:  i > 0,
				ivFlipped: j > 0,
				padBad:    padBad,
			}
			r.found, r.placed = beaconsAt(b, int64(iv))
			rs = append(rs, r)
		}
	}
	return rs
}

// flips returns v, then v with each of its low bits flipped in turn.
func flips(v uint32, bits int) []uint32 {
	out := []uint32{v}
	for i := range bits {
		out = append(out, v^1<<i)
	}
	return out
}

// beaconsAt returns how many of the first three beacons the interval iv
// places in data are readable (or cut short by its end), and how many it
// places.
func beaconsAt(data []byte, iv int64) (found, placed int) {
	for off := iv; off < int64(len(data)) && placed < 3; off += iv {
		placed++
		if _, err := format.ScanBeacon(data[off:]); err == nil || errors.Is(err, format.ErrShortInput) {
			found++
		}
	}
	return found, placed
}

// choose picks the reading of the header to scan the file with (see
// readHeader), or returns nil and why none.
func choose(b []byte, rs []reading, magicBad bool, release func(lo, hi int64), seed *State) (*reading, string, error) {
	var stored *reading
	if len(rs) > 0 && rs[0].asStored() {
		stored = &rs[0]
	}
	if stored != nil && !magicBad && stored.found == stored.placed && !elsewhere(rs, stored.h.BeaconInterval) {
		return stored, "", nil
	}
	if stored != nil && sound(b, stored, release, seed) {
		return stored, "", nil
	}
	// Readings whose beacons stand: the one that reads the file soundly,
	// preferring an interval read as stored (with the name length that puts
	// it there) to one flipped back.
	var ok []*reading
	for i := range rs {
		if r := &rs[i]; r != stored && r.confirmed() && sound(b, r, release, seed) {
			ok = append(ok, r)
		}
	}
	best := ok
	if len(best) > 1 {
		best = nil
		for _, r := range ok {
			if !r.ivFlipped {
				best = append(best, r)
			}
		}
	}
	if len(best) == 1 {
		return best[0], fmt.Sprintf("the beacons stand every %d bytes", best[0].h.BeaconInterval), nil
	}
	if len(ok) == 0 {
		// A file too short to reach a beacon confirms no interval: the
		// smallest that places none reads it, when nothing else is
		// damaged. One trial per name length, as the interval does not
		// change such a scan.
		var short []*reading
		for i := 0; i < len(rs); {
			var least *reading
			j := i
			for ; j < len(rs) && rs[j].nameLen == rs[i].nameLen; j++ {
				if r := &rs[j]; r != stored && r.placed == 0 && (least == nil || r.h.BeaconInterval < least.h.BeaconInterval) {
					least = r
				}
			}
			if least != nil && sound(b, least, release, seed) {
				short = append(short, least)
			}
			i = j
		}
		if len(short) == 1 {
			return short[0], fmt.Sprintf("the file is too short to reach a beacon; %d, the smallest interval one bit away that reads it, is taken", short[0].h.BeaconInterval), nil
		}
	}
	if stored != nil && !magicBad {
		return stored, "", nil
	}
	if len(ok) > 0 {
		return ok[0], fmt.Sprintf("the beacons stand every %d bytes (so they do for other readings of the header)", ok[0].h.BeaconInterval), nil
	}
	for i := range rs {
		if r := &rs[i]; r.confirmed() {
			return r, fmt.Sprintf("beacons stand every %d bytes, though the file does not read soundly with that interval either", r.h.BeaconInterval), nil
		}
	}
	switch {
	case magicBad:
		return nil, "", fmt.Errorf("%w: %w, and the rest of the header does not read as a .ss header whose beacons stand where it places them", ErrHeader, headerMagicErr(b))
	case b[3] > format.MaxFileNameLen:
		return nil, "", fmt.Errorf("%w: file name length %d is more than %d, and no length one bit away reads the header", ErrHeader, b[3], format.MaxFileNameLen)
	}
	return nil, "", fmt.Errorf("%w: beacon interval %d is less than %d, and no interval one bit away has beacons where it places them", ErrHeader, binary.BigEndian.Uint32(b[4+int(b[3])+8:]), format.MinBeaconInterval)
}

// elsewhere reports whether a reading's interval, not a multiple of iv,
// places beacons that all stand: the beacons then say iv is wrong.
func elsewhere(rs []reading, iv uint32) bool {
	for i := range rs {
		if rs[i].confirmed() && rs[i].h.BeaconInterval%iv != 0 {
			return true
		}
	}
	return false
}

// sound reports whether the file reads soundly with the header r: a scan
// with it finds no problem beyond the header's own (order problems are not
// counted, as the header does not change them). The scan stops at the
// first problem. seed is the state the file goes on from, if any.
func sound(b []byte, r *reading, release func(lo, hi int64), seed *State) bool {
	w := newWalker(b, r.h, Visitor{Problem: func(p *Problem) error {
		if errors.Is(p, ErrOrder) {
			return nil
		}
		return errUnsound
	}}, release, config{seed: seed})
	// Every search for where messages resume follows a problem, which
	// ends the trial: it is not needed.
	w.recoverBudget = -1
	w.run()
	return w.stop == nil
}

var errUnsound = errors.New("sscheck: unsound")

func headerMagicErr(b []byte) error {
	if b[0] != 0x53 || b[1] != 0x73 {
		return format.ErrMagic
	}
	return &format.VersionError{Version: b[2]}
}

// headerProblems reports the damage of the header read as r, and sets r.h
// for rewriting the file. why says what confirmed a changed interval.
func headerProblems(b []byte, r *reading, magicBad bool, why string) []*Problem {
	var problems []*Problem
	report := func(off int64, f string, args ...any) {
		problems = append(problems, &Problem{Offset: off, End: off, Err: fmt.Errorf("%w: "+f, append([]any{ErrHeader}, args...)...)})
	}
	n := r.nameLen
	if magicBad {
		if b[0] != 0x53 || b[1] != 0x73 {
			report(0, "%v: the magic bytes are 0x%02X 0x%02X; the rest of the header reads", format.ErrMagic, b[0], b[1])
		}
		if b[2] != format.Version {
			report(2, "%v; the rest of the header reads as version %d", &format.VersionError{Version: b[2]}, format.Version)
		}
	}
	if r.nFlipped {
		report(3, "the file name length is %d; the header reads whole only with %d (%s)", b[3], n, why)
	}
	if r.ivFlipped {
		report(int64(4+n+8), "the header says beacon interval %d; %s", r.storedIv, why)
	}
	if !utf8.ValidString(r.h.FileName) {
		report(4, "the file name %q is not valid UTF-8", r.h.FileName)
		r.h.FileName = strings.ToValidUTF8(r.h.FileName, "?")
	}
	if r.h.CreatedAt > format.MaxTimestamp {
		report(int64(4+n), "creation time %d ms is after year 9999; a rewritten file gets 0", r.h.CreatedAt)
		r.h.CreatedAt = 0
	}
	rest := b[4+n : format.HeaderSize]
	for i, c := range rest[12 : len(rest)-1] {
		if c != 0 {
			report(int64(4+n+12+i), "padding byte is 0x%02X, not 0", c)
			break
		}
	}
	if c := rest[len(rest)-1]; c != format.Terminator {
		report(format.HeaderSize-1, "the header ends with 0x%02X, not 0x0D", c)
	}
	return problems
}
