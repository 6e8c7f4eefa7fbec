package kafka

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/seastream/ss/streamer/driver"
)

// defaultPrefetch is how many records a Next takes from franz-go at once
// when ConsumerOptions.Prefetch is 0.
const defaultPrefetch = 1000

// consumerMetadataMinAge lets a consumer notice a topic created after it
// started (its first message included) within half a second.
const consumerMetadataMinAge = 500 * time.Millisecond

// wildcardMetadataMaxAge is how soon a Wildcard consumer sees a new topic.
const wildcardMetadataMaxAge = time.Second

// Consumer is the kafka:// consumer (a driver.Consumer).
//
// RealTime and Resumable consumers read partitions directly (no group
// membership), so every such consumer reads every partition of its topics
// (or those chosen with Assign). A Resumable consumer commits its position
// under its group (the default is SeaStreamer's per-host group, HostID()+"r")
// as a simple consumer, and starts from it. LoadBalanced consumers join the
// user's consumer group and share the partitions with its other members,
// rebalancing as members join and leave.
//
// As gives access to the consumer's franz-go client (**kgo.Client) and to
// the Consumer itself (**Consumer), e.g. for CommitAsync.
type Consumer struct {
	conn     *Conn
	s        *settings
	mode     driver.ConsumerMode
	group    string   // Resumable: where commits go; LoadBalanced: the group joined
	topics   []string // subscribed topics; empty with wildcard
	wildcard bool
	reset    driver.StreamReset
	prefetch int
	replay   bool

	life    context.Context // cancelled by Close, which cancels requests in flight
	kill    context.CancelFunc
	closeCh <-chan struct{} // life.Done()
	wg      sync.WaitGroup  // autoCommit and CommitAsync goroutines

	mu         sync.Mutex
	cl         *kgo.Client
	closed     bool
	polling    chan struct{}      // non-nil while Next polls; closed when the poll returns
	pollCancel context.CancelFunc // cancels that poll
	reconf     chan struct{}      // non-nil while Seek or Rewind repositions; closed after
	assigned   []driver.StreamShard
	returned   map[string]map[int32]kgo.EpochOffset // next offset after what Next returned, as of batch[:folded]
	lastTopic  string                               // cache of fold's last map lookup
	lastParts  map[int32]kgo.EpochOffset
	owned      map[string]map[int32]bool  // LoadBalanced: partitions the group gave us
	replayEnd  map[string]map[int32]int64 // Replay: end offsets when the consumer started
	pending    map[string]map[int32]int64 // Replay: partitions not yet read to their end
	ids        map[string][16]byte        // topic ids, for commits
	starts     map[string]map[int32]int64 // where partitions started, or were moved to (-1: the log start); for Lag
	moved      map[string]map[int32]bool  // partitions moved (starts) since Next last returned from them; for Lag

	// Handing out. out holds the records of the last poll, already
	// filtered (partitions owned, replay ends), in order, and Next hands
	// them out without taking mu (see handout). Only Next replaces out,
	// with mu held, and only once it is all out or dropped. Whoever must
	// stop Next from handing out the rest (a revocation, Seek, Rewind)
	// drops it with mu held (dropBatch). Positions for Commit are folded
	// into returned lazily, with mu held, up to what the cursor says was
	// handed out (settle).
	out     atomic.Pointer[handout]
	folded  int  // out.recs[:folded] is accounted for in returned
	discard bool // once out is dropped: drop the rest of it (else keep what is still owned)
}

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

func newConsumer(ctx context.Context, c *Conn, s *settings, streams []driver.StreamKey, opts driver.ConsumerOptions) (*Consumer, error) {
	k := &Consumer{
		conn: c, s: s, mode: opts.Mode, reset: opts.AutoStreamReset, replay: opts.Replay,
		prefetch: opts.Prefetch,
		returned: make(map[string]map[int32]kgo.EpochOffset),
		ids:      make(map[string][16]byte),
	}
	if k.prefetch <= 0 {
		k.prefetch = defaultPrefetch
	}
	k.out.Store(new(handout))
	k.life, k.kill = context.WithCancel(context.Background())
	k.closeCh = k.life.Done()
	for _, st := range streams {
		if st == driver.Wildcard {
			k.wildcard = true
			continue
		}
		if !slices.Contains(k.topics, string(st)) {
			k.topics = append(k.topics, string(st))
		}
	}
	if k.wildcard {
		if k.mode != driver.RealTime || k.reset != driver.ResetEarliest || len(k.topics) > 0 {
			return nil, fmt.Errorf("%w: on kafka://, the wildcard stream key needs a RealTime consumer reading from the earliest message, with no other stream key", driver.ErrUnsupported)
		}
	}
	switch k.mode {
	case driver.RealTime:
	case driver.Resumable:
		k.group = opts.Group
		if k.group == "" {
			k.group = resumableGroup()
		}
	case driver.LoadBalanced:
		if opts.Group == "" {
			return nil, driver.ErrConsumerGroupNotSet
		}
		if k.replay {
			return nil, fmt.Errorf("%w: replay of a LoadBalanced consumer on kafka:// (a member cannot know when the group has read everything)", driver.ErrUnsupported)
		}
		k.group = opts.Group
		k.owned = make(map[string]map[int32]bool)
	default:
		return nil, badOption("mode", k.mode.String(), "use RealTime, Resumable or LoadBalanced")
	}

	reqCtx, cancel := c.requestCtx(ctx, defaultConnectTimeout)
	defer cancel()
	var cl *kgo.Client
	var err error
	if k.mode == driver.LoadBalanced {
		cl, err = k.newGroupClient()
	} else {
		cl, err = k.startDirect(reqCtx)
	}
	if err != nil {
		k.kill()
		return nil, err
	}
	k.cl = cl
	if s.autoCommit > 0 && k.mode != driver.RealTime {
		k.wg.Add(1)
		go k.autoCommit(s.autoCommit)
	}
	return k, nil
}

// startDirect works out where a RealTime or Resumable consumer starts and
// returns its client. Topics that exist start at their committed offsets
// (Resumable), else at their end (ResetLatest, resolved now, so that every
// message sent after NewConsumer returns is read) or at their start. Topics
// that do not exist yet are read from their first message once created.
func (k *Consumer) startDirect(ctx context.Context) (*kgo.Client, error) {
	var md map[string]topicInfo
	var err error
	if k.wildcard {
		md, err = k.conn.metadata(ctx, nil)
	} else {
		md, err = k.conn.metadata(ctx, k.topics)
	}
	if err != nil {
		return nil, err
	}
	for t, ti := range md {
		k.ids[t] = ti.id
	}
	var committed map[string]map[int32]int64
	if k.mode == driver.Resumable {
		if committed, err = k.conn.fetchCommitted(ctx, k.group, md); err != nil {
			return nil, err
		}
	}
	var ends map[string]map[int32]int64
	if k.replay || k.reset == driver.ResetLatest {
		if ends, err = k.conn.listOffsets(ctx, partsOf(md), listLatest); err != nil {
			return nil, err
		}
	}
	exact := make(map[string]map[int32]int64) // topics read from exact offsets
	var whole []string                        // topics read whole from their start
	for _, t := range k.topics {
		ti, ok := md[t]
		switch {
		case !ok:
			whole = append(whole, t)
		case len(committed[t]) > 0 || k.reset == driver.ResetLatest:
			exact[t] = make(map[int32]int64, len(ti.partitions))
			for _, p := range ti.partitions {
				if o, ok := committed[t][p]; ok {
					exact[t][p] = o
				} else if k.reset == driver.ResetLatest {
					exact[t][p] = ends[t][p]
				} else {
					exact[t][p] = -1 // the start
				}
			}
		default:
			whole = append(whole, t)
		}
	}
	if k.replay {
		starts, err := k.conn.listOffsets(ctx, partsOf(md), listEarliest)
		if err != nil {
			return nil, err
		}
		for t, ps := range exact {
			for p, o := range ps {
				if o >= 0 {
					starts[t][p] = o
				}
			}
		}
		k.replayEnd = ends
		k.pending = pendingParts(ends, starts)
	}
	k.starts = exact
	return k.newDirectClient(exact, whole, k.wildcard)
}

// partsOf returns the partitions of the topics of md.
func partsOf(md map[string]topicInfo) map[string][]int32 {
	out := make(map[string][]int32, len(md))
	for t, ti := range md {
		out[t] = ti.partitions
	}
	return out
}

// pendingParts returns the partitions whose start is before their end.
func pendingParts(ends, starts map[string]map[int32]int64) map[string]map[int32]int64 {
	out := make(map[string]map[int32]int64)
	for t, ps := range ends {
		for p, end := range ps {
			start, ok := starts[t][p]
			if !ok || start >= end {
				continue
			}
			if out[t] == nil {
				out[t] = make(map[int32]int64)
			}
			out[t][p] = end
		}
	}
	return out
}

// newDirectClient returns a client reading the partitions of exact from
// their offsets (-1: the start) and the topics of whole from their start;
// with regex, every topic but Kafka's internal ones from their start.
func (k *Consumer) newDirectClient(exact map[string]map[int32]int64, whole []string, regex bool) (*kgo.Client, error) {
	opts := []kgo.Opt{
		kgo.ConsumeStartOffset(kgo.NewOffset().AtStart()),
		kgo.MetadataMinAge(consumerMetadataMinAge),
	}
	if regex {
		// New topics only show in a metadata refresh: refresh often.
		opts = append(opts, kgo.ConsumeRegex(), kgo.ConsumeTopics(wildcardTopic.String()),
			kgo.MetadataMaxAge(wildcardMetadataMaxAge))
	} else {
		if len(whole) > 0 {
			opts = append(opts, kgo.ConsumeTopics(whole...))
		}
		if len(exact) > 0 {
			m := make(map[string]map[int32]kgo.Offset, len(exact))
			for t, ps := range exact {
				m[t] = make(map[int32]kgo.Offset, len(ps))
				for p, o := range ps {
					if o < 0 {
						m[t][p] = kgo.NewOffset().AtStart()
					} else {
						m[t][p] = kgo.NewOffset().At(o)
					}
				}
			}
			opts = append(opts, kgo.ConsumePartitions(m))
		}
	}
	cl, err := k.conn.newClient(k.s, opts...)
	if err != nil {
		return nil, wrapErr("new consumer", err)
	}
	return cl, nil
}

// newGroupClient returns the client of a LoadBalanced consumer.
func (k *Consumer) newGroupClient() (*kgo.Client, error) {
	start := kgo.NewOffset().AtEnd()
	if k.reset == driver.ResetEarliest {
		start = kgo.NewOffset().AtStart()
	}
	opts := []kgo.Opt{
		kgo.ConsumerGroup(k.group),
		kgo.ConsumeTopics(k.topics...),
		kgo.ConsumeStartOffset(start),
		kgo.MetadataMinAge(consumerMetadataMinAge),
		kgo.DisableAutoCommit(),
		kgo.OnPartitionsAssigned(k.onAssigned),
		kgo.OnPartitionsRevoked(k.onRevoked),
		kgo.OnPartitionsLost(k.onLost),
	}
	if k.s.sessionTimeout > 0 {
		opts = append(opts, kgo.SessionTimeout(k.s.sessionTimeout))
	}
	cl, err := k.conn.newClient(k.s, opts...)
	if err != nil {
		return nil, wrapErr("new consumer", err)
	}
	return cl, nil
}

func (k *Consumer) onAssigned(_ context.Context, _ *kgo.Client, assigned map[string][]int32) {
	k.mu.Lock()
	defer k.mu.Unlock()
	for t, ps := range assigned {
		if k.owned[t] == nil {
			k.owned[t] = make(map[int32]bool)
		}
		for _, p := range ps {
			k.owned[t][p] = true
		}
	}
}

// onRevoked runs when the group takes partitions away (rebalance, or
// leaving the group on Close): it drops what was fetched from them and, except
// on Close, commits what Next returned from them, so that their next owner
// does not receive those messages again.
func (k *Consumer) onRevoked(ctx context.Context, cl *kgo.Client, revoked map[string][]int32) {
	offsets, closing := k.disown(revoked)
	if closing || len(offsets) == 0 {
		return
	}
	if err := commitGroup(ctx, cl, offsets); err != nil {
		k.conn.log.Warn("kafka: commit of revoked partitions failed; their next owner may receive messages again",
			"group", k.group, "err", err)
	}
}

func (k *Consumer) onLost(_ context.Context, _ *kgo.Client, lost map[string][]int32) {
	k.disown(lost)
}

// disown forgets partitions no longer owned, dropping their buffered
// records, and returns the offsets returned from them.
func (k *Consumer) disown(parts map[string][]int32) (map[string]map[int32]kgo.EpochOffset, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.dropBatch(false) // Next keeps the records of partitions still owned
	offsets := make(map[string]map[int32]kgo.EpochOffset)
	for t, ps := range parts {
		for _, p := range ps {
			delete(k.owned[t], p)
			delete(k.starts[t], p)
			delete(k.moved[t], p)
			if o, ok := k.returned[t][p]; ok {
				if offsets[t] == nil {
					offsets[t] = make(map[int32]kgo.EpochOffset)
				}
				offsets[t][p] = o
				delete(k.returned[t], p)
			}
		}
	}
	return offsets, k.closed
}

// Client returns the consumer's current franz-go client (Seek and Rewind of
// RealTime and Resumable consumers replace it). Do not close it.
func (k *Consumer) Client() *kgo.Client {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.cl
}

// As implements driver.Aser for **kgo.Client and **Consumer.
func (k *Consumer) As(target any) bool {
	switch t := target.(type) {
	case **kgo.Client:
		*t = k.Client()
	case **Consumer:
		*t = k
	default:
		return false
	}
	return true
}

// Group returns the consumer group: the user's for LoadBalanced, the one
// commits go to for Resumable, "" for RealTime.
func (k *Consumer) Group() string { return k.group }

// Partitions returns, for a LoadBalanced consumer, the partitions the group
// currently gives it; for other modes, the partitions chosen with Assign
// (none: every partition of the subscribed topics).
func (k *Consumer) Partitions() []driver.StreamShard {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.mode != driver.LoadBalanced {
		return slices.Clone(k.assigned)
	}
	var out []driver.StreamShard
	for t, ps := range k.owned {
		for p := range ps {
			out = append(out, driver.StreamShard{Stream: driver.StreamKey(t), Shard: driver.ShardID(p)})
		}
	}
	slices.SortFunc(out, func(a, b driver.StreamShard) int {
		if a.Stream != b.Stream {
			if a.Stream < b.Stream {
				return -1
			}
			return 1
		}
		return int(a.Shard) - int(b.Shard)
	})
	return out
}

// ConcurrentNext implements driver.ConcurrentNext: Next may be called
// concurrently.
func (k *Consumer) ConcurrentNext() {}

// Next implements driver.Consumer. It hands out the records of the last
// poll without locking (see handout) and polls franz-go for up to Prefetch
// more once they are all out. Next may be called concurrently
// (driver.ConcurrentNext): one of the callers polls, the others wait for it.
func (k *Consumer) Next(ctx context.Context) (driver.Message, error) {
	for {
		if h := k.out.Load(); len(h.recs) > 0 {
			if i := h.cursor.Add(1) - 1; i < uint64(len(h.recs)) {
				return toMessage(h.recs[i]), nil
			}
		}
		k.mu.Lock()
		if k.closed {
			k.mu.Unlock()
			return driver.Message{}, driver.ErrClosed
		}
		// Wait for a Seek or Rewind repositioning, or for another Next's
		// poll, then take from what it brought.
		if wait := cmp.Or(k.reconf, k.polling); wait != nil {
			k.mu.Unlock()
			select {
			case <-wait:
				continue
			case <-ctx.Done():
				return driver.Message{}, ctx.Err()
			case <-k.closeCh:
				return driver.Message{}, driver.ErrClosed
			}
		}
		h := k.out.Load()
		switch c := h.cursor.Load(); {
		case c >= cursorDropped:
			k.refilter()
			if len(k.out.Load().recs) > 0 {
				k.mu.Unlock()
				continue
			}
		case c < uint64(len(h.recs)):
			// Another Next installed this batch after our Add failed
			// on the one before.
			k.mu.Unlock()
			continue
		default:
			k.settle() // the batch is all out: account for it before replacing it
		}
		if k.replay && len(k.pending) == 0 {
			k.mu.Unlock()
			return driver.Message{}, driver.ErrStreamEnded
		}
		if err := ctx.Err(); err != nil {
			k.mu.Unlock()
			return driver.Message{}, err
		}
		pctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		k.polling, k.pollCancel = done, cancel
		cl := k.cl
		k.mu.Unlock()

		fetches := cl.PollRecords(pctx, k.prefetch)
		cancel()

		k.mu.Lock()
		k.polling, k.pollCancel = nil, nil
		close(done)
		stale := k.reconf != nil // a Seek or Rewind cancelled this poll: drop what it got
		closed := k.closed
		var fatal error
		fetches.EachError(func(t string, p int32, err error) {
			switch {
			case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded),
				errors.Is(err, kgo.ErrClientClosed):
				// reported below from ctx and closed
			case isDataLoss(err), kerr.IsRetriable(err), transientGroupErr(err):
				k.conn.log.Warn("kafka: consuming", "topic", t, "partition", p, "err", err)
			case fatal == nil:
				fatal = fmt.Errorf("topic %q partition %d: %w", t, p, err)
			}
		})
		n := 0
		if !stale && !closed {
			n = k.install(fetches)
		}
		k.mu.Unlock()
		switch {
		case closed:
			return driver.Message{}, driver.ErrClosed
		case n > 0 || stale:
			continue
		case fatal != nil:
			return driver.Message{}, wrapErr("next", fatal)
		case ctx.Err() != nil:
			return driver.Message{}, ctx.Err()
		}
	}
}

func isDataLoss(err error) bool {
	var dl *kgo.ErrDataLoss
	return errors.As(err, &dl)
}

// transientGroupErr reports whether err is a group session failure that
// franz-go recovers from by itself, rejoining once the group coordinator
// answers again (a broker restart, a coordinator moving): a retriable Kafka
// error, a broken connection, or a refused or timed-out dial. Next then
// keeps waiting; other failures (authorization, a bad group setting, a host
// that does not exist) are its errors.
func transientGroupErr(err error) bool {
	var gs *kgo.ErrGroupSession
	if !errors.As(err, &gs) || gs.Err == nil {
		return false
	}
	if kerr.IsRetriable(gs.Err) || kgo.IsRetryableBrokerErr(gs.Err) {
		return true
	}
	var op *net.OpError
	if !errors.As(gs.Err, &op) || op.Op != "dial" {
		return false
	}
	var dns *net.DNSError
	notFound := errors.As(gs.Err, &dns) && dns.IsNotFound
	return !notFound && !errors.Is(gs.Err, syscall.EACCES) && !errors.Is(gs.Err, syscall.EPERM)
}

// install, called by Next with mu held once the batch is all out (and
// settled), makes the records of fetches that Next may return the new batch
// and returns how many there are. It skips records of partitions the group
// took away and, in a replay, records at or after their partition's end,
// and notes the partitions read to their end.
func (k *Consumer) install(fetches kgo.Fetches) int {
	b := make([]*kgo.Record, 0, fetches.NumRecords())
	fetches.EachRecord(func(r *kgo.Record) {
		if k.owned != nil && !k.owned[r.Topic][r.Partition] {
			return
		}
		if k.replay {
			end, ok := k.pending[r.Topic][r.Partition]
			if !ok || r.Offset >= end {
				return
			}
			if r.Offset+1 >= end {
				delete(k.pending[r.Topic], r.Partition)
				if len(k.pending[r.Topic]) == 0 {
					delete(k.pending, r.Topic)
				}
			}
		}
		b = append(b, r)
	})
	k.replace(b)
	return len(b)
}

// replace, with mu held, makes recs the batch Next hands out.
func (k *Consumer) replace(recs []*kgo.Record) {
	k.out.Store(&handout{recs: recs})
	k.folded, k.discard = 0, false
}

// refilter, called by Next with mu held after dropBatch, keeps as the new
// batch the records not yet handed out of partitions still owned (none if
// the batch was discarded).
func (k *Consumer) refilter() {
	var b []*kgo.Record
	if !k.discard {
		for _, r := range k.out.Load().recs[k.folded:] {
			if k.owned == nil || k.owned[r.Topic][r.Partition] {
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
	}
}

// Seek implements driver.Consumer: each partition moves to its first
// message with a timestamp later than t (in milliseconds), or to its end.
func (k *Consumer) Seek(ctx context.Context, t time.Time) error {
	var ms int64 // Kafka timestamps are not negative
	if !t.Before(time.UnixMilli(0)) {
		ms = t.UnixMilli() + 1
	}
	return k.reposition(ctx, func(ctx context.Context, parts map[string][]int32) (map[string]map[int32]int64, error) {
		return k.conn.listOffsets(ctx, parts, ms)
	})
}

// Rewind implements driver.Consumer.
func (k *Consumer) Rewind(ctx context.Context, pos driver.SeqPos) error {
	return k.reposition(ctx, func(ctx context.Context, parts map[string][]int32) (map[string]map[int32]int64, error) {
		switch pos.Kind {
		case driver.SeqPosBeginning:
			return k.conn.listOffsets(ctx, parts, listEarliest)
		case driver.SeqPosEnd:
			return k.conn.listOffsets(ctx, parts, listLatest)
		}
		n := int64(math.MaxInt64)
		if pos.Seq < math.MaxInt64 {
			n = int64(pos.Seq)
		}
		out := make(map[string]map[int32]int64, len(parts))
		for t, ps := range parts {
			out[t] = make(map[int32]int64, len(ps))
			for _, p := range ps {
				out[t][p] = n
			}
		}
		return out, nil
	})
}

// reposition moves the consumer's partitions to the offsets resolve gives:
// the assigned ones (LoadBalanced: those the group gave it), or every
// partition of its topics. Prefetched records are dropped. RealTime and
// Resumable consumers get a new client reading exactly those partitions
// (topics that do not exist yet are read from their start once created).
func (k *Consumer) reposition(ctx context.Context, resolve func(context.Context, map[string][]int32) (map[string]map[int32]int64, error)) error {
	k.mu.Lock()
	if k.closed {
		k.mu.Unlock()
		return driver.ErrClosed
	}
	reconf := make(chan struct{})
	k.reconf = reconf
	polling := k.polling
	if k.pollCancel != nil {
		k.pollCancel()
	}
	k.dropBatch(true)
	assigned := slices.Clone(k.assigned)
	k.mu.Unlock()
	defer func() {
		k.mu.Lock()
		k.reconf = nil
		close(reconf)
		k.mu.Unlock()
	}()
	if polling != nil {
		<-polling // the poll returns at once: its ctx was cancelled
	}
	reqCtx, cancel := k.opCtx(ctx)
	defer cancel()

	if k.mode == driver.LoadBalanced {
		return k.repositionGroup(reqCtx, resolve)
	}

	// Which partitions, of which topics.
	topics := k.topics
	if k.wildcard {
		topics = nil
	}
	md, err := k.conn.metadata(reqCtx, topics)
	if err != nil {
		return k.closedOr(err)
	}
	parts := make(map[string][]int32)
	var missing []string                           // topics to read whole once they exist
	var waiting = make(map[string]map[int32]int64) // assigned partitions of missing topics
	if len(assigned) > 0 {
		for _, a := range assigned {
			t, p := string(a.Stream), int32(a.Shard)
			ti, ok := md[t]
			if !ok {
				if waiting[t] == nil {
					waiting[t] = make(map[int32]int64)
				}
				waiting[t][p] = -1
				continue
			}
			if !slices.Contains(ti.partitions, p) {
				return fmt.Errorf("%w: topic %q has %d partitions, shard %d was assigned", ErrNoSuchPartition, t, len(ti.partitions), a.Shard)
			}
			parts[t] = append(parts[t], p)
		}
	} else {
		for t, ti := range md {
			parts[t] = ti.partitions
		}
		for _, t := range k.topics {
			if _, ok := md[t]; !ok {
				missing = append(missing, t)
			}
		}
	}
	offsets, err := resolve(reqCtx, parts)
	if err != nil {
		return k.closedOr(err)
	}
	for t, ps := range waiting {
		offsets[t] = ps
	}
	for t, ti := range md {
		k.mu.Lock()
		k.ids[t] = ti.id
		k.mu.Unlock()
	}
	cl, err := k.newDirectClient(offsets, missing, false)
	if err != nil {
		return err
	}
	k.mu.Lock()
	if k.closed {
		k.mu.Unlock()
		cl.Close()
		return driver.ErrClosed
	}
	old := k.cl
	k.cl = cl
	k.dropBatch(true)
	k.moveStarts(offsets)
	if k.replay {
		k.pending = pendingParts(k.replayEnd, offsets)
	}
	k.mu.Unlock()
	old.Close()
	return nil
}

// repositionGroup moves the partitions a LoadBalanced consumer owns.
func (k *Consumer) repositionGroup(ctx context.Context, resolve func(context.Context, map[string][]int32) (map[string]map[int32]int64, error)) error {
	k.mu.Lock()
	parts := make(map[string][]int32)
	for t, ps := range k.owned {
		for p := range ps {
			parts[t] = append(parts[t], p)
		}
	}
	cl := k.cl
	k.mu.Unlock()
	if len(parts) == 0 {
		return nil
	}
	offsets, err := resolve(ctx, parts)
	if err != nil {
		return k.closedOr(err)
	}
	set := make(map[string]map[int32]kgo.EpochOffset, len(offsets))
	for t, ps := range offsets {
		set[t] = make(map[int32]kgo.EpochOffset, len(ps))
		for p, o := range ps {
			set[t][p] = kgo.EpochOffset{Epoch: -1, Offset: o}
		}
	}
	cl.SetOffsets(set)
	k.mu.Lock()
	k.dropBatch(true)
	k.moveStarts(offsets)
	k.mu.Unlock()
	return nil
}

// opCtx bounds ctx by the timeout option and cancels it when the consumer
// closes.
func (k *Consumer) opCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := k.conn.requestCtx(ctx, defaultConnectTimeout)
	stop := context.AfterFunc(k.life, cancel)
	return ctx, func() { stop(); cancel() }
}

// closedOr returns ErrClosed if the consumer was closed meanwhile (which
// cancels requests), else err.
func (k *Consumer) closedOr(err error) error {
	select {
	case <-k.closeCh:
		return driver.ErrClosed
	default:
		return err
	}
}

// Assign implements driver.Consumer. LoadBalanced consumers get their
// partitions from the group: Assign returns ErrUnsupported for them.
func (k *Consumer) Assign(stream driver.StreamKey, shard driver.ShardID) error {
	if err := k.checkAssign(stream, shard); err != nil {
		return err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.closed {
		return driver.ErrClosed
	}
	ss := driver.StreamShard{Stream: stream, Shard: shard}
	if !slices.Contains(k.assigned, ss) {
		k.assigned = append(k.assigned, ss)
	}
	return nil
}

// Unassign implements driver.Consumer.
func (k *Consumer) Unassign(stream driver.StreamKey, shard driver.ShardID) error {
	if err := k.checkAssign(stream, shard); err != nil {
		return err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.closed {
		return driver.ErrClosed
	}
	i := slices.Index(k.assigned, driver.StreamShard{Stream: stream, Shard: shard})
	switch {
	case i < 0:
		return driver.ErrConsumerNotAssigned
	case len(k.assigned) == 1:
		return driver.ErrStreamKeyEmpty
	}
	k.assigned = slices.Delete(k.assigned, i, i+1)
	return nil
}

func (k *Consumer) checkAssign(stream driver.StreamKey, shard driver.ShardID) error {
	if k.mode == driver.LoadBalanced {
		return fmt.Errorf("%w: Assign and Unassign on a LoadBalanced kafka:// consumer (the group assigns partitions)", driver.ErrUnsupported)
	}
	if !k.wildcard && !slices.Contains(k.topics, string(stream)) {
		return driver.ErrStreamKeyNotFound
	}
	if shard > math.MaxInt32 {
		return fmt.Errorf("%w: shard %d (Kafka partitions are 32-bit)", ErrNoSuchPartition, shard)
	}
	return nil
}

// Commit implements driver.Consumer: it commits, for each partition, the
// offset after the last message Next returned, and returns once the broker
// has stored it.
func (k *Consumer) Commit(ctx context.Context) error {
	offsets, err := k.toCommit()
	if err != nil {
		return err
	}
	return k.commit(ctx, offsets)
}

// CommitAsync starts committing what Next has returned so far and returns at
// once; onDone, if not nil, is called with the outcome from another
// goroutine. Close waits for commits in flight.
func (k *Consumer) CommitAsync(ctx context.Context, onDone func(error)) {
	offsets, err := k.toCommit()
	if err == nil {
		k.mu.Lock()
		if k.closed {
			err = driver.ErrClosed
		} else {
			k.wg.Add(1)
		}
		k.mu.Unlock()
	}
	if err != nil {
		if onDone != nil {
			onDone(err)
		}
		return
	}
	go func() {
		defer k.wg.Done()
		err := k.commit(ctx, offsets)
		if onDone != nil {
			onDone(err)
		}
	}()
}

// toCommit snapshots the offsets to commit.
func (k *Consumer) toCommit() (map[string]map[int32]kgo.EpochOffset, error) {
	if k.mode == driver.RealTime {
		return nil, driver.ErrCommitNotAllowed
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.closed {
		return nil, driver.ErrClosed
	}
	k.settle()
	out := make(map[string]map[int32]kgo.EpochOffset, len(k.returned))
	for t, ps := range k.returned {
		for p, o := range ps {
			if k.owned != nil && !k.owned[t][p] {
				continue
			}
			if out[t] == nil {
				out[t] = make(map[int32]kgo.EpochOffset, len(ps))
			}
			out[t][p] = o
		}
	}
	return out, nil
}

func (k *Consumer) commit(ctx context.Context, offsets map[string]map[int32]kgo.EpochOffset) error {
	if len(offsets) == 0 {
		return nil
	}
	ctx, cancel := k.opCtx(ctx)
	defer cancel()
	k.mu.Lock()
	cl := k.cl
	k.mu.Unlock()
	if k.mode == driver.LoadBalanced {
		return k.closedOr(commitGroup(ctx, cl, offsets))
	}
	plain := make(map[string]map[int32]int64, len(offsets))
	var unknown []string
	k.mu.Lock()
	ids := make(map[string][16]byte, len(offsets))
	for t, ps := range offsets {
		plain[t] = make(map[int32]int64, len(ps))
		for p, o := range ps {
			plain[t][p] = o.Offset
		}
		if id, ok := k.ids[t]; ok {
			ids[t] = id
		} else {
			unknown = append(unknown, t)
		}
	}
	k.mu.Unlock()
	if len(unknown) > 0 {
		md, err := k.conn.metadata(ctx, unknown)
		if err != nil {
			return k.closedOr(err)
		}
		k.mu.Lock()
		for t, ti := range md {
			ids[t], k.ids[t] = ti.id, ti.id
		}
		k.mu.Unlock()
	}
	return k.closedOr(k.conn.commitSimple(ctx, k.group, plain, ids))
}

// commitGroup commits offsets as a member of the client's group.
func commitGroup(ctx context.Context, cl *kgo.Client, offsets map[string]map[int32]kgo.EpochOffset) error {
	var failed error
	cl.CommitOffsetsSync(ctx, offsets, func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, err error) {
		if err != nil {
			failed = wrapErr("commit", err)
			return
		}
		for _, t := range resp.Topics {
			for _, p := range t.Partitions {
				if err := kerr.ErrorForCode(p.ErrorCode); err != nil && failed == nil {
					failed = fmt.Errorf("%w: topic %q partition %d: %w", ErrGroupCommit, t.Topic, p.Partition,
						&driver.BackendError{Backend: scheme, Op: "commit", Err: err})
				}
			}
		}
	})
	return failed
}

// autoCommit commits every interval until Close (WithAutoCommit).
func (k *Consumer) autoCommit(interval time.Duration) {
	defer k.wg.Done()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-k.closeCh:
			return
		case <-t.C:
		}
		offsets, err := k.toCommit()
		if err != nil {
			return
		}
		if err := k.commit(context.Background(), offsets); err != nil && !errors.Is(err, driver.ErrClosed) {
			k.conn.log.Warn("kafka: auto commit failed", "group", k.group, "err", err)
		}
	}
}

// Close implements driver.Consumer. It does not commit, unless
// WithAutoCommit is set: then it commits what Next returned first. A
// LoadBalanced consumer leaves its group, which rebalances at once.
func (k *Consumer) Close(ctx context.Context) error {
	var final map[string]map[int32]kgo.EpochOffset
	if k.s.autoCommit > 0 && k.mode != driver.RealTime {
		final, _ = k.toCommit()
	}
	k.mu.Lock()
	if k.closed {
		k.mu.Unlock()
		return driver.ErrClosed
	}
	k.closed = true
	k.kill()
	if k.pollCancel != nil {
		k.pollCancel()
	}
	reconf := k.reconf
	k.mu.Unlock()
	if reconf != nil {
		<-reconf // its requests were cancelled; it does not install a client now
	}
	k.wg.Wait()
	var err error
	k.mu.Lock()
	cl := k.cl
	k.mu.Unlock()
	if len(final) > 0 {
		if k.mode == driver.LoadBalanced {
			err = commitGroup(ctx, cl, final)
		} else {
			err = k.commitFinal(ctx, final)
		}
	}
	if k.mode == driver.LoadBalanced {
		if lerr := cl.LeaveGroupContext(ctx); lerr != nil && err == nil && !errors.Is(lerr, kgo.ErrClientClosed) {
			err = wrapErr("leave group", lerr)
		}
	}
	cl.Close()
	return err
}

func (k *Consumer) commitFinal(ctx context.Context, offsets map[string]map[int32]kgo.EpochOffset) error {
	plain := make(map[string]map[int32]int64, len(offsets))
	for t, ps := range offsets {
		plain[t] = make(map[int32]int64, len(ps))
		for p, o := range ps {
			plain[t][p] = o.Offset
		}
	}
	k.mu.Lock()
	ids := maps.Clone(k.ids)
	k.mu.Unlock()
	return k.conn.commitSimple(ctx, k.group, plain, ids)
}
