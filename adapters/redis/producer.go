package redis

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/seastream/ss/streamer/driver"
)

// MaxPayload is the largest payload a producer sends: Redis' default
// proto-max-bulk-len (512 MiB).
const MaxPayload = 512 << 20

// maxPending is how many full batches may wait for the sending goroutine
// before Send blocks (backpressure).
const maxPending = 4

// chunk is how many messages are allocated at once within a batch; items
// never move, so a *pitem is a stable Pending.
const chunk = 256

// maxSpareBuf is the largest payload buffer a producer keeps for its next
// batches once a batch is sent: bigger ones (a few large payloads) are left
// to the garbage collector rather than held for the producer's lifetime.
const maxSpareBuf = 4 << 20

// Producer sends messages with pipelined XADDs. Send appends to the current
// batch and returns; one goroutine sends batches in order, each as one
// pipeline of at most BatchSize commands, taking whatever has accumulated
// whenever it is free (so batches grow with the load and a lone message
// goes out at once). It is safe for concurrent use.
//
// An entry is XADD key [MAXLEN|MINID ~ n] <id> <field> <payload>, where
// <id> is "*" (Redis assigns it), "<ms>-*" for a message sent with an
// explicit timestamp, or the exact id for a verbatim header.
type Producer struct {
	conn     *Conn
	cfg      config
	verbatim bool
	suffix0  bool // shard 0 goes to "<stream>:0" (see WithShardZeroSuffix)
	client   goredis.UniversalClient
	log      *slog.Logger
	sha      string // of clampScript, in LateClamp mode

	mu        sync.Mutex
	cur       *pbatch
	pending   []*pbatch // full batches, oldest first
	lastTaken *pbatch   // the batch the sender took last
	nextSeq   uint64
	ended     bool

	slots   chan struct{} // one per pending batch
	kick    chan struct{} // wakes the sender
	stopped chan struct{} // closed when the sender exits

	spare [][]byte // payload buffers of sent batches, for new ones (under mu)

	// Used by the sending goroutine only, from batch to batch: the
	// commands' arguments and the commands, so that a batch allocates
	// neither.
	args []any
	cmds []*goredis.StringCmd

	errMu   sync.Mutex
	failErr error // first failure not reported by Flush yet
	failSeq uint64
	failN   int
}

var (
	_ driver.Producer = (*Producer)(nil)
	_ driver.Aser     = (*Producer)(nil)
)

type idKind uint8

const (
	idAuto  idKind = iota // "*"
	idAtMs                // "<ms>-*"
	idExact               // "<ms>-<seq>"
)

// field is an entry field after the payload's, its value in the batch's
// buffer.
type field struct {
	name   string
	lo, hi int
}

type pbatch struct {
	seq    uint64
	n      int
	chunks [][]pitem
	buf    []byte // payloads, back to back
	done   chan struct{}
}

func (b *pbatch) item(i int) *pitem { return &b.chunks[i/chunk][i%chunk] }

// pitem is one message of a batch; it is the Pending Send returns.
type pitem struct {
	b      *pbatch
	stream driver.StreamKey
	shard  driver.ShardID
	key    string
	kind   idKind
	id     ID // Ms for idAtMs; both parts for idExact
	lo, hi int
	extra  []field // the fields after the payload's (SendExtras)
	hdr    driver.Header
	err    error
}

// Wait implements driver.Pending.
func (it *pitem) Wait(ctx context.Context) (driver.Header, error) {
	select {
	case <-it.b.done:
		return it.hdr, it.err
	default:
	}
	select {
	case <-it.b.done:
		return it.hdr, it.err
	case <-ctx.Done():
		return driver.Header{}, ctx.Err()
	}
}

// NewProducer implements driver.Conn. opts.Extra may hold producer Options.
func (c *Conn) NewProducer(ctx context.Context, stream driver.StreamKey, opts driver.ProducerOptions) (driver.Producer, error) {
	if c.closed.Load() {
		return nil, driver.ErrClosed
	}
	cfg := c.cfg
	if err := cfg.applyExtra(opts.Extra, driver.ScopeProducer); err != nil {
		return nil, err
	}
	if err := cfg.check(); err != nil {
		return nil, err
	}
	p := &Producer{
		conn:     c,
		cfg:      cfg,
		verbatim: opts.Verbatim,
		suffix0:  cfg.zeroSuffix(opts),
		log:      c.log.With("producer", string(stream)),
		slots:    make(chan struct{}, maxPending),
		kick:     make(chan struct{}, 1),
		stopped:  make(chan struct{}),
	}
	// A producer never retries: a retried pipeline could store messages
	// twice. A cluster client still follows MOVED and ASK, which the node
	// answers without running the command; its pipelines' commands are
	// marked not to be retried (noRetry).
	p.client = c.newClient(func(o *goredis.Options) {
		o.MaxRetries = -1
		o.PoolSize = 2
		cfg.waitSingle(o)
	}, func(o *goredis.ClusterOptions) {
		o.MaxRetries = -1
		o.PoolSize = 2
		cfg.waitCluster(o)
	})
	if gc, ok := p.client.(*goredis.Client); ok && cfg.replicas > 0 {
		gc.AddHook(waitHook{n: cfg.replicas, timeout: cfg.replicasTimeout})
	}
	if cfg.late == LateClamp {
		lctx, cancel := context.WithTimeout(ctx, cfg.timeout)
		sha, err := p.client.ScriptLoad(lctx, clampScript).Result()
		cancel()
		if err != nil {
			_ = p.client.Close()
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, backendErr("load the late_timestamps=clamp script", err)
		}
		p.sha = sha
	}
	p.cur = p.newBatch()
	c.wg.Add(1)
	go p.run()
	return p, nil
}

// newBatch starts a batch, on the payload buffer of a sent one if there is
// one (under mu, or before the sender starts).
func (p *Producer) newBatch() *pbatch {
	p.nextSeq++
	b := &pbatch{seq: p.nextSeq, done: make(chan struct{})}
	if n := len(p.spare); n > 0 {
		b.buf, p.spare[n-1] = p.spare[n-1], nil
		p.spare = p.spare[:n-1]
	}
	return b
}

// recycle keeps the payload buffer of a sent batch for a new one: its items
// keep only offsets into it, and the commands that referred to it are done.
func (p *Producer) recycle(b *pbatch) {
	buf := b.buf[:0]
	b.buf = nil
	if cap(buf) == 0 || cap(buf) > maxSpareBuf {
		return
	}
	p.mu.Lock()
	if len(p.spare) < maxPending+1 {
		p.spare = append(p.spare, buf)
	}
	p.mu.Unlock()
}

func (p *Producer) full(b *pbatch) bool { return b.n >= p.cfg.batchSize }

// Client returns the producer's go-redis client, nil in a cluster (see
// UniversalClient).
func (p *Producer) Client() *goredis.Client {
	gc, _ := p.client.(*goredis.Client)
	return gc
}

// UniversalClient returns the producer's go-redis client: a
// *goredis.Client, or a *goredis.ClusterClient in a cluster.
func (p *Producer) UniversalClient() goredis.UniversalClient { return p.client }

// As sets *target (a **goredis.Client for one server, a
// **goredis.ClusterClient in a cluster, or a **Producer) to the producer's
// client or to p.
func (p *Producer) As(target any) bool {
	switch t := target.(type) {
	case **goredis.Client:
		gc, ok := p.client.(*goredis.Client)
		if !ok {
			return false
		}
		*t = gc
	case **goredis.ClusterClient:
		cc, ok := p.client.(*goredis.ClusterClient)
		if !ok {
			return false
		}
		*t = cc
	case **Producer:
		*t = p
	default:
		return false
	}
	return true
}

// Send implements driver.Producer. It blocks only while maxPending full
// batches wait to be sent.
func (p *Producer) Send(ctx context.Context, h driver.Header, payload []byte) (driver.Pending, error) {
	return p.add(ctx, h, nil, payload)
}

var _ driver.ExtrasProducer = (*Producer)(nil)

// SendExtras implements driver.ExtrasProducer: the entry has the payload's
// field first, then one field per attribute, in order (a null value is
// stored empty: Redis has no null). Redis entries have no key: a non-nil
// key is refused with ErrNoRecordKey, an attribute named as the payload's
// field with ErrFieldName, and producers with late_timestamps=clamp take
// no attributes (ErrClampFields).
func (p *Producer) SendExtras(ctx context.Context, h driver.Header, key []byte, attrs []driver.Attr, payload []byte) (driver.Pending, error) {
	if key != nil {
		return nil, ErrNoRecordKey
	}
	if len(attrs) > 0 && p.sha != "" {
		return nil, ErrClampFields
	}
	for _, a := range attrs {
		if a.Name == p.cfg.field {
			return nil, fmt.Errorf("%w: %q", ErrFieldName, a.Name)
		}
	}
	return p.add(ctx, h, attrs, payload)
}

func (p *Producer) add(ctx context.Context, h driver.Header, attrs []driver.Attr, payload []byte) (driver.Pending, error) {
	if len(payload) > MaxPayload {
		return nil, fmt.Errorf("%w: %d bytes, Redis takes at most %d", driver.ErrPayloadTooLarge, len(payload), MaxPayload)
	}
	kind, id, err := p.idFor(h)
	if err != nil {
		return nil, err
	}
	for {
		p.mu.Lock()
		if p.ended {
			p.mu.Unlock()
			return nil, driver.ErrProducerEnded
		}
		b := p.cur
		if !p.full(b) {
			i := b.n
			if i%chunk == 0 {
				b.chunks = append(b.chunks, make([]pitem, chunk))
			}
			b.n++
			it := b.item(i)
			it.b, it.stream, it.shard, it.kind, it.id = b, h.StreamKey, h.Shard, kind, id
			it.key = shardKey(h.StreamKey, h.Shard, p.suffix0)
			it.lo = len(b.buf)
			b.buf = append(b.buf, payload...)
			it.hi = len(b.buf)
			if len(attrs) > 0 {
				it.extra = make([]field, len(attrs))
				for j, a := range attrs {
					it.extra[j].name, it.extra[j].lo = a.Name, len(b.buf)
					b.buf = append(b.buf, a.Value...)
					it.extra[j].hi = len(b.buf)
				}
			} else {
				it.extra = nil
			}
			p.mu.Unlock()
			if i == 0 {
				p.wake()
			}
			return it, nil
		}
		// The current batch is full: retire it if a slot is free.
		select {
		case p.slots <- struct{}{}:
			p.retireLocked()
			p.mu.Unlock()
			continue
		default:
		}
		p.mu.Unlock()
		select {
		case p.slots <- struct{}{}:
			p.mu.Lock()
			if p.full(p.cur) && !p.ended {
				p.retireLocked()
			} else {
				<-p.slots // someone else retired it
			}
			p.mu.Unlock()
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-p.stopped:
			return nil, driver.ErrProducerEnded
		}
	}
}

// retireLocked queues the current batch (a slot is held for it).
func (p *Producer) retireLocked() {
	p.pending = append(p.pending, p.cur)
	p.cur = p.newBatch()
	p.wake()
}

func (p *Producer) wake() {
	select {
	case p.kick <- struct{}{}:
	default:
	}
}

// idFor decides the entry id of a message with header h.
func (p *Producer) idFor(h driver.Header) (idKind, ID, error) {
	if p.verbatim {
		id := IDFromSeqNo(h.Seq)
		ms, ok := timeMs(h.Timestamp)
		if h.Seq == 0 || !ok || ms != id.Ms {
			return 0, ID{}, fmt.Errorf("%w: seq %d is id %s, timestamp %s", ErrVerbatimHeader, h.Seq, id, h.Timestamp.UTC().Format(driver.TimestampFormat))
		}
		return idExact, id, nil
	}
	if h.Timestamp.IsZero() {
		return idAuto, ID{}, nil
	}
	ms, ok := timeMs(h.Timestamp)
	if !ok {
		return 0, ID{}, &driver.OptionError{Scheme: scheme, Name: "timestamp", Value: h.Timestamp.String(),
			Reason: "Redis entry ids cannot hold times before 1970-01-01", Err: driver.ErrInvalidOption}
	}
	return idAtMs, ID{Ms: ms}, nil
}

// Flush implements driver.Producer: it waits for every batch holding a
// message sent before the call, and returns the first failure since the
// previous Flush, if any.
func (p *Producer) Flush(ctx context.Context) error {
	p.mu.Lock()
	if p.ended {
		p.mu.Unlock()
		return driver.ErrProducerEnded
	}
	target := p.flushTargetLocked()
	p.mu.Unlock()
	return p.waitFor(ctx, target)
}

func (p *Producer) flushTargetLocked() *pbatch {
	switch {
	case p.cur.n > 0:
		p.wake()
		return p.cur
	case len(p.pending) > 0:
		return p.pending[len(p.pending)-1]
	}
	return p.lastTaken
}

func (p *Producer) waitFor(ctx context.Context, target *pbatch) error {
	if target == nil {
		return p.takeFailure(0)
	}
	select {
	case <-target.done:
	case <-ctx.Done():
		return ctx.Err()
	}
	return p.takeFailure(target.seq)
}

// takeFailure returns (and forgets) the first failure of a batch up to seq.
func (p *Producer) takeFailure(seq uint64) error {
	p.errMu.Lock()
	defer p.errMu.Unlock()
	if p.failErr == nil || p.failSeq > seq {
		return nil
	}
	err, n := p.failErr, p.failN
	p.failErr, p.failN = nil, 0
	if n == 1 {
		return err
	}
	return fmt.Errorf("redis: %d messages failed; the first: %w", n, err)
}

// End implements driver.Producer: it sends what is queued, then stops the
// sending goroutine and closes the producer's client.
func (p *Producer) End(ctx context.Context) error {
	p.mu.Lock()
	if p.ended {
		p.mu.Unlock()
		return driver.ErrProducerEnded
	}
	target := p.flushTargetLocked()
	p.ended = true
	p.wake()
	p.mu.Unlock()
	err := p.waitFor(ctx, target)
	select {
	case <-p.stopped:
	case <-ctx.Done():
		if err == nil {
			err = ctx.Err()
		}
	}
	return err
}

// run is the sending goroutine.
func (p *Producer) run() {
	defer p.conn.wg.Done()
	defer close(p.stopped)
	defer p.client.Close()
	for {
		p.mu.Lock()
		var b *pbatch
		slot := false
		switch {
		case len(p.pending) > 0:
			b, slot = p.pending[0], true
			p.pending[0] = nil
			p.pending = p.pending[1:]
		case p.cur.n > 0:
			b = p.cur
			p.cur = p.newBatch()
		case p.ended:
			p.mu.Unlock()
			return
		}
		if b != nil {
			p.lastTaken = b
		}
		p.mu.Unlock()
		if b == nil {
			<-p.kick
			continue
		}
		p.send(b)
		p.recycle(b)
		if slot {
			<-p.slots
		}
	}
}

// send executes one batch as a pipeline and resolves its items.
func (p *Producer) send(b *pbatch) {
	defer close(b.done)
	timeout := p.cfg.timeout
	if p.cfg.replicas > 0 {
		timeout += p.cfg.replicasTimeout
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmds := p.commands(ctx, b)
	err := p.exec(ctx, cmds)
	if p.sha != "" && err != nil && allNoScript(cmds) {
		// The server lost its script cache (restart, SCRIPT FLUSH): nothing
		// of this batch ran, so load the script and run it again.
		if _, lerr := p.client.ScriptLoad(ctx, clampScript).Result(); lerr == nil {
			cmds = p.commands(ctx, b)
			_ = p.exec(ctx, cmds)
		}
	}
	failed := 0
	var first error
	for i, cmd := range cmds {
		it := b.item(i)
		id, err := cmd.Result()
		if ws, ok := err.(*waitShort); ok {
			err = &ReplicationError{Stream: it.stream, Shard: it.shard, Key: it.key, ID: id,
				Wanted: p.cfg.replicas, Got: ws.got, Timeout: p.cfg.replicasTimeout, Err: ws.err}
		} else if err == nil {
			var rid ID
			if rid, err = ParseID(id); err == nil {
				it.hdr = driver.Header{StreamKey: it.stream, Shard: it.shard, Timestamp: rid.Time()}
				if it.hdr.Seq, err = rid.SeqNo(); err != nil {
					err = &IDError{Stream: it.stream, Shard: it.shard, ID: id, Err: ErrIDRange}
				}
			}
		} else if isTooSmallID(err) {
			err = &TimestampError{Key: it.key, Ms: it.id.Ms, Err: ErrTimestampOrder, Cause: err}
		} else {
			err = backendErr("send", err)
		}
		if err != nil {
			it.err = err
			failed++
			if first == nil {
				first = err
			}
		}
	}
	if failed > 0 {
		// Not "not stored": under replicas=N a failed receipt's message may be
		// stored on the master; the error says which.
		p.log.Warn("sends failed", slog.Int("failed", failed), slog.Int("batch", b.n), slog.Any("error", first))
		p.reloadSlots(cmds)
		p.errMu.Lock()
		if p.failErr == nil {
			p.failErr, p.failSeq = first, b.seq
		}
		p.failN += failed
		p.errMu.Unlock()
	}
}

// reloadSlots asks a cluster client to reload its slot map after a
// connection failure: a master may have died, and the cluster client would
// go on sending its slots' commands to it until it hears of its successor,
// from a MOVED (which a dead master does not send) or its periodic reload
// (ClusterStateReloadInterval, a minute by default), failing every message
// meanwhile. A reload is asynchronous, and the cluster client makes at most
// one every 200ms.
func (p *Producer) reloadSlots(cmds []*goredis.StringCmd) {
	cc, ok := p.client.(*goredis.ClusterClient)
	if !ok {
		return
	}
	for _, c := range cmds {
		var server goredis.Error
		err := c.Err()
		if ws, ok := err.(*waitShort); ok {
			err = ws.err // WAIT answered (nil), or how it failed
		}
		if err != nil && !errors.As(err, &server) {
			cc.ReloadState(context.Background())
			return
		}
	}
}

func (p *Producer) exec(ctx context.Context, cmds []*goredis.StringCmd) error {
	pipe := p.client.Pipeline()
	for _, c := range cmds {
		_ = pipe.Process(ctx, noRetry{c})
	}
	_, err := pipe.Exec(ctx)
	return err
}

// noRetry marks a command that a cluster client's pipeline must not send
// again after a connection failure (the node may have run it: a retried XADD
// stores the message twice). Redirections (MOVED, ASK) are still followed:
// the node refused the command without running it.
type noRetry struct{ *goredis.StringCmd }

func (noRetry) NoRetry() bool { return true }

func allNoScript(cmds []*goredis.StringCmd) bool {
	for _, c := range cmds {
		if !isRedisErr(c.Err(), "NOSCRIPT") {
			return false
		}
	}
	return len(cmds) > 0
}

// commands builds the batch's commands, with their arguments carved out of
// one slice; both slices are the producer's, reused by the next batch. No
// argument costs an allocation per message: the field is converted to an
// interface once per batch, a key once per run of messages to it, and a
// payload goes as its item (payloadArg), a pointer.
func (p *Producer) commands(ctx context.Context, b *pbatch) []*goredis.StringCmd {
	var trim []any
	switch {
	case p.cfg.maxLen > 0:
		trim = []any{"maxlen", p.approx(), p.cfg.maxLen}
	case p.cfg.minAge > 0:
		min := time.Now().Add(-p.cfg.minAge).UnixMilli()
		trim = []any{"minid", p.approx(), max(min, 0)}
	}
	per := 6 + len(trim)
	if p.sha != "" {
		per = 7 + len(trim)
	}
	need := b.n * per
	for i := range b.n {
		need += 2 * len(b.item(i).extra)
	}
	if cap(p.args) < need {
		p.args = make([]any, 0, need)
	}
	if cap(p.cmds) < b.n {
		p.cmds = make([]*goredis.StringCmd, b.n)
	}
	clear(p.args[:cap(p.args)]) // drop the previous batch's arguments
	args, cmds := p.args[:0], p.cmds[:b.n]
	fieldArg, shaArg := any(p.cfg.field), any(p.sha)
	var key string
	var keyArg any
	for i := range b.n {
		it := b.item(i)
		start := len(args)
		payload := (*payloadArg)(it)
		if keyArg == nil || it.key != key {
			key, keyArg = it.key, it.key
		}
		if p.sha != "" {
			ms := ""
			switch it.kind {
			case idAtMs:
				ms = strconv.FormatUint(it.id.Ms, 10)
			case idExact:
				ms = "=" + it.id.String()
			}
			args = append(args, "evalsha", shaArg, 1, keyArg, ms, fieldArg, payload)
			args = append(args, trim...)
		} else {
			args = append(args, "xadd", keyArg)
			args = append(args, trim...)
			switch it.kind {
			case idAuto:
				args = append(args, "*")
			case idAtMs:
				args = append(args, strconv.FormatUint(it.id.Ms, 10)+"-*")
			case idExact:
				args = append(args, it.id.String())
			}
			args = append(args, fieldArg, payload)
			for _, f := range it.extra {
				args = append(args, f.name, b.buf[f.lo:f.hi:f.hi])
			}
		}
		cmds[i] = goredis.NewStringCmd(ctx, args[start:len(args):len(args)]...)
	}
	return cmds
}

// payloadArg is an item as the XADD argument of its payload: go-redis writes
// an encoding.BinaryMarshaler's bytes, and a pointer in an interface costs
// no allocation (a []byte would, for its slice header).
type payloadArg pitem

// MarshalBinary returns the payload, in the batch's buffer.
func (a *payloadArg) MarshalBinary() ([]byte, error) {
	return a.b.buf[a.lo:a.hi:a.hi], nil
}

func (p *Producer) approx() string {
	if p.cfg.exactTrim {
		return "="
	}
	return "~"
}

// clampScript adds one entry for LateClamp producers. KEYS[1] is the stream;
// ARGV is ms ("" for "*", "=<id>" for an exact id), field, payload, then the
// trimming arguments. An "<ms>-*" id older than the stream's last id is
// retried with the last id's millisecond.
const clampScript = `
local function xadd(id)
  local args = {'XADD', KEYS[1]}
  for i = 4, #ARGV do args[#args + 1] = ARGV[i] end
  args[#args + 1] = id
  args[#args + 1] = ARGV[2]
  args[#args + 1] = ARGV[3]
  return redis.pcall(unpack(args))
end
local ms = ARGV[1]
if ms == '' then return xadd('*') end
if string.sub(ms, 1, 1) == '=' then return xadd(string.sub(ms, 2)) end
local r = xadd(ms .. '-*')
if type(r) == 'table' and r.err and string.find(r.err, 'equal or smaller', 1, true) then
  local info = redis.call('XINFO', 'STREAM', KEYS[1])
  for i = 1, #info, 2 do
    if info[i] == 'last-generated-id' then
      local last = string.match(info[i + 1], '^(%d+)-')
      if last then r = xadd(last .. '-*') end
      break
    end
  end
end
return r
`
