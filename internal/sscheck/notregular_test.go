package sscheck

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seastream/ss/internal/testkit"
)

// TestRefusesNamedPipe: ScanFile (ss-verify) and Repair (ss-repair) given a
// named pipe return ErrNotRegular at once instead of blocking in open(2)
// until some program writes to the pipe (issue 11, item 8).
func TestRefusesNamedPipe(t *testing.T) {
	fifo := testkit.FIFO(t)
	for _, c := range []struct {
		name string
		call func() error
	}{
		{"ScanFile", func() error { _, err := ScanFile(fifo, Visitor{}); return err }},
		{"Repair", func() error {
			_, err := Repair(fifo, RepairOptions{Out: filepath.Join(t.TempDir(), "out.ss")}, nil)
			return err
		}},
		{"Repair in place", func() error { _, err := Repair(fifo, RepairOptions{InPlace: true}, nil); return err }},
	} {
		err := testkit.Returns(t, c.call)
		if !errors.Is(err, ErrNotRegular) || !strings.Contains(err.Error(), fifo) || !strings.Contains(err.Error(), "named pipe") {
			t.Errorf("%s: %v; want ErrNotRegular naming the path as a named pipe", c.name, err)
		}
	}
}
