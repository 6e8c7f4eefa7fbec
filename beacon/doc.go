// Package beacon holds the rules of .ss beacons: where they go, what they
// carry, how messages are spliced around them, and how a reader searches them.
//
// A beacon sits at every multiple of the file's beacon interval that the
// written bytes reach. A message frame crossing that offset is cut there, the
// beacon is written, and the rest of the frame follows; the beacon records
// how many bytes of the frame remain. Each beacon carries up to
// format.MarkersPerBeacon(interval) markers, chosen round-robin over all
// streams in (stream key, shard) order, rotating by the number of markers
// written so far: exactly as SeaStreamer's writer does, so that the same
// messages give the same bytes.
//
// Muxer applies these rules to outgoing frames, and Demuxer undoes them:
// it is the one reader of a frame, for ssfile and the tools alike, each
// supplying its policy for damage. ChainSearch is the one search for where
// valid frames resume after damage. Tracker keeps the per-stream state the
// markers are made of; Search finds, in O(log n) beacon reads, the beacon
// to start scanning from to reach a seek target.
package beacon
