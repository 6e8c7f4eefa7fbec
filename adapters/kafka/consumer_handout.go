package kafka

// Handing out: the batch Next takes records from without a lock, and how
// what it handed out is folded into the positions Commit commits.

import (
	"sync/atomic"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/seastream/ss/streamer/driver"
)

// handout is a batch of records being handed out: a Next takes recs[i], i
// being cursor's value before its Add, so that concurrent Nexts take
// distinct records with one atomic add each and no lock. recs never changes
// (a new batch is a new handout, with new recs, as a Next may still be
// reading an element of the old one), and a handout is replaced only once
// its cursor is past its end or at cursorDropped, so that a Next still
// holding the old one takes nothing from it.
type handout struct {
	recs   []*kgo.Record
	cursor atomic.Uint64
}

// cursorDropped is the value of a handout's cursor once it was dropped:
// far above any batch length, it stays so under the Adds of later Nexts.
// An Add either happened before the drop (its record counts as returned) or
// fails, and that Next takes the slow path.
const cursorDropped = 1 << 62

// replace, with mu held, makes recs the batch Next hands out.
func (k *Consumer) replace(recs []*kgo.Record) {
	k.out.Store(&handout{recs: recs})
	k.folded, k.discard = 0, false
}

// refilter, called by Next with mu held after dropBatch, keeps as the new
// batch the records not yet handed out of partitions still owned and not
// taken away meanwhile (none if the batch was discarded).
func (k *Consumer) refilter() {
	var b []*kgo.Record
	if !k.discard {
		for _, r := range k.out.Load().recs[k.folded:] {
			if k.owned == nil || (k.owned[r.Topic][r.Partition] && !k.revoked[r.Topic][r.Partition]) {
				b = append(b, r)
			}
		}
	}
	k.replace(b)
}

// settle, with mu held, accounts for the records Next handed out since the
// last call: their positions go into returned, for Commit.
func (k *Consumer) settle() { k.settleTo(k.out.Load().cursor.Load()) }

// settleTo settles the records below cursor value c.
func (k *Consumer) settleTo(c uint64) {
	if c >= cursorDropped {
		return // dropBatch settled
	}
	recs := k.out.Load().recs
	n := int(min(c, uint64(len(recs))))
	k.fold(recs[k.folded:n])
	k.folded = n
}

// dropBatch, with mu held, stops Next handing out the rest of the batch and
// settles what it handed out. The next Next drops the rest (discard), or
// keeps the records of partitions still owned.
func (k *Consumer) dropBatch(discard bool) {
	k.settleTo(k.out.Load().cursor.Swap(cursorDropped))
	k.discard = k.discard || discard
}

// fold records, with mu held, the positions after recs (handed out by
// Next, in order) as what Commit commits.
func (k *Consumer) fold(recs []*kgo.Record) {
	for i := 0; i < len(recs); {
		r := recs[i]
		j := i + 1
		for j < len(recs) && recs[j].Partition == r.Partition && recs[j].Topic == r.Topic {
			j++
		}
		last := recs[j-1]
		parts := k.lastParts
		if parts == nil || r.Topic != k.lastTopic {
			parts = k.returned[r.Topic]
			if parts == nil {
				parts = make(map[int32]kgo.EpochOffset)
				k.returned[r.Topic] = parts
			}
			k.lastTopic, k.lastParts = r.Topic, parts
		}
		parts[r.Partition] = kgo.EpochOffset{Epoch: last.LeaderEpoch, Offset: last.Offset + 1}
		if k.moved != nil {
			delete(k.moved[r.Topic], r.Partition)
		}
		i = j
	}
}

func toMessage(r *kgo.Record) driver.Message {
	return driver.Message{
		Header: driver.Header{
			StreamKey: driver.StreamKey(r.Topic),
			Shard:     driver.ShardID(r.Partition),
			Seq:       driver.SeqNo(r.Offset),
			Timestamp: r.Timestamp.UTC(),
		},
		Payload: r.Value,
		Key:     r.Key,
		Attrs:   attrs(r.Headers),
	}
}

// attrs returns a record's headers as a message's attributes, nil for none;
// their values are the record's own.
func attrs(hs []kgo.RecordHeader) []driver.Attr {
	if len(hs) == 0 {
		return nil
	}
	out := make([]driver.Attr, len(hs))
	for i, h := range hs {
		out[i] = driver.Attr{Name: h.Key, Value: h.Value}
	}
	return out
}
