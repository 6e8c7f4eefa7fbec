package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seastream/ss/internal/sstest"
	"github.com/seastream/ss/ssdir"
)

func verifyOut(t *testing.T, args ...string) (int, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	status := run(args, &stdout, &stderr)
	return status, stdout.String() + stderr.String()
}

// TestDir: a directory written with rollovers verifies clean, strictly
// too, and so does each segment alone, from the seed beside it.
func TestDir(t *testing.T) {
	dir, segs := sstest.Dir(t)
	for _, args := range [][]string{{dir}, {"--strict", dir}, {"--strict", "--file", dir}} {
		status, out := verifyOut(t, args...)
		want := fmt.Sprintf("%s: OK: %d segments (1 to %d), 600 messages\n", dir, len(segs), len(segs))
		if status != 0 || !strings.HasSuffix(out, want) || strings.Contains(out, "note") {
			t.Errorf("%v: exit %d; output:\n%s", args, status, out)
		}
	}
	for _, s := range segs {
		if status, out := verifyOut(t, "--strict", s.Path); status != 0 || !strings.Contains(out, s.Path+": OK: ") {
			t.Errorf("segment %d alone: exit %d; output:\n%s", s.Number, status, out)
		}
	}
}

// TestDirDamage: a damaged segment and a seed that does not chain are
// reported with their paths; a missing seed is rebuilt from the segment
// before.
func TestDirDamage(t *testing.T) {
	t.Run("segment", func(t *testing.T) {
		dir, segs := sstest.Dir(t)
		s := segs[2]
		data, err := os.ReadFile(s.Path)
		if err != nil {
			t.Fatal(err)
		}
		data[len(data)/2+1] ^= 0x10
		if err := os.WriteFile(s.Path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		status, out := verifyOut(t, dir)
		if status != 1 || !strings.Contains(out, s.Path+": offset ") || !strings.Contains(out, dir+": 1 of ") {
			t.Errorf("exit %d; output:\n%s", status, out)
		}
	})
	t.Run("seed", func(t *testing.T) {
		dir, segs := sstest.Dir(t)
		n := segs[3].Number
		path := ssdir.SeedPath(dir, n)
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var j map[string]any
		if err := json.Unmarshal(b, &j); err != nil {
			t.Fatal(err)
		}
		st := j["streams"].([]any)[0].(map[string]any)
		st["running_checksum"] = st["running_checksum"].(float64) + 1
		if b, err = json.Marshal(j); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		status, out := verifyOut(t, dir)
		if status != 1 || !strings.Contains(out, path+": the seed does not chain: it gives stream s0 shard 0") {
			t.Errorf("exit %d; output:\n%s", status, out)
		}
		// Alone, the segment is checked from the seed beside it, which
		// its markers do not agree with.
		if status, out := verifyOut(t, segs[3].Path); status != 1 || !strings.Contains(out, segs[3].Path+": offset ") {
			t.Errorf("segment alone: exit %d; output:\n%s", status, out)
		}
	})
	t.Run("missing seed", func(t *testing.T) {
		dir, segs := sstest.Dir(t)
		path := ssdir.SeedPath(dir, segs[3].Number)
		if err := os.Remove(path); err != nil {
			t.Fatal(err)
		}
		status, out := verifyOut(t, "--strict", dir)
		if status != 0 || !strings.Contains(out, path+": note: no seed file") {
			t.Errorf("exit %d; output:\n%s", status, out)
		}
	})
	t.Run("missing segment", func(t *testing.T) {
		dir, segs := sstest.Dir(t)
		if err := os.Remove(segs[2].Path); err != nil {
			t.Fatal(err)
		}
		status, out := verifyOut(t, dir)
		if want := fmt.Sprintf("%s: segment %d is missing", ssdir.SeedPath(dir, segs[3].Number), segs[2].Number); status != 1 || !strings.Contains(out, want) {
			t.Errorf("exit %d; output:\n%s", status, out)
		}
	})
	t.Run("last being created", func(t *testing.T) {
		dir, segs := sstest.Dir(t)
		path := filepath.Join(dir, fmt.Sprintf("%020d.ss", len(segs)+1))
		if err := os.WriteFile(path, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		status, out := verifyOut(t, dir)
		if status != 0 || !strings.Contains(out, path+": note: being created") {
			t.Errorf("exit %d; output:\n%s", status, out)
		}
	})
}
