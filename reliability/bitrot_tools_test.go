package reliability

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/seastream/ss/ssfile"
)

// toolTally counts what ss-verify and ss-repair made of the flips of one
// region.
type toolTally struct {
	cases, flagged, flaggedStrict, repaired, keptAll, keptChanged int
}

// TestBitRotTools runs ss-verify and ss-repair on bit-rot cases (the first
// 250 of TestBitRot's per region, all of them with SS_FULL=1). Neither may panic or
// hang; ss-repair writes a file that reads back cleanly, never with the
// message whose payload the flip damaged, and with every undamaged message:
// after a flip in the file header too, as one flipped bit damages one part
// of it, which the rest of the header and the beacons make up for.
func TestBitRotTools(t *testing.T) {
	verify := buildTool(t, "ss-verify")
	repair := buildTool(t, "ss-repair")
	perRegion := min(250, bitrotCases(t))
	if fullRun() {
		perRegion = bitrotCases(t)
	}
	files := rotFiles(t)
	cases := rotCases(files, perRegion)
	var mu sync.Mutex
	tallies := make(map[string]*toolTally)
	for _, r := range rotRegions {
		tallies[r] = &toolTally{}
	}
	next := make(chan int)
	var wg sync.WaitGroup
	for range 2 {
		dir := fastDir(t)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				c := cases[i]
				k, err := checkRotTools(c, dir, verify, repair)
				if err != nil {
					t.Errorf("%s: %v", c, err)
					continue
				}
				mu.Lock()
				tl := tallies[c.region]
				tl.cases++
				tl.flagged += k.flagged
				tl.flaggedStrict += k.flaggedStrict
				tl.repaired += k.repaired
				tl.keptAll += k.keptAll
				tl.keptChanged += k.keptChanged
				mu.Unlock()
			}
		}()
	}
	for i := range cases {
		next <- i
	}
	close(next)
	wg.Wait()
	var rows [][]string
	for _, r := range rotRegions {
		k := tallies[r]
		rows = append(rows, []string{r, fmt.Sprint(k.cases), pct(k.flagged, k.cases), pct(k.flaggedStrict, k.cases),
			fmt.Sprint(k.repaired),
			pct(k.keptAll, k.cases), fmt.Sprint(k.keptChanged)})
	}
	writeSection(t, "bitrot-tools", "`ss-verify --quiet` (with and without `--strict`: these files number each (stream, shard) 1, 2, 3, …) and `ss-repair` on the first "+fmt.Sprint(perRegion)+" flips of each region (SS_FULL=1: all of them): no panic, no hang. The repaired file always reads back cleanly with ssfile and has every undamaged message, after a flip in the file header too (the test fails otherwise).\n\n"+
		table([]string{"region", "flips", "ss-verify exits 1 (problem found)", "ss-verify --strict exits 1", "ss-repair wrote a file", "repaired file has every undamaged message", "repaired files keeping a message whose header the flip changed"}, rows))
}

// checkRotTools runs the tools on one damaged file.
func checkRotTools(c rotCase, dir, verify, repair string) (k toolTally, err error) {
	path := filepath.Join(dir, "rot.ss")
	out := filepath.Join(dir, "repaired.ss")
	if err := os.WriteFile(path, c.damaged(), 0o644); err != nil {
		return k, err
	}
	v, err := runTool(verify, "--quiet", "--file", path)
	if err != nil {
		return k, err
	}
	if v.panicked() || v.hung {
		return k, fmt.Errorf("ss-verify panicked or hung (exit %d):\n%s", v.code, v.stderr)
	}
	if v.code == 1 {
		k.flagged = 1
	}
	v, err = runTool(verify, "--quiet", "--strict", "--file", path)
	if err != nil {
		return k, err
	}
	if v.panicked() || v.hung {
		return k, fmt.Errorf("ss-verify --strict panicked or hung (exit %d):\n%s", v.code, v.stderr)
	}
	if v.code == 1 {
		k.flaggedStrict = 1
	}
	if k.flagged > k.flaggedStrict {
		return k, fmt.Errorf("ss-verify finds a problem that ss-verify --strict does not")
	}
	os.Remove(out)
	r, err := runTool(repair, "--file", path, "--out", out)
	if err != nil {
		return k, err
	}
	if r.panicked() || r.hung {
		return k, fmt.Errorf("ss-repair panicked or hung (exit %d):\n%s", r.code, r.stderr)
	}
	if r.code != 0 {
		return k, fmt.Errorf("ss-repair exits %d: %s%s", r.code, r.stdout, r.stderr)
	}
	k.repaired = 1
	if l := c.f.lbl[c.off]; l.region == regionHeader && l.field != "file name" && l.field != "created_at" {
		// The header is rewritten as it was written (magic, version,
		// name length, beacon interval, padding and terminator are not
		// information), and so is the rest of the file.
		b, err := os.ReadFile(out)
		if err != nil {
			return k, err
		}
		if !bytes.Equal(b, c.f.data) {
			return k, fmt.Errorf("the file repaired after a flip in the header's %s differs from the file written:\n%s", l.field, r.stdout)
		}
	}
	rd, err := ssfile.Open(out)
	if err != nil {
		return k, fmt.Errorf("the repaired file: %w", err)
	}
	got, err := readAll(rd)
	rd.Close()
	if err != nil {
		return k, fmt.Errorf("the repaired file does not read back cleanly: %w", err)
	}
	// The repaired messages are the written ones in order, but for the one
	// the flip damaged: dropped, or kept with a changed header (format v1
	// has no checksum over headers).
	damaged := c.damagedFrame()
	var want []rec
	for j, m := range c.f.msgs {
		if c.f.starts[j] != damaged {
			want = append(want, m)
		}
	}
	var kept []rec
	for _, g := range got {
		if slices.ContainsFunc(c.f.msgs, func(m rec) bool { return m.Header == g.Header && bytes.Equal(m.Payload, g.Payload) }) {
			kept = append(kept, g)
		} else {
			k.keptChanged++
		}
	}
	if k.keptChanged > 1 || k.keptChanged == 1 && damaged < 0 {
		return k, fmt.Errorf("the repaired file holds %d messages that were never written", k.keptChanged)
	}
	if k.keptChanged > 0 && c.region == regionPayload {
		return k, fmt.Errorf("ss-repair kept the message whose payload the flip damaged (offset %d)", damaged)
	}
	all := firstDiff(kept, want) < 0
	if all {
		k.keptAll = 1
	}
	if !all {
		return k, fmt.Errorf("ss-repair lost undamaged messages: %d of %d written, the flip damaged one at offset %d (%d kept unchanged):\n%s", len(got), len(c.f.msgs), damaged, len(kept), r.stdout)
	}
	return k, nil
}
