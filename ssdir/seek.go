package ssdir

import (
	"errors"
	"fmt"
	"os"
	"sort"

	"github.com/seastream/ss/ssfile"
)

// Seek moves to the first message matching t, in whichever segment it is,
// which the next Next returns. It finds the segment by a binary search over
// the seeds (each holds every stream's highest sequence number and timestamp
// before its segment: O(log segments) seed reads, cached), then seeks in the
// segment by its beacons. When no message matches it returns an error
// matching ssfile.ErrNotFound and the position does not change.
func (r *Reader) Seek(t ssfile.Target) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return ErrClosed
	}
	err := r.seek(t)
	if errors.Is(err, ssfile.ErrNotFound) && r.list != nil {
		// The listing was cached by the directory's modification
		// time, which some file systems keep to the second: list
		// again before saying there is no such message.
		r.list = nil
		err = r.seek(t)
	}
	return err
}

func (r *Reader) seek(t ssfile.Target) error {
	segs, err := r.numbers()
	if err != nil {
		return err
	}
	if len(segs) == 0 {
		return fmt.Errorf("%w: %s shard %d (no segment)", ssfile.ErrNotFound, t.StreamKey, t.ShardID)
	}
	// The first segment i after which the stream had reached t: the state
	// the segment after it goes on from. The last segment is taken to.
	var seedErr error
	i := sort.Search(len(segs), func(i int) bool {
		if i == len(segs)-1 {
			return true
		}
		st, err := r.seed(segs[i+1])
		if err != nil {
			seedErr = err
			return true
		}
		return reached(st, t)
	})
	if seedErr != nil {
		i = 0 // a seed missing or damaged: try each segment in turn
	}
	savedN, savedPos := r.curN, int64(0)
	if r.cur != nil {
		savedPos = r.cur.Offset()
	}
	for ; i < len(segs); i++ {
		if err := r.openSegment(segs[i], ssfile.LiveReplay); err != nil {
			return err
		}
		err := r.cur.Seek(t)
		if err == nil {
			return nil
		}
		if !errors.Is(err, ssfile.ErrNotFound) {
			return err
		}
	}
	if savedN != 0 {
		if err := r.openSegment(savedN, ssfile.LiveReplay); err == nil {
			r.cur.SetOffset(savedPos)
		}
	}
	return fmt.Errorf("%w: %s shard %d", ssfile.ErrNotFound, t.StreamKey, t.ShardID)
}

// numbers returns the segment numbers, listed again only when the
// directory changed (its modification time): a warm seek reads no
// directory.
func (r *Reader) numbers() ([]uint64, error) {
	fi, err := os.Stat(r.dir)
	if err != nil {
		return nil, fmt.Errorf("ssdir: %w", err)
	}
	if r.list != nil && fi.ModTime().Equal(r.listed) {
		return r.list, nil
	}
	ns, err := numbers(r.dir)
	if err != nil {
		return nil, err
	}
	r.list, r.listed = ns, fi.ModTime()
	if len(ns) > 0 {
		for n := range r.seeds {
			if n < ns[0] {
				delete(r.seeds, n) // deleted by retention
			}
		}
	}
	return ns, nil
}

// seed returns the seed of segment n, read once: a seed never changes.
func (r *Reader) seed(n uint64) (State, error) {
	if st, ok := r.seeds[n]; ok {
		return st, nil
	}
	st, err := readSeed(r.dir, n)
	if err != nil {
		return State{}, err
	}
	r.seeds[n] = st
	return st, nil
}
