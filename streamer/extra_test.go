package streamer_test

import (
	"context"
	"errors"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seastream/ss/streamer"
	"github.com/seastream/ss/streamer/filedriver"
)

// TestSchemeOptions checks that a backend's option bound to its scheme (the
// file options) reaches that backend and no other: one set of options serves
// an output URI of any scheme.
func TestSchemeOptions(t *testing.T) {
	ctx := context.Background()
	create := streamer.WithDriverOption(filedriver.WithCreate(filedriver.CreateIfMissing))
	eos := streamer.WithDriverOption(filedriver.WithEOSOnClose(true))

	// mem:// rejects every Extra value it does not know: these must not
	// reach it, at Open, NewConsumer or NewProducer.
	s, err := memMux(t).Open(ctx, "mem://x/a", create, eos)
	if err != nil {
		t.Fatalf("Open(mem://) with file options: %v", err)
	}
	defer s.Close(ctx)
	if _, err := s.NewProducer(ctx, "", create); err != nil {
		t.Errorf("NewProducer(mem://) with a file option: %v", err)
	}
	if _, err := s.NewConsumer(ctx, nil, create); err != nil {
		t.Errorf("NewConsumer(mem://) with a file option: %v", err)
	}

	// file:// applies them.
	path := filepath.Join(t.TempDir(), "sub", "a.ss")
	if _, err := streamer.Open(ctx, "file://"+path+"/a"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Open of a missing file without WithCreate: %v, want fs.ErrNotExist", err)
	}
	f, err := streamer.Open(ctx, "file://"+path+"/a", create)
	if err != nil {
		t.Fatalf("Open(file://) with WithCreate: %v", err)
	}
	defer f.Close(ctx)
	var oe *streamer.OptionError
	if _, err := f.NewProducer(ctx, "", create); !errors.As(err, &oe) || !errors.Is(err, streamer.ErrInvalidOption) || !strings.Contains(err.Error(), "give it to Open") {
		t.Errorf("NewProducer(file://) with an Open option: %v, want an *OptionError saying to give it to Open", err)
	}
	bad := streamer.WithDriverOption(filedriver.WithBeaconInterval(1000))
	if _, err := streamer.Open(ctx, "file://"+path+"/a", bad); !errors.Is(err, streamer.ErrInvalidOption) {
		t.Errorf("Open(file://) with a bad beacon interval: %v, want ErrInvalidOption", err)
	}
}
