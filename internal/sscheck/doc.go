// Package sscheck is the tolerant reader of .ss files behind ss-verify and
// ss-repair. Where ssfile's reader stops at the first damage, Scan walks the
// whole file, reports every problem with its offset (a damaged frame,
// beacon or header, a running checksum that does not match, and with
// Strict sequence numbers out of order), notes what SeaStreamer's writer
// legitimately does that a single writer would not (closing and reopening
// the file), finds where valid messages resume after damage,
// and hands every valid message to a visitor; Repair writes them into a new
// file with the bytes an undamaged writer would have written.
package sscheck
