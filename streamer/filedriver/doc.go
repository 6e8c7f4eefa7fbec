// Package filedriver is the file backend of package streamer: it serves
// URIs such as file://./data/app.ss/orders,payments with the .ss engine of
// package ssfile, and segmented stream directories such as
// file://./data/orders/?create=true with package ssdir (see Stream
// directories below); it is registered under the scheme "file".
//
// Applications use package streamer; this package matters for its options
// (WithCreate, WithEOSOnClose, WithBeaconInterval, WithSizeLimit, Sync,
// GroupMode, Heartbeat, and for directories WithSegmentSize, WithSegmentAge,
// WithRetentionBytes, WithRetentionAge, WithRetentionSegments,
// WithSkipDeleted, WithRetainGroups, given with streamer.WithDriverOption),
// for DefaultGroup
// and OffsetsPath, and for how it behaves, described here.
//
// # Options
//
// URI query options override the Go options (Option, Sync, GroupMode,
// Heartbeat; streamer.WithPrefetch):
//
//	create=never|if-missing|only  never (default): the file must exist; if-missing
//	                              (or create, create=true) creates it; only creates
//	                              it and fails (fs.ErrExist) if it exists; both
//	                              create missing parent directories (mkdir -p)
//	eos=true                      write an end-of-stream message when the file's
//	                              writer closes (see Producers)
//	beacon_interval=1MiB          beacon interval of a file created here
//	size_limit=16GiB              size limit of the file
//	prefetch=1000                 messages read ahead per consumer
//	sync=never|flush|<duration>   when the writer syncs the file (Sync)
//	group_mode=pairs|round-robin  how LoadBalanced groups share the file (GroupMode):
//	                              pairs (default) across processes, by (stream,
//	                              shard); round-robin in this process, by message
//	heartbeat=250ms               how often the members of a pairs group look at
//	                              each other (Heartbeat)
//	envelope=none|v1              none (default): plain SeaStreamer payloads; v1:
//	                              every payload in the archive envelope, with the
//	                              message's key and attributes (WithEnvelope,
//	                              package envelope); a consumer refuses a payload
//	                              without it
//
// and for a stream directory (refused for a file; size_limit is refused for
// a directory, whose segments roll over by segment_size instead):
//
//	segment_size=256MiB           roll over to a new segment at this size (4 KiB
//	                              to 8 GiB; WithSegmentSize)
//	segment_age=1h                roll over before a write to a segment this old
//	                              (WithSegmentAge; default none)
//	retention_bytes=10GiB         delete the oldest segments while their total
//	                              passes this (WithRetentionBytes; default none)
//	retention_age=168h            ... while the newest message of the oldest is
//	                              older (WithRetentionAge; default none)
//	retention_segments=100        ... while there are more segments
//	                              (WithRetentionSegments; default none)
//	skip_deleted=true             a consumer whose position retention deleted
//	                              goes on from the oldest segment left, instead
//	                              of failing with ssdir.ErrSegmentDeleted
//	                              (WithSkipDeleted)
//	retain_groups=g1,g2           retention keeps every segment these groups
//	                              have not read (WithRetainGroups; see Stream
//	                              directories)
//
// Any other option is an *driver.OptionError wrapping driver.ErrUnknownOption.
//
// # Producers
//
// All producers of all Conns of one process on one file share a single
// ssfile.Writer (a process-wide registry keyed by the absolute path, holding
// the writer while at least one Conn that created a producer is open; Open
// itself does not take the writer, so a consuming process never keeps
// another from writing). The first such Conn's options configure it.
// Sequence numbers are assigned per (stream, shard) as the message is
// written, one more than the highest in the file, so they are contiguous and continue
// across restarts; timestamps are the current time in milliseconds unless
// the sender gives one. A producer created Verbatim stores Seq and Timestamp
// as given.
//
// Send queues the message and returns a receipt at once: it copies a
// payload of up to 16 KiB, and waits until a larger one is written into the
// writer's buffer, so that the caller may reuse it either way. A background
// flusher takes the queue a batch at a time: it writes the batch's messages
// into the writer's buffer (numbering them), flushes once and then
// resolves the batch's receipts: a resolved receipt
// means the message survives a crash of the process (with sync=flush, of
// the machine: one fdatasync per batch, group commit). Writing on the
// flusher's goroutine keeps the writer's lock with one goroutine, so that a
// producer sending in a loop and the flusher never stall each other. Send
// blocks (backpressure) while 16384 sends or 1 MiB of payloads are queued.
// Flush waits for everything sent before it. A message larger than the
// file's size limit is refused by Send; one that does not fit in what is
// left of it fails its receipt with ssfile.ErrSizeLimit (the writer stays
// usable, and the message takes no sequence number).
//
// When the last Conn holding the writer closes, the file is flushed, synced
// and closed; if any of those Conns asked for it (eos=true), an end-of-stream
// message is written first. That message ends every consumer's stream
// (Next returns driver.ErrStreamEnded); a later writer removes it before
// appending.
//
// # Consumers
//
// Each consumer reads with its own ssfile.Reader in a goroutine that fills a
// queue of about prefetch messages (default 1000), handed to Next in batches
// of up to 64 (a sixteenth of prefetch): a batch goes as soon as it is full
// or the reader has read what the file holds, so none holds a message back.
// A consumer that does not call Next stops its reader there, so memory
// stays bounded, and it never slows another consumer. Payloads are copied out of the file's memory mapping
// (small ones share 64 KiB chunks): a message is the caller's, it never
// changes after Next returns it and stays valid after the consumer closes,
// even if the file is later rewritten. A file recreated in place under a
// consumer (same inode, truncated and written again) ends it with an error
// matching ssfile.ErrReplaced or ssfile.ErrTruncated; no message of the new
// file is handed out as if it continued the old one.
//
//   - RealTime reads from the end (ResetLatest) or the beginning
//     (ResetEarliest) and follows the file. With Replay it reads from the
//     beginning and ends (driver.ErrStreamEnded) at the end of the data present
//     when it started.
//   - Every consumer ends at an end-of-stream message, which is never
//     returned. The Wildcard stream key reads every stream.
//   - Resumable commits its position to a file beside the .ss file,
//     OffsetsPath(file, group): for app.ss and group g, app.ss.g.offsets. A
//     Resumable consumer without a group uses DefaultGroup (per host). The
//     store holds the offset of the next message to read, the last sequence
//     number returned per (stream, shard) (messages at or below it are
//     skipped on resume, as a check), the message returned last, and the
//     last Seek or Rewind target, and identifies the .ss file by its header
//     so that a recreated file starts over. On resume the offset is used
//     only if the message returned last is still where it was and ends
//     there; else (the file was repaired by ss-repair, which keeps the
//     header but moves the messages after a damaged one) the position is
//     found again by sequence number through the beacons: a resume never
//     skips a message. The store is a JSON snapshot plus a commit log,
//     app.ss.g.offsets.log: Commit appends one checksummed record of what
//     changed since the last commit and fsyncs it, so its cost does not
//     grow with the streams that did not change, and now and then writes
//     a new snapshot (temporary file, fsync, rename, fsync of the
//     directory) and starts the log again. A commit that returned is kept
//     after a crash; one cut by a crash leaves a torn record that is
//     ignored. Opening a group's store removes the temporary snapshot files
//     of crashed commits: they are written only under the log's flock,
//     which opening takes. Offsets files of older versions (JSON only) load;
//     older versions reading a store written since see only its snapshot, an
//     older position. Without a committed position, AutoStreamReset decides.
//     A Resumable group is held by one consumer at a time, in any process of
//     the host: NewConsumer takes an exclusive flock on app.ss.g.offsets.lease
//     and holds it until Close, and a second consumer of the group gets an
//     error matching ErrGroupBusy (a *GroupBusyError naming the holder's pid)
//     rather than reading the stream again beside the first. A holder that
//     dies releases it with its process; the next resumes from its last
//     commit.
//   - LoadBalanced members of one group share the file's (stream, shard)
//     pairs, in any process of the host, or (group_mode=round-robin) take
//     turns message by message in this process: see Groups below.
//
// Seek(t) positions each assigned (stream, shard) at its first message with a
// timestamp after t, using the beacons (ssfile.Reader.Seek with a time
// target), reads on from the smallest of those offsets, and delivers each
// (stream, shard) only from its own first match. With no shard assigned, one
// beacon search covers every subscribed stream. Rewind does the same with
// sequence numbers, or goes to the beginning or the end. Assign and Unassign
// take effect at the next Seek or Rewind; with no assignment every shard of
// the subscribed streams is read, with some exactly the assigned ones.
//
// # Groups
//
// By default (GroupMode Pairs) a LoadBalanced group is shared by consumers in
// any process of the host, as Kafka shares partitions: each (stream, shard)
// pair is owned by one member at a time, which receives all its messages, in
// order. The group's state is a directory beside the file, GroupDir(file,
// group) (for app.ss and group g: app.ss.g.group): a file per member, held
// under the member's flock while it lives (the kernel drops it when the
// process dies), and a file per pair, whose flock is its ownership and which
// holds its position. Every heartbeat (250ms, Heartbeat) each member lists
// the live members and computes each pair's owner from them by rendezvous
// hashing; it takes a pair it owns once the previous owner has let it go,
// and gives up one it no longer owns, writing its position. So:
//
//   - a member that joins takes a share of the pairs within a heartbeat or
//     two; with fewer pairs than members, the others stand by (a one-shard
//     stream has one active member and hot standbys);
//   - a member that leaves (Close), or loses a pair in a rebalance, hands on
//     the position after the last message its Next returned: nothing is
//     delivered twice;
//   - a member that dies (even SIGKILL) hands on its last Commit: the
//     messages it returned after that are delivered again, and only those;
//   - Commit writes the positions of the pairs the member holds (one
//     fdatasync each), in the pair files, which the whole group shares: a
//     group formed again later goes on from them.
//
// Each member reads the whole file from where the group started (the
// beginning with ResetEarliest, else the end when the group was first
// created), skipping the pairs it does not hold; a pair it takes moves its
// reader back to the oldest position of the pairs it holds. The members of a
// group must subscribe the same streams (ErrGroupStreams). Replay is not
// available to a shared group (a replay group lives in one process: use
// round-robin). Seek and Rewind take a member out of its group.
//
// With group_mode=round-robin (GroupMode RoundRobin), SeaStreamer's file
// semantics, a group lives in one process and its members take turns
// message by message. The group's reader fills one queue of prefetch messages (the first
// member's prefetch) shared by its members, and each Next takes the message
// at the head: every message goes to exactly one member, and each member
// receives its messages in file order, so order per (stream, shard) holds
// for every member. Members waiting in Next are served first come, first
// served, which is round-robin when they all wait: a member goes to the back
// of the line after each message. A member that does not call Next takes
// nothing, so it neither stalls the others nor holds messages it would have
// to hand back when it leaves; when no member reads, the reader stops at
// prefetch messages. (Dealing messages out ahead into per-member buffers
// would make a member that leaves hand back messages that others, already
// past them, could only receive out of order.)
//
// As in SeaStreamer's file backend, such a group lives in one process:
// members in other processes form another group and also receive every
// message. Its position is not stored: Commit is accepted and does
// nothing (a message returned by Next is never handed out again), and a group
// formed again after all its members left starts where AutoStreamReset says.
// Use Resumable for a position that survives restarts. Seek and Rewind take a
// member out of its group (it reads alone from then on), as in SeaStreamer.
// Members must agree on Replay (ErrGroupMismatch).
//
// # Stream directories
//
// A path that is a directory, or that does not exist and ends in "/"
// (file://./data/orders/?create=true, file://./data/orders//payments) or
// is given a directory's option (file://./data/orders/payments?create=true&segment_size=64MiB),
// is a stream directory of package ssdir: segment files, each a complete
// .ss file, that the writer rolls over by size and age and deletes by
// retention. A path ending in ".ss" is always a file, and a file's URIs
// work as before. Everything above applies to a directory as to a file:
// one shared writer per directory in a process (an ssdir.Writer, exposed to
// streamer.Streamer.As as *ssdir.Writer), consumers that read, follow and
// seek across segments, Resumable groups and LoadBalanced groups of both
// modes. With create, Open makes the directory and its first segment;
// without, the directory must hold a segment. A segment named as a file
// (file://./data/orders/00000000000000000001.ss) reads as the file it is;
// a producer to it is refused with driver.ErrUnsupported, as appending to a
// segment would break its directory.
//
// The group files of a stream directory are inside it, beside the
// segments, which its writer leaves alone: OffsetsPath(dir, g) is
// dir/g.offsets (with dir/g.offsets.log and dir/g.offsets.lease), and
// GroupDir(dir, g) is dir/g.group.
//
// A position in a directory names its segment: where a file stores a byte
// offset (the offsets store, pair files, a group's start), a directory
// stores the segment number and the offset in it packed in one int64,
// segment<<36 | offset (segments up to 2^27-1, offsets below 64 GiB), which
// orders positions as the messages are read. A position committed at the
// end of a segment the writer has moved on from is stored as the start of
// the next one, so that retention deleting a segment read to its end loses
// nothing. A directory has no header of its own to tell a recreated one: a
// resume checks the message recorded before the position, as in a file
// (found again by sequence number if it moved), and a position in a segment
// after the newest (the directory written again from scratch) starts the
// group over by AutoStreamReset.
//
// Retention deletes by the writer's limits, whoever has read what, unless
// the writer's Conn names groups with retain_groups (WithRetainGroups):
// then, before deleting a segment, the writer reads each named group's
// committed position (a Resumable group's offsets store; a pairs group's
// oldest pair position, or its start while it has no pair) and keeps the
// segment if the position is in it or before it, as JetStream's interest
// retention keeps what a consumer has not acknowledged; the deletion is
// tried again after the next rollover. A named group with no position yet
// keeps every segment, so a group that never commits (a round-robin group
// stores no position) must not be named.
//
// A Resumable consumer whose committed position is in a segment retention
// deleted before the group read it to its end fails NewConsumer
// with an *OffsetsError matching ssdir.ErrSegmentDeleted (the messages
// after its position are gone); with skip_deleted=true it goes on from the
// oldest segment left instead, logging what it skipped. The same holds for
// a following reader that must move on to a deleted segment, and for a pair
// a LoadBalanced member takes whose position was deleted (NewConsumer fails
// for a pair taken on joining, Next for one taken later). A pairs group's
// start in a deleted segment is not an error: a member reads from the
// oldest segment left, as the pairs' own positions say where each goes on. A Seek by time or sequence number of assigned shards finds its
// segment by the segments' seeds (O(log segments)) and then searches the
// segment's beacons; one over every shard of the subscribed streams finds
// its segment by the seeds too and reads it from its start (the start
// condition skips what comes before each stream's first match).
// An end-of-stream message ends consumers as in a file, and a consumer that
// started after one (Live, at the end of the last segment) follows the next
// writer, which removes it and carries on in that segment.
//
// # Goroutines
//
// One flusher per open writer (stopped when the last Conn holding it
// closes), one reader per solo consumer and one dispatcher per group
// (stopped by Close, which waits for them).
package filedriver
