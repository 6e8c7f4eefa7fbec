package ssfile

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/seastream/ss/format"
	"github.com/seastream/ss/internal/testkit"
)

// writeTornFile writes a file with a few messages and then a message with
// a payload of zeros, cut tail bytes into its frame, as a writer
// crash inside a large message leaves it. It returns the path and where the
// torn frame starts.
func writeTornFile(tb testing.TB, tail int64) (string, int64) {
	tb.Helper()
	return writeTornFileCut(tb, tail, tail)
}

// writeTornFileCut is writeTornFile with the frame cut cut bytes in and
// zeros after that up to tail bytes, as a file system that had extended the
// file when the writer crashed leaves it.
func writeTornFileCut(tb testing.TB, tail, cut int64, opts ...Option) (string, int64) {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "torn.ss")
	w, err := Create(path, opts...)
	if err != nil {
		tb.Fatal(err)
	}
	for i := range 3 {
		if err := w.Write(format.MessageHeader{StreamKey: "s", SeqNo: uint64(i + 1), Timestamp: 1}, []byte("hello")); err != nil {
			tb.Fatal(err)
		}
	}
	start := w.Size()
	if err := w.Write(format.MessageHeader{StreamKey: "s", SeqNo: 4, Timestamp: 1}, make([]byte, cut+4096)); err != nil {
		tb.Fatal(err)
	}
	if err := w.Close(); err != nil {
		tb.Fatal(err)
	}
	if err := os.Truncate(path, start+cut); err != nil {
		tb.Fatal(err)
	}
	if err := os.Truncate(path, start+tail); err != nil {
		tb.Fatal(err)
	}
	return path, start
}

// replayTorn reads the file to its end and checks it ends in a torn tail
// after the 3 messages writeTornFile puts before it.
func replayTorn(tb testing.TB, path string) {
	tb.Helper()
	r, err := Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer r.Close()
	var n int
	var torn bool
	for {
		_, err := r.Next(context.Background())
		if err == io.EOF {
			break
		}
		if errors.Is(err, ErrTornTail) {
			torn = true
			continue
		}
		if err != nil {
			tb.Fatalf("after %d messages: %v", n, err)
		}
		n++
	}
	if n != 3 || !torn {
		tb.Fatalf("read %d messages, torn tail reported: %v; want 3 and a torn tail", n, torn)
	}
}

// appendTorn opens the file with Append and checks it cut the torn tail.
func appendTorn(tb testing.TB, path string, start int64) {
	tb.Helper()
	w, err := Append(path)
	if err != nil {
		tb.Fatal(err)
	}
	if w.Size() != start {
		tb.Errorf("Append resumes at %d, want %d (where the torn frame starts)", w.Size(), start)
	}
	if err := w.Close(); err != nil {
		tb.Fatal(err)
	}
}

// TestTornTailFigures prints how long a Replay read and Append's recovery
// take on a large torn tail; SS_TORN_MB sets its size in MiB.
func TestTornTailFigures(t *testing.T) {
	mb, _ := strconv.Atoi(os.Getenv("SS_TORN_MB"))
	if mb == 0 {
		t.Skip("set SS_TORN_MB")
	}
	cut, err := strconv.ParseInt(os.Getenv("SS_TORN_CUT"), 10, 64)
	if err != nil {
		cut = int64(mb) << 20
	}
	path, start := writeTornFileCut(t, int64(mb)<<20, cut)
	t0 := time.Now()
	if cut == int64(mb)<<20 {
		replayTorn(t, path)
		t.Logf("%d MiB torn tail: Replay read %v", mb, time.Since(t0))
	}
	t0 = time.Now()
	appendTorn(t, path, start)
	t.Logf("%d MiB torn tail: Append recovery %v", mb, time.Since(t0))
}

// tornScanner returns a scanner over a file from writeTornFile and where
// its torn frame starts.
func tornScanner(tb testing.TB, tail int64, opts ...Option) (*scanner, int64) {
	tb.Helper()
	path, start := writeTornFileCut(tb, tail, tail, opts...)
	data, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	h, err := format.DecodeHeader(data)
	if err != nil {
		tb.Fatal(err)
	}
	return newScanner(path, data, h), start
}

// searchTime is the time of one search for valid data after the torn
// frame at start (validAfter, its cache cleared).
func search(t *testing.T, sc *scanner, start int64) {
	sc.lastValidAfter = validAfterResult{}
	if sc.validAfter(start) {
		t.Fatalf("validAfter(%d) = true on a torn tail; want false", start)
	}
}

// TestTornTailSearchLinear: the search for valid messages after a torn
// frame (issue 11: on a tail of zeros each offset built an error, about
// 2 µs a byte) takes time linear in the tail, and allocates nothing per
// offset it tries.
func TestTornTailSearchLinear(t *testing.T) {
	const n = 256 << 10
	small, startSmall := tornScanner(t, n)
	large, startLarge := tornScanner(t, 4*n)
	ratio := testkit.GrowthRatio(9, func() { search(t, small, startSmall) }, func() { search(t, large, startLarge) })
	if ratio > 10 { // linear: about 4; quadratic: 16
		t.Errorf("the search after a torn tail 4 times as long (%d bytes) takes %.1f times the CPU time: want linear", 4*n, ratio)
	}
	allocs := testing.AllocsPerRun(3, func() {
		large.lastValidAfter = validAfterResult{}
		large.validAfter(startLarge)
	})
	if allocs > 10 {
		t.Errorf("the search after a %d-byte torn tail makes %v allocations, want a few whatever the tail's length", 4*n, allocs)
	}
}

// TestTornSplicedSearchLinear: a torn message spliced by many beacons
// (a large message at a small interval, as the writer leaves it when it
// crashes or is still writing) is searched in time linear in its length.
// Each beacon it crosses used to start a walk of the beacons after it to the
// end of the data, so that 64 MiB at interval 1024 kept a file:// consumer
// busy for minutes on a message being written (TestOperationsCost in CI).
func TestTornSplicedSearchLinear(t *testing.T) {
	const n = 2 << 20
	interval := WithBeaconInterval(1024)
	small, startSmall := tornScanner(t, n, interval)
	large, startLarge := tornScanner(t, 4*n, interval)
	searchRatio := testkit.GrowthRatio(5, func() { search(t, small, startSmall) }, func() { search(t, large, startLarge) })
	if searchRatio > 10 { // linear: about 4; quadratic: 16
		t.Errorf("the search after a spliced torn tail 4 times as long (%d bytes) takes %.1f times the CPU time: want linear", 4*n, searchRatio)
	}
	recovery := func(tail int64) func() {
		path, start := writeTornFileCut(t, tail, tail, interval)
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return func() {
			if err := os.WriteFile(path, data, 0o644); err != nil {
				t.Fatal(err)
			}
			appendTorn(t, path, start)
		}
	}
	ratio := testkit.GrowthRatio(3, recovery(n), recovery(4*n))
	t.Logf("growth: search %.1f, recovery %.1f", searchRatio, ratio)
	if ratio > 10 {
		t.Errorf("Append's recovery of a spliced torn tail 4 times as long takes %.1f times the CPU time: want linear", ratio)
	}
}

// TestTornTailReplayAndAppend: the Reader reports a large torn tail as
// one, and Append cuts it, with the search rejecting each offset cheaply.
func TestTornTailReplayAndAppend(t *testing.T) {
	path, start := writeTornFile(t, 1<<20)
	replayTorn(t, path)
	appendTorn(t, path, start)
}

// TestTornHeaderThenZeros: a frame torn inside its header and followed by
// zeros, more than a beacon interval of them, is cut by Append as a damaged
// tail: no message follows it, after it or after a beacon position.
func TestTornHeaderThenZeros(t *testing.T) {
	for _, cut := range []int64{1, 10, 33} {
		path, start := writeTornFileCut(t, 3<<20, cut)
		appendTorn(t, path, start)
	}
}

// BenchmarkTornTailSearch measures the search after a 1 MiB torn tail of
// zeros; bytes/s is over the tail.
func BenchmarkTornTailSearch(b *testing.B) {
	const n = 1 << 20
	sc, start := tornScanner(b, n)
	b.SetBytes(n)
	b.ReportAllocs()
	for b.Loop() {
		sc.lastValidAfter = validAfterResult{}
		sc.validAfter(start)
	}
}
