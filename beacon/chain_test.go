package beacon

import "testing"

// TestChainSearchFindsFirstAndStepsEachStartOnce: frames of 10 bytes from
// offset 100 lead to the end at 200; every other offset fails at once. The
// search must return the first candidate on the chain, and follow each
// frame start at most once across all candidates.
func TestChainSearchFindsFirstAndStepsEachStartOnce(t *testing.T) {
	steps := map[int64]int{}
	var c ChainSearch
	c.Next = func(q int64) (int64, int64, bool) { return q, q, true }
	c.Step = func(q int64, first bool) (int64, Verdict, int64) {
		steps[q]++
		switch {
		case q == 200 && !first:
			return q, Found, 0
		case q >= 100 && q%10 == 0 && q < 200:
			return q + 10, Continue, 10
		}
		return q, Failed, 1
	}
	q, found, work := c.Find(0, 300, 300, 1<<20)
	if !found || q != 100 {
		t.Fatalf("Find = %d, %v; want 100, true", q, found)
	}
	for at, n := range steps {
		if n > 1 {
			t.Fatalf("offset %d stepped %d times", at, n)
		}
	}
	if work <= 0 {
		t.Fatalf("work %d", work)
	}
}

// TestChainSearchDeadStarts: a chain that fails marks the starts it
// passed; later candidates reaching them fail without being stepped again,
// so n candidates all leading into one long failing chain cost O(n).
func TestChainSearchDeadStarts(t *testing.T) {
	const n = 10000
	stepped := 0
	var c ChainSearch
	c.Next = func(q int64) (int64, int64, bool) { return q, q, true }
	c.Step = func(q int64, first bool) (int64, Verdict, int64) {
		stepped++
		if q == n-1 {
			return q, Failed, 1 // the chain every candidate joins breaks at the end
		}
		return q + 1, Continue, 1
	}
	if _, found, _ := c.Find(0, n, n, 1<<40); found {
		t.Fatal("found a chain that fails")
	}
	if stepped > 2*n {
		t.Fatalf("%d steps for %d candidates: not linear", stepped, n)
	}
}

// TestChainSearchBudget: the search stops, finding nothing, once its work
// passes the budget.
func TestChainSearchBudget(t *testing.T) {
	var c ChainSearch
	c.Next = func(q int64) (int64, int64, bool) { return q, q, true }
	c.Step = func(q int64, first bool) (int64, Verdict, int64) { return q, Failed, 100 }
	_, found, work := c.Find(0, 1<<20, 1<<20, 1000)
	if found || work > 1000+101 {
		t.Fatalf("found %v, work %d over a budget of 1000", found, work)
	}
}
