// Package format encodes and decodes the SeaStreamer .ss file format, version 1.
//
// It is pure: byte slices in, byte slices out, no I/O. Its output is byte for byte
// what SeaStreamer's sea-streamer-file crate writes, and it reads any file that
// crate writes.
//
// A file is a 128-byte header followed by messages. Every BeaconInterval bytes
// there is a beacon that summarises the streams so far; a message that crosses
// such a boundary is spliced around the beacon, so the bytes of one message may
// be split over several intervals. This package encodes and decodes each part;
// package beacon knows where beacons go, and package ssfile puts it together.
//
// Layout (all integers big-endian):
//
//	header:  0x53 0x73 version(=1) name_len(u8) name created_at(u64 ms)
//	         beacon_interval(u32) zero padding ... 0x0D          (128 bytes)
//	message: key_len(u8) key shard(u64) seq(u64) timestamp(u64 ms)
//	         payload_size(u32) payload checksum(u16) 0x0D
//	beacon:  0x0D remaining_message_bytes(u32) marker_count(u8) markers... 0x0D
//	marker:  key_len(u8) key shard(u64) seq(u64) timestamp(u64 ms) running_checksum(u16)
//
// The payload checksum is CRC16/CDMA2000. A marker's running checksum is the
// same CRC fed, in order, the two big-endian bytes of every message checksum of
// its (stream key, shard) so far.
//
// Decoders never panic on malformed input: every problem is a typed error
// usable with errors.Is and errors.As. Decoding a message frame does not
// allocate: the returned key and payload alias the input.
package format
