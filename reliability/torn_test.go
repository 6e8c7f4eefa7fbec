package reliability

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/seastream/ss/format"
	"github.com/seastream/ss/internal/sstest"
	"github.com/seastream/ss/internal/testkit"
	"github.com/seastream/ss/ssfile"
)

// tornFile is a small file of several beacon intervals to cut.
type tornFile struct {
	interval uint32
	msgs     []rec
	data     []byte
	lbl      []label
	ends     []int64 // where each message's last byte ends
}

func tornFiles(t *testing.T) []*tornFile {
	rng := rand.New(rand.NewPCG(11, 12))
	var out []*tornFile
	for _, c := range []struct {
		interval uint32
		spec     genSpec
	}{
		// Beacons every 128 bytes: inside headers, size fields, checksums;
		// most messages span one or more beacons.
		{128, genSpec{n: 20, streams: 3, shards: 2, maxPayload: 120, text: true}},
		{1024, genSpec{n: 36, streams: 3, shards: 2, maxPayload: 200, text: true}},
	} {
		f := &tornFile{interval: c.interval, msgs: genMessages(rng, c.spec)}
		f.data = layoutFile(t, f.msgs, c.interval)
		if c.interval%1024 == 0 {
			// The muxer's layout is what ssfile's Writer writes.
			path := tempPath(t, "w.ss")
			sstest.WriteFile(t, path, f.msgs, ssfile.WithCreatedAt(fixedCreated), ssfile.WithBeaconInterval(c.interval), ssfile.WithFileName("torn.ss"))
			if got, _ := os.ReadFile(path); !bytes.Equal(got, f.data) {
				t.Fatalf("interval %d: ssfile.Writer and beacon.Muxer lay out different bytes", c.interval)
			}
		}
		f.lbl = labelFile(t, f.data)
		_, f.ends = frameBounds(t, f.data)
		if len(f.ends) != len(f.msgs) {
			t.Fatalf("labelled %d frames, wrote %d", len(f.ends), len(f.msgs))
		}
		out = append(out, f)
	}
	return out
}

// kept returns how many messages are whole in the first cut bytes.
func (f *tornFile) kept(cut int) int {
	if cut < format.HeaderSize {
		return 0
	}
	n := 0
	for n < len(f.ends) && f.ends[n] <= int64(cut) {
		n++
	}
	return n
}

// clean reports whether a cut falls where the reader should see a complete
// file: at the end, or right before a message (after the beacon, if one
// belongs there). A cut before a beacon is torn: the beacon is missing.
func (f *tornFile) clean(cut int) bool {
	return cut >= format.HeaderSize && (cut == len(f.data) || f.lbl[cut].field == "key length")
}

// resumeAt is where the reader stops in a cut file: after the last whole
// message.
func (f *tornFile) resumeAt(kept int) int64 {
	if kept == 0 {
		return format.HeaderSize
	}
	return f.ends[kept-1]
}

// TestTornWrites cuts files at every byte offset. Reading never panics and
// returns every whole message before the cut, then a torn-tail error unless
// the cut is clean, then io.EOF; seeking works on what is left; Append keeps
// every whole message and goes on writing exactly the bytes of the uncut
// file.
func TestTornWrites(t *testing.T) {
	files := tornFiles(t)
	rows := make([][]string, len(files))
	t.Run("cuts", func(t *testing.T) {
		for i, f := range files {
			t.Run(fmt.Sprint(f.interval), func(t *testing.T) {
				t.Parallel()
				rows[i] = tornCuts(t, f)
			})
		}
	})
	if t.Failed() {
		return
	}
	writeSection(t, "torn", "### Torn writes\n\nFiles laid out by the writer's rules (`beacon.Muxer`, the bytes `ssfile.Writer` writes: checked equal at interval 1024), text payloads, 3 streams × 2 shards, cut at every byte offset.\n\n"+
		table([]string{"what was tried", "times", "what happened"}, rows))
}

// tornCuts cuts f at every byte and checks each cut; it returns the row of
// the results table.
func tornCuts(t *testing.T, f *tornFile) []string {
	dir := fastDir(t)
	path := filepath.Join(dir, "cut.ss")
	var torn, clean, appended, short int
	stride := testkit.Stride(len(f.data), 400)
	for cut := 0; cut <= len(f.data); cut += stride {
		if err := os.WriteFile(path, f.data[:cut], 0o644); err != nil {
			t.Fatal(err)
		}
		kept := f.kept(cut)
		switch isTorn, err := checkCutRead(f, path, cut, kept); {
		case err != nil:
			t.Fatalf("interval %d, cut %d: %v", f.interval, cut, err)
		case cut < format.HeaderSize:
			short++
		case isTorn:
			torn++
		default:
			clean++
		}
		if err := checkCutAppend(f, path, cut, kept); err != nil {
			t.Fatalf("interval %d, cut %d: %v", f.interval, cut, err)
		}
		appended++
	}
	beacons := (len(f.data) - 1) / int(f.interval)
	return []string{
		fmt.Sprintf("cut at every %sbyte: %d-byte file, interval %d, %d beacons, %d messages", ordinal(stride), len(f.data), f.interval, beacons, len(f.msgs)),
		fmt.Sprint(len(f.data) + 1),
		fmt.Sprintf("ssfile.Open+Replay: %d shorter than the header → format.ErrShortInput; %d clean cuts → every message, io.EOF; %d torn → every whole message, ErrTornTail at the right offset, io.EOF. Seek to the last whole message and SeekEnd work on all. ssfile.Append: %d/%d recovered and, writing the rest, reproduced the uncut file byte for byte. No panic.", short, clean, torn, appended, len(f.data)+1),
	}
}

// checkCutRead reads a cut file with ssfile: every whole message before the
// cut, then a torn tail (reported) or a clean end.
func checkCutRead(f *tornFile, path string, cut, kept int) (torn bool, err error) {
	r, err := ssfile.Open(path)
	if cut < format.HeaderSize {
		if err == nil {
			r.Close()
			return false, errors.New("Open accepted a file shorter than the header")
		}
		if !errors.Is(err, format.ErrShortInput) {
			return false, fmt.Errorf("Open of a short file: %v, want format.ErrShortInput", err)
		}
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("Open: %w", err)
	}
	defer r.Close()
	got, rerr := readAll(r)
	if i := firstDiff(got, f.msgs[:kept]); i >= 0 {
		return false, fmt.Errorf("read %d messages, want %d, first difference at %d (err %v)", len(got), kept, i, rerr)
	}
	if f.clean(cut) {
		if rerr != nil {
			return false, fmt.Errorf("clean cut: %v", rerr)
		}
	} else {
		var oe *ssfile.OffsetError
		if !errors.Is(rerr, ssfile.ErrTornTail) || !errors.As(rerr, &oe) {
			return false, fmt.Errorf("torn cut: %v, want ssfile.ErrTornTail", rerr)
		}
		if oe.Offset != f.resumeAt(kept) {
			return false, fmt.Errorf("torn tail reported at %d, want %d", oe.Offset, f.resumeAt(kept))
		}
		if _, err := r.Next(context.Background()); !errors.Is(err, io.EOF) {
			return false, fmt.Errorf("after the torn tail: %v, want io.EOF", err)
		}
		torn = true
	}
	if kept > 0 {
		last := f.msgs[kept-1]
		if err := r.Seek(ssfile.SeqNoTarget(last.Header.StreamKey, last.Header.ShardID, last.Header.SeqNo)); err != nil {
			return false, fmt.Errorf("seek to the last whole message: %w", err)
		}
		m, err := r.Next(context.Background())
		if err != nil || m.MessageHeader != last.Header || !bytes.Equal(m.Payload, last.Payload) {
			return false, fmt.Errorf("seek to the last whole message gave %+v, %v", m.MessageHeader, err)
		}
	}
	if err := r.SeekEnd(); err != nil {
		return false, fmt.Errorf("SeekEnd: %w", err)
	}
	if _, err := r.Next(context.Background()); !errors.Is(err, io.EOF) && !errors.Is(err, ssfile.ErrTornTail) {
		return false, fmt.Errorf("Next after SeekEnd: %v", err)
	}
	return torn, nil
}

// checkCutAppend reopens a cut file with Append: it keeps the whole
// messages, and writing the others reproduces the uncut file.
func checkCutAppend(f *tornFile, path string, cut, kept int) error {
	w, err := ssfile.Append(path)
	if err != nil {
		return fmt.Errorf("Append: %w", err)
	}
	if cut < format.HeaderSize {
		// A header cut short at creation: Append starts the file afresh
		// (with its default interval): nothing to keep.
		if err := w.Close(); err != nil {
			return err
		}
		r, err := ssfile.Open(path)
		if err != nil {
			return fmt.Errorf("Open after Append: %w", err)
		}
		defer r.Close()
		if got, err := readAll(r); len(got) != 0 || err != nil {
			return fmt.Errorf("afresh file holds %d messages, %v", len(got), err)
		}
		return nil
	}
	for _, m := range f.msgs[kept:] {
		if err := w.Write(m.Header, m.Payload); err != nil {
			return fmt.Errorf("write after Append: %w", err)
		}
	}
	if err := w.Close(); err != nil {
		return err
	}
	got, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if !bytes.Equal(got, f.data) {
		return fmt.Errorf("Append kept %d messages and wrote the rest: the file differs from the uncut one (%d bytes, want %d)", kept, len(got), len(f.data))
	}
	return nil
}

// TestTornWritesTools runs ss-decode and ss-repair on every cut: neither
// panics nor hangs; ss-decode prints every whole message and exits 0 (a torn
// tail is a warning); ss-repair writes a file with every whole message.
func TestTornWritesTools(t *testing.T) {
	decode := buildTool(t, "ss-decode")
	repair := buildTool(t, "ss-repair")
	var rows [][]string
	for _, f := range tornFiles(t) {
		// Every cut in a full run; by default every cut of the small file
		// and every 4th of the other.
		stride := testkit.Stride(len(f.data), 100)
		if !fullRun() && f.interval != 128 {
			stride = max(stride, 4)
		}
		cuts := make(chan int)
		var mu sync.Mutex
		var runs, decoded, repaired, refused int
		var wg sync.WaitGroup
		for range 2 {
			dir := fastDir(t)
			wg.Add(1)
			go func() {
				defer wg.Done()
				for cut := range cuts {
					d, r, err := checkCutTools(f, dir, decode, repair, cut)
					if err != nil {
						t.Errorf("interval %d, cut %d: %v", f.interval, cut, err)
						continue
					}
					mu.Lock()
					runs++
					decoded += d
					repaired += r
					refused += 1 - r
					mu.Unlock()
				}
			}()
		}
		for cut := 0; cut <= len(f.data); cut += stride {
			cuts <- cut
		}
		close(cuts)
		wg.Wait()
		if t.Failed() {
			return
		}
		which := "every cut"
		if stride > 1 {
			which = fmt.Sprintf("every %dth cut", stride)
		}
		rows = append(rows, []string{
			fmt.Sprintf("`ss-decode --format ndjson` and `ss-repair` on %s of the %d-byte file (interval %d)", which, len(f.data), f.interval),
			fmt.Sprintf("%d × 2", runs),
			fmt.Sprintf("no panic, no hang; ss-decode: %d cuts printed every whole message and exited 0, the others (shorter than a header) exited 1; ss-repair: %d wrote a file with every whole message and nothing else, %d refused a file shorter than a header", decoded, repaired, refused),
		})
	}
	writeSection(t, "torn-tools", "The command-line tools (built from ./cmd) on the same cuts, two at a time:\n\n"+table([]string{"what was tried", "times", "what happened"}, rows))
}

// checkCutTools runs ss-decode and ss-repair on the file cut at cut, in dir.
// It returns 1, 1 when ss-decode printed and ss-repair kept every whole
// message, 0, 0 when both refused a file shorter than a header.
func checkCutTools(f *tornFile, dir, decode, repair string, cut int) (decoded, repaired int, err error) {
	path := filepath.Join(dir, "cut.ss")
	out := filepath.Join(dir, "repaired.ss")
	if err := os.WriteFile(path, f.data[:cut], 0o644); err != nil {
		return 0, 0, err
	}
	kept := f.kept(cut)
	d, err := runTool(decode, "--file", path, "--format", "ndjson")
	if err != nil {
		return 0, 0, err
	}
	if d.panicked() || d.hung {
		return 0, 0, fmt.Errorf("ss-decode panicked or hung (exit %d):\n%s", d.code, d.stderr)
	}
	if cut < format.HeaderSize {
		if d.code != 1 {
			return 0, 0, fmt.Errorf("ss-decode of a file shorter than a header exits %d, want 1: %s", d.code, d.stderr)
		}
	} else {
		lines := 0
		for _, l := range strings.Split(d.stdout, "\n") {
			if strings.HasPrefix(l, "{") {
				lines++
			}
		}
		if d.code != 0 || lines != kept {
			return 0, 0, fmt.Errorf("ss-decode exits %d with %d messages, want 0 and %d: %s", d.code, lines, kept, d.stderr)
		}
		decoded = 1
	}
	os.Remove(out)
	r, err := runTool(repair, "--file", path, "--out", out)
	if err != nil {
		return 0, 0, err
	}
	if r.panicked() || r.hung {
		return 0, 0, fmt.Errorf("ss-repair panicked or hung (exit %d):\n%s", r.code, r.stderr)
	}
	if cut < format.HeaderSize {
		if r.code == 0 {
			return 0, 0, errors.New("ss-repair accepted a file shorter than a header")
		}
		return decoded, 0, nil
	}
	if r.code != 0 {
		return 0, 0, fmt.Errorf("ss-repair exits %d: %s%s", r.code, r.stdout, r.stderr)
	}
	rd, err := ssfile.Open(out)
	if err != nil {
		return 0, 0, fmt.Errorf("the repaired file: %w", err)
	}
	got, err := readAll(rd)
	rd.Close()
	if i := firstDiff(got, f.msgs[:kept]); i >= 0 || err != nil {
		return 0, 0, fmt.Errorf("the repaired file holds %d messages (%v), want the %d whole ones", len(got), err, kept)
	}
	return decoded, 1, nil
}

// ordinal names a stride of a loop over byte offsets: "" for every byte,
// "3rd " for every third.
func ordinal(n int) string {
	if n == 1 {
		return ""
	}
	suffix := "th"
	if n%100 < 11 || n%100 > 13 {
		suffix = [10]string{"th", "st", "nd", "rd", "th", "th", "th", "th", "th", "th"}[n%10]
	}
	return fmt.Sprintf("%d%s ", n, suffix)
}
