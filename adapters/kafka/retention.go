package kafka

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// retention is what a producer knows of a topic's time-based retention.
// Kafka deletes records once their timestamp is older than retention.ms, so
// a record sent with an older timestamp (an archive relayed into Kafka) is
// stored and acknowledged, then deleted at the broker's next retention
// check: the producer warns the first time it sends a topic such a record.
type retention struct {
	known   atomic.Bool  // the lookup is done (cutoff is final)
	cutoff  atomic.Int64 // Unix nanoseconds: records older were past retention at the lookup; 0: none (kept forever or unknown)
	keep    atomic.Int64 // retention.ms in nanoseconds, for the warning
	oldest  atomic.Int64 // oldest explicit timestamp sent, Unix nanoseconds; 0: none
	warned  atomic.Bool
	stored  atomic.Bool // a record reached the topic (set while missing)
	mu      sync.Mutex  // one lookup at a time
	missing bool        // the topic did not exist at the last lookup
}

// retentionLookupTimeout bounds the lookup of a topic's retention.ms when
// the connection has no timeout option.
const retentionLookupTimeout = 5 * time.Second

// checkRetention warns, once per topic, when records were sent with
// timestamps already past the topic's retention. It looks the retention up
// on the first record with an explicit timestamp sent to the topic; if the
// topic does not exist yet (the records being sent create it), again on a
// later send or at Flush once a first record is stored. A failed lookup is
// logged at debug level and not retried.
func (p *Producer) checkRetention(ctx context.Context, topic string, ts time.Time) {
	v, ok := p.retention.Load(topic)
	if !ok {
		v, _ = p.retention.LoadOrStore(topic, new(retention))
	}
	r := v.(*retention)
	if r.warned.Load() {
		return
	}
	for ns := ts.UnixNano(); ; {
		cur := r.oldest.Load()
		if cur != 0 && cur <= ns || r.oldest.CompareAndSwap(cur, ns) {
			break
		}
	}
	if !r.known.Load() {
		p.lookUpRetention(ctx, topic, r)
	}
	p.warnRetention(topic, r)
}

// checkRetentionAll completes, at Flush, the lookups of topics that the
// records being flushed created.
func (p *Producer) checkRetentionAll(ctx context.Context) {
	if p.awaitingTopics.Load() == 0 {
		return
	}
	p.retention.Range(func(k, v any) bool {
		if r := v.(*retention); !r.known.Load() && r.stored.Load() {
			p.lookUpRetention(ctx, k.(string), r)
			p.warnRetention(k.(string), r)
		}
		return true
	})
}

// warnRetention warns if the oldest record sent was past retention when it
// was looked up (the cutoff is not moved with the clock, to keep time.Now
// off the path of every send: retention is counted in hours or days).
func (p *Producer) warnRetention(topic string, r *retention) {
	cutoff, oldest := r.cutoff.Load(), r.oldest.Load()
	if cutoff == 0 || oldest == 0 || oldest >= cutoff {
		return
	}
	ts, keep := time.Unix(0, oldest), time.Duration(r.keep.Load())
	if age := time.Since(ts); !r.warned.Swap(true) {
		p.conn.log.Warn("kafka: sending records older than the topic keeps them: the broker will delete them at its next retention check; "+
			"raise the topic's retention.ms (or set it to -1) to keep them",
			"topic", topic, "retention", keep, "oldest", ts.UTC().Format(time.RFC3339Nano), "age", age.Round(time.Second))
	}
}

func (p *Producer) lookUpRetention(ctx context.Context, topic string, r *retention) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.known.Load() || r.missing && !r.stored.Load() {
		return
	}
	lctx, cancel := p.conn.requestCtx(ctx, retentionLookupTimeout)
	defer cancel()
	keep, err := p.conn.topicRetention(lctx, topic)
	switch {
	case err == nil:
		if keep > 0 {
			r.keep.Store(int64(keep))
			r.cutoff.Store(time.Now().Add(-keep).UnixNano())
		}
	case errors.Is(err, kerr.UnknownTopicOrPartition) && !r.missing:
		r.missing = true
		p.awaitingTopics.Add(1) // see storedTo
		return
	case ctx.Err() != nil:
		return // the caller gave up, not the broker: look again next time
	default:
		p.conn.log.Debug("kafka: could not look up the topic's retention.ms; old timestamps will not be warned about",
			"topic", topic, "err", err)
	}
	if r.missing {
		p.awaitingTopics.Add(-1)
	}
	r.known.Store(true)
}

// storedTo notes, from a promise, that a record reached topic, for a
// retention lookup that found no such topic yet. It costs one atomic load
// when no lookup waits.
func (p *Producer) storedTo(topic string) {
	if p.awaitingTopics.Load() == 0 {
		return
	}
	if v, ok := p.retention.Load(topic); ok {
		v.(*retention).stored.Store(true)
	}
}

// topicRetention returns the retention.ms of topic as a duration, 0 for
// "forever" (-1).
func (c *Conn) topicRetention(ctx context.Context, topic string) (time.Duration, error) {
	req := kmsg.NewPtrDescribeConfigsRequest()
	res := kmsg.NewDescribeConfigsRequestResource()
	res.ResourceType = kmsg.ConfigResourceTypeTopic
	res.ResourceName = topic
	res.ConfigNames = []string{"retention.ms"}
	req.Resources = append(req.Resources, res)
	resp, err := req.RequestWith(ctx, c.admin)
	if err != nil {
		return 0, wrapErr("describe configs", err)
	}
	for _, r := range resp.Resources {
		if err := kerr.ErrorForCode(r.ErrorCode); err != nil {
			return 0, wrapErr("describe configs", fmt.Errorf("topic %q: %w", topic, err))
		}
		for _, cfg := range r.Configs {
			if cfg.Name != "retention.ms" || cfg.Value == nil {
				continue
			}
			ms, err := strconv.ParseInt(*cfg.Value, 10, 64)
			if err != nil {
				return 0, fmt.Errorf("kafka: topic %q: retention.ms %q: %w", topic, *cfg.Value, err)
			}
			if ms < 0 {
				return 0, nil
			}
			return time.Duration(ms) * time.Millisecond, nil
		}
	}
	return 0, fmt.Errorf("kafka: topic %q: the broker did not say its retention.ms", topic)
}
