package filedriver

import (
	"github.com/seastream/ss/format"
	"github.com/seastream/ss/ssfile"
	"github.com/seastream/ss/streamer/driver"
)

// filter decides which messages of the file a consumer receives. A reading
// goroutine owns it: it is not safe for concurrent use.
type filter struct {
	all     bool                                // Wildcard: every stream
	streams map[driver.StreamKey]bool           // subscribed streams
	shards  map[driver.StreamShard]bool         // assigned; nil means every shard
	from    *startCond                          // after Seek or Rewind to a seq
	after   map[driver.StreamShard]driver.SeqNo // resume: skip seq <= after
}

// startCond is where each (stream, shard) starts after Seek (by time) or
// Rewind (to a sequence number). A (stream, shard) that has started is
// delivered in full; until then its messages are skipped unless they match.
type startCond struct {
	byTime  bool
	ts      int64 // milliseconds: deliver from the first timestamp > ts
	seq     driver.SeqNo
	started map[driver.StreamShard]bool
}

func (s *startCond) clone() *startCond {
	if s == nil {
		return nil
	}
	c := *s
	c.started = make(map[driver.StreamShard]bool, len(s.started))
	for k, v := range s.started {
		c.started[k] = v
	}
	return &c
}

func newFilter(streams []driver.StreamKey, assigned map[driver.StreamShard]bool) *filter {
	f := &filter{streams: make(map[driver.StreamKey]bool, len(streams))}
	for _, k := range streams {
		if k == driver.Wildcard {
			f.all = true
		}
		f.streams[k] = true
	}
	if len(assigned) > 0 {
		f.shards = make(map[driver.StreamShard]bool, len(assigned))
		for ss := range assigned {
			f.shards[ss] = true
		}
	}
	return f
}

// subscribed reports whether (key, shard) is read at all, ignoring the
// start condition.
func (f *filter) subscribed(key string, shard uint64) bool {
	if key == format.InternalStreamKey {
		return false
	}
	if f.shards != nil {
		return f.shards[driver.StreamShard{Stream: driver.StreamKey(key), Shard: driver.ShardID(shard)}]
	}
	return f.all || f.streams[driver.StreamKey(key)]
}

// match reports whether m is delivered, and records a (stream, shard) that
// starts with it.
func (f *filter) match(m *ssfile.Message) bool {
	if !f.subscribed(m.StreamKey, m.ShardID) {
		return false
	}
	ss := pairOf(m)
	if f.after != nil {
		if last, ok := f.after[ss]; ok {
			if driver.SeqNo(m.SeqNo) <= last {
				return false
			}
			delete(f.after, ss) // past the committed position: sequence numbers only grow from here
		}
	}
	if c := f.from; c != nil && !c.started[ss] {
		if c.byTime && int64(m.Timestamp) <= c.ts || !c.byTime && driver.SeqNo(m.SeqNo) < c.seq {
			return false
		}
		c.started[ss] = true
	}
	return true
}

// targets returns the (stream, shard)s a Seek or Rewind positions
// individually: the assigned ones, or nil when the consumer reads every shard
// (then the search considers every stream it subscribes to).
func (f *filter) targets() []driver.StreamShard {
	if f.shards == nil {
		return nil
	}
	out := make([]driver.StreamShard, 0, len(f.shards))
	for ss := range f.shards {
		out = append(out, ss)
	}
	return out
}
