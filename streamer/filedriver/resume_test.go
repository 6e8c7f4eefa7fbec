package filedriver

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/seastream/ss/format"
	"github.com/seastream/ss/internal/testkit"
	"github.com/seastream/ss/streamer/driver"
)

func resumable(group string) driver.ConsumerOptions {
	return driver.ConsumerOptions{Mode: driver.Resumable, Group: group, AutoStreamReset: driver.ResetEarliest}
}

// restart opens a new Conn and Resumable consumer, as a restarted process
// would (the previous ones must be closed).
func restart(t *testing.T, path string, opts driver.ConsumerOptions, streams ...driver.StreamKey) driver.Consumer {
	t.Helper()
	return newCons(t, open(t, path, ""), opts, streams...)
}

func TestResumeAfterRestart(t *testing.T) {
	ctx := testkit.Context(t)
	path := tempFile(t)
	c := open(t, path, "create")
	p := newProducer(t, c)
	sendN(t, ctx, p, "a", "m", 10)

	cons := newCons(t, c, resumable("r"), "a")
	if got := payloads(t, ctx, cons, 4); !slices.Equal(got, seq("m", 0, 4)) {
		t.Fatalf("got %q", got)
	}
	if err := cons.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	// Two more read, not committed, then a "crash": closed without commit.
	payloads(t, ctx, cons, 2)
	if err := cons.Close(ctx); err != nil {
		t.Fatal(err)
	}

	cons = restart(t, path, resumable("r"), "a")
	if got := payloads(t, ctx, cons, 6); !slices.Equal(got, seq("m", 4, 10)) {
		t.Fatalf("after restart got %q, want m4..m9", got)
	}
	if err := cons.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := cons.Close(ctx); err != nil {
		t.Fatal(err)
	}
	// Messages produced while no consumer runs are not lost.
	sendN(t, ctx, p, "a", "n", 3)
	cons = restart(t, path, resumable("r"), "a")
	if got := payloads(t, ctx, cons, 3); !slices.Equal(got, seq("n", 0, 3)) {
		t.Fatalf("after the second restart got %q", got)
	}
	// Another group starts on its own.
	other := restart(t, path, resumable("other"), "a")
	if got := payloads(t, ctx, other, 1); !slices.Equal(got, []string{"m0"}) {
		t.Fatalf("a new group got %q", got)
	}
}

func TestResumeLatestCommitsItsStart(t *testing.T) {
	ctx := testkit.Context(t)
	path := tempFile(t)
	c := open(t, path, "create")
	p := newProducer(t, c)
	sendN(t, ctx, p, "a", "old", 3)
	opts := driver.ConsumerOptions{Mode: driver.Resumable, Group: "r"} // ResetLatest
	cons := newCons(t, c, opts, "a")
	if err := cons.Commit(ctx); err != nil { // nothing read: commits "the end"
		t.Fatal(err)
	}
	cons.Close(ctx)
	sendN(t, ctx, p, "a", "new", 2)
	cons = restart(t, path, opts, "a")
	if got := payloads(t, ctx, cons, 2); !slices.Equal(got, seq("new", 0, 2)) {
		t.Fatalf("got %q", got)
	}
}

func TestResumeDefaultGroup(t *testing.T) {
	ctx := testkit.Context(t)
	path := tempFile(t)
	c := open(t, path, "create")
	sendN(t, ctx, newProducer(t, c), "a", "m", 3)
	cons := newCons(t, c, resumable(""), "a")
	payloads(t, ctx, cons, 2)
	if err := cons.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(OffsetsPath(path, DefaultGroup()))
	if err != nil {
		t.Fatalf("no offsets file for the default group: %v", err)
	}
	var f offsetsFile
	if err := json.Unmarshal(data, &f); err != nil || f.Group != DefaultGroup() || len(f.Streams) != 1 || f.Streams[0].Seq != 2 {
		t.Fatalf("offsets file %s: %+v, %v", data, f, err)
	}
	cons.Close(ctx)
	cons = restart(t, path, resumable(""), "a")
	if got := payloads(t, ctx, cons, 1); !slices.Equal(got, []string{"m2"}) {
		t.Fatalf("got %q", got)
	}
}

// TestResumeCrashDuringCommit simulates a crash in the middle of a commit:
// the temporary file is left behind, half written. The last completed commit
// counts.
func TestResumeCrashDuringCommit(t *testing.T) {
	ctx := testkit.Context(t)
	path := tempFile(t)
	c := open(t, path, "create")
	sendN(t, ctx, newProducer(t, c), "a", "m", 5)
	cons := newCons(t, c, resumable("r"), "a")
	payloads(t, ctx, cons, 2)
	if err := cons.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	cons.Close(ctx)
	store := OffsetsPath(path, "r")
	good, err := os.ReadFile(store)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(store+".tmp-123", good[:len(good)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	cons = restart(t, path, resumable("r"), "a")
	if got := payloads(t, ctx, cons, 1); !slices.Equal(got, []string{"m2"}) {
		t.Fatalf("got %q", got)
	}
	cons.Close(ctx)
	// No temporary file of a completed commit is left.
	if err := cons.Commit(ctx); !errors.Is(err, driver.ErrClosed) {
		t.Fatalf("Commit after Close: %v", err)
	}
	// Nor the crashed one: opening the group's store removes it.
	matches, _ := filepath.Glob(store + ".tmp-*")
	if len(matches) != 0 {
		t.Fatalf("temporary files: %q, want none", matches)
	}

	// Damage from outside is reported, naming the file.
	if err := os.WriteFile(store, good[:len(good)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = open(t, path, "").NewConsumer(ctx, []driver.StreamKey{"a"}, resumable("r"))
	var oe *OffsetsError
	if !errors.Is(err, ErrOffsetsCorrupt) || !errors.As(err, &oe) || oe.Path != store {
		t.Fatalf("damaged offsets file: %v", err)
	}
}

// TestResumeSkipsCommittedSeqs checks the sequence-number check: an offset
// pointing before committed messages does not deliver them again.
func TestResumeSkipsCommittedSeqs(t *testing.T) {
	ctx := testkit.Context(t)
	path := tempFile(t)
	c := open(t, path, "create")
	p := newProducer(t, c)
	for i := range 4 {
		for _, k := range []driver.StreamKey{"a", "b"} {
			send(t, ctx, p, driver.Header{StreamKey: k}, string(k)+string(rune('0'+i)))
		}
	}
	cons := newCons(t, c, resumable("r"), "a", "b")
	payloads(t, ctx, cons, 3) // a0 b0 a1
	if err := cons.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	cons.Close(ctx)
	store := OffsetsPath(path, "r")
	data, _ := os.ReadFile(store)
	var f offsetsFile
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatal(err)
	}
	f.Offset = format.HeaderSize // as if the offset were stale
	data, _ = json.Marshal(f)
	if err := os.WriteFile(store, data, 0o644); err != nil {
		t.Fatal(err)
	}
	cons = restart(t, path, resumable("r"), "a", "b")
	if got := payloads(t, ctx, cons, 5); !slices.Equal(got, []string{"b1", "a2", "b2", "a3", "b3"}) {
		t.Fatalf("got %q", got)
	}
}

// TestResumeAfterSeek checks that a commit after Seek keeps the per-stream
// start condition: a stream that has not reached the target yet stays
// filtered after a restart.
func TestResumeAfterSeek(t *testing.T) {
	ctx := testkit.Context(t)
	path := tempFile(t)
	c := open(t, path, "create&beacon_interval=1KiB")
	p := newProducer(t, c)
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 200 {
		send(t, ctx, p, driver.Header{StreamKey: "early", Timestamp: t0.Add(time.Duration(i) * time.Second)}, "e"+strconv.Itoa(i))
		send(t, ctx, p, driver.Header{StreamKey: "late", Timestamp: t0.Add(time.Hour + time.Duration(i)*time.Second)}, "l"+strconv.Itoa(i))
	}
	cons := newCons(t, c, resumable("r"), "early", "late")
	if err := cons.Seek(ctx, t0.Add(100*time.Second)); err != nil {
		t.Fatal(err)
	}
	if got := payloads(t, ctx, cons, 10); !slices.Equal(got, seq("l", 0, 10)) {
		t.Fatalf("got %q", got)
	}
	if err := cons.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	cons.Close(ctx)
	cons = restart(t, path, resumable("r"), "early", "late")
	got := payloads(t, ctx, cons, 93)
	want := append(seq("l", 10, 101), "e101", "l101")
	if !slices.Equal(got, want) {
		t.Fatalf("after restart got %q, want %q", got, want)
	}
}

// TestResumeRecreatedFile checks that a position committed for a file that
// was since replaced by a new one is not applied to it.
func TestResumeRecreatedFile(t *testing.T) {
	ctx := testkit.Context(t)
	path := tempFile(t)
	c, err := openErr(path, "create")
	if err != nil {
		t.Fatal(err)
	}
	sendN(t, ctx, newProducer(t, c), "a", "m", 5)
	cons := newCons(t, c, resumable("r"), "a")
	payloads(t, ctx, cons, 4)
	if err := cons.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	cons.Close(ctx)
	c.Close(ctx)
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	// The header records the creation time in milliseconds: make sure the
	// new file's differs.
	for start := time.Now(); time.Now().UnixMilli() == start.UnixMilli(); {
		runtimeGosched()
	}
	c2 := open(t, path, "create=only")
	sendN(t, ctx, newProducer(t, c2), "a", "new", 2)
	cons = newCons(t, c2, resumable("r"), "a")
	if got := payloads(t, ctx, cons, 2); !slices.Equal(got, seq("new", 0, 2)) {
		t.Fatalf("on a recreated file got %q", got)
	}
}
