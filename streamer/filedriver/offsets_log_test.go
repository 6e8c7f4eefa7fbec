package filedriver

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/seastream/ss/internal/testkit"
	"github.com/seastream/ss/streamer/driver"
)

// TestOffsetsTempsRemoved is issue 11 item 9: the temporary files of
// commits that crashed are removed when the group's store is opened, and
// only those.
func TestOffsetsTempsRemoved(t *testing.T) {
	ctx := testkit.Context(t)
	path := tempFile(t)
	c := open(t, path, "create")
	sendN(t, ctx, newProducer(t, c), "a", "m", 3)
	store := OffsetsPath(path, "r")
	for i := range 49 {
		if err := os.WriteFile(fmt.Sprintf("%s.tmp-%d", store, 1000+i), []byte("{"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	keep := []string{
		OffsetsPath(path, "r.offsets.tmp-1"), // another group's store
		OffsetsPath(path, "r.offsets.tmp-1") + ".tmp-77",
		store + ".tmp-notmine",
	}
	for _, k := range keep {
		if err := os.WriteFile(k, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cons := newCons(t, c, resumable("r"), "a")
	payloads(t, ctx, cons, 1)
	if err := cons.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	var left []string
	matches, _ := filepath.Glob(filepath.Join(filepath.Dir(path), "*"))
	for _, m := range matches {
		if filepath.Ext(m) != ".ss" && m != store && m != store+".log" && m != leasePath(store) {
			left = append(left, m)
		}
	}
	slices.Sort(left)
	slices.Sort(keep)
	if !slices.Equal(left, keep) {
		t.Fatalf("files left: %q, want %q", left, keep)
	}
}

// TestCommitLog checks the commit log: a commit appends a small record
// instead of rewriting the snapshot, every acknowledged commit is what a
// restart resumes from, a torn last record is ignored and cut, and
// compaction keeps the position.
func TestCommitLog(t *testing.T) {
	ctx := testkit.Context(t)
	path := tempFile(t)
	c := open(t, path, "create")
	p := newProducer(t, c)
	for i := range 200 {
		send(t, ctx, p, driver.Header{StreamKey: driver.StreamKey(fmt.Sprintf("s%d", i%50))}, fmt.Sprintf("m%d", i))
	}
	cons := newCons(t, c, resumable("r"), driver.Wildcard)
	payloads(t, ctx, cons, 60)
	if err := cons.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	store := OffsetsPath(path, "r")
	snap, _ := os.ReadFile(store)
	fi, err := os.Stat(store + ".log")
	if err != nil {
		t.Fatal(err)
	}
	before := fi.Size()
	payloads(t, ctx, cons, 1) // m60, stream s10
	if err := cons.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	fi, _ = os.Stat(store + ".log")
	// The first commit of a store writes its full state, the next only s10.
	payloads(t, ctx, cons, 1)
	if err := cons.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	fi2, _ := os.Stat(store + ".log")
	if grew := fi2.Size() - fi.Size(); grew <= 0 || grew > 300 {
		t.Fatalf("a commit of one changed stream of 50 grew the log by %d bytes (from %d, %d)", grew, before, fi.Size())
	}
	if now, _ := os.ReadFile(store); string(now) != string(snap) {
		t.Fatal("a commit rewrote the snapshot")
	}
	cons.Close(ctx)
	cons = restart(t, path, resumable("r"), driver.Wildcard)
	if got := payloads(t, ctx, cons, 1); got[0] != "m62" {
		t.Fatalf("resumed with %q, want m62", got)
	}
	cons.Close(ctx)

	// A crash in the middle of a commit leaves a torn record: ignored.
	good, _ := os.ReadFile(store + ".log")
	torn := append(slices.Clone(good), 40, 0, 0, 0, 1, 2, 3, 4, '{', '"')
	if err := os.WriteFile(store+".log", torn, 0o644); err != nil {
		t.Fatal(err)
	}
	cons = restart(t, path, resumable("r"), driver.Wildcard)
	if got := payloads(t, ctx, cons, 1); got[0] != "m62" {
		t.Fatalf("after a torn record resumed with %q, want m62", got)
	}
	if err := cons.Commit(ctx); err != nil { // cuts the torn record
		t.Fatal(err)
	}
	cons.Close(ctx)
	cons = restart(t, path, resumable("r"), driver.Wildcard)
	if got := payloads(t, ctx, cons, 1); got[0] != "m63" {
		t.Fatalf("after a commit past a torn record resumed with %q, want m63", got)
	}

	// Compaction: many commits with a small threshold.
	cons.(*consumer).store.compactMin = 512
	for range 85 { // m64..m148
		payloads(t, ctx, cons, 1)
		if err := cons.Commit(ctx); err != nil {
			t.Fatal(err)
		}
	}
	fi, _ = os.Stat(store + ".log")
	if fi.Size() > 4096 {
		t.Fatalf("the log is %d bytes after compactions", fi.Size())
	}
	cons.Close(ctx)
	cons = restart(t, path, resumable("r"), driver.Wildcard)
	if got := payloads(t, ctx, cons, 1); got[0] != "m149" {
		t.Fatalf("after compactions resumed with %q, want m149", got)
	}
	if err := cons.Commit(ctx); err != nil { // a record in the log
		t.Fatal(err)
	}
	cons.Close(ctx)

	// A compaction that crashed after renaming a new snapshot in, before
	// starting its log: the log's generation is not the snapshot's, so it is
	// ignored. What the snapshot alone holds:
	logData, _ := os.ReadFile(store + ".log")
	os.Remove(store + ".log")
	cons = restart(t, path, resumable("r"), driver.Wildcard)
	want0 := payloads(t, ctx, cons, 1)[0]
	cons.Close(ctx)
	if want0 == "m150" {
		t.Fatal("the snapshot holds the last commit: nothing to check")
	}
	if err := os.WriteFile(store+".log", logData, 0o644); err != nil {
		t.Fatal(err)
	}
	var f offsetsFile
	data, _ := os.ReadFile(store)
	if err := json.Unmarshal(data, &f); err != nil || f.Log == 0 {
		t.Fatalf("snapshot %s: %v", data, err)
	}
	f.Log++
	data, _ = json.Marshal(f)
	if err := os.WriteFile(store, data, 0o644); err != nil {
		t.Fatal(err)
	}
	cons = restart(t, path, resumable("r"), driver.Wildcard)
	if got := payloads(t, ctx, cons, 1); got[0] != want0 {
		t.Fatalf("with a log of another generation resumed with %q, want the snapshot's %q", got, want0)
	}
	// A commit then must not go to the ignored log.
	got := payloads(t, ctx, cons, 2)
	if err := cons.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	cons.Close(ctx)
	var k int
	fmt.Sscanf(got[1], "m%d", &k)
	cons = restart(t, path, resumable("r"), driver.Wildcard)
	if got := payloads(t, ctx, cons, 1); got[0] != fmt.Sprintf("m%d", k+1) {
		t.Fatalf("after a commit on a log of another generation resumed with %q, want m%d", got, k+1)
	}
}

// TestResumableGroupHeldByOne: while a Resumable consumer holds its group,
// another (here in the same process; TestResumableAcrossProcesses in
// another) is refused with ErrGroupBusy naming the holder, instead of both
// reading the stream and the last commit winning (issue 13, item 2). Once
// the holder closes, the next one resumes from its commit.
func TestResumableGroupHeldByOne(t *testing.T) {
	ctx := testkit.Context(t)
	path := tempFile(t)
	c := open(t, path, "create")
	sendN(t, ctx, newProducer(t, c), "a", "m", 10)
	x := newCons(t, c, resumable("r"), "a")
	payloads(t, ctx, x, 4)
	if err := x.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	_, err := open(t, path, "").NewConsumer(ctx, []driver.StreamKey{"a"}, resumable("r"))
	var busy *GroupBusyError
	if !errors.As(err, &busy) || !errors.Is(err, ErrGroupBusy) || !strings.Contains(err.Error(), fmt.Sprintf("pid %d", os.Getpid())) {
		t.Fatalf("a second consumer of the group: %v, want ErrGroupBusy naming this process", err)
	}
	// Another group is another position.
	if got := payloads(t, ctx, newCons(t, c, resumable("other"), "a"), 1); got[0] != "m0" {
		t.Fatalf("another group got %q", got)
	}
	if err := x.Close(ctx); err != nil {
		t.Fatal(err)
	}
	y := restart(t, path, resumable("r"), "a")
	if got := payloads(t, ctx, y, 2); !slices.Equal(got, []string{"m4", "m5"}) {
		t.Fatalf("after the holder closed, resumed with %q", got)
	}
}

// TestOffsetsLegacyFile checks that an offsets file of the version before
// the commit log (JSON only, no log) still loads.
func TestOffsetsLegacyFile(t *testing.T) {
	ctx := testkit.Context(t)
	path := tempFile(t)
	c := open(t, path, "create")
	sendN(t, ctx, newProducer(t, c), "a", "m", 10)
	cons := newCons(t, c, resumable("r"), "a")
	payloads(t, ctx, cons, 4)
	if err := cons.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	cons.Close(ctx)
	store := OffsetsPath(path, "r")
	data, _ := os.ReadFile(store)
	var f map[string]any
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatal(err)
	}
	delete(f, "log")
	delete(f, "last")
	data, _ = json.Marshal(f)
	if err := os.WriteFile(store, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(store + ".log"); err != nil {
		t.Fatal(err)
	}
	cons = restart(t, path, resumable("r"), "a")
	if got := payloads(t, ctx, cons, 2); !slices.Equal(got, []string{"m4", "m5"}) {
		t.Fatalf("from a legacy offsets file got %q", got)
	}
	if err := cons.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	cons.Close(ctx)
	cons = restart(t, path, resumable("r"), "a")
	if got := payloads(t, ctx, cons, 1); got[0] != "m6" {
		t.Fatalf("after a commit on a legacy offsets file got %q", got)
	}
}

// TestCommitLogCutAtEveryByte cuts the commit log at every byte, as a crash
// in the middle of a commit would: the store always loads, at the last
// commit whose record is whole.
func TestCommitLogCutAtEveryByte(t *testing.T) {
	ctx := testkit.Context(t)
	path := tempFile(t)
	c := open(t, path, "create")
	sendN(t, ctx, newProducer(t, c), "a", "m", 20)
	cons := newCons(t, c, resumable("r"), "a")
	store := OffsetsPath(path, "r")
	var ends, offsets []int64 // log size and offset committed by commit i
	for range 6 {
		payloads(t, ctx, cons, 1)
		if err := cons.Commit(ctx); err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(store + ".log")
		if err != nil {
			t.Fatal(err)
		}
		ends = append(ends, fi.Size())
		offsets = append(offsets, cons.(*consumer).pos.offset)
	}
	h := cons.(*consumer).header
	cons.Close(ctx)
	full, _ := os.ReadFile(store + ".log")
	if int64(len(full)) != ends[len(ends)-1] || ends[0] >= ends[1] {
		t.Fatalf("log sizes %v, file %d bytes", ends, len(full))
	}
	for cut := range len(full) + 1 {
		if err := os.WriteFile(store+".log", full[:cut], 0o644); err != nil {
			t.Fatal(err)
		}
		want := offsets[0] // the first commit is in the snapshot
		for i, end := range ends {
			if int64(cut) >= end {
				want = offsets[i]
			}
		}
		s := &offsetStore{path: store, group: "r"}
		p, ok, err := s.load(h)
		s.close()
		if err != nil || !ok || p.offset != want || p.seqs[driver.StreamShard{Stream: "a"}] == 0 {
			t.Fatalf("log cut at %d (ends %v): loaded %v %v offset %d (seqs %v), want offset %d", cut, ends, ok, err, p.offset, p.seqs, want)
		}
	}
}
