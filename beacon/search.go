package beacon

import "github.com/seastream/ss/format"

// Judgement is what one beacon says about a seek target.
type Judgement int

const (
	// Unknown: the beacon has no marker for the target's stream.
	Unknown Judgement = iota
	// Before: everything of the stream up to this beacon is before the target.
	Before
	// AtOrAfter: the stream reached the target by this beacon.
	AtOrAfter
)

// Source gives the beacons of a file, numbered 1 to Count.
type Source interface {
	Count() int
	Beacon(n int) (*format.Beacon, error)
}

// Search returns the number of the last beacon that judge rules Before, or 0
// (the start of the file) when there is none: scanning from there reaches the
// first message at or after the target, having skipped only messages before it.
//
// It is a deterministic binary search. A beacon judged Unknown does not stop
// it: the search probes the nearest beacons on either side of it, alternately,
// until one is decided, so it still finds its target when a stream has no
// marker in many beacons. With a marker in every beacon it reads O(log n)
// beacons. It relies on markers being monotonic, which the writer guarantees:
// a marker holds the maximum sequence number and timestamp so far.
func Search(src Source, judge func(*format.Beacon) Judgement) (int, error) {
	lo, hi := 0, src.Count()+1 // lo is Before (or the start), hi is AtOrAfter (or the end)
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		n, j, err := nearestDecided(src, judge, lo, hi, mid)
		if err != nil {
			return 0, err
		}
		switch j {
		case Before:
			lo = n
		case AtOrAfter:
			hi = n
		default:
			return lo, nil // every beacon between lo and hi is Unknown
		}
	}
	return lo, nil
}

// nearestDecided probes mid, then mid+1, mid-1, mid+2, ... strictly between lo
// and hi, and returns the first beacon that judge decides.
func nearestDecided(src Source, judge func(*format.Beacon) Judgement, lo, hi, mid int) (int, Judgement, error) {
	probe := func(n int) (Judgement, error) {
		b, err := src.Beacon(n)
		if err != nil {
			return Unknown, err
		}
		return judge(b), nil
	}
	for d := 0; mid+d < hi || mid-d > lo; d++ {
		if up := mid + d; up < hi {
			if j, err := probe(up); err != nil || j != Unknown {
				return up, j, err
			}
		}
		if down := mid - d; d > 0 && down > lo {
			if j, err := probe(down); err != nil || j != Unknown {
				return down, j, err
			}
		}
	}
	return 0, Unknown, nil
}

// BySeqNo judges beacons for the first message of (key, shard) with a sequence
// number at or above seq.
func BySeqNo(key string, shard, seq uint64) func(*format.Beacon) Judgement {
	return func(b *format.Beacon) Judgement {
		for i := range b.Markers {
			m := &b.Markers[i]
			if m.StreamKey == key && m.ShardID == shard {
				if m.SeqNo < seq {
					return Before
				}
				return AtOrAfter
			}
		}
		return Unknown
	}
}

// ByTimestamp judges beacons for the first message of (key, shard) with a
// timestamp strictly after ts, in milliseconds. Timestamps are continuous, so
// SeaStreamer seeks past every message at ts itself.
func ByTimestamp(key string, shard, ts uint64) func(*format.Beacon) Judgement {
	return func(b *format.Beacon) Judgement {
		for i := range b.Markers {
			m := &b.Markers[i]
			if m.StreamKey == key && m.ShardID == shard {
				if m.Timestamp <= ts {
					return Before
				}
				return AtOrAfter
			}
		}
		return Unknown
	}
}
