package ssdir

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"
)

// retainer deletes segments by retention on a goroutine of its own, so that
// writers never wait for deletions; kick asks it for a pass.
type retainer struct {
	w     *Writer
	kicks chan struct{}
	done  chan struct{}
	quit  chan struct{}
}

func startRetainer(w *Writer) *retainer {
	r := &retainer{w: w, kicks: make(chan struct{}, 1), done: make(chan struct{}), quit: make(chan struct{})}
	if w.cfg.retention.none() {
		close(r.done)
		return r
	}
	go r.run()
	r.kick()
	return r
}

func (r *retainer) kick() {
	select {
	case r.kicks <- struct{}{}:
	default: // a pass is already due
	}
}

func (r *retainer) stop() {
	select {
	case <-r.quit:
	default:
		close(r.quit)
	}
	<-r.done
}

func (r *retainer) run() {
	defer close(r.done)
	var tick <-chan time.Time
	if age := r.w.cfg.retention.Age; age > 0 {
		// Without rollovers, segments still age out.
		t := time.NewTicker(min(max(age/10, time.Second), time.Minute))
		defer t.Stop()
		tick = t.C
	}
	for {
		last := false
		select {
		case <-r.quit:
			select {
			case <-r.kicks: // a rollover asked for a pass: leave the directory within its limits
				last = true
			default:
				return
			}
		case <-r.kicks:
		case <-tick:
		}
		if err := r.pass(); err != nil {
			r.w.cfg.logger.Warn("ssdir: retention", "dir", r.w.dir, "err", err)
		}
		if last {
			return
		}
	}
}

// pass deletes the oldest sealed segments while a limit is passed.
func (r *retainer) pass() error {
	w := r.w
	segs, err := Segments(w.dir)
	if err != nil {
		return err
	}
	settled := w.settled.Load() // below it: sealed, the seed after each written
	var total int64
	for _, s := range segs {
		total += s.Size
	}
	ret := w.cfg.retention
	for len(segs) > 0 && segs[0].Number < settled {
		oldest := segs[0]
		over := (ret.Segments > 0 && len(segs) > ret.Segments) || (ret.Bytes > 0 && total > ret.Bytes)
		if !over && ret.Age > 0 {
			over = r.aged(oldest)
		}
		if !over {
			return nil
		}
		if fn := w.cfg.beforeDelete; fn != nil {
			if err := fn(oldest); err != nil {
				return fmt.Errorf("segment %s kept: %w", oldest.Path, err)
			}
		}
		if err := deleteSegment(w.dir, oldest.Number); err != nil {
			return err
		}
		w.cfg.logger.Info("ssdir: retention deleted a segment", "segment", oldest.Path, "bytes", oldest.Size)
		total -= oldest.Size
		segs = segs[1:]
	}
	return nil
}

// aged reports whether the newest message of a sealed segment is older than
// the retention age: the seed of the segment after it holds the highest
// timestamp of every stream; without it, the file's modification time.
func (r *retainer) aged(s Segment) bool {
	cutoff := r.w.cfg.now().Add(-r.w.cfg.retention.Age)
	if st, err := readSeed(r.w.dir, s.Number+1); err == nil && len(st.Streams) > 0 {
		return time.UnixMilli(int64(newest(st))).Before(cutoff)
	}
	fi, err := os.Stat(s.Path)
	return err == nil && fi.ModTime().Before(cutoff)
}

// deleteSegment removes segment n, then its seed: a crash between the two
// leaves a seed older than every segment, which nothing reads.
func deleteSegment(dir string, n uint64) error {
	if err := os.Remove(segmentPath(dir, n)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("deleting segment: %w", err)
	}
	if err := os.Remove(seedPath(dir, n)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("deleting seed: %w", err)
	}
	return nil
}
