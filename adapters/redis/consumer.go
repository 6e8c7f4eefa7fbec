package redis

// The Consumer type, NewConsumer, its accessors and Close. Its other
// concerns have a file each: consumer_plan.go (what to read, from where),
// consumer_next.go, consumer_seek.go (Seek, Rewind, Assign, Unassign),
// consumer_commit.go, consumer_release.go (leaving a group), fetch.go (the
// fetcher goroutine) and fetch_client.go (its client, and interrupting it).

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"

	goredis "github.com/redis/go-redis/v9"
	"github.com/seastream/ss/streamer/driver"
)

// Consumer reads Redis streams. A goroutine (the fetcher) reads ahead with
// XREAD or XREADGROUP on the consumer's own go-redis client and hands pages
// to Next through a bounded channel; group consumers in AckDelayed and
// AckRolling modes have a second goroutine sending acknowledgements. Close
// stops both (closing the fetcher's client interrupts a blocking read).
//
// Modes:
//
//   - RealTime: XREAD from the position AutoStreamReset gives: the last
//     entry when the consumer is created (ResetLatest) or the beginning
//     (ResetEarliest). With Replay, it stops at the entries present then.
//   - Resumable: XREADGROUP in a group named after the host ("<host>:r",
//     host from $HOST_ID or the host name) unless a group is given, as a
//     consumer of the same name, so that a restarted consumer first reads
//     back what it had received but not acknowledged, then new entries.
//   - LoadBalanced: XREADGROUP in the given group, as a uniquely named
//     consumer unless ConsumerID is set: members share the entries of every
//     shard first come, first served; dead members' entries are claimed
//     (see WithAutoClaim).
//
// A group is created when missing, at the last entry (ResetLatest) or the
// first (ResetEarliest); a stream that does not exist yet is waited for,
// or created (WithMkStream).
//
// Seek and Rewind detach a group consumer from its group, as in SeaStreamer:
// it then reads from the new position like a RealTime consumer, and Commit
// still acknowledges what it had received from the group.
type Consumer struct {
	conn    *Conn
	cfg     config
	mode    driver.ConsumerMode
	group   string
	name    string
	ownName bool // the name was generated: remove it from the group on Close
	streams []driver.StreamKey
	reset   driver.StreamReset
	replay  bool
	log     *slog.Logger
	acks    *acker // nil unless messages are acknowledged

	out    chan *rbatch
	spare  chan []driver.Message // pages' message slices Next is done with, for the fetcher
	done   chan struct{}         // closed by Close
	wake   chan struct{}         // a new plan is waiting
	closed atomic.Bool
	gen    atomic.Uint64
	wg     sync.WaitGroup

	// Next's state.
	cur    *rbatch
	curIdx int

	mu      sync.Mutex
	plan    *plan                         // for the fetcher to adopt
	reading map[driver.StreamShard]string // what the fetcher reads, and the keys
	ends    map[driver.StreamShard]ID     // Replay: the last entry at creation
	// explicit holds the shards of streams narrowed by Assign or Unassign
	// (pending the next Seek or Rewind); a stream absent from it is read
	// whole, new shards included.
	explicit map[driver.StreamKey]map[driver.ShardID]bool

	fmu     sync.Mutex
	fcond   *sync.Cond // on fmu: inBlock changed
	fclient goredis.UniversalClient
	fid     atomic.Int64 // CLIENT ID of fclient's connection; 0 if unknown
	inBlock bool         // the fetcher is in (or about to send) a blocking read

	lag lagState // positions for Lag
}

var (
	_ driver.Consumer = (*Consumer)(nil)
	_ driver.Aser     = (*Consumer)(nil)
)

// NewConsumer implements driver.Conn. opts.Extra may hold consumer Options.
func (c *Conn) NewConsumer(ctx context.Context, streams []driver.StreamKey, opts driver.ConsumerOptions) (driver.Consumer, error) {
	if c.closed.Load() {
		return nil, driver.ErrClosed
	}
	if slices.Contains(streams, driver.Wildcard) {
		return nil, fmt.Errorf("%w: the wildcard stream on redis: name the streams", driver.ErrUnsupported)
	}
	if opts.Replay && opts.Mode != driver.RealTime {
		return nil, fmt.Errorf("%w: replay of a %s consumer on redis: use a RealTime consumer", driver.ErrUnsupported, opts.Mode)
	}
	if opts.Mode > driver.LoadBalanced {
		return nil, invalid("mode", opts.Mode.String(), "use RealTime, Resumable or LoadBalanced")
	}
	cfg := c.cfg
	if err := cfg.applyExtra(opts.Extra, driver.ScopeConsumer); err != nil {
		return nil, err
	}
	if cfg.readCount == 0 {
		cfg.readCount = DefaultReadCount
		if opts.Mode == driver.LoadBalanced {
			cfg.readCount = DefaultGroupReadCount
		}
	}
	if opts.Mode == driver.LoadBalanced && cfg.claimInterval > 0 && cfg.claimIdle <= cfg.heartbeat {
		// A live member blocked in a read looks idle for up to a heartbeat.
		return nil, invalid("claim_idle", cfg.claimIdle.String(), "must exceed the heartbeat ("+cfg.heartbeat.String()+"), or live members look dead")
	}
	prefetch := opts.Prefetch
	if prefetch < 0 {
		return nil, invalid("prefetch", strconv.Itoa(prefetch), "must not be negative")
	}
	if prefetch > 0 {
		cfg.readCount = min(cfg.readCount, prefetch)
	} else {
		prefetch = 4 * cfg.readCount
	}
	k := &Consumer{
		conn:     c,
		cfg:      cfg,
		mode:     opts.Mode,
		streams:  slices.Clone(streams),
		reset:    opts.AutoStreamReset,
		replay:   opts.Replay,
		out:      make(chan *rbatch, max(1, prefetch/cfg.readCount)),
		spare:    make(chan []driver.Message, maxSpare),
		done:     make(chan struct{}),
		wake:     make(chan struct{}, 1),
		reading:  make(map[driver.StreamShard]string),
		explicit: make(map[driver.StreamKey]map[driver.ShardID]bool),
	}
	switch opts.Mode {
	case driver.Resumable:
		k.group = opts.Group
		if k.group == "" {
			k.group = driver.HostID() + ":r"
		}
		k.name = opts.ConsumerID
		if k.name == "" {
			k.name = k.group
		}
	case driver.LoadBalanced:
		k.group = opts.Group
		if k.group == "" {
			k.group = driver.HostID() + ":s" // SeaStreamer's default
		}
		k.name = opts.ConsumerID
		if k.name == "" {
			k.name, k.ownName = uniqueName(), true
		}
	}
	k.fcond = sync.NewCond(&k.fmu)
	if k.group != "" && cfg.ack != AckImmediate {
		k.acks = &acker{k: k}
	}
	k.log = c.log.With("consumer", k.name, "group", k.group, "mode", opts.Mode.String())

	ictx, cancel := context.WithTimeout(ctx, cfg.timeout)
	defer cancel()
	st, err := k.initialPlan(ictx)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, err
	}
	k.plan = st
	k.gen.Store(st.gen)
	k.lag.reset(st.gen)
	k.setReading(st.shards)

	goroutines := 1
	if k.acks != nil && (cfg.ack == AckDelayed || cfg.ack == AckRolling) {
		goroutines++
	}
	k.wg.Add(goroutines)
	c.wg.Add(goroutines)
	go k.fetch()
	if goroutines == 2 {
		go k.acks.run()
	}
	return k, nil
}

// uniqueName names a LoadBalanced consumer: host, process and a random part.
func uniqueName() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return driver.HostID() + ":" + strconv.Itoa(os.Getpid()) + ":" + hex.EncodeToString(b[:])
}

// Group returns the consumer group, "" for a RealTime consumer.
func (k *Consumer) Group() string { return k.group }

// Name returns the consumer's name within its group.
func (k *Consumer) Name() string { return k.name }

// As sets *target (a **goredis.Client, **goredis.ClusterClient or
// **Consumer) to the shared client (as Conn.As) or to k. Through As, users
// of package streamer reach Ack and CommitAcked.
func (k *Consumer) As(target any) bool {
	switch t := target.(type) {
	case **goredis.Client, **goredis.ClusterClient:
		return k.conn.As(target)
	case **Consumer:
		*t = k
	default:
		return false
	}
	return true
}

// Close implements driver.Consumer. It stops the goroutines, sends the
// acknowledgements that are due in AckDelayed and AckRolling modes (not
// the others: Close does not commit), and removes a generated consumer name
// with nothing pending from its group.
func (k *Consumer) Close(ctx context.Context) error {
	if k.closed.Swap(true) {
		return driver.ErrClosed
	}
	k.mu.Lock() // orders with reposition
	close(k.done)
	k.mu.Unlock()
	k.interrupt()
	k.wg.Wait()
	var err error
	if k.mode == driver.LoadBalanced {
		err = k.release(ctx)
	}
	if k.ownName {
		k.forget(ctx)
	}
	return err
}
