package kafka

// The Consumer type, its creation, its accessors and Close. Its other
// concerns have a file each: consumer_poll.go (Next), consumer_handout.go,
// consumer_commit.go, consumer_seek.go, consumer_group.go (LoadBalanced)
// and consumer_assign.go (RealTime and Resumable).

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

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

// testHooks are called, when set by a test (export_test.go), at the
// moments of a group session a test must hold a consumer at.
type testHooks struct {
	polled  func() // a poll returned, before Next installs its records
	blocked func() // a rebalance waits for Next (OnPartitionsCallbackBlocked)
	revoked func() // OnPartitionsRevoked returned
}

// hook calls the hook pick chooses, if a test set it.
func (k *Consumer) hook(pick func(*testHooks) func()) {
	if h := k.hooks.Load(); h != nil {
		if fn := pick(h); fn != nil {
			fn()
		}
	}
}

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

	hooks atomic.Pointer[testHooks] // nil but in tests

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
	revoked    map[string]map[int32]bool  // LoadBalanced: partitions taken away since the batch was installed (noteRevoked)
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
