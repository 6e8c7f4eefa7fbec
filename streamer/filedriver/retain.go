package filedriver

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/seastream/ss/ssdir"
	"github.com/seastream/ss/streamer/driver"
)

// Interest retention: retain_groups=g1,g2 (WithRetainGroups) makes a stream
// directory's writer keep, whatever its retention limits say, every segment
// a named group has not read yet, as JetStream's interest retention keeps
// what a consumer has not acknowledged. Before retention deletes a segment,
// the writer reads each named group's committed position: a Resumable
// group's offsets store, and a LoadBalanced pairs group's pair files (the
// oldest pair position; the group's start while it has none). The segment
// is kept if the position is in it or before it, and the deletion (and those
// of newer segments) waits for the next rollover. A named group that has no
// committed position yet keeps every segment: naming it says it will read.
var optRetainGroups = driver.AddValue(options, driver.Value[config, []string]{
	Param: "retain_groups", Scope: driver.ScopeOpen,
	Parse: func(u *driver.URI, name string) ([]string, bool, error) {
		s, ok := u.Option(name)
		if !ok {
			return nil, false, nil
		}
		return strings.Split(s, ","), true, nil
	},
	Set: func(c *config, groups []string) error {
		for _, g := range groups {
			if g == "" {
				return optionError("retain_groups", strings.Join(groups, ","), "expected group names separated by commas")
			}
		}
		c.retainGroups = append([]string(nil), groups...)
		return nil
	},
})

// WithRetainGroups makes a stream directory's writer keep every segment one
// of groups (Resumable or LoadBalanced pairs groups) has not read yet,
// whatever the retention limits (URI option retain_groups=g1,g2). See the
// package doc.
func WithRetainGroups(groups ...string) Option { return Option{optRetainGroups.Setting(groups)} }

// errRetained is the reason a segment is kept for a group.
var errRetained = errors.New("filedriver: a group named by retain_groups has not read it")

// retainHook is the ssdir.WithBeforeDelete hook of retain_groups.
func retainHook(dir string, groups []string) func(ssdir.Segment) error {
	return func(seg ssdir.Segment) error {
		for _, g := range groups {
			need, err := groupNeeds(dir, g)
			if err != nil {
				return fmt.Errorf("%w: group %q (its position cannot be read: %w)", errRetained, g, err)
			}
			if need == 0 {
				return fmt.Errorf("%w: group %q has no committed position yet", errRetained, g)
			}
			if seg.Number >= need {
				return fmt.Errorf("%w: group %q is in segment %d", errRetained, g, need)
			}
		}
		return nil
	}
}

// groupNeeds returns the oldest segment of dir that group still reads: the
// segment of its committed position, 0 when it has none (it needs them all).
// The smaller of its Resumable and pairs positions counts, if it has both.
func groupNeeds(dir, group string) (uint64, error) {
	var need uint64
	take := func(pos int64) {
		if seg, _ := splitDirPos(pos); seg != 0 && (need == 0 || seg < need) {
			need = seg
		}
	}
	found := false
	store := OffsetsPath(dir, group)
	if _, err := os.Stat(store); err == nil {
		s := &offsetStore{path: store, group: group}
		p, ok, err := s.load(dirHeader)
		s.close()
		if err != nil {
			return 0, err
		}
		if ok {
			take(p.offset)
			found = true
		}
	}
	pairsPos, ok, err := pairsPosition(GroupDir(dir, group))
	if err != nil {
		return 0, err
	}
	if ok {
		take(pairsPos)
		found = true
	}
	if !found {
		return 0, nil
	}
	return need, nil
}

// pairsPosition returns the oldest position of a pairs group's pair files,
// or its start while it has none; ok is false if there is no such group.
func pairsPosition(gdir string) (int64, bool, error) {
	entries, err := os.ReadDir(filepath.Join(gdir, "pairs"))
	if errors.Is(err, fs.ErrNotExist) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	oldest, any := int64(0), false
	for _, e := range entries {
		if _, ok := parsePairName(e.Name()); !ok {
			continue
		}
		data, err := os.ReadFile(filepath.Join(gdir, "pairs", e.Name()))
		if err != nil {
			return 0, false, err
		}
		next, _, ok := readSlots(data)
		if !ok {
			return 0, false, fmt.Errorf("%w: no valid position in %s", ErrOffsetsCorrupt, e.Name())
		}
		if !any || next < oldest {
			oldest, any = next, true
		}
	}
	if any {
		return oldest, true, nil
	}
	data, err := os.ReadFile(filepath.Join(gdir, "start"))
	if errors.Is(err, fs.ErrNotExist) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	var start int64
	if _, err := fmt.Sscan(string(data), &start); err != nil {
		return 0, false, fmt.Errorf("%w: the group's start file holds %q", ErrOffsetsCorrupt, data)
	}
	return start, true, nil
}
