package ssdir

import (
	"errors"
	"fmt"
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
	segs, err := Segments(r.dir)
	if err != nil {
		return err
	}
	if len(segs) == 0 {
		return fmt.Errorf("%w: %s shard %d (no segment)", ssfile.ErrNotFound, t.StreamKey, t.ShardID)
	}
	for n := range r.seeds {
		if n < segs[0].Number {
			delete(r.seeds, n) // deleted by retention
		}
	}
	// The first segment i after which the stream had reached t: the state
	// the segment after it goes on from. The last segment is taken to.
	var seedErr error
	i := sort.Search(len(segs), func(i int) bool {
		if i == len(segs)-1 {
			return true
		}
		st, err := r.seed(segs[i+1].Number)
		if err != nil {
			seedErr = err
			return true
		}
		return st.reached(t)
	})
	if seedErr != nil {
		i = 0 // a seed missing or damaged: try each segment in turn
	}
	savedN, savedPos := r.curN, int64(0)
	if r.cur != nil {
		savedPos = r.cur.Offset()
	}
	for ; i < len(segs); i++ {
		if err := r.openSegment(segs[i].Number, ssfile.LiveReplay); err != nil {
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
