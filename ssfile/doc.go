// Package ssfile is the .ss stream file engine: a Writer that appends
// messages with crash recovery, and a Reader that reads, seeks and follows a
// file through a read-only memory mapping.
//
// # Writing
//
// Create starts a new file and Append reopens one. Append recovers a file left
// by a crash: it keeps every complete message whose checksum is valid, cuts a
// torn tail, drops a trailing end-of-stream message, and carries on each
// stream's sequence numbers, timestamps and running checksums, so that the
// bytes it goes on to write are those an uninterrupted writer would have
// written. Only one Writer may have a file open at a time, across processes.
//
// What a successful call guarantees:
//   - Write: the message is in the Writer's buffer. A crash of the process
//     loses it.
//   - Flush: every message written so far has been handed to the operating
//     system with write(2): it survives a crash of the process (not of the
//     machine) and readers in any process can see it.
//   - Sync: as Flush, and the file is on stable storage (fdatasync): it
//     survives a power failure.
//
// The Durability option decides when Sync happens by itself: never (only on
// Sync and Close), periodically, or on every Flush (group commit: a batch of
// writes followed by one Flush costs one fdatasync).
//
// # Reading
//
// Open maps a file and reads it in one of three modes: Replay reads what is
// there and ends with io.EOF, Live starts at the end and follows the file as
// it grows, LiveReplay starts at the beginning and follows. Every payload
// checksum is verified; a message that fails is never returned.
//
// Payloads are not copied: a payload is a slice of the mapping (or, for a
// message a beacon splits, of a buffer of its own) and may be used until the
// Reader is closed; after Close it must not be touched. Its bytes are the
// file's bytes at that offset, read when used: the writers of .ss files never
// change a complete message, but if something else rewrites the file in
// place, an old payload shows the new bytes. WithOwnPayloads makes the
// Reader copy each payload (into shared chunks, not one allocation each)
// before it checks the file is still the one opened: such payloads never
// change and outlive Close. The file backend of package streamer reads so.
//
// A following Reader notices the file being replaced: removed (ErrRemoved),
// renamed over (ErrReplaced), cut below the read position (ErrTruncated), or
// recreated in place — same inode, truncated and written again, as Create on
// the path does — which shows as a change of the header or of the last bytes
// read (ErrReplaced, checked before every message is returned and whenever
// the file changes). A Replay checks the same at the end of the data. Bytes
// cut away past the read position (a writer's recovery removing a torn
// frame) are no error: reading goes on with what is written next.
//
// Seek finds the first message of a (stream key, shard) with a sequence
// number at or above N, or a timestamp after T, with a binary search over the
// beacons, then a scan of at most about one beacon interval.
//
// A file that shrinks while it is mapped would make a plain mapping fault
// (SIGBUS). The Reader bounds every access by the size it has seen and turns
// a fault into ErrTruncated instead of crashing.
//
// # Platforms
//
// The package is written for Linux and tested there; it builds on the other
// systems Go and mmap-go support, with these differences. Where Linux syncs
// with fdatasync, macOS and iOS use fcntl(F_FULLFSYNC) (their fsync leaves
// the data in the drive's cache), Windows FlushFileBuffers and the BSDs
// fsync. Windows takes the writer's lock with LockFileEx and does not hand
// read pages back (a Reader's working set grows with what it has read).
// Plan 9 and WebAssembly have no file lock: only one process may write a
// file there.
package ssfile
