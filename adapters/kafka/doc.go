// Package kafka is the kafka:// backend of package streamer, built on
// github.com/twmb/franz-go. Importing it registers the scheme:
//
//	import _ "github.com/seastream/ss/adapters/kafka"
//
//	s, err := streamer.Open(ctx, "kafka://localhost:9092/orders")
//
// # Mapping
//
// A stream key is a topic, a shard is a partition, a sequence number is an
// offset and a timestamp is the record's timestamp (milliseconds). A message
// goes to the partition its shard names (shard 0 unless the sender chooses;
// with streamer.WithRoutingKey the portable layer routes by xxhash over the
// topic's partition count, which the Conn reports as a driver.ShardCounter).
// Received messages carry their topic, partition, offset and timestamp, so
// an archive keeps them; a producer sends with the timestamp given
// (streamer.WithTimestamp), but Kafka assigns offsets, so verbatim headers
// are not supported. Kafka's time-based retention (retention.ms, 7 days by
// default) counts from the records' timestamps: records sent with
// timestamps older than that, e.g. an old archive relayed into Kafka, are
// stored and acknowledged, then deleted at the broker's next retention
// check (log.retention.check.interval.ms); raise the topic's retention.ms
// (or set it to -1) before relaying old messages to keep them. A producer
// looks up the retention.ms of each topic it sends records with explicit
// timestamps to, and logs a warning (streamer.WithLogger; ss-relay prints
// it) the first time such records are already past it.
//
// A record's key and headers are a message's Key (nil for a null key) and
// Attrs (in order, a nil Value for a null one); a message sent with
// streamer.WithKey and WithAttrs (Producer.SendExtras) gets them, and a
// message sent without has a null key and no headers, as before. Routing by
// key stays the portable layer's (WithRoutingKey): the record key does not
// choose the partition.
//
// # Sending and receiving
//
// Send copies the payload and queues the record with franz-go, which
// batches per partition; the receipt resolves when the broker acknowledges
// it. At most the client's MaxBufferedRecords (franz-go's default: 50000;
// set it with WithClientOptions) are in flight per producer; beyond that
// Send waits for room, until its ctx ends, and the records it queued never
// depend on its ctx afterwards. Next hands out the records of a poll of up
// to streamer.WithPrefetch of them (1000 by default) without copying them,
// and may be called from several goroutines at once.
//
// # Consumer modes
//
//   - RealTime reads every partition of its topics (or those chosen with
//     Assign) with no group. ResetLatest starts after the last message of
//     each existing partition, resolved when the consumer is created; a topic
//     created later is read from its first message.
//   - Resumable reads like RealTime and commits, as a simple consumer (no
//     group membership), under its group: the one given, or SeaStreamer's
//     per-host group HostID()+"r". A new consumer of the group starts after
//     the last commit. Do not run two Resumable consumers of one group at
//     once: both read everything and their commits overwrite each other (use
//     LoadBalanced to share).
//   - LoadBalanced joins the user's group: the broker's group coordinator
//     divides the partitions among the members and rebalances as they join
//     and leave. When a partition is taken away, the member commits what it
//     returned from it, so the next owner does not receive it again.
//     Members offer the balancers of WithBalancer (URI option balancer),
//     by default range then roundrobin: librdkafka's default, which
//     SeaStreamer's Kafka consumers keep, so that our members and
//     SeaStreamer's can share a group: TestSeaStreamerGroup runs real
//     SeaStreamer members (testdata/seastreamer, sea-streamer-kafka on
//     librdkafka) beside ours on a real broker, members leaving mid-stream,
//     every message delivered once. (The default used to be franz-go's
//     cooperative-sticky, which the broker refuses in a group of
//     SeaStreamer members with INCONSISTENT_GROUP_PROTOCOL; Next reports
//     that as ErrBalancerMismatch.) These balancers are eager: on every
//     rebalance each member gives up all its partitions, committing what
//     it returned from each, and the group reassigns them, so a rebalance
//     pauses every member briefly. Give balancer=cooperative-sticky to every
//     member of a group with no SeaStreamer member to move only the
//     partitions that change owner.
//
// Commit commits, per partition, the offset after the last message Next
// returned; Consumer.CommitAsync (reach it with As) does so in the
// background; WithAutoCommit commits periodically. Close does not commit
// (unless WithAutoCommit is set). Lag (streamer.Consumer.Lag) is, per
// partition read, its end offset minus the offset after the last message
// Next returned (before any: where the consumer starts, see Consumer.Lag).
//
// Seek (first message with a timestamp later than t) and Rewind (SeqAt,
// SeqBeginning, SeqEnd) move the assigned partitions, or every partition of
// the topics, of a RealTime or Resumable consumer; a LoadBalanced consumer
// moves the partitions the group gives it at the time. Replay ends
// (ErrStreamEnded) once every partition was read to the end offset it had
// when the consumer started. The Wildcard key reads every topic but Kafka's
// internal ones; it needs a RealTime consumer reading from the earliest.
//
// # Broker outages
//
// A broker that goes away and comes back (a restart, a leader or group
// coordinator moving) is waited for, not reported. Producers retry (franz-go's
// defaults: idempotent, unlimited retries, no delivery timeout): a receipt
// waits until its message is stored, exactly once and in order within its
// partition, or until the Wait's ctx ends. A Next blocked meanwhile waits,
// bounded by its ctx, and goes on where it was; transient failures are
// logged as warnings. A Commit during the outage may fail (retry it). A
// LoadBalanced member whose group session broke rejoins the group and
// resumes each partition from the group's committed offset, so it may
// receive again messages it had returned but not committed (at least once;
// committed messages are not handed out again). A RealTime or Resumable
// consumer keeps its place and receives nothing twice. The adapter's test
// TestBrokerRestart checks all of this against a real broker.
//
// # URI options
//
//	timeout=10s              dial and request timeout (also driver.ConnectOptions.Timeout)
//	client_id=name           client id the brokers see
//	tls=true                 connect with TLS (system roots)
//	tls_ca=/path/ca.pem      trust this CA (implies tls)
//	tls_skip_verify=true     do not verify the brokers' certificates (implies tls)
//	sasl_mechanism=plain     SASL: plain, scram-sha-256 or scram-sha-512,
//	sasl_user=u&sasl_password=p
//	compression=zstd         producer compression: none, gzip, snappy, lz4, zstd
//	linger=5ms               producer linger before sending a batch
//	partitions=4             create missing topics with 4 partitions before producing
//	replication=3            replication factor of topics created so (default: broker's)
//	session_timeout=10s      group session timeout of LoadBalanced consumers
//	auto_commit=5s           commit consumers' positions periodically
//	balancer=range,roundrobin  balancers of LoadBalanced consumers, in preference order:
//	                         range, roundrobin, sticky, cooperative-sticky (default range,roundrobin)
//
// The same settings exist as Go options (WithTLS, WithSASL, WithClientID,
// WithCompression, WithLinger, WithTopicCreation, WithSessionTimeout,
// WithAutoCommit, WithBalancer), and WithClientOptions passes any franz-go kgo.Opt. URI
// options override Go options.
//
// # Goroutines
//
// Every producer and consumer owns a franz-go client, whose goroutines
// End and Close stop; the Conn owns one more for metadata and offset
// requests, stopped by the Streamer's Close.
package kafka
