package filedriver

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/seastream/ss/format"
	"github.com/seastream/ss/ssdir"
	"github.com/seastream/ss/ssfile"
	"github.com/seastream/ss/streamer/driver"
)

// streamWriter is what the shared writer writes with: an ssfile.Writer on a
// .ss file, or an ssdir.Writer on a stream directory. end and flushed are
// positions (dirpos.go).
type streamWriter interface {
	Write(h format.MessageHeader, payload []byte) error
	Flush() error
	Close() error
	// writeNext writes the message numbered one past its (stream, shard)'s
	// last, returning the number and the position after the message.
	writeNext(h format.MessageHeader, payload []byte) (seq uint64, end int64, err error)
	// end is the position after the last message written.
	end() int64
	// flushed is the position up to which the messages written are in the
	// file(s): after a failed write, a message that ends at or before it is
	// stored, and one after it is not.
	flushed() int64
}

type fileWriter struct{ *ssfile.Writer }

func (w fileWriter) end() int64     { return w.Size() }
func (w fileWriter) flushed() int64 { return w.Flushed() }

func (w fileWriter) writeNext(h format.MessageHeader, payload []byte) (uint64, int64, error) {
	return w.WriteNext(h, payload)
}

// dirWriter is a stream directory's writer. Every segment before the one
// being written is complete: a rollover closes (flushes and syncs) it.
type dirWriter struct{ *ssdir.Writer }

// writeNext numbers the message by the directory's state. It takes three
// steps, which nothing comes between: the shared writer's flusher is the
// only goroutine that writes.
func (w dirWriter) writeNext(h format.MessageHeader, payload []byte) (uint64, int64, error) {
	st, _ := w.Stream(h.StreamKey, h.ShardID)
	h.SeqNo = st.SeqNo + 1
	if err := w.Write(h, payload); err != nil {
		return 0, 0, err
	}
	return h.SeqNo, w.end(), nil
}

func (w dirWriter) end() int64 {
	seg := w.Segment()
	pos, _ := dirPos(seg.Number, seg.Size)
	return pos
}

// flushed is the size of the segment being written as the file system has
// it: a failed write of ssfile cuts the segment back to its last complete
// message, so what is there is what is stored.
func (w dirWriter) flushed() int64 {
	seg := w.Segment()
	var size int64
	if fi, err := os.Stat(seg.Path); err == nil {
		size = fi.Size()
	}
	pos, _ := dirPos(seg.Number, size)
	return pos
}

// openWriter opens the file or stream directory of cfg for writing,
// recovering it after a crash.
func openWriter(cfg *config, syncs *syncEvents) (streamWriter, error) {
	fileOpts := []ssfile.Option{
		ssfile.WithBeaconInterval(cfg.beaconInterval),
		ssfile.WithLogger(cfg.logger),
		ssfile.WithSyncObserver(syncs.observer()),
	}
	if dir, _, ok := ssdir.SegmentOf(cfg.path); ok && !cfg.dir {
		if _, err := os.Stat(filepath.Join(dir, "LOCK")); err == nil {
			// Appending to a sealed segment would break the directory (its
			// writer writes nothing to a segment once the next exists).
			return nil, fmt.Errorf("%w: %s is a segment of the stream directory %s: produce to the directory (file://%s/), not to one of its segments", driver.ErrUnsupported, cfg.path, dir, dir)
		}
	}
	if !cfg.dir {
		w, err := ssfile.Append(cfg.path, append(fileOpts, ssfile.WithDurability(cfg.durability), ssfile.WithSizeLimit(cfg.sizeLimit))...)
		if err != nil {
			return nil, err
		}
		return fileWriter{w}, nil
	}
	// A directory's durability also decides whether its rollovers sync
	// the segment, the next seed and the directory.
	w, err := ssdir.Append(cfg.path, append(cfg.dirOptions(), ssdir.WithDurability(cfg.durability), ssdir.WithFileOptions(fileOpts...))...)
	if err != nil {
		return nil, err
	}
	return dirWriter{w}, nil
}

// dirOptions are the ssdir options of cfg.
func (c *config) dirOptions() []ssdir.Option {
	opts := []ssdir.Option{ssdir.WithSegmentSize(c.segmentSize), ssdir.WithRetention(c.retention), ssdir.WithLogger(c.logger)}
	if c.segmentAge > 0 {
		opts = append(opts, ssdir.WithSegmentAge(c.segmentAge))
	}
	if len(c.retainGroups) > 0 {
		opts = append(opts, ssdir.WithBeforeDelete(retainHook(c.path, c.retainGroups)))
	}
	return opts
}

// createStream creates the file or stream directory for Open
// (CreateIfMissing, CreateOnly). It returns an error matching fs.ErrExist if
// it exists: a stream directory exists once it holds a segment.
func createStream(cfg *config) error {
	writers.Lock()
	_, open := writers.m[cfg.path]
	writers.Unlock()
	if open {
		return fs.ErrExist
	}
	if cfg.dir {
		segs, err := ssdir.Segments(cfg.path)
		if err == nil && len(segs) > 0 {
			return fs.ErrExist
		}
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		w, err := ssdir.Append(cfg.path, append(cfg.dirOptions(),
			ssdir.WithFileOptions(ssfile.WithBeaconInterval(cfg.beaconInterval), ssfile.WithLogger(cfg.logger)))...)
		if errors.Is(err, ssdir.ErrLocked) {
			return fs.ErrExist // another process is creating it
		}
		if err != nil {
			return err
		}
		return w.Close()
	}
	w, err := ssfile.Create(cfg.path, ssfile.WithExclusive(),
		ssfile.WithBeaconInterval(cfg.beaconInterval),
		ssfile.WithSizeLimit(cfg.sizeLimit),
		ssfile.WithLogger(cfg.logger))
	if err != nil {
		return err
	}
	return w.Close()
}

// checkDir reports whether path is a stream directory holding a segment.
func checkDir(path string) error {
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w: give the create option (create=if-missing in the URI, or filedriver.WithCreate) to create the stream directory", err)
	}
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("%w: %s", ssdir.ErrNotDir, path)
	}
	writers.Lock()
	_, open := writers.m[path]
	writers.Unlock()
	if open {
		return nil // being written by this process
	}
	segs, err := ssdir.Segments(path)
	if err != nil {
		return err
	}
	if len(segs) == 0 {
		return fmt.Errorf("%s holds no segment: it is not a stream directory yet; give the create option to make it one", path)
	}
	return nil
}
