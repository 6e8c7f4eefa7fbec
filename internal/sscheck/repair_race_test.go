package sscheck

import (
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/seastream/ss/format"
	"github.com/seastream/ss/internal/testkit"
	"github.com/seastream/ss/ssfile"
)

// TestRepairInPlaceRacingWriter repairs a file in place, again and again,
// while a writer cycles Append, Write, Close on it. Every message whose
// Write and Close succeeded must be in the file exactly once afterwards
// (issue 11, item 4: a repair mapped the file before taking the lock, and
// a writer could lock the old file after the repair renamed the new one
// over it; either lost acknowledged messages).
func TestRepairInPlaceRacingWriter(t *testing.T) {
	path := filepath.Join(t.TempDir(), "race.ss")
	w, err := ssfile.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	cycles := testkit.Count(200, 50)
	var acked []uint64
	var writerDone atomic.Bool
	var repairs, busy int
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // the repairer
		defer wg.Done()
		for !writerDone.Load() {
			_, err := Repair(path, RepairOptions{InPlace: true}, func(*Problem) error { return nil })
			switch {
			case errors.Is(err, ErrLocked):
				busy++
			case err != nil:
				t.Errorf("repair: %v", err)
				return
			default:
				repairs++
			}
		}
	}()
	for seq := uint64(1); seq <= uint64(cycles); {
		w, err := ssfile.Append(path)
		if errors.Is(err, ssfile.ErrLocked) {
			continue // the repair has it; try again
		}
		if err != nil {
			t.Errorf("append: %v", err)
			break
		}
		h := format.MessageHeader{StreamKey: "race", SeqNo: seq, Timestamp: seq}
		werr := w.Write(h, fmt.Appendf(nil, "message %d", seq))
		if cerr := w.Close(); werr == nil && cerr == nil {
			acked = append(acked, seq)
		}
		seq++
	}
	writerDone.Store(true)
	wg.Wait()
	t.Logf("%d messages acknowledged, %d repairs, %d found the file locked", len(acked), repairs, busy)

	count := map[uint64]int{}
	if _, err := ScanFile(path, Visitor{Message: func(m *Message) error {
		if m.StreamKey == "race" {
			count[m.SeqNo]++
		}
		return nil
	}}); err != nil {
		t.Fatal(err)
	}
	lost := 0
	for _, seq := range acked {
		if count[seq] != 1 {
			lost++
			t.Errorf("acknowledged message %d is in the file %d times", seq, count[seq])
		}
	}
	if lost > 0 {
		t.Errorf("%d of %d acknowledged messages lost or doubled", lost, len(acked))
	}
}
