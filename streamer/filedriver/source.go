package filedriver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/seastream/ss/beacon"
	"github.com/seastream/ss/format"
	"github.com/seastream/ss/ssfile"
	"github.com/seastream/ss/streamer/driver"
)

// source is an ssfile.Reader that remembers where it is and survives the
// file being cut back by a writer's crash recovery. One goroutine at a time
// uses it.
type source struct {
	path string
	mode ssfile.Mode
	c    cursor           // r, or d for a stream directory
	r    *ssfile.Reader   // a file's reader; nil for a stream directory
	d    *dirCursor       // a stream directory's reader; nil for a file
	old  []*ssfile.Reader // replaced readers: payloads still point into them
	log  *slog.Logger
	pos  int64 // offset after the last message read: a message boundary
	// eosAt is the offset of the end-of-stream message that ends at pos, if
	// the reader started (Live) or moved (SeekEnd) past it without returning
	// it, else -1. A new writer cuts that message away.
	eosAt int64
	// prev is the last message other than an end-of-stream message that
	// ends at or before pos, when the source knows it (after SeekEnd), else
	// zero: a committed position records it to be verified on resume.
	prev frameID
	// opts are the Reader options besides mode, logger and payload copies,
	// for the readers reopen makes.
	opts []ssfile.ReaderOption
}

// openSource opens the file or stream directory of cfg. opts are for a
// file's Reader; a stream directory's reader reads every message (the
// pass-over of a pairs member is an optimisation: its filter decides).
func openSource(cfg *config, mode ssfile.Mode, opts ...ssfile.ReaderOption) (*source, error) {
	path, log := cfg.path, cfg.logger
	if cfg.dir {
		d, err := openDirCursor(path, mode, cfg.skipDeleted, log)
		if err != nil {
			return nil, &driver.BackendError{Backend: Scheme, Op: "open the stream directory for reading", Err: err}
		}
		s := &source{path: path, mode: mode, c: d, d: d, log: log, pos: d.Offset(), eosAt: -1}
		if mode == ssfile.Live {
			if err := s.findDirEOS(); err != nil {
				d.Close()
				return nil, &driver.BackendError{Backend: Scheme, Op: "open the stream directory for reading", Err: err}
			}
		}
		return s, nil
	}
	opts = append([]ssfile.ReaderOption{ssfile.WithMode(mode), ssfile.WithLogger(log), ssfile.WithOwnPayloads()}, opts...)
	r, err := ssfile.Open(path, opts...)
	if err != nil {
		return nil, &driver.BackendError{Backend: Scheme, Op: "open the file for reading", Err: err}
	}
	s := &source{path: path, mode: mode, c: r, r: r, log: log, pos: r.Offset(), eosAt: -1, opts: opts[3:]}
	if mode == ssfile.Live {
		if err := s.findEOS(); err != nil {
			r.Close()
			return nil, &driver.BackendError{Backend: Scheme, Op: "open the file for reading", Err: err}
		}
	}
	return s, nil
}

// findEOS sets eosAt if the last message before pos is an end-of-stream
// message, scanning from the last beacon before pos (at most about one
// beacon interval).
func (s *source) findEOS() error {
	s.eosAt = -1
	end := s.pos
	n := s.r.Count()
	interval := int64(s.r.Header().BeaconInterval)
	for n > 0 && int64(n)*interval >= end {
		n--
	}
	if n > 0 {
		n-- // the message may straddle the last beacon before end
	}
	if err := s.r.RewindToBeacon(n); err != nil {
		return err
	}
	// A done context makes Next return what is complete without waiting.
	done, cancel := context.WithCancel(context.Background())
	cancel()
	s.prev = frameID{}
	for {
		m, err := s.r.Next(done)
		if err != nil || m.Offset >= end {
			break
		}
		if m.IsEndOfStream() {
			s.eosAt = m.Offset
		} else {
			s.eosAt = -1
			s.prev = frameIDOf(&m)
		}
	}
	return s.r.SetOffset(end)
}

// next returns the next message of any stream and the offset after it. The
// end of a replay is driver.ErrStreamEnded.
func (s *source) next(ctx context.Context) (ssfile.Message, int64, error) {
	for {
		m, err := s.c.Next(ctx)
		if s.eosAt >= 0 && (err == nil || ctx.Err() == nil) && !errors.Is(err, ssfile.ErrClosed) && !errors.Is(err, io.EOF) {
			// The reader sat after an end-of-stream message it skipped, and
			// the file changed. If a new writer cut that message away and
			// wrote past it before the reader noticed the file shrink, what
			// was read is from the middle of a new message: check.
			if s.eosGone() {
				if rerr := s.reopenAfterCut(true); rerr != nil {
					s.log.Warn("filedriver: the file was cut back and cannot be followed", "path", s.path, "err", rerr)
					return ssfile.Message{}, 0, &ssfile.OffsetError{Path: s.path, Offset: s.eosAt, Err: ssfile.ErrTruncated}
				}
				continue
			}
		}
		switch {
		case err == nil:
			s.pos = s.c.Offset()
			s.eosAt = -1
			return m, s.pos, nil
		case errors.Is(err, io.EOF):
			return m, 0, driver.ErrStreamEnded
		case errors.Is(err, ssfile.ErrTornTail):
			// A writer is in the middle of a message (or crashed there):
			// what is complete is all a replay has.
			continue
		case errors.Is(err, ssfile.ErrTruncated) && s.mode != ssfile.Replay && s.eosAt >= 0:
			// Cut below the position: only a new writer removing the
			// end-of-stream message this source skipped does that to the
			// same file (the Reader itself follows a cut of what it has
			// not read). Anything else, such as the file recreated in
			// place, is the Reader's error.
			if rerr := s.reopenAfterCut(false); rerr != nil {
				s.log.Warn("filedriver: the file was cut back and cannot be followed", "path", s.path, "err", rerr)
				return m, 0, err
			}
			continue
		}
		return m, 0, err
	}
}

// eosGone reports whether the end-of-stream message at eosAt is no longer
// in the file, reading it through a fresh mapping.
func (s *source) eosGone() bool {
	path, at := s.path, s.eosAt
	if s.d != nil {
		var seg uint64
		seg, at = splitDirPos(at)
		path = segmentFile(s.path, seg)
	}
	r, err := ssfile.Open(path)
	if err != nil {
		return false // removed or replaced: the reader reports it
	}
	defer r.Close()
	if at+1 > r.Size() {
		return true
	}
	if err := r.SetOffset(at); err != nil {
		return true
	}
	done, cancel := context.WithCancel(context.Background())
	cancel()
	m, err := r.Next(done)
	return err != nil || m.Offset != at || !m.IsEndOfStream()
}

// reopenAfterCut follows a file or segment whose end-of-stream message, at
// eosAt, a new writer cut away (see reopen). In a stream directory the
// segment is opened again at eosAt, where the new writer's messages start.
func (s *source) reopenAfterCut(cutEOS bool) error {
	if s.d == nil {
		return s.reopen(cutEOS)
	}
	if err := s.d.SetOffset(s.eosAt); err != nil {
		return err
	}
	s.pos, s.eosAt = s.eosAt, -1
	s.log.Info("filedriver: the end-of-stream message was cut by a new writer; following it", "dir", s.path)
	return nil
}

// findDirEOS sets eosAt (and prev) in a stream directory, as findEOS does
// in a file, from the segment of pos.
func (s *source) findDirEOS() error {
	s.eosAt, s.prev = -1, frameID{}
	seg, off := splitDirPos(s.pos)
	if seg == 0 || off <= format.HeaderSize {
		return nil
	}
	path := segmentFile(s.path, seg)
	r, err := ssfile.Open(path, ssfile.WithMode(ssfile.Replay))
	if err != nil {
		return err
	}
	defer r.Close()
	f := &source{path: path, c: r, r: r, log: s.log, pos: off, eosAt: -1}
	if err := f.findEOS(); err != nil {
		return err
	}
	if f.eosAt >= 0 {
		s.eosAt, _ = dirPos(seg, f.eosAt)
	}
	if f.prev.at != 0 {
		s.prev = f.prev
		s.prev.at, _ = dirPos(seg, f.prev.at)
	}
	return nil
}

// reopen follows a file that a writer's recovery cut back (a torn tail, or
// the end-of-stream message it removes before appending): everything up to
// s.pos is still there (up to eosAt if cutEOS), so reading goes on from it
// in a fresh mapping.
func (s *source) reopen(cutEOS bool) error {
	r, err := ssfile.Open(s.path, append([]ssfile.ReaderOption{ssfile.WithMode(ssfile.LiveReplay), ssfile.WithLogger(s.log), ssfile.WithOwnPayloads()}, s.opts...)...)
	if err != nil {
		return err
	}
	if r.Header() != s.r.Header() || !s.prevIn(r) {
		r.Close()
		return &ssfile.OffsetError{Path: s.path, Offset: s.pos, Err: fmt.Errorf("%w (recreated in place: its header or the last message read changed)", ssfile.ErrReplaced)}
	}
	pos := s.pos
	if s.eosAt >= format.HeaderSize && (cutEOS || pos > r.Size()) {
		// The cut took the end-of-stream message this reader had skipped:
		// the new writer's messages start where it was.
		pos = s.eosAt
	}
	if pos > r.Size() {
		r.Close()
		return fmt.Errorf("the file is now %d bytes, shorter than the position %d", r.Size(), pos)
	}
	if pos > format.HeaderSize {
		if err := r.SetOffset(pos); err != nil {
			r.Close()
			return err
		}
	}
	s.old = append(s.old, s.r)
	s.r, s.c = r, r
	s.pos, s.eosAt = pos, -1
	s.log.Info("filedriver: the file was cut back by a writer's recovery; following it from the last message read", "path", s.path, "offset", pos)
	return nil
}

// prevIn reports whether r, a new reader of the path, still has the last
// message this source read before its end-of-stream message where it was,
// when the source knows it: the file is the same one, cut, not another.
func (s *source) prevIn(r *ssfile.Reader) bool {
	if s.prev.at < format.HeaderSize {
		return true
	}
	if s.prev.at >= r.Size() || r.SetOffset(s.prev.at) != nil {
		return false
	}
	m, err := r.Next(done)
	return err == nil && s.prev.is(&m)
}

func (s *source) close() error {
	if s.d != nil {
		return s.d.Close()
	}
	var errs []error
	for _, r := range append(s.old, s.r) {
		if err := r.Close(); err != nil && !errors.Is(err, ssfile.ErrClosed) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (s *source) setOffset(off int64) error {
	if err := s.c.SetOffset(off); err != nil {
		return err
	}
	s.pos, s.eosAt, s.prev = off, -1, frameID{}
	return nil
}

// rewind moves to beacon n of a file; in a stream directory, to the first
// message of the oldest segment (n is 0 there).
func (s *source) rewind(n int) error {
	var err error
	if s.d != nil {
		err = s.d.rewind()
	} else {
		err = s.r.RewindToBeacon(n)
	}
	if err != nil {
		return err
	}
	s.pos, s.eosAt, s.prev = s.c.Offset(), -1, frameID{}
	return nil
}

func (s *source) seekEnd() error {
	if err := s.c.SeekEnd(); err != nil {
		return err
	}
	s.pos = s.c.Offset()
	if s.d != nil {
		return s.findDirEOS()
	}
	return s.findEOS()
}

// header identifies the file for the offsets store (dirHeader for a
// stream directory).
func (s *source) header() format.Header {
	if s.d != nil {
		return dirHeader
	}
	return s.r.Header()
}

// seekEach moves to the smallest offset at which one of targets starts, or
// to the end when none is in the file yet.
func (s *source) seekEach(targets []ssfile.Target) error {
	best := int64(-1)
	for _, t := range targets {
		err := s.c.Seek(t)
		if errors.Is(err, ssfile.ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		if off := s.c.Offset(); best < 0 || off < best {
			best = off
		}
	}
	if best < 0 {
		return s.seekEnd()
	}
	return s.setOffset(best)
}

// searchAll moves to the last beacon before which no message of a stream f
// reads can have reached the target (reached tells from a marker), and from
// which a scan therefore finds every stream's first message at or after it.
//
// In a stream directory it goes to the start of the segment that the
// segments' seeds show to be the last before which no stream reached the
// target; the filter's start condition then delivers each stream from its
// first match, reading at most that segment before it.
func (s *source) searchAll(f *filter, reached func(m *format.Marker) bool) error {
	if s.d != nil {
		if err := s.d.search(f.subscribed, reached); err != nil {
			return err
		}
		s.pos, s.eosAt, s.prev = s.c.Offset(), -1, frameID{}
		return nil
	}
	full := format.MarkersPerBeacon(s.r.Header().BeaconInterval)
	n, err := beacon.Search(s.r, func(b *format.Beacon) beacon.Judgement {
		for i := range b.Markers {
			m := &b.Markers[i]
			if f.subscribed(m.StreamKey, m.ShardID) && reached(m) {
				return beacon.AtOrAfter
			}
		}
		// A beacon lists every stream written so far when it has room for
		// them all: then no stream has reached the target before it. An empty
		// beacon may be one still being written: it says nothing.
		if len(b.Markers) > 0 && len(b.Markers) < full {
			return beacon.Before
		}
		return beacon.Unknown
	})
	if err != nil {
		return err
	}
	return s.rewind(n)
}

// seekTime positions s and f for Seek(t).
func (s *source) seekTime(f *filter, t time.Time) error {
	ms := t.UnixMilli()
	f.from = &startCond{byTime: true, ts: ms, started: make(map[driver.StreamShard]bool)}
	if ts := f.targets(); ts != nil {
		targets := make([]ssfile.Target, len(ts))
		for i, ss := range ts {
			targets[i] = ssfile.TimeTarget(string(ss.Stream), uint64(ss.Shard), t)
		}
		return s.seekEach(targets)
	}
	return s.searchAll(f, func(m *format.Marker) bool { return int64(m.Timestamp) > ms })
}

// rewindTo positions s and f for Rewind(pos).
func (s *source) rewindTo(f *filter, pos driver.SeqPos) error {
	switch pos.Kind {
	case driver.SeqPosBeginning:
		return s.rewind(0)
	case driver.SeqPosEnd:
		return s.seekEnd()
	case driver.SeqPosAt:
	default:
		return &driver.OptionError{Scheme: Scheme, Name: "SeqPos", Value: pos.String(), Reason: "use SeqBeginning, SeqEnd or SeqAt", Err: driver.ErrInvalidOption}
	}
	f.from = &startCond{seq: pos.Seq, started: make(map[driver.StreamShard]bool)}
	if ts := f.targets(); ts != nil {
		targets := make([]ssfile.Target, len(ts))
		for i, ss := range ts {
			targets[i] = ssfile.SeqNoTarget(string(ss.Stream), uint64(ss.Shard), uint64(pos.Seq))
		}
		return s.seekEach(targets)
	}
	return s.searchAll(f, func(m *format.Marker) bool { return m.SeqNo >= uint64(pos.Seq) })
}

// messageTo fills out, zero, with a message read from the file, whose payload
// the Reader copied (WithOwnPayloads): a driver.Message never changes after
// Next.
func (s *source) messageTo(out *driver.Message, m *ssfile.Message) {
	out.StreamKey = driver.StreamKey(m.StreamKey)
	out.Shard = driver.ShardID(m.ShardID)
	out.Seq = driver.SeqNo(m.SeqNo)
	out.Timestamp = time.UnixMilli(int64(m.Timestamp)).UTC()
	out.Payload = m.Payload
}

// readError wraps an error of the file engine for Next.
func readError(err error) error {
	if errors.Is(err, driver.ErrStreamEnded) {
		return driver.ErrStreamEnded
	}
	return &driver.BackendError{Backend: Scheme, Op: "next", Err: err}
}

// done is a context that is already done: Next returns what the file holds
// without waiting.
var done = func() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}()

// confirms reports whether the message id is where it says and ends at off
// (or ends at an end-of-stream message that does). It moves the reader:
// position it afterwards.
func (s *source) confirms(id frameID, off int64) bool {
	if id.at < format.HeaderSize || id.at >= off || s.r != nil && off > s.r.Size() {
		return false
	}
	if err := s.c.SetOffset(id.at); err != nil {
		return false
	}
	m, err := s.c.Next(done)
	if err != nil || !id.is(&m) {
		return false
	}
	if s.c.Offset() == off {
		return true
	}
	m, err = s.c.Next(done)
	return err == nil && m.IsEndOfStream() && s.c.Offset() == off
}

// frameAt reports whether a message starts at off or off is the end of the
// file. It moves the reader.
func (s *source) frameAt(off int64) bool {
	if s.r != nil && off == s.r.Size() {
		return true
	}
	if s.r != nil && off > s.r.Size() || s.c.SetOffset(off) != nil {
		return false
	}
	m, err := s.c.Next(done)
	return err == nil && m.Offset == off
}

// endOf returns the offset after the message (key, shard, seq), found
// through the beacons, and where it is, if it is in the file. It moves the
// reader.
func (s *source) endOf(key string, shard, seq uint64) (int64, frameID, bool) {
	if err := s.c.Seek(ssfile.SeqNoTarget(key, shard, seq)); err != nil {
		return 0, frameID{}, false
	}
	m, err := s.c.Next(done)
	if err != nil || m.StreamKey != key || m.ShardID != shard || m.SeqNo != seq {
		return 0, frameID{}, false
	}
	return s.c.Offset(), frameIDOf(&m), true
}
