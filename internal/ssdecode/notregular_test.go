package ssdecode

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/seastream/ss/internal/testkit"
	"github.com/seastream/ss/ssfile"
)

// TestRunRefusesNamedPipe: ss-decode given a named pipe fails at once with
// ssfile.ErrNotRegular instead of blocking in open(2) (issue 11, item 8).
func TestRunRefusesNamedPipe(t *testing.T) {
	fifo := testkit.FIFO(t)
	for _, follow := range []bool{false, true} {
		err := testkit.Returns(t, func() error {
			return Run(context.Background(), Options{Path: fifo, Follow: follow}, io.Discard, func(*Warning) {})
		})
		if !errors.Is(err, ssfile.ErrNotRegular) || !strings.Contains(err.Error(), "named pipe") {
			t.Errorf("follow %v: %v; want ssfile.ErrNotRegular naming a named pipe", follow, err)
		}
	}
}
