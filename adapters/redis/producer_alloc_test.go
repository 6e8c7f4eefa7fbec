package redis

import (
	"context"
	"testing"
)

// TestCommandsAllocations checks that building a batch's XADDs costs one
// allocation per message (go-redis's command) and nothing more: arguments
// and command slices are reused from batch to batch, keys and the field are
// converted to interfaces once, payloads go as pointers.
func TestCommandsAllocations(t *testing.T) {
	const n = 1000
	p := &Producer{cfg: defaultConfig()}
	p.cfg.batchSize = n
	p.cur = p.newBatch()
	payload := make([]byte, 100)
	for range n {
		// What Send does, without a client.
		b := p.cur
		i := b.n
		if i%chunk == 0 {
			b.chunks = append(b.chunks, make([]pitem, chunk))
		}
		b.n++
		it := b.item(i)
		it.b, it.stream, it.key = b, "s", shardKey("s", 0, false)
		it.lo = len(b.buf)
		b.buf = append(b.buf, payload...)
		it.hi = len(b.buf)
	}
	ctx := context.Background()
	cmds := p.commands(ctx, p.cur)
	if len(cmds) != n {
		t.Fatalf("%d commands for %d messages", len(cmds), n)
	}
	args := cmds[0].Args()
	if len(args) != 5 || args[0] != "xadd" || args[1] != "s" || args[2] != "*" || args[3] != DefaultField {
		t.Fatalf("args %v", args)
	}
	if got, err := args[4].(*payloadArg).MarshalBinary(); err != nil || len(got) != len(payload) {
		t.Fatalf("payload argument: %d bytes, %v", len(got), err)
	}
	allocs := testing.AllocsPerRun(10, func() { p.commands(ctx, p.cur) })
	if allocs > n+4 {
		t.Errorf("%.0f allocations for a batch of %d messages, want at most %d (one command each)", allocs, n, n+4)
	}
}
