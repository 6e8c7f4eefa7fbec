package redis

// Acknowledgements as the user sees them: Commit, Ack and CommitAcked (the
// acker in ack.go sends them).

import (
	"context"

	"github.com/seastream/ss/streamer/driver"
)

// Commit implements driver.Consumer: it acknowledges (XACK) every message
// Next has returned so far that is not acknowledged yet. With AckImmediate
// there is nothing to do.
func (k *Consumer) Commit(ctx context.Context) error {
	if ok, err := k.acking(); !ok {
		return err
	}
	return k.acks.commit(ctx, true)
}

// acking reports whether acknowledgements apply to this consumer, or why
// Commit, Ack and CommitAcked may not be called (no error: nothing to do).
func (k *Consumer) acking() (bool, error) {
	if k.closed.Load() {
		return false, driver.ErrClosed
	}
	if k.group == "" {
		return false, driver.ErrCommitNotAllowed
	}
	return k.acks != nil, nil
}

// Ack marks the message with header h as processed; AckRolling sends the
// acknowledgement within CommitInterval, AckDisabled at the next CommitAcked
// or Commit (AckDelayed at its next round, without waiting CommitDelay).
// Reach it through streamer.Consumer.As:
//
//	var rc *redis.Consumer
//	if c.As(&rc) { err = rc.Ack(msg.Header) }
func (k *Consumer) Ack(h driver.Header) error {
	if ok, err := k.acking(); !ok {
		return err
	}
	k.mu.Lock()
	key, ok := k.reading[h.StreamShard()]
	k.mu.Unlock()
	if !ok {
		key = shardKey(h.StreamKey, h.Shard, false)
	}
	k.acks.ack(ackRef{key: key, id: IDFromSeqNo(h.Seq)})
	return nil
}

// CommitAcked sends the acknowledgements of the messages marked with Ack
// (SeaStreamer's commit), leaving the others pending.
func (k *Consumer) CommitAcked(ctx context.Context) error {
	if ok, err := k.acking(); !ok {
		return err
	}
	return k.acks.commit(ctx, false)
}
