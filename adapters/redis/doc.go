// Package redis is the redis:// and rediss:// backend of package streamer,
// on Redis Streams through github.com/redis/go-redis/v9. It follows
// SeaStreamer's Redis backend (sea-streamer-redis) in what it stores, so
// both read each other's streams, and fixes what that backend lacks.
//
// Importing the package registers the driver:
//
//	import _ "github.com/seastream/ss/adapters/redis"
//
//	s, err := streamer.Open(ctx, "redis://localhost:6379/orders")
//
// # URIs
//
//	redis://[user[:password]@]host[:port]/stream1,stream2?option=value&...
//	rediss://...   the same over TLS
//	redis://[user[:password]@]h1:7001,h2:7002,h3:7003/stream1?cluster=true
//	               a Redis Cluster (see Redis Cluster below)
//
// Without cluster=true a URI names one node (several give ErrUnsupported);
// the port defaults to 6379, the host to localhost. A user info without a
// colon is the password alone, as redis-cli reads it.
//
// Query options (each has a Go Option, given with streamer.WithDriverOption;
// Go options given to Open are defaults that the URI overrides, and options
// given to NewProducer or NewConsumer override both):
//
//	cluster=true                Redis Cluster: the nodes are where the cluster client starts (WithCluster)
//	db=N                        database (WithDB)
//	timeout=10s                 bounds connecting and each request (streamer.WithTimeout)
//	tls_insecure=true           rediss:// without certificate checks (tests only)
//	field=msg                   entry field of the payload (WithMessageField)
//	batch_size=1000             producer: commands per pipeline (WithBatchSize)
//	maxlen=N, minage=24h        producer: trim at each XADD (WithTrimMaxLen, WithTrimMinAge)
//	exact_trim=true             producer: "=" instead of "~" (WithExactTrim)
//	late_timestamps=reject      producer: or clamp (WithLateTimestamps)
//	shard0_suffix=true|false    producer: shard 0 in "<stream>:0" or "<stream>" (default: as
//	                            SeaStreamer, "<stream>:0" when the producer shards; WithShardZeroSuffix)
//	replicas=0                  producer: WAIT for N replicas after each pipeline (WithReplicas; see Replicas)
//	replicas_timeout=1s         producer: how long that WAIT waits, at least 1ms (WithReplicas)
//	ack=delayed                 consumer: immediate|delayed|rolling|disabled (WithAckMode)
//	commit_delay=5s             consumer: AckDelayed's delay (WithCommitDelay)
//	commit_interval=1s          consumer: background acknowledgements (WithCommitInterval)
//	claim_interval=30s          consumer: dead members' check, 0 = off (WithAutoClaim)
//	claim_idle=60s              consumer: idle time of a dead member (WithAutoClaim)
//	count=1000                  consumer: entries per read; 10 for LoadBalanced (WithReadCount)
//	mkstream=true               consumer: groups create missing streams (WithMkStream)
//	heartbeat=1s                consumer: longest blocking read (WithHeartbeat)
//	discover_interval=5s        consumer: SCAN for new shards, 0 = only at start (WithDiscoverInterval)
//
// WithTLSConfig, WithClientOptions (which adjusts the go-redis options) and
// WithClusterOptions (the go-redis cluster options) exist in Go only. Unknown options and values of other backends' option
// types are refused with ErrUnknownOption.
//
// # Messages, sequence numbers and timestamps
//
// A message is an entry whose field "msg" holds the payload, as SeaStreamer
// writes it; consumers skip entries without the field (with a warning).
// An entry's other fields are the message's Attrs, in the entry's order,
// repeated names included; nil for an entry of the payload's field alone.
// go-redis reads an entry's fields into a map, so an entry with other
// fields is read again as a list (one XRANGE, pipelined per read; entries
// of the payload alone, SeaStreamer's, cost nothing); if that read fails,
// its attributes are in name order. A message sent with streamer.WithAttrs
// (Producer.SendExtras) gets its attributes as fields after the payload's,
// in order. Entries have no key: a message with one is refused
// (ErrNoRecordKey, a case of driver.ErrExtrasUnsupported).
// The stream key is the Redis key (see Shards below for the others).
//
// The sequence number is the entry id packed as SeaStreamer packs it,
// SeqNo = ms<<16 | seq for the id "<ms>-<seq>", and the timestamp is the
// id's millisecond. The packing preserves order, so SeqAt and comparisons
// work, and it is exact (IDFromSeqNo(SeqNo) gives back the id, so Rewind to
// a message's Seq returns to exactly that entry) for every id with
// ms < 2^48 (until the year 10889) and seq < 65536. Redis generates such ids
// itself unless 65536 entries land in one millisecond of one stream; an
// entry beyond that (written by another client) makes Next return an
// *IDError wrapping ErrIDRange, and Next goes on with the following entry.
// SeaStreamer's .ss archives of Redis streams (redis-streams-dump) carry the
// same numbers.
//
// # Producers
//
// Send copies the payload into the current batch and returns a receipt; one
// goroutine per producer sends batches in order as pipelines of XADD (up to
// batch_size commands, taking whatever accumulated while the previous one
// was in flight), and resolves each receipt with the id Redis assigned.
// Send blocks only when four full batches wait (backpressure). Pipelines are
// never retried (a retry could store a message twice): a failure fails the
// messages of the batch it hit, and Flush reports it once.
//
// A message sent with an explicit timestamp (streamer.WithTimestamp) is
// stored with the id "<ms>-*", so its timestamp is kept (SeaStreamer ignores
// it). Redis ids only grow: a timestamp older than the stream's last entry
// fails that message with ErrTimestampOrder, unless the producer has
// late_timestamps=clamp, which stores it at the last entry's millisecond
// (the receipt tells the timestamp stored). A verbatim producer
// (streamer.WithVerbatimHeaders) stores the exact id its headers carry: a
// header read from Redis is copied with its id, others are refused with
// ErrVerbatimHeader. Together this lets a relay archive Redis streams to
// .ss files and replay them with their timestamps and order.
//
// # Consumers
//
// RealTime reads with XREAD from the last entry present when the consumer
// is created (ResetLatest; XREVRANGE pins it, so no message sent after
// NewConsumer returns is missed) or from the beginning (ResetEarliest).
// Replay stops at the last entries present at creation.
//
// Resumable reads with XREADGROUP in a group of its own (default
// "<host_id>:r", with SeaStreamer's host id: see driver.HostID), under a
// fixed consumer name, so that a restarted consumer first reads back the
// entries it received and did not acknowledge, then new ones.
//
// LoadBalanced reads with XREADGROUP in the caller's group (default
// "<host_id>:s", as SeaStreamer) under a unique name (host, process and a
// random part) unless a ConsumerID is given: members share every shard entry
// by entry, first come, first served.
//
// Ack modes (SeaStreamer's AutoCommit) decide when group entries are
// acknowledged: AckImmediate reads with NOACK; AckDelayed (the default)
// acknowledges what Next returned commit_delay earlier, every
// commit_interval; AckRolling acknowledges what Consumer.Ack marked, every
// commit_interval; AckDisabled only on CommitAcked or Commit. Commit always
// acknowledges everything Next returned so far. Users of package streamer
// reach Ack and CommitAcked with As:
//
//	var rc *redis.Consumer
//	if c.As(&rc) {
//		err = rc.Ack(msg.Header)
//	}
//
// A LoadBalanced member that closes hands back to its group the entries it
// received but never returned (read ahead, or in a read cut by Close): it
// marks them idle for 31 years (XCLAIM ... IDLE), and the other members take
// them at their next heartbeat. To keep each member's messages in order, a
// member takes only released entries newer than what it already received
// from the shard (a member that joins takes them all), unless they wait
// longer than claim_idle.
//
// Auto-claim: every claim_interval a LoadBalanced member looks for members
// idle longer than claim_idle with entries pending (dead ones), and claims
// the entries idle that long with XAUTOCLAIM under its own name (SeaStreamer
// passes the dead member's name, which gives them back to the dead member).
// As XAUTOCLAIM takes every entry idle that long, claim_idle must exceed the
// time a live member needs to process and acknowledge a message.
//
// A group is created when missing, at the stream's last entry (ResetLatest)
// or first (ResetEarliest), together with the stream unless mkstream=false;
// then a missing stream is waited for and its group created at its first
// entry when it appears. A group deleted while in use is created again where
// the consumer was.
//
// Seek and Rewind detach a group consumer from its group, as in SeaStreamer:
// it then reads the stream itself from the new position, like a RealTime
// consumer; Commit still acknowledges what it received from the group.
// Seek(t) moves to the first entry later than t; Rewind(SeqAt(n)) to the
// first entry whose id is at least IDFromSeqNo(n).
//
// A goroutine per consumer reads ahead (up to 4 reads, or Prefetch
// messages) on a connection of its own; Close interrupts its blocking read
// with CLIENT UNBLOCK, which returns what the server served meanwhile
// instead of losing it with the connection. Servers without CLIENT UNBLOCK
// (miniredis), and clusters (see Redis Cluster), get blocking reads of at
// most 100ms that Close waits for.
// Connection failures are retried quietly for the request timeout (so a
// server restart is invisible), then reported by Next; the consumer goes on
// retrying after each report.
//
// Consumer.Lag (streamer.Consumer.Lag) counts, per shard, the entries after
// the last message Next returned, or after the start position (see its cost).
//
// # Shards
//
// A stream's shard N > 0 is the key "<stream>:N" and shard 0 the key
// "<stream>" (or "<stream>:0", which SeaStreamer's sharders write, with
// shard0_suffix). A valid stream key has no ':', so these never collide.
// Consumers find the shards with SCAN (TYPE stream) when they start, seek or
// rewind, and every discover_interval; a shard found later is read from its
// first entry. A stream with both "<stream>" and "<stream>:0" is refused
// (ErrShardConflict). Assign narrows a stream to the assigned shards,
// Unassign removes one; both take effect at the next Seek or Rewind.
// Conn.Shards (for routing by key) counts the shards found.
//
// # Redis Cluster
//
// With cluster=true (WithCluster; SeaStreamer's enable_cluster connect
// option, which SeaStreamer also takes with the nodes comma-separated in the
// URI) the driver uses go-redis's cluster client: it learns the slots from
// any node of the URI (one is enough; list several in case one is down),
// sends each command to the master of its key's slot, follows MOVED and ASK
// (resharding, failover) and reloads the slot map. db must be 0. The user
// info of the first node is used for all; with TLS each node's certificate
// is checked against its own host name.
//
// The keys are SeaStreamer's: "<stream>" and "<stream>:<n>", without hash
// tags, so each shard of a stream hashes to a slot of its own and the shards
// spread over the masters (which is what sharding a stream is for), and
// SeaStreamer finds the keys by the names it writes. No command the adapter
// sends names keys of two shards: a cluster refuses that (CROSSSLOT). What
// a consumer does across shards is one command per key: shards are found
// with SCAN on every master; reads take one XREAD or XREADGROUP per key, all
// of them first without BLOCK in one pipeline (the cluster client sends each
// node its part, in parallel), and only when none has an entry one short
// blocking read per key in parallel (at most 100ms, as on a server without
// CLIENT UNBLOCK: Close and Seek wait for it); groups, acknowledgements,
// claims and releases are per key already (a consumer group lives in each
// shard's key). A consumer of one key reads as on one server, with reads of
// at most 100ms. Producers' pipelines are split by node by the cluster client,
// in order per key; they follow MOVED and ASK (the node refused the command
// without running it) but are never sent again after a connection failure.
//
// Failover: with a coordinated failover (CLUSTER FAILOVER on a replica,
// which catches up with its master first) no message whose receipt resolved
// is lost, and the groups' state (what was delivered to whom, what was
// acknowledged) moves to the new master with the entries; sends wait
// meanwhile, and reads are retried quietly as after a server restart. A
// receipt failed by a connection cut may belong to a message that was
// stored (the reply was lost, and the XADD is not sent again). Redis
// replicates asynchronously, and by default the adapter does not wait for
// replicas (see Replicas for replicas=N): when a master dies, what it acknowledged in its last moments
// (before its replica received it) is lost with it: messages whose receipts
// resolved, and group changes, so that the new master may deliver an entry
// again (a group consumer receives it twice) or forget an acknowledgement
// (it is delivered again after a restart). Sends to a dead master fail
// until its replica takes over (cluster-node-timeout and an election, a few
// seconds); a producer whose send failed by a connection failure has its
// cluster client reload the slot map, so that it sends to the new master as
// soon as there is one. A slot moving to another master (resharding) costs
// nothing: commands sent meanwhile are redirected (ASK, then MOVED) and
// none fails.
//
// # Replicas
//
// With replicas=N (WithReplicas), a producer sends WAIT N timeout after each
// pipeline of XADDs, on the connection that carried them (Redis counts the
// writes of the connection WAIT comes on): on one server in the same
// pipeline; in a cluster, in each node's part of a pipeline the cluster
// client split by node, and again after any part it redirected (MOVED,
// ASK), so redirections and slot-map reloads work as without it. A
// receipt resolves once WAIT reports N replicas or more. If fewer
// acknowledged within replicas_timeout (default 1s), or WAIT itself
// failed (connection cut), the receipts of that part fail with a
// *ReplicationError (errors.Is ErrNotReplicated; Wanted, Got, the id the
// master assigned): the message is stored on the master, and may be lost
// if it fails, or survive; sending it again may store it twice. Receipts
// wait up to replicas_timeout longer (and the read timeout grows by it).
// replicas=0, the default, sends no WAIT and costs nothing. N must not
// exceed the replicas a master has: after a failover the new master has
// none until one joins, and every receipt fails meanwhile.
//
// What it guarantees: a message whose receipt resolved was received by N
// replicas (in their memory, not necessarily on disk). What it does not:
// Redis's documentation of WAIT says "WAIT does not make Redis a strongly
// consistent store", it "improves the real world data safety" in a
// failover, and that a write transferred to replicas makes it "more likely
// (but not guaranteed)" that the replica promoted has it: Sentinel and
// Redis Cluster promote the best replica available on a best-effort basis,
// so in rare cases (a partition, several failures) an acknowledged message
// can still be lost. Group state (XREADGROUP deliveries, XACK) is not
// waited for. TestClusterMasterCrashReplicas kills a master under a
// replicas=1 producer and loses no acknowledged message.
//
// # Not supported
//
// The Wildcard stream, and Replay in groups return ErrUnsupported.
package redis
