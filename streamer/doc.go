// Package streamer is one streaming API over every backend: the embedded
// .ss file engine (file://), standard input and output (stdio://), Kafka
// (kafka://) and Redis Streams (redis://). It is the Go counterpart of
// SeaStreamer's sea-streamer-types and sea-streamer-socket crates.
//
// Open a Streamer with a URI, then create producers and consumers:
//
//	s, err := streamer.Open(ctx, "file://./data/app.ss/orders?create=true")
//	p, err := s.NewProducer(ctx, "")         // the URI's stream: orders
//	r, err := p.Send(ctx, []byte("hello"))  // queued; r.Wait(ctx) for the receipt
//	c, err := s.NewConsumer(ctx, nil, streamer.WithAutoStreamReset(streamer.ResetEarliest))
//	for msg, err := range c.Messages(ctx) { ... }
//
// # URIs
//
// SeaStreamer's rules: scheme://nodes/stream_a,stream_b, where the last path
// segment lists stream keys (empty when the URI ends with "/"):
//
//	file://./data/app.ss/orders,payments
//	file:///abs/path.ss                  (a last segment ending in .ss is the file)
//	kafka://host1:9092,host2:9092/topic
//	redis://localhost:6379/key
//	stdio:///key1,key2
//
// A query string carries backend options (file://...?create=true); an
// unknown scheme or option is an error naming it. See URI for the details.
// Backends register their scheme with Register, like database/sql drivers;
// file:// is always registered.
//
// # Consumer modes
//
// RealTime (the default) reads from the end (or the beginning with
// WithAutoStreamReset(ResetEarliest)) and follows new messages. Resumable
// also commits its position, and resumes after a restart. LoadBalanced
// consumers sharing a group divide the messages between them. Consumers read
// every shard of their streams unless Assign narrows them to some shards.
//
// # Keys and attributes
//
// A Message has, from the backends that have them, the record's key and
// attributes: Kafka's record key and headers, the fields of a Redis entry
// besides the payload's. WithKey and WithAttrs send them, to Kafka, Redis
// (attributes only) or a file opened with ?envelope=v1, which keeps them in
// the archive envelope (package streamer/envelope) so that a replay gives
// them back; elsewhere the send fails with ErrExtrasUnsupported.
//
// # Errors and cancellation
//
// Every call that can block takes a context.Context and returns its error
// when it ends. Errors are sentinels (ErrClosed, ErrStreamEnded,
// ErrConsumerGroupNotSet, ...) matched with errors.Is, and typed errors
// (*StreamKeyError, *URIError, *OptionError, *ConnectError, *BackendError)
// reached with errors.As; see package driver for when each is returned.
//
// # Metrics and hooks
//
// WithHooks, given to Open, adds hooks in the style of franz-go's
// kgo.WithHooks: a hook is any value implementing one or more small
// interfaces, and is called for those only. HookProduce sees each message
// sent once its receipt is known (stream, shard, bytes, latency until the
// receipt, error); HookConsume each message Next returns (stream, shard,
// bytes, delay since its timestamp); HookCommit and HookFlush each commit
// and flush (latency, error); HookError the backends' errors. HookFsync and
// HookRollover are for backends to call (package driver): they are handed
// to the driver, and the file backend is to call them (it does not yet).
// Without hooks nothing is measured, and with or without them Send and Next
// allocate nothing per message. Packages metrics/prometheus and metrics/otel
// turn the hooks into Prometheus and OpenTelemetry metrics.
//
// Consumer.Lag reports how many messages are stored after a consumer's
// position, per (stream, shard), for backends whose consumer implements
// driver.Lagger (file, Redis, Kafka); the others return ErrUnsupported.
//
// # Writing a backend
//
// A backend implements the interfaces of package driver and registers its
// scheme; package streamertest is the conformance suite it must pass.
package streamer
