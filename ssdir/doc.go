// Package ssdir keeps a stream in a directory of segment files, for streams
// that live for months: a Writer rolls over to a new segment by size and by
// age and deletes old segments by retention, and a Reader reads, follows and
// seeks across them as if they were one file.
//
// # Layout
//
// A stream directory holds segments named by a 20-digit number counting from
// 1, so that names sort in write order:
//
//	00000000000000000001.ss
//	00000000000000000001.seed
//	00000000000000000002.ss
//	00000000000000000002.seed
//	LOCK
//
// Each segment is a complete .ss file with its own header (its created_at is
// the segment's start; its file name field is the segment's name): SeaStreamer
// reads any segment as a file. A segment goes on from the state the segment
// before it ended with, as one writer of them all would: each stream's
// sequence numbers, timestamps and running checksum, and the rotation of the
// beacons' markers (ssfile.WithState). Its .seed file records that state
// (JSON, written before the segment is created); it is rebuilt from the
// segment before when missing, so the segments alone are the truth. The
// seeds also make a seek find its segment in O(log segments): a seed holds
// each stream's highest sequence number and timestamp before the segment.
// LOCK keeps a second Writer out, across processes. Other names are left
// alone.
//
// # Rollover and crashes
//
// A Writer writes to the last segment only. It rolls over before a write
// when the segment holds at least one message and has reached the segment
// size (WithSegmentSize, default 256 MiB) or age (WithSegmentAge); a message
// is never split, so a segment passes the size by at most one message. A
// rollover flushes the segment, creates the next one (going on from the
// state the segment ended with), and leaves the rest to the background, so
// that the write that rolls over waits for no disk: closing the segment
// rolled over from, writing the next seed and syncing the directory (with an
// fdatasync of each unless the durability is ssfile.SyncNever, see
// WithDurability); Sync and Close wait for it. Once the next segment exists, nothing is
// written to the one before: a reader that sees it knows the segment before
// is complete.
//
// Append opens a directory after a crash at any of these moments: it removes
// a seed left without its segment, recovers the last segment as ssfile.Append
// does (a torn tail is cut), and goes on writing to it. Every message a Sync
// covered is read back exactly once.
//
// # Retention
//
// After each rollover (and at Append) the Writer deletes the oldest sealed
// segments, never the one it writes, while there are more than
// WithRetentionSegments, or their total size passes WithRetentionBytes, or
// the newest message of the oldest is older than WithRetentionAge. A hook
// given by WithBeforeDelete runs first and may keep the segment (to archive
// it, or because a consumer has not read it yet) by returning an error: the
// deletion is tried again after the next rollover. Deletion runs apart from
// writes: writers do not wait for it.
//
// A Reader that has a segment open reads it to its end even when retention
// deletes it meanwhile (the open file stays readable). A Reader that must
// move to a segment retention already deleted gets an error matching
// ErrSegmentDeleted, or with WithSkipDeleted goes on from the oldest
// segment left.
//
// # Rotating safely
//
// Never rotate a segment by hand: copytruncate destroys data, and renaming
// the last segment away makes the Writer's next segment number collide.
// Use the segment size and age options, and retention with WithBeforeDelete
// to archive what is deleted.
package ssdir
