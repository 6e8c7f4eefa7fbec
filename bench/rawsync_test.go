package bench

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/seastream/ss/format"
)

// rawTarget is the baseline of BenchmarkDurable, the limit the disk sets for
// producers that each wait for their message to be synced: the same frames
// file:// writes (encoded beforehand), appended to a plain file with
// leader-based group commit: a send that finds no flush under way writes
// everything queued with one pwrite and one fdatasync, for itself and for
// every send queued meanwhile; the others wait for the flush that takes
// their bytes. A producer with several sends in flight leads or waits when
// it awaits the oldest. No framing, beacons, sequence numbers or receipts.
type rawTarget struct {
	f     *os.File
	frame []byte

	mu       sync.Mutex
	cond     sync.Cond
	buf      []byte // queued for flush number open
	spare    []byte
	end      int64  // bytes in the file
	open     uint64 // the flush the queued bytes go out with
	done     uint64 // flushes finished
	flushing bool
	err      error // of a flush; latched
	syncs    int64 // fdatasyncs since started
	syncTime time.Duration
}

func openRawTarget(b *testing.B, dir string) (durableTarget, error) {
	f, err := os.Create(filepath.Join(dir, "raw"))
	if err != nil {
		return nil, err
	}
	frame, _, err := format.AppendMessage(nil, header(0), payload(256))
	if err != nil {
		return nil, err
	}
	t := &rawTarget{f: f, frame: frame, open: 1}
	t.cond.L = &t.mu
	return t, nil
}

func (t *rawTarget) newSender(_ context.Context, window int) (durableSender, error) {
	return &rawSender{t: t, flushes: newFIFO[uint64](window)}, nil
}

// rawSender is a producer of rawTarget: the flushes its sends in flight go
// out with, oldest first.
type rawSender struct {
	t       *rawTarget
	flushes fifo[uint64]
}

func (s *rawSender) send(context.Context, []byte) error {
	s.flushes.push(s.t.queue())
	return nil
}

func (s *rawSender) await(context.Context) error { return s.t.wait(s.flushes.pop()) }

// queue appends a frame to what the next flush writes and returns that
// flush's number.
func (t *rawTarget) queue() uint64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, t.frame...)
	return t.open
}

// wait returns once flush number mine is done, leading flushes while none
// is under way.
func (t *rawTarget) wait(mine uint64) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	for t.done < mine && t.err == nil {
		if t.flushing {
			t.cond.Wait()
			continue
		}
		// Lead: flush what is queued, this send's bytes included.
		t.flushing = true
		buf, at, n := t.buf, t.end, t.open
		t.buf, t.spare = t.spare[:0], nil
		t.open++
		t.mu.Unlock()
		_, err := t.f.WriteAt(buf, at)
		var took time.Duration
		if err == nil {
			start := time.Now()
			err = syncData(t.f)
			took = time.Since(start)
		}
		t.mu.Lock()
		t.syncTime += took
		t.end += int64(len(buf))
		t.spare = buf
		t.done, t.flushing, t.err = n, false, err
		t.syncs++
		t.cond.Broadcast()
	}
	return t.err
}

func (t *rawTarget) started() {
	t.mu.Lock()
	t.syncs, t.syncTime = 0, 0
	t.mu.Unlock()
}

func (t *rawTarget) report(b *testing.B) {
	t.mu.Lock()
	n, took := t.syncs, t.syncTime
	t.mu.Unlock()
	if n > 0 {
		b.ReportMetric(float64(b.N)/float64(n), "msgs/fsync")
		b.ReportMetric(float64(took.Microseconds())/float64(n), "fsync-µs")
	}
}

func (t *rawTarget) Close() error { return t.f.Close() }
