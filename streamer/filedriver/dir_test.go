package filedriver

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/seastream/ss/internal/testkit"
	"github.com/seastream/ss/ssdir"
	"github.com/seastream/ss/ssfile"
	"github.com/seastream/ss/streamer/driver"
)

// tempDir is the path of a stream directory not created yet, with the
// trailing slash that makes Open create a directory.
func tempDir(t *testing.T) string {
	t.Helper()
	return filepath.Join(t.TempDir(), "stream") + "/"
}

// segments lists the segments of dir, failing the test on error.
func segments(t *testing.T, dir string) []ssdir.Segment {
	t.Helper()
	segs, err := ssdir.Segments(dir)
	if err != nil {
		t.Fatal(err)
	}
	return segs
}

// padded is a payload of about 100 bytes, so that 4 KiB segments hold a
// few dozen messages.
func padded(prefix string, i int) string {
	return fmt.Sprintf("%s%d.%s", prefix, i, strings.Repeat("x", 90))
}

func sendPadded(t *testing.T, ctx context.Context, p driver.Producer, key driver.StreamKey, prefix string, from, to int) {
	t.Helper()
	for i := from; i < to; i++ {
		if _, err := p.Send(ctx, driver.Header{StreamKey: key}, []byte(padded(prefix, i))); err != nil {
			t.Fatalf("Send %d: %v", i, err)
		}
	}
	if err := p.Flush(ctx); err != nil {
		t.Fatalf("Flush: %v", err)
	}
}

func wantPadded(prefix string, from, to int) []string {
	var out []string
	for i := from; i < to; i++ {
		out = append(out, padded(prefix, i))
	}
	return out
}

// TestDirRoundTrip: producers and consumers on a stream directory rolling
// over every 4 KiB: a consumer from the start, one following from before the
// first send, and a replay each receive every message once, in order, with
// contiguous sequence numbers across the segments, and positions that grow.
func TestDirRoundTrip(t *testing.T) {
	ctx := testkit.Context(t)
	dir := tempDir(t)
	c := open(t, dir, "create=true&segment_size=4KiB")
	if segs := segments(t, dir); len(segs) != 1 {
		t.Fatalf("Open with create made %d segments, want 1", len(segs))
	}
	follower := newCons(t, c, driver.ConsumerOptions{}, "a", "b")
	p := newProducer(t, c)
	const n = 400
	for i := range n {
		key := driver.StreamKey("a")
		if i%2 == 1 {
			key = "b"
		}
		if _, err := p.Send(ctx, driver.Header{StreamKey: key}, []byte(padded("m", i))); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if segs := segments(t, dir); len(segs) < 8 {
		t.Fatalf("%d segments after %d messages of 100 bytes with segment_size=4KiB, want rollovers", len(segs), n)
	}
	var w *ssdir.Writer
	if !c.(*conn).As(&w) || w.Dir() != filepath.Clean(dir) {
		t.Fatalf("As(*ssdir.Writer) = %v", w)
	}

	check := func(name string, cons driver.Consumer) {
		t.Helper()
		seqs := map[driver.StreamKey]driver.SeqNo{}
		for i := range n {
			m, err := cons.Next(ctx)
			if err != nil {
				t.Fatalf("%s: Next %d: %v", name, i, err)
			}
			if string(m.Payload) != padded("m", i) {
				t.Fatalf("%s: message %d is %.10q", name, i, m.Payload)
			}
			if want := seqs[m.StreamKey] + 1; m.Seq != want {
				t.Fatalf("%s: message %d of %s has seq %d, want %d", name, i, m.StreamKey, m.Seq, want)
			}
			seqs[m.StreamKey] = m.Seq
		}
	}
	check("follower", follower)
	check("earliest", newCons(t, c, earliest, "a", "b"))
	replay := newCons(t, c, driver.ConsumerOptions{Replay: true, AutoStreamReset: driver.ResetEarliest}, driver.Wildcard)
	check("replay", replay)
	wantErr(t, nextErr(t, ctx, replay), driver.ErrStreamEnded)

	// The positions of a directory name the segment and grow across them.
	cons := newCons(t, c, earliest, "a", "b").(*consumer)
	var last int64
	segsSeen := map[uint64]bool{}
	for range n {
		next(t, ctx, cons)
		cons.mu.Lock()
		pos := cons.pos.offset
		cons.mu.Unlock()
		if pos <= last {
			t.Fatalf("position %x after %x", pos, last)
		}
		seg, _ := splitDirPos(pos)
		segsSeen[seg] = true
		last = pos
	}
	if len(segsSeen) != len(segments(t, dir)) {
		t.Fatalf("positions named %d segments, the directory has %d", len(segsSeen), len(segments(t, dir)))
	}
}

// TestDirResumableAcrossRolloverAndReopen: a Resumable consumer commits in
// one segment, the writer rolls over many times and the directory is
// reopened by new Conns (a restart): the consumer resumes after the last
// message it committed, in the right segment, with nothing skipped or
// repeated. The group's files are inside the directory.
func TestDirResumableAcrossRolloverAndReopen(t *testing.T) {
	ctx := testkit.Context(t)
	dir := tempDir(t)
	c := open(t, dir, "create=true&segment_size=4KiB")
	p := newProducer(t, c)
	sendPadded(t, ctx, p, "a", "m", 0, 100)

	cons := newCons(t, c, resumable("r"), "a")
	if got := payloads(t, ctx, cons, 37); !slices.Equal(got, wantPadded("m", 0, 37)) {
		t.Fatalf("got %q", got)
	}
	if err := cons.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	payloads(t, ctx, cons, 5) // read, not committed
	if err := cons.Close(ctx); err != nil {
		t.Fatal(err)
	}
	store := OffsetsPath(filepath.Clean(dir), "r")
	if filepath.Dir(store) != filepath.Clean(dir) {
		t.Fatalf("the offsets of a directory are at %s, want inside it", store)
	}
	for _, f := range []string{store, store + ".log", store + ".lease"} {
		if _, err := os.Stat(f); err != nil {
			t.Fatal(err)
		}
	}
	before := len(segments(t, dir))
	sendPadded(t, ctx, p, "a", "m", 100, 300)
	if err := c.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if after := len(segments(t, dir)); after <= before {
		t.Fatalf("%d segments before, %d after: want rollovers", before, after)
	}

	// A restart: new Conns, the writer reopened by Append.
	c2 := open(t, dir, "")
	p2 := newProducer(t, c2)
	sendPadded(t, ctx, p2, "a", "m", 300, 320)
	cons = newCons(t, c2, resumable("r"), "a")
	if got := payloads(t, ctx, cons, 283); !slices.Equal(got, wantPadded("m", 37, 320)) {
		t.Fatalf("after the restart got %d messages from %.10q, want m37..m319", len(got), got[0])
	}
	// A second consumer of the group is refused while this one holds it.
	if _, err := c2.NewConsumer(ctx, []driver.StreamKey{"a"}, resumable("r")); !errors.Is(err, ErrGroupBusy) {
		t.Fatalf("second consumer of the group: %v, want ErrGroupBusy", err)
	}
}

// TestDirResumeSegmentDeleted: a Resumable consumer whose committed
// position is in a segment retention deleted before it read the segment to
// its end fails NewConsumer with ssdir.ErrSegmentDeleted, or with
// skip_deleted goes on from the oldest segment left; one that committed
// after reading a segment to its end resumes in the next one, whatever
// retention deletes.
func TestDirResumeSegmentDeleted(t *testing.T) {
	ctx := testkit.Context(t)
	const q = "create=true&segment_size=4KiB&retention_segments=2"

	t.Run("mid-segment", func(t *testing.T) {
		dir := tempDir(t)
		c := open(t, dir, q)
		p := newProducer(t, c)
		sendPadded(t, ctx, p, "a", "m", 0, 10) // all in the first segment
		cons := newCons(t, c, resumable("r"), "a")
		payloads(t, ctx, cons, 5)
		if err := cons.Commit(ctx); err != nil {
			t.Fatal(err)
		}
		if err := cons.Close(ctx); err != nil {
			t.Fatal(err)
		}
		sendPadded(t, ctx, p, "a", "m", 10, 300)
		if err := c.Close(ctx); err != nil { // waits for retention
			t.Fatal(err)
		}
		segs := segments(t, dir)
		if len(segs) != 2 || segs[0].Number == 1 {
			t.Fatalf("segments %+v, want two, the first deleted", segs)
		}

		_, err := open(t, dir, "").NewConsumer(ctx, []driver.StreamKey{"a"}, resumable("r"))
		if !errors.Is(err, ssdir.ErrSegmentDeleted) {
			t.Fatalf("resuming in a deleted segment: %v, want ssdir.ErrSegmentDeleted", err)
		}
		var oe *OffsetsError
		if !errors.As(err, &oe) || !strings.Contains(err.Error(), "skip_deleted") {
			t.Fatalf("error %v: want an *OffsetsError naming skip_deleted", err)
		}

		// skip_deleted: from the first message of the oldest segment left.
		first := firstMessage(t, segs[0].Path)
		cons = newCons(t, open(t, dir, "skip_deleted=true"), resumable("r"), "a")
		if m := next(t, ctx, cons); string(m.Payload) != first {
			t.Fatalf("with skip_deleted the first message is %.10q, want %.10q (the oldest segment's first)", m.Payload, first)
		}
	})

	t.Run("segment-end", func(t *testing.T) {
		dir := tempDir(t)
		c := open(t, dir, q)
		p := newProducer(t, c)
		sendPadded(t, ctx, p, "a", "m", 0, 60) // more than one segment
		inFirst := countMessages(t, segments(t, dir)[0].Path)
		cons := newCons(t, c, resumable("r"), "a")
		payloads(t, ctx, cons, inFirst) // the first segment, to its end
		if err := cons.Commit(ctx); err != nil {
			t.Fatal(err)
		}
		if err := cons.Close(ctx); err != nil {
			t.Fatal(err)
		}
		sendPadded(t, ctx, p, "a", "m", 60, 80) // no third segment yet: the second is kept
		if err := c.Close(ctx); err != nil {
			t.Fatal(err)
		}
		if segs := segments(t, dir); segs[0].Number != 2 {
			t.Fatalf("segments %+v: want the first deleted", segs)
		}
		cons = newCons(t, open(t, dir, ""), resumable("r"), "a")
		if got := payloads(t, ctx, cons, 80-inFirst); !slices.Equal(got, wantPadded("m", inFirst, 80)) {
			t.Fatalf("resumed from %.10q, want m%d", got[0], inFirst)
		}
	})
}

func firstMessage(t *testing.T, path string) string {
	t.Helper()
	r, err := ssfile.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	m, err := r.Next(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return string(m.Payload)
}

func countMessages(t *testing.T, path string) int {
	t.Helper()
	r, err := ssfile.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	n := 0
	for _, err := range r.Messages(context.Background()) {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	return n
}

// TestDirSeekByTime: Seek by time and Rewind by sequence number find their
// message in whichever segment it is, for assigned shards (through the
// segments' seeds and beacons) and for every shard of the streams.
func TestDirSeekByTime(t *testing.T) {
	ctx := testkit.Context(t)
	dir := tempDir(t)
	c := open(t, dir, "create=true&segment_size=4KiB")
	p := newProducer(t, c)
	base := time.UnixMilli(1_700_000_000_000).UTC()
	n := 300
	for i := range n {
		h := driver.Header{StreamKey: "a", Timestamp: base.Add(time.Duration(i) * time.Second)}
		if _, err := p.Send(ctx, h, []byte(padded("m", i))); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if len(segments(t, dir)) < 5 {
		t.Fatal("want many segments")
	}
	for _, assigned := range []bool{false, true} {
		cons := newCons(t, c, driver.ConsumerOptions{}, "a")
		if assigned {
			if err := cons.Assign("a", 0); err != nil {
				t.Fatal(err)
			}
		}
		for _, i := range []int{0, 1, 77, 150, 251, 299} {
			// The first message with a timestamp after t.
			if err := cons.Seek(ctx, base.Add(time.Duration(i)*time.Second-time.Millisecond)); err != nil {
				t.Fatal(err)
			}
			if i == 251 {
				// Not a scan from the first segment: the seeds (or, for
				// an assigned shard, ssdir's Seek) found a later one.
				c := cons.(*consumer)
				c.mu.Lock()
				seg, _ := splitDirPos(c.pos.offset)
				c.mu.Unlock()
				if seg < 3 {
					t.Fatalf("assigned=%v: Seek to m251 starts reading in segment %d", assigned, seg)
				}
			}
			if m := next(t, ctx, cons); string(m.Payload) != padded("m", i) {
				t.Fatalf("assigned=%v: Seek to %ds gave %.10q, want m%d", assigned, i, m.Payload, i)
			}
			if err := cons.Rewind(ctx, driver.SeqAt(driver.SeqNo(n-i))); err != nil {
				t.Fatal(err)
			}
			if m := next(t, ctx, cons); m.Seq != driver.SeqNo(n-i) {
				t.Fatalf("assigned=%v: Rewind to seq %d gave seq %d", assigned, n-i, m.Seq)
			}
		}
		if err := cons.Rewind(ctx, driver.SeqBeginning()); err != nil {
			t.Fatal(err)
		}
		if m := next(t, ctx, cons); m.Seq != 1 {
			t.Fatalf("Rewind to the beginning gave seq %d", m.Seq)
		}
		if err := cons.Rewind(ctx, driver.SeqEnd()); err != nil {
			t.Fatal(err)
		}
		sendPadded(t, ctx, p, "a", "after", 0, 1)
		if m := next(t, ctx, cons); string(m.Payload) != padded("after", 0) {
			t.Fatalf("after Rewind to the end: %.10q", m.Payload)
		}
		n++
	}
}

// TestDirOptions: the options of a stream directory, as URI parameters and
// Go options, are parsed into the config, and refused with an
// *driver.OptionError naming the option when invalid or given for a file.
func TestDirOptions(t *testing.T) {
	base := t.TempDir()
	dir := filepath.Join(base, "d") + "/"
	file := filepath.Join(base, "f.ss")

	c, err := configOf(dir, "create&segment_size=64MiB&segment_age=1h&retention_bytes=1GiB&retention_age=168h&retention_segments=10&skip_deleted=true&retain_groups=a,b")
	if err != nil {
		t.Fatal(err)
	}
	want := ssdir.Retention{Bytes: 1 << 30, Age: 168 * time.Hour, Segments: 10}
	if !c.dir || c.segmentSize != 64<<20 || c.segmentAge != time.Hour || c.retention != want || !c.skipDeleted || !slices.Equal(c.retainGroups, []string{"a", "b"}) {
		t.Fatalf("config %+v", c)
	}
	if c, err := configOf(dir, "create"); err != nil || !c.dir || c.segmentSize != ssdir.DefaultSegmentSize {
		t.Fatalf("defaults: %+v, %v", c, err)
	}
	// Go options, through the same declarations.
	u, _ := driver.ParseURI("file://" + dir)
	c, err = parseConfig(u, driver.ConnectOptions{Extra: []any{WithSegmentSize(8192), WithSegmentAge(time.Minute),
		WithRetentionBytes(1 << 20), WithRetentionAge(time.Hour), WithRetentionSegments(3), WithSkipDeleted(true), WithRetainGroups("g")}})
	if err != nil || c.segmentSize != 8192 || c.segmentAge != time.Minute || c.retention != (ssdir.Retention{Bytes: 1 << 20, Age: time.Hour, Segments: 3}) || !c.skipDeleted || !slices.Equal(c.retainGroups, []string{"g"}) {
		t.Fatalf("Go options: %+v, %v", c, err)
	}
	// A directory's option on a path without a slash makes it a directory.
	if c, err := configOf(filepath.Join(base, "e"), "create&segment_size=1MiB"); err != nil || !c.dir {
		t.Fatalf("segment_size on a new path: %+v, %v", c, err)
	}
	// A single file stays a file.
	for _, p := range []string{file, filepath.Join(base, "plain", "stream")} {
		if c, err := configOf(p, "create"); err != nil || c.dir {
			t.Fatalf("%s: %+v, %v", p, c, err)
		}
	}

	for _, tc := range []struct{ path, q, option string }{
		{dir, "segment_size=100", "segment_size"},
		{dir, "segment_size=16GiB", "segment_size"},
		{dir, "segment_size=big", "segment_size"},
		{dir, "segment_age=0s", "segment_age"},
		{dir, "segment_age=soon", "segment_age"},
		{dir, "retention_bytes=0", "retention_bytes"},
		{dir, "retention_age=-1h", "retention_age"},
		{dir, "retention_segments=0", "retention_segments"},
		{dir, "retention_segments=-1", "retention_segments"},
		{dir, "skip_deleted=maybe", "skip_deleted"},
		{dir, "size_limit=1GiB", "size_limit"},
		{file, "segment_age=1h", "segment_age"},
		{file, "retention_segments=3", "retention_segments"},
		{file, "skip_deleted=true", "skip_deleted"},
		{file, "retain_groups=g", "retain_groups"},
		{dir, "retain_groups=a,,b", "retain_groups"},
		{filepath.Join(base, "g.ss") + "/", "segment_size=1MiB", "segment_size"},
	} {
		_, err := configOf(tc.path, tc.q)
		var oe *driver.OptionError
		if !errors.As(err, &oe) || oe.Name != tc.option || !errors.Is(err, driver.ErrInvalidOption) {
			t.Errorf("%s?%s: %v, want an invalid %s", tc.path, tc.q, err, tc.option)
		}
	}
	if _, err := parseConfig(u, driver.ConnectOptions{Extra: []any{WithSegmentSize(1)}}); !errors.Is(err, driver.ErrInvalidOption) {
		t.Errorf("WithSegmentSize(1): %v", err)
	}
}

func configOf(path, q string) (config, error) {
	u, err := driver.ParseURI("file://" + path + "?" + q)
	if err != nil {
		return config{}, err
	}
	return parseConfig(u, driver.ConnectOptions{})
}

// TestDirOpen: without create, a stream directory must exist and hold a
// segment; create makes it and its first segment; create=only refuses one
// that holds segments.
func TestDirOpen(t *testing.T) {
	dir := tempDir(t)
	if _, err := openErr(dir, ""); err == nil {
		t.Fatal("Open of a missing directory without create succeeded")
	}
	empty := t.TempDir() + "/"
	if _, err := openErr(empty, ""); err == nil || !strings.Contains(err.Error(), "no segment") {
		t.Fatalf("Open of an empty directory without create: %v", err)
	}
	if _, err := openErr(empty, "create"); err != nil {
		t.Fatal(err)
	}
	if segs := segments(t, empty); len(segs) != 1 {
		t.Fatalf("create made %d segments", len(segs))
	}
	if _, err := openErr(empty, "create=only"); !errors.Is(err, os.ErrExist) {
		t.Fatalf("create=only on a stream directory: %v, want fs.ErrExist", err)
	}
	if _, err := openErr(empty, ""); err != nil {
		t.Fatal(err)
	}
}

// TestDirGroups: the coordination files of LoadBalanced groups are inside
// the directory, and a pairs group on a directory shares the pairs and
// hands on positions across segments.
func TestDirGroups(t *testing.T) {
	ctx := testkit.Context(t)
	dir := tempDir(t)
	c := open(t, dir, "create=true&segment_size=4KiB&heartbeat=10ms")
	p := newProducer(t, c)
	lb := driver.ConsumerOptions{Mode: driver.LoadBalanced, Group: "g", AutoStreamReset: driver.ResetEarliest}
	a := newCons(t, c, lb, "a")
	if gd := GroupDir(filepath.Clean(dir), "g"); filepath.Dir(gd) != filepath.Clean(dir) {
		t.Fatalf("group dir %s, want inside the stream directory", gd)
	}
	sendPadded(t, ctx, p, "a", "m", 0, 100)
	if got := payloads(t, ctx, a, 50); !slices.Equal(got, wantPadded("m", 0, 50)) {
		t.Fatalf("got %.10q", got)
	}
	if err := a.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := a.Close(ctx); err != nil {
		t.Fatal(err)
	}
	// The next member takes the pair from where the first left it, in a
	// later segment.
	b := newCons(t, c, lb, "a")
	if got := payloads(t, ctx, b, 50); !slices.Equal(got, wantPadded("m", 50, 100)) {
		t.Fatalf("the next member got %d from %.10q, want m50..m99", len(got), got[0])
	}
}

// TestDirEndOfStream: eos=true on a stream directory ends its consumers;
// the next writer removes the message and carries on, and a live consumer
// that started after it (at the end of the last segment) follows the new
// writer's messages.
func TestDirEndOfStream(t *testing.T) {
	ctx := testkit.Context(t)
	dir := tempDir(t)
	w, err := openErr(dir, "create&eos=true&segment_size=4KiB")
	if err != nil {
		t.Fatal(err)
	}
	sendPadded(t, ctx, newProducer(t, w), "a", "m", 0, 50)
	reader := open(t, dir, "")
	cons := newCons(t, reader, earliest, "a")
	if got := payloads(t, ctx, cons, 50); !slices.Equal(got, wantPadded("m", 0, 50)) {
		t.Fatalf("got %.10q", got)
	}
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
	wantErr(t, nextErr(t, ctx, cons), driver.ErrStreamEnded)

	tail := newCons(t, reader, driver.ConsumerOptions{}, "a")
	w2 := open(t, dir, "")
	p2 := newProducer(t, w2)
	if h := send(t, ctx, p2, driver.Header{StreamKey: "a"}, padded("n", 0)); h.Seq != 51 {
		t.Fatalf("seq after reopening: %d, want 51", h.Seq)
	}
	sendPadded(t, ctx, p2, "a", "n", 1, 60)
	if got := payloads(t, ctx, tail, 60); !slices.Equal(got, wantPadded("n", 0, 60)) {
		t.Fatalf("after the new writer the live consumer got %.10q", got)
	}
	all := newCons(t, reader, earliest, "a")
	if got := payloads(t, ctx, all, 110); !slices.Equal(got, append(wantPadded("m", 0, 50), wantPadded("n", 0, 60)...)) {
		t.Fatalf("from the start: %.10q", got)
	}
}

// TestDirLag: the lag of a consumer of a stream directory counts the
// messages after its position, across the segments after its own.
func TestDirLag(t *testing.T) {
	ctx := testkit.Context(t)
	dir := tempDir(t)
	c := open(t, dir, "create=true&segment_size=4KiB")
	sendPadded(t, ctx, newProducer(t, c), "a", "m", 0, 200)
	cons := newCons(t, c, earliest, "a").(*consumer)
	payloads(t, ctx, cons, 30)
	lags, err := cons.Lag(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(lags) != 1 || lags[0].Messages != 170 {
		t.Fatalf("lag %+v, want 170 messages of a", lags)
	}
}

// TestDirFollowerBehindRetention: a consumer that falls so far behind that
// retention deletes the segments after the one it reads gets an error
// matching ssdir.ErrSegmentDeleted once it has read its segment to the end,
// never a message after a gap; with skip_deleted it goes on from the first
// message of the oldest segment left.
func TestDirFollowerBehindRetention(t *testing.T) {
	ctx := testkit.Context(t)
	for _, skip := range []bool{false, true} {
		t.Run(fmt.Sprint("skip_deleted=", skip), func(t *testing.T) {
			dir := tempDir(t)
			w := open(t, dir, "create=true&segment_size=4KiB&retention_segments=2")
			p := newProducer(t, w)
			sendPadded(t, ctx, p, "a", "m", 0, 10)
			q := "prefetch=1"
			if skip {
				q += "&skip_deleted=true"
			}
			cons := newCons(t, open(t, dir, q), earliest, "a")
			if m := next(t, ctx, cons); string(m.Payload) != padded("m", 0) {
				t.Fatalf("first message %.10q", m.Payload)
			}
			// Its reader waits in the first segment, which holds about 30
			// messages, with at most two read ahead.
			sendPadded(t, ctx, p, "a", "m", 10, 400)
			if err := w.Close(ctx); err != nil { // waits for retention
				t.Fatal(err)
			}
			segs := segments(t, dir)
			if len(segs) != 2 || segs[0].Number < 3 {
				t.Fatalf("segments %+v: want two left, the second deleted", segs)
			}
			i := 1
			for ; ; i++ {
				m, err := cons.Next(ctx)
				if err != nil {
					if skip || !errors.Is(err, ssdir.ErrSegmentDeleted) {
						t.Fatalf("after m%d: %v", i-1, err)
					}
					return
				}
				if string(m.Payload) != padded("m", i) {
					if !skip {
						t.Fatalf("after m%d got %.10q: a gap", i-1, m.Payload)
					}
					if first := firstMessage(t, segs[0].Path); string(m.Payload) != first {
						t.Fatalf("with skip_deleted, after m%d got %.10q, want %.10q, the first of the oldest segment", i-1, m.Payload, first)
					}
					break
				}
			}
			if i < 20 {
				t.Fatalf("the consumer skipped after m%d, before reading its segment to the end", i-1)
			}
		})
	}
}

// TestDirRetainGroups: with retain_groups, retention keeps every segment a
// named group has not read: from the segment of a Resumable group's
// committed position, of a pairs group's oldest pair position, and all of
// them while a named group has no position.
func TestDirRetainGroups(t *testing.T) {
	ctx := testkit.Context(t)
	dir := tempDir(t)
	const q = "create=true&segment_size=4KiB&retention_segments=2&retain_groups=r,g"
	writeSome := func(from, to int) {
		w := open(t, dir, q)
		sendPadded(t, ctx, newProducer(t, w), "a", "m", from, to)
		if err := w.Close(ctx); err != nil { // waits for retention
			t.Fatal(err)
		}
	}
	writeSome(0, 200)
	if segs := segments(t, dir); segs[0].Number != 1 {
		t.Fatalf("segments %+v deleted while the named groups have no position", segs)
	}

	c := open(t, dir, "heartbeat=10ms")
	r := newCons(t, c, resumable("r"), "a")
	payloads(t, ctx, r, 100)
	if err := r.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	lb := newCons(t, c, driver.ConsumerOptions{Mode: driver.LoadBalanced, Group: "g", AutoStreamReset: driver.ResetEarliest}, "a")
	payloads(t, ctx, lb, 150)
	if err := lb.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	rc := r.(*consumer)
	rc.mu.Lock()
	rSeg, _ := splitDirPos(rc.pos.offset)
	rc.mu.Unlock()
	writeSome(200, 400)
	segs := segments(t, dir)
	if segs[0].Number != rSeg {
		t.Fatalf("the oldest segment left is %d; the Resumable group r is in %d", segs[0].Number, rSeg)
	}
	if got := payloads(t, ctx, r, 300); !slices.Equal(got, wantPadded("m", 100, 400)) {
		t.Fatalf("r read %.10q", got[0])
	}
	if err := r.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	// Now the pairs group g is the one behind.
	writeSome(400, 420)
	segs = segments(t, dir)
	pos, ok, err := pairsPosition(GroupDir(filepath.Clean(dir), "g"))
	gSeg, _ := splitDirPos(pos)
	if err != nil || !ok || segs[0].Number != gSeg {
		t.Fatalf("the oldest segment left is %d; the pairs group g is in %d (%v, %v)", segs[0].Number, gSeg, ok, err)
	}
	if got := payloads(t, ctx, lb, 270); !slices.Equal(got, wantPadded("m", 150, 420)) {
		t.Fatalf("g read %.10q", got[0])
	}
}

// TestDirResumeRecreated: a stream directory removed and written again from
// scratch under a Resumable group's offsets (kept elsewhere and put back,
// as a restore would) is another stream: the group starts over by its
// AutoStreamReset instead of resuming at the old position.
func TestDirResumeRecreated(t *testing.T) {
	ctx := testkit.Context(t)
	dir := tempDir(t)
	c := open(t, dir, "create=true&segment_size=4KiB")
	sendPadded(t, ctx, newProducer(t, c), "a", "m", 0, 300)
	cons := newCons(t, c, resumable("r"), "a")
	payloads(t, ctx, cons, 250)
	if err := cons.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(ctx); err != nil {
		t.Fatal(err)
	}
	saved := t.TempDir()
	for _, name := range []string{"r.offsets", "r.offsets.log"} {
		if err := os.Rename(filepath.Join(dir, name), filepath.Join(saved, name)); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	c = open(t, dir, "create=true&segment_size=4KiB")
	sendPadded(t, ctx, newProducer(t, c), "a", "n", 0, 50)
	for _, name := range []string{"r.offsets", "r.offsets.log"} {
		if err := os.Rename(filepath.Join(saved, name), filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	cons = newCons(t, c, resumable("r"), "a")
	if got := payloads(t, ctx, cons, 50); !slices.Equal(got, wantPadded("n", 0, 50)) {
		t.Fatalf("after the directory was written again got %.10q, want n0..", got[0])
	}
}

// TestDirSegmentAsFile: a segment of a stream directory opened as a file
// is read as one, and refused to producers with driver.ErrUnsupported
// naming the directory: appending to it would break the directory.
func TestDirSegmentAsFile(t *testing.T) {
	ctx := testkit.Context(t)
	dir := tempDir(t)
	c := open(t, dir, "create=true&segment_size=4KiB")
	sendPadded(t, ctx, newProducer(t, c), "a", "m", 0, 100)
	seg := segments(t, dir)[0].Path
	f := open(t, seg, "")
	if m := next(t, ctx, newCons(t, f, earliest, "a")); string(m.Payload) != padded("m", 0) {
		t.Fatalf("the first segment as a file starts with %.10q", m.Payload)
	}
	_, err := f.NewProducer(ctx, "", driver.ProducerOptions{})
	if !errors.Is(err, driver.ErrUnsupported) || !strings.Contains(err.Error(), "segment of the stream directory") {
		t.Fatalf("a producer to a segment: %v, want driver.ErrUnsupported naming the directory", err)
	}
}

// TestDirPairsDeleted: a member of a pairs group that takes a pair whose
// position retention deleted fails to join with ssdir.ErrSegmentDeleted,
// or with skip_deleted reads on from the oldest segment left.
func TestDirPairsDeleted(t *testing.T) {
	ctx := testkit.Context(t)
	dir := tempDir(t)
	lb := driver.ConsumerOptions{Mode: driver.LoadBalanced, Group: "g", AutoStreamReset: driver.ResetEarliest}
	w := open(t, dir, "create=true&segment_size=4KiB&retention_segments=2")
	p := newProducer(t, w)
	sendPadded(t, ctx, p, "a", "m", 0, 10)
	c := open(t, dir, "heartbeat=10ms")
	m := newCons(t, c, lb, "a")
	payloads(t, ctx, m, 5)
	if err := m.Close(ctx); err != nil { // hands on its position, in segment 1
		t.Fatal(err)
	}
	sendPadded(t, ctx, p, "a", "m", 10, 300)
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
	segs := segments(t, dir)
	if segs[0].Number == 1 {
		t.Fatal("want the first segment deleted")
	}
	_, err := c.NewConsumer(ctx, []driver.StreamKey{"a"}, lb)
	if !errors.Is(err, ssdir.ErrSegmentDeleted) || !strings.Contains(err.Error(), "skip_deleted") {
		t.Fatalf("joining with a pair whose position was deleted: %v, want ssdir.ErrSegmentDeleted", err)
	}
	m = newCons(t, open(t, dir, "heartbeat=10ms&skip_deleted=true"), lb, "a")
	if got := next(t, ctx, m); string(got.Payload) != firstMessage(t, segs[0].Path) {
		t.Fatalf("with skip_deleted the member starts at %.10q, want the oldest segment's first", got.Payload)
	}
}
