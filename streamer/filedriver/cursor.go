package filedriver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"

	"github.com/seastream/ss/format"
	"github.com/seastream/ss/ssdir"
	"github.com/seastream/ss/ssfile"
)

// cursor is what a source reads with: an *ssfile.Reader on a .ss file, or a
// *dirCursor on a stream directory. Its offsets, and the Offset of the
// messages it returns, are positions (see dirpos.go), so the consumers,
// groups and offsets above it are the same code for both.
type cursor interface {
	Next(ctx context.Context) (ssfile.Message, error)
	Offset() int64
	SetOffset(pos int64) error
	Seek(t ssfile.Target) error
	SeekEnd() error
	Close() error
}

var (
	_ cursor = (*ssfile.Reader)(nil)
	_ cursor = (*dirCursor)(nil)
)

// dirHeader stands for a stream directory where a file's header identifies
// the file (in the offsets store): each segment has a header of its own, and
// none lasts as long as the directory (retention deletes the first). A
// committed position names its segment, and is checked against the message
// recorded before it, as in a file.
var dirHeader = format.Header{FileName: "ssdir"}

// dirCursor reads a stream directory with an ssdir.Reader, packing its
// (segment, offset) positions into one int64 (dirPos).
type dirCursor struct {
	dir string
	r   *ssdir.Reader
}

func openDirCursor(dir string, mode ssfile.Mode, skipDeleted bool, log *slog.Logger) (*dirCursor, error) {
	opts := []ssdir.ReaderOption{
		ssdir.WithMode(mode),
		ssdir.WithReaderLogger(log),
		// Payloads are copied out of the mapping: a driver.Message never
		// changes, and outlives the segment (retention may delete it).
		ssdir.WithReaderFileOptions(ssfile.WithOwnPayloads(), ssfile.WithLogger(log)),
	}
	if skipDeleted {
		opts = append(opts, ssdir.WithSkipDeleted())
	}
	r, err := ssdir.Open(dir, opts...)
	if err != nil {
		return nil, err
	}
	return &dirCursor{dir: dir, r: r}, nil
}

// Next returns the next message, its Offset a position. A Reader closed
// under it gives ssfile.ErrClosed, as a file's does.
func (d *dirCursor) Next(ctx context.Context) (ssfile.Message, error) {
	m, err := d.r.Next(ctx)
	if err != nil {
		if errors.Is(err, ssdir.ErrClosed) {
			return m, fmt.Errorf("%w: %w", ssfile.ErrClosed, err)
		}
		return m, err
	}
	at, err := dirPos(d.r.Position().Segment, m.Offset)
	if err != nil {
		return ssfile.Message{}, err
	}
	m.Offset = at
	return m, nil
}

// Offset returns the position of the next message; 0 before the first
// segment exists.
func (d *dirCursor) Offset() int64 {
	p := d.r.Position()
	if p.Segment == 0 {
		return 0
	}
	pos, err := dirPos(p.Segment, p.Offset)
	if err != nil {
		return 0 // Next has refused the message that would end there
	}
	return pos
}

// SetOffset moves to a position Offset or a message gave. A segment that
// retention deleted gives an error matching ssdir.ErrSegmentDeleted.
func (d *dirCursor) SetOffset(pos int64) error {
	seg, off := splitDirPos(pos)
	if seg == 0 {
		return fmt.Errorf("filedriver: %d is not a position in a stream directory", pos)
	}
	return d.r.SetPosition(ssdir.Position{Segment: seg, Offset: off})
}

// Seek moves to the first message matching t, across segments.
func (d *dirCursor) Seek(t ssfile.Target) error { return d.r.Seek(t) }

// SeekEnd moves past the last complete message of the last segment: where
// a Reader opened Live starts.
func (d *dirCursor) SeekEnd() error {
	segs, err := ssdir.Segments(d.dir)
	if err != nil || len(segs) == 0 {
		return err
	}
	last := segs[len(segs)-1]
	p := ssdir.Position{Segment: last.Number, Offset: format.HeaderSize}
	r, err := ssfile.Open(last.Path, ssfile.WithMode(ssfile.Live)) // starts at the end
	switch {
	case err == nil:
		p.Offset = r.Offset()
		r.Close()
	case !errors.Is(err, format.ErrShortInput): // else being created: its start is its end
		return err
	}
	return d.r.SetPosition(p)
}

// rewind moves to the first message of the oldest segment left.
func (d *dirCursor) rewind() error {
	for range 3 { // retention may delete the oldest meanwhile
		segs, err := ssdir.Segments(d.dir)
		if err != nil || len(segs) == 0 {
			return err
		}
		err = d.r.SetPosition(ssdir.Position{Segment: segs[0].Number, Offset: format.HeaderSize})
		if !errors.Is(err, ssdir.ErrSegmentDeleted) {
			return err
		}
	}
	return fmt.Errorf("filedriver: retention deletes the oldest segments of %s faster than a reader can open one: %w", d.dir, ssdir.ErrSegmentDeleted)
}

// search moves to the start of the oldest segment before which no stream
// that subscribed reports can have reached the target (reached tells from a
// marker): each segment's seed holds every stream's highest sequence number
// and timestamp before it, so a binary search over the seeds finds it in
// O(log segments) seed reads. A seed that cannot be read makes it go to the
// oldest segment, which is never wrong, only slower.
func (d *dirCursor) search(subscribed func(key string, shard uint64) bool, reached func(m *format.Marker) bool) error {
	segs, err := ssdir.Segments(d.dir)
	if err != nil || len(segs) == 0 {
		return err
	}
	var seedErr error
	i := sort.Search(len(segs), func(i int) bool {
		if i == len(segs)-1 {
			return true
		}
		st, err := ssdir.ReadSeed(d.dir, segs[i+1].Number)
		if err != nil {
			seedErr = err
			return true
		}
		for _, s := range st.Streams {
			m := format.Marker{MessageHeader: format.MessageHeader{StreamKey: s.Key, ShardID: s.Shard, SeqNo: s.SeqNo, Timestamp: s.Timestamp}}
			if subscribed(s.Key, s.Shard) && reached(&m) {
				return true
			}
		}
		return false
	})
	if seedErr != nil {
		return d.rewind()
	}
	err = d.r.SetPosition(ssdir.Position{Segment: segs[i].Number, Offset: format.HeaderSize})
	if errors.Is(err, ssdir.ErrSegmentDeleted) {
		return d.rewind() // retention took it meanwhile: what is left is after it
	}
	return err
}

// oldest returns the number of the oldest segment, 0 if there is none.
func (d *dirCursor) oldest() (uint64, error) {
	segs, err := ssdir.Segments(d.dir)
	if err != nil || len(segs) == 0 {
		return 0, err
	}
	return segs[0].Number, nil
}

func (d *dirCursor) Close() error { return d.r.Close() }
