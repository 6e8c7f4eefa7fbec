package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"time"

	"github.com/seastream/ss/format"
	"github.com/seastream/ss/internal/ssdecode"
	"github.com/seastream/ss/ssdir"
)

// decodeDir decodes the segments of the stream directory o.Path in order,
// each as a file (its header line included), or only segment only when it
// is not 0. Following, it follows the last segment and goes on into each
// new one, until ctx ends or an end-of-stream message.
func decodeDir(ctx context.Context, o ssdecode.Options, only uint64, out io.Writer, warn func(path string, w *ssdecode.Warning)) error {
	dir := o.Path
	segs, err := ssdir.Segments(dir)
	if err != nil {
		return err
	}
	if only != 0 {
		i := slices.IndexFunc(segs, func(s ssdir.Segment) bool { return s.Number == only })
		if i < 0 {
			return fmt.Errorf("%s: no segment %d%s", dir, only, span(segs))
		}
		segs = segs[i : i+1]
	}
	if len(segs) == 0 {
		return fmt.Errorf("%s: no segment files (NNNNNNNNNNNNNNNNNNNN.ss) in the directory", dir)
	}
	for len(segs) > 0 {
		seg := segs[0]
		segs = segs[1:]
		if len(segs) > 0 && before(dir, segs[0].Number, &o) {
			continue // every message of it is before --since
		}
		so := o
		so.Path = seg.Path
		so.KnownStreams = seedStreams(dir, seg.Number, &o)
		last := len(segs) == 0
		if !last {
			so.Follow = false // complete: the writer went on to the next one
		}
		if last && !hasHeader(ctx, dir, seg, o.Follow, o.PollInterval) {
			return nil // being created, or ctx ended while it was
		}
		var rolled <-chan struct{}
		stop := func() {}
		if so.Follow {
			rolled, stop = watchNext(ctx, dir, seg.Number, o.PollInterval)
			so.Until = rolled
		}
		err := ssdecode.Run(ctx, so, out, func(w *ssdecode.Warning) { warn(seg.Path, w) })
		stop()
		switch {
		case errors.Is(err, fs.ErrNotExist) && o.Follow && only == 0:
			// Retention deleted it before it was opened: a follower goes
			// on, as ssdir's Reader does with WithSkipDeleted.
			warn(seg.Path, &ssdecode.Warning{Err: fmt.Errorf("deleted (retention) before it could be decoded; going on with the next segment: %w", err)})
			if last {
				if segs, err = after(dir, seg.Number); err != nil {
					return err
				}
			}
			continue
		case err != nil:
			return err
		case !last:
			continue
		case !so.Follow || ctx.Err() != nil || only != 0:
			return nil
		}
		select {
		case <-rolled:
		default:
			return nil // the end-of-stream message
		}
		if segs, err = after(dir, seg.Number); err != nil {
			return err
		}
		if len(segs) > 0 && segs[0].Number != seg.Number+1 {
			warn(dir, &ssdecode.Warning{Err: fmt.Errorf("segments %d to %d were deleted before they could be decoded (retention); going on with segment %d",
				seg.Number+1, segs[0].Number-1, segs[0].Number)})
		}
	}
	return nil
}

// hasHeader reports whether the last segment seg holds a whole header. A
// writer creates a segment, then writes its header: one shorter than a
// header is being created, which a follower waits for (at the poll
// interval) and a replay leaves out, as ssdir's Reader does. Once a
// segment after it exists, the header is whatever it is: decoding says.
func hasHeader(ctx context.Context, dir string, seg ssdir.Segment, follow bool, poll time.Duration) bool {
	if poll <= 0 {
		poll = ssdir.DefaultPollInterval
	}
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		fi, err := os.Stat(seg.Path)
		if err != nil || fi.Size() >= format.HeaderSize {
			return true // a deleted segment: decoding says so
		}
		if later, err := after(dir, seg.Number); err != nil || len(later) > 0 {
			return true
		}
		if !follow {
			return false
		}
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
		}
	}
}

// span says which segments there are, for an error.
func span(segs []ssdir.Segment) string {
	if len(segs) == 0 {
		return " (it has none)"
	}
	return fmt.Sprintf(" (it has segments %d to %d)", segs[0].Number, segs[len(segs)-1].Number)
}

// after lists the segments after segment n.
func after(dir string, n uint64) ([]ssdir.Segment, error) {
	segs, err := ssdir.Segments(dir)
	if err != nil {
		return nil, err
	}
	i := slices.IndexFunc(segs, func(s ssdir.Segment) bool { return s.Number > n })
	if i < 0 {
		return nil, nil
	}
	return segs[i:], nil
}

// before reports whether every message of the segments before segment
// next is before o.Since in the streams o keeps: the seed of next holds
// each stream's highest timestamp so far. Without a readable seed it says
// false, and the segment is decoded (and its messages filtered).
func before(dir string, next uint64, o *ssdecode.Options) bool {
	if o.Since.IsZero() {
		return false
	}
	seed, err := ssdir.ReadSeed(dir, next)
	if err != nil {
		return false
	}
	since := o.Since.UnixMilli()
	if o.Since.Sub(time.UnixMilli(since)) > 0 {
		since++ // at or after a time between two milliseconds, as ssdecode
	}
	for _, s := range seed.Streams {
		kept := (len(o.Streams) == 0 || slices.Contains(o.Streams, s.Key)) && (len(o.Shards) == 0 || slices.Contains(o.Shards, s.Shard))
		if kept && int64(s.Timestamp) >= since {
			return false
		}
	}
	return true
}

// seedStreams returns the streams of the seed of segment n, for the seek of
// --since: the segment's beacons may carry no marker for a stream it has
// messages of, when many streams were written before it.
func seedStreams(dir string, n uint64, o *ssdecode.Options) []ssdecode.StreamShard {
	if o.Since.IsZero() {
		return nil
	}
	seed, err := ssdir.ReadSeed(dir, n)
	if err != nil {
		return nil
	}
	out := make([]ssdecode.StreamShard, len(seed.Streams))
	for i, s := range seed.Streams {
		out[i] = ssdecode.StreamShard{Key: s.Key, Shard: s.Shard}
	}
	return out
}

// watchNext returns a channel closed once a segment after segment n exists
// in dir, looked for every poll interval, and a function that stops
// looking.
func watchNext(ctx context.Context, dir string, n uint64, poll time.Duration) (<-chan struct{}, func()) {
	if poll <= 0 {
		poll = ssdir.DefaultPollInterval
	}
	rolled, quit, done := make(chan struct{}), make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(poll)
		defer t.Stop()
		for {
			if segs, err := after(dir, n); err == nil && len(segs) > 0 {
				close(rolled)
				return
			}
			select {
			case <-ctx.Done():
				return
			case <-quit:
				return
			case <-t.C:
			}
		}
	}()
	return rolled, func() { close(quit); <-done }
}
