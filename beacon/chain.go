package beacon

// Verdict is what one step of a chain of frames finds.
type Verdict uint8

const (
	// Continue: a frame read; the chain goes on where it ends.
	Continue Verdict = iota
	// Found: the chain reached an end its caller accepts: valid data
	// follows the damage.
	Found
	// Failed: the chain breaks.
	Failed
)

// ChainSearch is the one search for whether, and where, valid data resumes
// after damage: the first candidate offset from which frames read, one
// after another, up to an end the caller accepts (the end of the data, a
// beacon that agrees). ssfile asks it whether a frame the data ends inside
// is torn or damaged, and whether Append may cut damage; internal/sscheck
// asks it where the messages after a damaged frame start. The rules — which
// offsets may start a chain, what a frame must be, what end counts — are
// the caller's Next and Step.
//
// The search is linear in the bytes searched: a chain's fate past its first
// frame depends only on where it is, so a chain that fails marks the frame
// starts it passed, and a later candidate reaching one fails at once; each
// frame start is followed once. Steps report what they read (checksums
// over frames that overlap are what damage crafted to that end could make
// quadratic), counted against the budget given to Find, past which the
// search gives up and finds nothing.
type ChainSearch struct {
	// Next returns the first offset at or after q, below the limit given
	// to Find, that may start a chain (q itself, usually; the caller skips
	// what cannot start a frame with cheap checks of the bytes in place,
	// and may ask Dead), and where that chain's first frame starts (the
	// offset itself, or, for a beacon position, the message after the
	// splice it ends); ok false when there is none.
	Next func(q int64) (candidate, start int64, ok bool)
	// Step follows the chain at q, first for its first frame, and returns
	// where it goes on, the verdict, and the work done (bytes read).
	Step func(q int64, first bool) (next int64, v Verdict, work int64)

	from, end int64
	dead      []uint64 // frame starts already on a failed chain, by offset from from
	passed    []int64
}

// Dead reports whether q is a frame start a failed chain of this search
// already passed.
func (c *ChainSearch) Dead(q int64) bool {
	if q < c.from || q >= c.end {
		return false
	}
	i := uint64(q - c.from)
	return c.dead[i/64]&(1<<(i%64)) != 0
}

func (c *ChainSearch) kill(q int64) {
	if q >= c.from && q < c.end {
		i := uint64(q - c.from)
		c.dead[i/64] |= 1 << (i % 64)
	}
}

// Find tries the candidates in [from, to) in order and returns the first
// whose chain is Found. Frame starts in [from, end) are remembered. work is
// what the search did: one per offset tried plus what the steps read; it
// stops once work exceeds budget.
func (c *ChainSearch) Find(from, to, end, budget int64) (q int64, found bool, work int64) {
	c.from, c.end = from, max(end, from)
	words := int((c.end - from + 63) / 64)
	if cap(c.dead) < words {
		c.dead = make([]uint64, words)
	} else {
		c.dead = c.dead[:words]
		clear(c.dead)
	}
	for q := from; q < to && work <= budget; {
		cand, start, ok := c.Next(q)
		if !ok || cand >= to {
			work += to - q
			break
		}
		work += cand - q + 1
		q = cand + 1
		if c.Dead(cand) || start != cand && c.Dead(start) {
			continue
		}
		passed := c.passed[:0]
		for at, first := start, true; ; first = false {
			if !first && c.Dead(at) {
				break
			}
			passed = append(passed, at)
			next, verdict, w := c.Step(at, first)
			work += w
			if verdict == Found {
				c.passed = passed
				return cand, true, work
			}
			if verdict != Continue {
				break
			}
			at = next
		}
		c.passed = passed
		for _, at := range passed {
			c.kill(at)
		}
	}
	return 0, false, work
}
