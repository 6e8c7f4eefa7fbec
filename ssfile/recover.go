package ssfile

import (
	"bytes"
	"errors"
	"fmt"
	"os"

	"github.com/seastream/ss/beacon"
	"github.com/seastream/ss/format"
	"github.com/seastream/ss/internal/fmap"
)

// recovery is what Append learns of an existing file.
type recovery struct {
	header  format.Header
	tracker *beacon.Tracker
	size    int64  // the file's size
	end     int64  // where writing resumes; bytes after it are cut
	reason  string // why bytes are cut
}

// recoverFile reads a whole file and finds where appending resumes: after the
// last complete, checksum-valid message that is not a trailing end-of-stream
// message, and after the beacon that follows it if that is complete. It
// returns nil for a file to start afresh: empty, or a header cut short while
// the file was being created.
func recoverFile(f *os.File, path string, seed *beacon.Tracker) (*recovery, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("ssfile: append: %w", err)
	}
	size := fi.Size()
	if size == 0 {
		return nil, nil
	}
	if size < format.HeaderSize {
		head := make([]byte, size)
		if _, err := f.ReadAt(head, 0); err != nil {
			return nil, fmt.Errorf("ssfile: append: %w", err)
		}
		if bytes.HasPrefix([]byte{0x53, 0x73, format.Version}, head[:min(3, size)]) {
			return nil, nil
		}
		return nil, fmt.Errorf("ssfile: append: %s: %w", path, format.ErrMagic)
	}
	m, err := fmap.Map(f, size)
	if err != nil {
		return nil, fmt.Errorf("ssfile: append: %w", err)
	}
	defer fmap.Unmap(m)
	var rec *recovery
	err = guard(func() error {
		rec, err = scanForRecovery(path, m, seed)
		return err
	})
	return rec, err
}

func scanForRecovery(path string, data []byte, seed *beacon.Tracker) (*recovery, error) {
	h, err := format.DecodeHeader(data)
	if err != nil {
		return nil, fmt.Errorf("ssfile: append: %s: %w", path, err)
	}
	// The tracker is fed every message of the file, and the rotation goes on
	// from the count of every marker before the cut: the writer goes on with
	// the state one writer of the whole file would have, also after a
	// SeaStreamer writer reopened the file, whose markers restart (its
	// MessageSink::append seeds every stream's running checksum with 0xFFFF
	// and rotates over the streams written since; its producer resumes the
	// first stream from its last message's checksum). Not SeaStreamer's
	// restart, because: SeaStreamer only writes running checksums, never
	// reads them, and seeks by the markers' sequence numbers and timestamps,
	// for which the whole file's maxima are right; its two ways of reopening
	// disagree, so there is no one SeaStreamer state to go on with; the
	// tracker must know every stream anyway, to go on numbering them; and a
	// file this writer reopens stays what one writer would have written, so
	// its markers check as strictly as a single session's. sscheck knows the
	// change back to the whole file's state after a SeaStreamer reopen
	// (NoteContinued).
	rec := &recovery{header: h, tracker: new(beacon.Tracker), size: int64(len(data))}
	var seedMarkers uint64
	if seed != nil { // WithState: the state of the files before this one
		rec.tracker, seedMarkers = seed.Clone(), seed.MarkersWritten()
	}
	sc := newScanner(path, data, h)
	cut := int64(format.HeaderSize) // end of the last message kept
	var eos *Message                // a trailing end-of-stream message, not yet kept
	var released int64
	for {
		if sc.pos-released >= releaseChunk+releaseKeep {
			// Recovery reads the whole file once: hand back what it passed.
			end := sc.pos - releaseKeep
			fmap.Release(data, released, end)
			released = end
		}
		msg, err := sc.next()
		if errors.Is(err, errShort) {
			if sc.pos < int64(len(data)) {
				rec.reason = "torn tail"
			}
			break
		}
		if err != nil {
			if validDataAfter(sc) {
				return nil, fmt.Errorf("ssfile: append: damage followed by valid messages; repair the file first: %w", err)
			}
			rec.reason = fmt.Sprintf("damaged tail: %v", err)
			break
		}
		if eos != nil {
			rec.tracker.Update(eos.StreamKey, eos.ShardID, eos.SeqNo, eos.Timestamp, eos.Checksum)
			eos = nil
		}
		if msg.IsEndOfStream() {
			eos = &msg
			continue
		}
		rec.tracker.Update(msg.StreamKey, msg.ShardID, msg.SeqNo, msg.Timestamp, msg.Checksum)
		cut = sc.pos
	}
	if eos != nil {
		cut = eos.Offset // after any beacon before it, which stays
		if rec.reason == "" {
			rec.reason = "end-of-stream message"
		}
	}
	// Count the markers of every beacon before the cut, for the rotation.
	layout := beacon.Layout{Interval: int64(h.BeaconInterval)}
	var markers uint64
	end := cut
	for n := 1; layout.Offset(n) <= cut; n++ {
		info, err := format.ScanBeacon(data[layout.Offset(n):])
		if err != nil {
			if layout.Offset(n) == cut {
				break // cut right on a boundary, before its beacon: rewrite it
			}
			return nil, corrupt(path, layout.Offset(n), fmt.Errorf("beacon %d: %w", n, err))
		}
		markers += uint64(info.Markers)
		if layout.Offset(n) == cut {
			end = cut + int64(info.Size)
		}
	}
	rec.tracker.SetMarkersWritten(seedMarkers + markers)
	rec.end = end
	return rec, nil
}

// validDataAfter reports whether valid messages follow the damage the scanner
// stopped at: after a valid beacon, or without a gap up to the end of the
// file. Then the damage is not a torn tail, and cutting it would lose them.
func validDataAfter(sc *scanner) bool {
	if sc.validAfter(sc.pos) { // pos: where the damaged message begins
		return true
	}
	var splice spliceWalk // carried from one probe to the next: see spliceWalk
	for n := int(sc.pos/sc.layout.Interval) + 1; sc.layout.Offset(n) < int64(len(sc.data)); n++ {
		// A probe: only whether the message reads matters here, and a
		// message cut by the end of the file must not start a search of
		// its own after each beacon.
		probe := *sc
		probe.dm = beacon.Demuxer{Layout: sc.layout} // scratch of its own
		probe.keys = make(map[string]string)
		probe.probe, probe.work, probe.splice = true, new(int64), splice
		err := probe.seekBeacon(n)
		splice = probe.splice
		if err != nil {
			continue
		}
		if _, err := probe.next(); err == nil {
			return true
		}
	}
	return false
}
