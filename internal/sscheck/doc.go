// Package sscheck is the tolerant reader of .ss files behind ss-verify and
// ss-repair. Where ssfile's reader stops at the first damage, Scan walks the
// whole file, reports every problem with its offset (a damaged frame,
// beacon or header, a running checksum that does not match, and with
// Strict sequence numbers out of order), notes what SeaStreamer's writer
// legitimately does that a single writer would not (closing and reopening
// the file), finds where valid messages resume after damage,
// and hands every valid message to a visitor; Repair writes them into a new
// file with the bytes an undamaged writer would have written. A segment of
// a stream directory, which goes on from the state of the segments before
// it, is checked and repaired from that state (From, RepairOptions.From),
// and a scan gives the state a file ends with (Summary.End), so that tools
// check that segments chain.
package sscheck
