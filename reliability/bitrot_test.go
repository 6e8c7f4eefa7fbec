package reliability

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seastream/ss/format"
	"github.com/seastream/ss/internal/sscheck"
	"github.com/seastream/ss/internal/sstest"
	"github.com/seastream/ss/internal/testkit"
	"github.com/seastream/ss/ssfile"
)

// rotFile is a sound file to damage.
type rotFile struct {
	name     string
	data     []byte
	msgs     []rec
	lbl      []label
	starts   []int64
	byRegion map[string][]int // offsets of the bytes of each region
}

func rotFiles(t *testing.T) []*rotFile {
	rng := rand.New(rand.NewPCG(21, 22))
	var out []*rotFile
	for _, c := range []struct {
		interval uint32
		spec     genSpec
	}{
		{1024, genSpec{n: 100, streams: 6, shards: 2, maxPayload: 300}}, // 1 marker a beacon
		{4096, genSpec{n: 150, streams: 8, shards: 2, maxPayload: 400}}, // 7 markers a beacon
		{128, genSpec{n: 40, streams: 3, shards: 2, maxPayload: 200}},   // beacons with no markers
	} {
		f := &rotFile{name: fmt.Sprintf("interval %d", c.interval), msgs: genMessages(rng, c.spec)}
		if c.interval%1024 == 0 {
			path := tempPath(t, "rot.ss")
			sstest.WriteFile(t, path, f.msgs, ssfile.WithCreatedAt(fixedCreated), ssfile.WithBeaconInterval(c.interval))
			var err error
			if f.data, err = os.ReadFile(path); err != nil {
				t.Fatal(err)
			}
		} else {
			f.data = layoutFile(t, f.msgs, c.interval)
		}
		f.lbl = labelFile(t, f.data)
		f.starts, _ = frameBounds(t, f.data)
		f.byRegion = make(map[string][]int)
		for i, l := range f.lbl {
			f.byRegion[l.region] = append(f.byRegion[l.region], i)
		}
		out = append(out, f)
	}
	return out
}

// bitrotCases is how many flips per region TestBitRot tries:
// SS_BITROT_CASES, 1000 by default.
func bitrotCases(t *testing.T) int {
	s := os.Getenv("SS_BITROT_CASES")
	if s == "" {
		return testkit.Count(1000, 150)
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		t.Fatalf("SS_BITROT_CASES=%q: want a positive number", s)
	}
	return n
}

var rotRegions = []string{regionPayload, regionMsgHeader, regionBeacon, regionHeader}

// rotCase is one bit to flip.
type rotCase struct {
	f      *rotFile
	region string
	off    int
	bit    byte
	target rec // a message to seek to
}

// damaged returns the file with the bit flipped.
func (c rotCase) damaged() []byte {
	data := bytes.Clone(c.f.data)
	data[c.off] ^= c.bit
	return data
}

func (c rotCase) String() string {
	return fmt.Sprintf("%s, %s %s, offset %d, bit %#02x", c.f.name, c.region, c.f.lbl[c.off].field, c.off, c.bit)
}

// damagedFrame returns the offset of the message the flip is in, or -1.
func (c rotCase) damagedFrame() int64 {
	if l := c.f.lbl[c.off]; l.region == regionPayload || l.region == regionMsgHeader {
		return c.f.starts[l.frame]
	}
	return -1
}

// rotCases draws perRegion flips in each region, over the files in turn,
// from a fixed seed per region.
func rotCases(files []*rotFile, perRegion int) []rotCase {
	var cases []rotCase
	for ri, region := range rotRegions {
		rng := rand.New(rand.NewPCG(2024, uint64(ri)))
		for c := range perRegion {
			f := files[c%len(files)]
			offs := f.byRegion[region]
			cases = append(cases, rotCase{f, region, offs[rng.IntN(len(offs))], byte(1) << rng.IntN(8), f.msgs[rng.IntN(len(f.msgs))]})
		}
	}
	return cases
}

// rotRun is what happened when one damaged file was read and verified.
type rotRun struct {
	handed    []rec // messages the reader handed out
	readerErr error
	rep       *checked // what sscheck (strict) found
	alloc     uint64   // bytes the reader allocated
	panicked  any
}

// caseTimeout bounds one case: reading and verifying a file of some ten
// kilobytes takes well under a millisecond; longer is a hang.
const caseTimeout = 20 * time.Second

// readerMu lets one reader run at a time, and nothing else (the check holds
// it shared), so that what a reader allocates is its own.
var readerMu sync.RWMutex

// readDamaged reads data with ssfile (Replay, then a seek and SeekEnd on the
// same bytes) and checks it with sscheck, in a goroutine bounded by
// caseTimeout.
func readDamaged(data []byte, target rec) (run rotRun, hung bool) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer func() { run.panicked = recover() }()
		run.handed, run.alloc, run.readerErr = readBytes(data, target)
		readerMu.RLock()
		defer readerMu.RUnlock()
		run.rep = check(data, sscheck.Strict())
	}()
	timer := time.NewTimer(caseTimeout)
	defer timer.Stop()
	select {
	case <-done:
		return run, false
	case <-timer.C:
		return run, true
	}
}

// readBytes reads data with ssfile and returns the messages handed out, how
// many bytes were allocated, and the error that ended the reading.
func readBytes(data []byte, target rec) (handed []rec, alloc uint64, err error) {
	readerMu.Lock()
	defer readerMu.Unlock()
	// step runs one call and adds what it allocated to alloc.
	step := func(f func()) {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		f()
		runtime.ReadMemStats(&after)
		n := after.TotalAlloc - before.TotalAlloc
		if n > bigAlloc {
			// Give it back at once: reusing it would mean clearing
			// gigabytes, and the test's peak RSS would grow by as much.
			debug.FreeOSMemory()
		}
		alloc += n
	}
	var r *ssfile.Reader
	step(func() { r, err = ssfile.NewBytesReader(data) })
	if err != nil {
		return nil, alloc, err
	}
	defer r.Close()
	step(func() { handed, err = readAll(r) })
	step(func() {
		_ = r.Seek(ssfile.SeqNoTarget(target.Header.StreamKey, target.Header.ShardID, target.Header.SeqNo))
		_, _ = r.Next(context.Background())
	})
	step(func() { _ = r.SeekEnd() })
	return handed, alloc, err
}

// formatErrors are the errors a damaged header gives.
var formatErrors = []error{
	format.ErrShortInput, format.ErrMagic, format.ErrUnsupportedVersion, format.ErrFileNameTooLong,
	format.ErrInvalidUTF8, format.ErrHeaderPadding, format.ErrBeaconInterval, format.ErrTimestampRange,
	format.ErrTerminator,
}

func isFormatErr(err error) bool {
	return slices.ContainsFunc(formatErrors, func(e error) bool { return errors.Is(err, e) })
}

// tally counts outcomes for one region or field.
type tally struct {
	cases, readerCorrupt, readerTorn, detected, harmless, silent int
	handedWrong, salvaged, salvageWrong                          int
}

func (a *tally) add(b tally) {
	a.cases += b.cases
	a.readerCorrupt += b.readerCorrupt
	a.readerTorn += b.readerTorn
	a.detected += b.detected
	a.harmless += b.harmless
	a.silent += b.silent
	a.handedWrong += b.handedWrong
	a.salvaged += b.salvaged
	a.salvageWrong += b.salvageWrong
}

// bigAlloc is far more than reading these files of at most 80 KiB needs.
const bigAlloc = 8 << 20

// TestBitRot flips one random bit per case in each region of sound files and
// classifies what the reader (ssfile, Replay) and sscheck make of it. Every
// flip in a payload must be reported by the reader at the damaged message's
// offset, with the messages before it handed out intact and the damaged one
// never; sscheck must give back every other message. No flip may make either
// panic or hang. SS_BITROT_CASES sets the flips per region (default 1000).
func TestBitRot(t *testing.T) {
	perRegion := bitrotCases(t)
	files := rotFiles(t)
	cases := rotCases(files, perRegion)
	type rotResult struct {
		k       tally
		key     string
		alloced string
		ok      bool
	}
	results := make([]rotResult, len(cases))
	start := time.Now()
	// Two workers: the cases are independent.
	next := make(chan int)
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				c := cases[i]
				l := c.f.lbl[c.off]
				desc := c.String()
				run, hung := readDamaged(c.damaged(), c.target)
				if hung {
					t.Errorf("%s: reading or verifying hung for %v", desc, caseTimeout)
					continue
				}
				if run.panicked != nil {
					t.Errorf("%s: panic: %v", desc, run.panicked)
					continue
				}
				r := rotResult{k: classify(t, c.f, c.off, l, run, desc), key: c.region + ": " + l.field, ok: true}
				if run.alloc > bigAlloc {
					r.alloced = fmt.Sprintf("%s: the reader allocated %d MiB", desc, run.alloc>>20)
				}
				results[i] = r
			}
		}()
	}
	for i := range cases {
		next <- i
	}
	close(next)
	wg.Wait()
	byRegion := make(map[string]*tally)
	byField := make(map[string]*tally)
	var fieldOrder []string
	var bigAllocs []string
	for i, r := range results {
		if !r.ok {
			continue
		}
		region := cases[i].region
		if byRegion[region] == nil {
			byRegion[region] = &tally{}
		}
		byRegion[region].add(r.k)
		if byField[r.key] == nil {
			byField[r.key] = &tally{}
			fieldOrder = append(fieldOrder, r.key)
		}
		byField[r.key].add(r.k)
		if r.alloced != "" {
			bigAllocs = append(bigAllocs, r.alloced)
		}
	}
	elapsed := time.Since(start)
	if len(bigAllocs) > 0 {
		t.Errorf("%d cases where ssfile's reader allocated over %d MiB (see TestReaderAllocationBounded), e.g. %s", len(bigAllocs), bigAlloc>>20, bigAllocs[0])
	}

	var rows [][]string
	total := &tally{}
	for _, region := range rotRegions {
		k := byRegion[region]
		total.add(*k)
		rows = append(rows, rotRow(region, k))
	}
	rows = append(rows, rotRow("all", total))
	var frows [][]string
	for _, key := range fieldOrder {
		frows = append(frows, rotRow(key, byField[key]))
	}
	for _, region := range rotRegions {
		k := byRegion[region]
		t.Logf("%s: %d cases, reader detects %d, with sscheck %d, harmless %d, silent %d", region, k.cases, k.readerCorrupt+k.readerTorn, k.detected, k.harmless, k.silent)
	}
	var fileDesc []string
	for _, f := range files {
		fileDesc = append(fileDesc, fmt.Sprintf("%s (%d bytes, %d messages)", f.name, len(f.data), len(f.msgs)))
	}
	header := []string{"region", "flips", "reader reports it (corrupt / torn tail)", "detected (reader or sscheck)", "harmless: undetected, no message changed", "silent: undetected, a message changed", "reader handed out a changed message", "sscheck gave back every undamaged message"}
	writeSection(t, "bitrot", fmt.Sprintf(`### Bit rot

One random bit flipped per case (seeded), in files written by ssfile.Writer at intervals 1024 and 4096 and
laid out by its rules at 128: %s; random binary payloads, 6 to 16 (stream, shard) pairs. Each damaged file is read
whole with ssfile (Replay, plus a seek and SeekEnd) and checked with internal/sscheck, the check behind ss-verify and
ss-repair (strict: key characters, sizes, terminators, beacon positions, sizes and remaining counts, marker
seq/timestamp = maximum so far, running checksums recomputed per (stream, shard), the writer's marker rotation,
consecutive seqs, timestamps not going back), each case bounded by a %v timeout.
%d cases in %v. No panic, no hang; %d cases where the reader allocated over %d MiB.

"Detected" means an error matching ssfile.ErrCorrupt or a format error, with its offset, or an sscheck problem;
"harmless" means nothing reported and every message read back as written (a flip in the file name or creation
time of the header, say); "silent" means nothing reported but a message differs from what was written. Format v1
has no checksum over message headers: the reader hands out a message whose shard, seq, timestamp or key (within
the allowed characters) a flip changed; sscheck's order and marker checks catch most of these, not a timestamp or
shard changed in a way that keeps every order and every later marker right.

%s
By field:

%s`, joinAnd(fileDesc), caseTimeout, total.cases, elapsed.Round(time.Second), len(bigAllocs), bigAlloc>>20, table(header, rows), table(header, frows)))
}

func joinAnd(s []string) string {
	switch len(s) {
	case 0:
		return ""
	case 1:
		return s[0]
	}
	out := ""
	for i, x := range s {
		switch {
		case i == 0:
		case i == len(s)-1:
			out += " and "
		default:
			out += ", "
		}
		out += x
	}
	return out
}

func rotRow(name string, k *tally) []string {
	return []string{
		name, fmt.Sprint(k.cases),
		fmt.Sprintf("%s (%d / %d)", pct(k.readerCorrupt+k.readerTorn, k.cases), k.readerCorrupt, k.readerTorn),
		pct(k.detected, k.cases), pct(k.harmless, k.cases), fmt.Sprintf("%s (%d)", pct(k.silent, k.cases), k.silent),
		fmt.Sprint(k.handedWrong), pct(k.salvaged, k.cases),
	}
}

// classify judges one case, and checks what must hold.
func classify(t *testing.T, f *rotFile, off int, l label, run rotRun, desc string) tally {
	t.Helper()
	k := tally{cases: 1}
	rerr := run.readerErr
	switch {
	case rerr == nil:
	case errors.Is(rerr, ssfile.ErrCorrupt) || isFormatErr(rerr):
		k.readerCorrupt = 1
		var oe *ssfile.OffsetError
		if !errors.As(rerr, &oe) && !isFormatErr(rerr) {
			t.Errorf("%s: the reader reports damage without an offset: %v", desc, rerr)
		}
	case errors.Is(rerr, ssfile.ErrTornTail):
		k.readerTorn = 1
	default:
		t.Errorf("%s: the reader fails with an unexpected error: %v", desc, rerr)
	}
	if i := firstDiff(run.handed, f.msgs[:min(len(run.handed), len(f.msgs))]); i >= 0 {
		k.handedWrong = 1
	}
	detected := k.readerCorrupt+k.readerTorn > 0 || run.rep.found()
	unchanged := rerr == nil && firstDiff(run.handed, f.msgs) < 0
	switch {
	case detected:
		k.detected = 1
	case unchanged:
		k.harmless = 1
	default:
		k.silent = 1
	}

	// What sscheck gives back: every message but the damaged one, intact.
	damagedFrame := int64(-1)
	if l.region == regionPayload || l.region == regionMsgHeader {
		damagedFrame = f.starts[l.frame]
	}
	got := make(map[int64]sscheck.Message, len(run.rep.messages))
	for _, m := range run.rep.messages {
		got[m.Offset] = m
	}
	all := true
	for i, s := range f.starts {
		if s == damagedFrame {
			continue
		}
		m, ok := got[s]
		if !ok || m.MessageHeader != f.msgs[i].Header || !bytes.Equal(m.Payload, f.msgs[i].Payload) {
			all = false
			break
		}
	}
	if all {
		k.salvaged = 1
	}

	if l.region == regionPayload {
		// CRC16 catches every single-bit error: the reader must stop at the
		// damaged message, after handing out exactly the ones before it.
		var oe *ssfile.OffsetError
		if !errors.Is(rerr, format.ErrChecksum) || !errors.As(rerr, &oe) || oe.Offset != damagedFrame {
			t.Errorf("%s: reader error %v, want a checksum error at offset %d", desc, rerr, damagedFrame)
		}
		if len(run.handed) != l.frame || k.handedWrong != 0 {
			t.Errorf("%s: the reader handed out %d messages (changed: %v), want the %d before the damaged one", desc, len(run.handed), k.handedWrong != 0, l.frame)
		}
		if !slices.Contains(run.rep.damaged, damagedFrame) || !all {
			t.Errorf("%s: sscheck: damaged %v, every other message given back: %v; problems %v", desc, run.rep.damaged, all, run.rep.problems)
		}
	}
	return k
}

// TestReaderAllocationBounded reads a file whose last message's size field
// says 64 MiB while the file holds a few hundred bytes (a torn write, or one
// flipped bit). The reader must see that the frame cannot fit before it
// allocates anything of that size. It used to allocate the whole frame on
// Next, Seek and SeekEnd (up to 4 GiB each time, as the size field says),
// and only then find the file too short: fuzzing found it with the two
// FuzzReader inputs read here (14 and 15 GiB allocated, the fuzzer's worker
// reported hung), and in the bit-rot cases a flipped high bit of any size
// field did it.
func TestReaderAllocationBounded(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	msgs := genMessages(rng, genSpec{n: 12, streams: 2, shards: 1, maxPayload: 100})
	data := layoutFile(t, msgs, 1024)
	lbl := labelFile(t, data)
	last := len(msgs) - 1
	for i, l := range lbl {
		if l.frame == last && l.field == "payload size" {
			data[i] ^= 0x04 // +64 MiB
			break
		}
	}
	_, alloc, err := readBytes(data, msgs[0])
	if !errors.Is(err, ssfile.ErrTornTail) && !errors.Is(err, ssfile.ErrCorrupt) {
		t.Errorf("reading: %v, want a torn tail or corruption", err)
	}
	if alloc > bigAlloc {
		t.Errorf("reading, seeking and SeekEnd on a %d-byte file allocated %d MiB: the reader allocates a frame as large as its size field says before checking that the file holds it", len(data), alloc>>20)
	}
	for _, name := range []string{"eda846bc7f631c36", "327335cd5d62ed5f"} {
		path := filepath.Join("..", "ssfile", "testdata", "fuzz", "FuzzReader", name)
		data, err := fuzzBytes(path)
		if err != nil {
			t.Fatal(err)
		}
		if _, alloc, _ := readBytes(data, msgs[0]); alloc > bigAlloc {
			t.Errorf("%s: reading, seeking and SeekEnd on %d bytes allocated %d MiB", path, len(data), alloc>>20)
		}
	}
}

// fuzzBytes returns the first value, a []byte, of a file in Go's fuzz
// corpus format.
func fuzzBytes(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	lines := strings.Split(string(b), "\n")
	if len(lines) < 2 || lines[0] != "go test fuzz v1" || !strings.HasPrefix(lines[1], "[]byte(") {
		return nil, fmt.Errorf("%s: not a fuzz input starting with a []byte", path)
	}
	s, err := strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(lines[1], "[]byte("), ")"))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return []byte(s), nil
}
