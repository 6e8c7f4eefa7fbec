package reliability

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seastream/ss/ssfile"
)

// TestAppendAfterBitRot reopens bit-rotted files with ssfile.Append, which
// may cut a torn or damaged tail but must refuse (ErrCorrupt) when valid
// messages follow the damage: it must never drop an undamaged message. The
// first 250 flips of each message and beacon region of TestBitRot (all of
// them with SS_FULL=1).
func TestAppendAfterBitRot(t *testing.T) {
	perRegion := min(250, bitrotCases(t))
	if fullRun() {
		perRegion = bitrotCases(t)
	}
	files := rotFiles(t)
	type outcome struct{ refused, kept, cutDamaged, lost int }
	var mu sync.Mutex
	tallies := make(map[string]*outcome)
	var losses []string
	next := make(chan rotCase)
	var wg sync.WaitGroup
	for range 2 {
		dir := fastDir(t)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range next {
				res, detail, err := appendDamaged(c, filepath.Join(dir, "rot.ss"))
				if err != nil {
					t.Errorf("%s: %v", c, err)
					continue
				}
				mu.Lock()
				o := tallies[c.region]
				if o == nil {
					o = &outcome{}
					tallies[c.region] = o
				}
				switch res {
				case "refused":
					o.refused++
				case "kept":
					o.kept++
				case "cut damaged":
					o.cutDamaged++
				default:
					o.lost++
					losses = append(losses, fmt.Sprintf("%s: %s", c, detail))
				}
				mu.Unlock()
			}
		}()
	}
	for _, c := range rotCases(files, perRegion) {
		if c.region != regionHeader {
			next <- c
		}
	}
	close(next)
	wg.Wait()
	for _, r := range rotRegions[:3] {
		if o := tallies[r]; o != nil {
			t.Logf("%s: Append refused %d, kept every message %d, cut only the damaged one %d, lost undamaged messages %d", r, o.refused, o.kept, o.cutDamaged, o.lost)
		}
	}
	slices.Sort(losses)
	if len(losses) > 0 {
		t.Errorf("ssfile.Append dropped undamaged messages in %d cases (it may cut only a tail with no valid message in it):\n%s", len(losses), strings.Join(losses, "\n"))
	}
	var rows [][]string
	for _, r := range rotRegions[:3] {
		o := tallies[r]
		if o == nil {
			continue
		}
		n := o.refused + o.kept + o.cutDamaged + o.lost
		rows = append(rows, []string{r, fmt.Sprint(n), fmt.Sprint(o.refused), fmt.Sprint(o.kept), fmt.Sprint(o.cutDamaged), fmt.Sprint(o.lost)})
	}
	appendRows.Lock()
	appendRows.append, appendRows.perRegion = rows, perRegion
	appendRows.Unlock()
	writeAppendSection(t)
}

// appendRows holds the tables of the Append and follower tests, which write
// one section.
var appendRows struct {
	sync.Mutex
	append    [][]string
	perRegion int
	follower  string
}

func writeAppendSection(t *testing.T) {
	appendRows.Lock()
	defer appendRows.Unlock()
	text := "ssfile.Append on bit-rotted files (the first " + fmt.Sprint(appendRows.perRegion) + " flips of each region but the file header): it may cut a torn or damaged tail, and must refuse (ErrCorrupt) when undamaged messages follow the damage.\n\n"
	if appendRows.append != nil {
		text += table([]string{"region", "flips", "Append refused (ErrCorrupt)", "kept every message", "cut only the damaged message", "dropped undamaged messages"}, slices.Clone(appendRows.append))
	}
	if appendRows.follower != "" {
		text += "\n" + appendRows.follower + "\n"
	}
	writeSection(t, "bitrot-append", text)
}

// appendDamaged writes c's damaged file to path, reopens it with Append and
// closes it, and says what became of the messages: "refused" (an error
// matching ErrCorrupt), "kept" (all there), "cut damaged" (all but the one
// the flip damaged), or "lost" with a detail.
func appendDamaged(c rotCase, path string) (string, string, error) {
	data := c.damaged()
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return "", "", err
	}
	w, err := ssfile.Append(path)
	if errors.Is(err, ssfile.ErrCorrupt) {
		return "refused", "", nil
	}
	if err != nil {
		return "", "", fmt.Errorf("Append: %w, want success or ssfile.ErrCorrupt", err)
	}
	if err := w.Close(); err != nil {
		return "", "", err
	}
	after, err := os.ReadFile(path)
	if err != nil {
		return "", "", err
	}
	rep := check(after)
	damaged := c.damagedFrame()
	have := make(map[int64]bool)
	for _, m := range rep.messages {
		have[m.Offset] = true
	}
	missing, lost := 0, 0
	for i, s := range c.f.starts {
		if have[s] && s < int64(len(after)) && bytes.Equal(after[s:min(int(s)+8, len(after))], c.f.data[s:min(int(s)+8, len(c.f.data))]) {
			continue
		}
		_ = i
		missing++
		if s != damaged {
			lost++
		}
	}
	switch {
	case missing == 0:
		return "kept", "", nil
	case lost == 0:
		return "cut damaged", "", nil
	}
	return "lost", fmt.Sprintf("the file went from %d to %d bytes: %d undamaged messages of %d lost", len(data), len(after), lost, len(c.f.starts)), nil
}

// TestFollowerAfterBitRot follows a damaged file with a LiveReplay reader:
// at the damage it must report an error (the file will not grow into a
// frame that a flipped bit made gigabytes long), not wait for more bytes.
func TestFollowerAfterBitRot(t *testing.T) {
	files := rotFiles(t)
	// By default the first 400 flips in the 1024 file; with SS_FULL=1 those
	// of every file.
	draws, which := 400, files[:1]
	if fullRun() {
		draws, which = bitrotCases(t), files
	}
	var stalled []string
	cases := 0
	for _, c := range rotCases(files, draws) {
		if !slices.Contains(which, c.f) || c.f.lbl[c.off].field != "payload size" {
			continue
		}
		cases++
		path := filepath.Join(fastDir(t), "rot.ss")
		if err := os.WriteFile(path, c.damaged(), 0o644); err != nil {
			t.Fatal(err)
		}
		r, err := ssfile.Open(path, ssfile.WithMode(ssfile.LiveReplay), ssfile.WithPollInterval(10*time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		// Reading a complete file of some kilobytes takes well under a
		// millisecond: a follower still waiting after this is waiting for
		// bytes.
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		var n int
		for {
			_, err = r.Next(ctx)
			if err != nil {
				break
			}
			n++
		}
		cancel()
		r.Close()
		// A follower may wait at the end of the file; here there is more
		// after the damaged frame, unless it is the last one.
		if errors.Is(err, context.DeadlineExceeded) && c.f.lbl[c.off].frame < len(c.f.msgs)-1 {
			stalled = append(stalled, fmt.Sprintf("%s: after %d messages the follower waits for more bytes, with %d messages after the damage", c, n, len(c.f.msgs)-1-c.f.lbl[c.off].frame))
		}
	}
	if cases == 0 {
		t.Fatal("no flips in size fields")
	}
	if len(stalled) > 0 {
		t.Errorf("a LiveReplay follower waits forever at a damaged size field in %d of %d cases, instead of reporting ssfile.ErrCorrupt:\n%s", len(stalled), cases, strings.Join(stalled, "\n"))
	}
	appendRows.Lock()
	var names []string
	for _, f := range which {
		names = append(names, f.name)
	}
	appendRows.follower = fmt.Sprintf("A LiveReplay follower of a file with a flipped bit in a message's size field (%d flips, files at %s): it reached the damage and stopped with an error, or read every message when the damaged one was the last, in %d cases; it waited for bytes that will never come, with undamaged messages after the damage, in %d.", cases, strings.Join(names, ", "), cases-len(stalled), len(stalled))
	appendRows.Unlock()
	writeAppendSection(t)
}
