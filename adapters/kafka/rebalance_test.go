package kafka

import (
	"testing"

	"github.com/seastream/ss/streamer/driver"
)

// TestRevokedAndGivenBack: an eager rebalance takes every partition away and
// may give some back to the same member at once; the records Next still
// held of them (the rest of its batch) belong to the old session, whose successor fetches them again from the
// committed offsets, so Next must drop them, else it hands them out twice.
func TestRevokedAndGivenBack(t *testing.T) {
	ctx := testContext(t)
	p1 := map[string][]int32{"t": {1}}

	recs := runs(3, 10, 2) // partitions 0, 1, 2: 20 records each
	k := bufferedConsumer(driver.LoadBalanced, recs)
	for range 5 { // records 0-4 of partition 0
		if _, err := k.Next(ctx); err != nil {
			t.Fatal(err)
		}
	}
	k.onLost(ctx, nil, p1)
	k.onAssigned(ctx, nil, p1)
	for range 15 + 20 { // the rest of partitions 0 and 2
		m, err := k.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if m.Shard == 1 {
			t.Fatalf("Next handed out %v of the partition taken away and given back", m.ID())
		}
	}

}
