package ssdir

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

const (
	segmentExt = ".ss"
	seedExt    = ".seed"
	tmpExt     = ".tmp"
	lockName   = "LOCK"
	digits     = 20
)

// Segment is one segment file of a stream directory.
type Segment struct {
	Number uint64 // from 1, in write order
	Path   string
	Size   int64
}

func segmentPath(dir string, n uint64) string {
	return filepath.Join(dir, fmt.Sprintf("%0*d%s", digits, n, segmentExt))
}

func seedPath(dir string, n uint64) string {
	return filepath.Join(dir, fmt.Sprintf("%0*d%s", digits, n, seedExt))
}

// parseName returns the number of a segment or seed name, and its extension.
func parseName(name string) (uint64, string, bool) {
	ext := filepath.Ext(name)
	if ext != segmentExt && ext != seedExt {
		return 0, "", false
	}
	base := strings.TrimSuffix(name, ext)
	if len(base) != digits {
		return 0, "", false
	}
	n, err := strconv.ParseUint(base, 10, 64)
	if err != nil || n == 0 {
		return 0, "", false
	}
	return n, ext, true
}

// Segments lists the segments of the stream directory dir, oldest first.
func Segments(dir string) ([]Segment, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("ssdir: %w", err)
	}
	var segs []Segment
	for _, e := range entries {
		n, ext, ok := parseName(e.Name())
		if !ok || ext != segmentExt || !e.Type().IsRegular() {
			continue
		}
		info, err := e.Info()
		if errors.Is(err, fs.ErrNotExist) {
			continue // deleted by retention meanwhile
		}
		if err != nil {
			return nil, fmt.Errorf("ssdir: %w", err)
		}
		segs = append(segs, Segment{Number: n, Path: filepath.Join(dir, e.Name()), Size: info.Size()})
	}
	slices.SortFunc(segs, func(a, b Segment) int { return compareNumbers(a.Number, b.Number) })
	return segs, nil
}

// numbers lists the numbers of the segments of dir, oldest first, from
// their names alone (no stat per segment).
func numbers(dir string) ([]uint64, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("ssdir: %w", err)
	}
	var ns []uint64
	for _, e := range entries {
		if n, ext, ok := parseName(e.Name()); ok && ext == segmentExt && e.Type().IsRegular() {
			ns = append(ns, n)
		}
	}
	slices.Sort(ns) // the names sort as the numbers do: this is for names of other lengths, which parseName refuses
	return ns, nil
}

func compareNumbers(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// IsDir reports whether path is a stream directory: a directory, or a path
// that does not exist yet and ends in a separator.
func IsDir(path string) bool {
	if fi, err := os.Stat(path); err == nil {
		return fi.IsDir()
	}
	return strings.HasSuffix(path, "/") || strings.HasSuffix(path, string(filepath.Separator))
}
