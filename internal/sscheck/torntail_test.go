package sscheck

import (
	"errors"
	"os"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/seastream/ss/format"
	"github.com/seastream/ss/internal/testkit"
)

// tornData returns a file with a few messages and then a message with a
// payload of zeros cut tail bytes into its frame, as a writer
// crash inside a large message leaves it, and where the torn frame starts.
func tornData(t *testing.T, tail int) ([]byte, int64) { return tornDataCut(t, tail, tail) }

// tornDataCut is tornData with the frame cut cut bytes in and zeros after
// that up to tail bytes, as a file system that extended the file before a
// crash leaves it.
func tornDataCut(t *testing.T, tail, cut int) ([]byte, int64) {
	t.Helper()
	msgs := []msg{
		{h: format.MessageHeader{StreamKey: "s", SeqNo: 1, Timestamp: 1}, payload: []byte("hello")},
		{h: format.MessageHeader{StreamKey: "s", SeqNo: 2, Timestamp: 1}, payload: []byte("hello")},
		{h: format.MessageHeader{StreamKey: "s", SeqNo: 3, Timestamp: 1}, payload: make([]byte, cut+4096)},
	}
	data, starts := writtenBytes(t, msgs)
	data = append(data[:starts[2]+int64(cut)], make([]byte, tail-cut)...)
	return data, starts[2]
}

// TestTornTailFigures prints how long a scan of a large torn tail takes;
// SS_TORN_MB sets its size in MiB.
func TestTornTailFigures(t *testing.T) {
	mb, _ := strconv.Atoi(os.Getenv("SS_TORN_MB"))
	if mb == 0 {
		t.Skip("set SS_TORN_MB")
	}
	cut, err := strconv.Atoi(os.Getenv("SS_TORN_CUT"))
	if err != nil {
		cut = mb << 20
	}
	data, start := tornDataCut(t, mb<<20, cut)
	t0 := time.Now()
	var problems []*Problem
	var sum Summary
	sum, err = Scan(data, Visitor{Problem: func(p *Problem) error { problems = append(problems, p); return nil }})
	t.Logf("%d MiB torn tail: Scan %v (%d messages, problems %v)", mb, time.Since(t0), sum.Messages, problems)
	if err != nil || len(problems) == 0 || problems[0].Offset != start {
		t.Fatalf("Scan: %v, problems %v; want one at %d", err, problems, start)
	}
}

// scanTorn scans data and checks it finds one torn tail, at start.
func scanTorn(t *testing.T, data []byte, start int64) {
	var problems []*Problem
	if _, err := Scan(data, Visitor{Problem: func(p *Problem) error { problems = append(problems, p); return nil }}); err != nil {
		t.Fatal(err)
	}
	if len(problems) != 1 || problems[0].Offset != start || !errors.Is(problems[0], ErrTornTail) {
		t.Fatalf("problems %v, want one torn tail at offset %d", problems, start)
	}
}

// TestTornTailStaysLinear: a scan of a file whose last message a crash
// cut (issue 11) takes time linear in the tail, and does not copy the
// torn frame: it used to gather all of it before finding that the file
// cannot hold it, allocating more than the tail's size.
func TestTornTailStaysLinear(t *testing.T) {
	const n = 1 << 20
	small, startSmall := tornData(t, n)
	large, startLarge := tornData(t, 4*n)
	ratio := testkit.GrowthRatio(7, func() { scanTorn(t, small, startSmall) }, func() { scanTorn(t, large, startLarge) })
	if ratio > 10 { // linear: about 4; quadratic: 16
		t.Errorf("a scan with a torn tail 4 times as long (%d bytes) takes %.1f times the CPU time: want linear", 4*n, ratio)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	scanTorn(t, large, startLarge)
	runtime.ReadMemStats(&after)
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 4*n/8 {
		t.Errorf("a scan with a %d-byte torn tail allocates %d bytes, want far less than the tail", 4*n, alloc)
	}
}
