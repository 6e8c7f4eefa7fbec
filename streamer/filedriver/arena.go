package filedriver

// arenaChunk is the size of the chunks small payloads are copied into.
const arenaChunk = 64 << 10

// maxFreeChunks bounds the chunks kept for reuse: as many as the queue's
// payloads fill (maxPendingBytes), and the one being filled.
const maxFreeChunks = maxPendingBytes/arenaChunk + 1

// maxCopied is the largest payload a send copies (payloadArena); a larger
// one is written before Send returns.
const maxCopied = arenaChunk / 4

// payloadArena holds copies of the small payloads of queued sends, which
// the flusher writes after Send has returned (and its caller may have
// reused the slice). They go into 64 KiB chunks, reused once every payload
// in them is written, so that a send allocates nothing of its own. The
// shared writer's mu guards it.
type payloadArena struct {
	cur    []byte   // the chunk being filled
	sealed [][]byte // full chunks whose payloads may still be queued
	free   [][]byte // chunks whose payloads are all written
}

// copy returns a copy of p that stays unchanged until the chunk it is in
// is recycled.
func (a *payloadArena) copy(p []byte) []byte {
	if len(p) == 0 {
		return nil
	}
	if cap(a.cur)-len(a.cur) < len(p) {
		if a.cur != nil {
			a.sealed = append(a.sealed, a.cur)
		}
		if n := len(a.free); n > 0 {
			a.cur, a.free = a.free[n-1][:0], a.free[:n-1]
		} else {
			a.cur = make([]byte, 0, arenaChunk)
		}
	}
	start := len(a.cur)
	a.cur = append(a.cur, p...)
	return a.cur[start:len(a.cur):len(a.cur)]
}

// takeSealed returns the full chunks: every payload in them belongs to a
// send queued so far. The flusher recycles them once it has written the
// batch it takes with them.
func (a *payloadArena) takeSealed() [][]byte {
	s := a.sealed
	a.sealed = nil
	return s
}

// recycle keeps chunks no queued send refers to for reuse.
func (a *payloadArena) recycle(chunks [][]byte) {
	for _, c := range chunks {
		if len(a.free) == maxFreeChunks {
			return
		}
		a.free = append(a.free, c[:0])
	}
}
