package redis

import (
	"bytes"
	"fmt"
	"testing"

	goredis "github.com/redis/go-redis/v9"
	"github.com/seastream/ss/streamer/driver"
)

// TestAppendMessagesAllocations checks that turning a page of entries into
// messages allocates nothing per entry once Next has handed back a page's
// slice (recycle): payloads are the entries' own bytes, not copies.
func TestAppendMessagesAllocations(t *testing.T) {
	const n = 1000
	k := &Consumer{cfg: defaultConfig(), spare: make(chan []driver.Message, maxSpare)}
	s := &shardState{ss: driver.StreamShard{Stream: "s"}, key: "s"}
	page := make([]goredis.XMessage, n)
	for i := range page {
		page[i] = goredis.XMessage{ID: fmt.Sprintf("1700000000000-%d", i), Values: map[string]any{DefaultField: fmt.Sprintf("payload %d", i)}}
	}
	b := &rbatch{}
	k.appendMessages(b, s, page, false, false)
	if len(b.msgs) != n || len(b.errs) != 0 {
		t.Fatalf("%d messages, %d errors for %d entries", len(b.msgs), len(b.errs), n)
	}
	for i, m := range b.msgs {
		if want := fmt.Sprintf("payload %d", i); !bytes.Equal(m.Payload, []byte(want)) || m.Header.Seq != driver.SeqNo(1700000000000<<16|i) {
			t.Fatalf("message %d: %q seq %d", i, m.Payload, m.Header.Seq)
		}
	}
	k.recycle(b)
	allocs := testing.AllocsPerRun(10, func() {
		s.last = ID{}
		b := &rbatch{}
		k.appendMessages(b, s, page, false, false)
		k.recycle(b)
	})
	if allocs > 1 {
		t.Errorf("%.0f allocations for a page of %d entries, want at most 1 (the page)", allocs, n)
	}
}
