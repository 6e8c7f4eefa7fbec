package filedriver

import (
	"errors"
	"io/fs"
	"os"
	"strings"
	"testing"

	"github.com/seastream/ss/internal/testkit"
	"github.com/seastream/ss/ssfile"
	"github.com/seastream/ss/streamer/driver"
)

func TestOpenOptions(t *testing.T) {
	dir := t.TempDir()
	path := dir + "/o.ss"
	for _, tc := range []struct {
		q    string
		opts driver.ConnectOptions
		want error
	}{
		{q: "colour=blue", want: driver.ErrUnknownOption},
		{q: "create=sometimes", want: driver.ErrInvalidOption},
		{q: "create&eos=maybe", want: driver.ErrInvalidOption},
		{q: "create&beacon_interval=1000", want: driver.ErrInvalidOption},
		{q: "create&size_limit=12", want: driver.ErrInvalidOption},
		{q: "create&size_limit=lots", want: driver.ErrInvalidOption},
		{q: "create&prefetch=-1", want: driver.ErrInvalidOption},
		{q: "create&sync=sometimes", want: driver.ErrInvalidOption},
		{q: "create", opts: driver.ConnectOptions{Extra: []any{struct{ X int }{}}}, want: driver.ErrUnknownOption},
		{opts: driver.ConnectOptions{Extra: []any{WithCreate(CreateIfMissing), WithBeaconInterval(1500)}}, want: driver.ErrInvalidOption},
		{opts: driver.ConnectOptions{Extra: []any{WithCreate(CreateOnly + 1)}}, want: driver.ErrInvalidOption},
		{opts: driver.ConnectOptions{Extra: []any{WithCreate(CreateIfMissing), WithSizeLimit(-1)}}, want: driver.ErrInvalidOption},
		{opts: driver.ConnectOptions{Extra: []any{WithCreate(CreateIfMissing), Option{}}}, want: driver.ErrInvalidOption},
		{q: "", want: fs.ErrNotExist},
	} {
		_, err := openErr(path, tc.q, tc.opts)
		if !errors.Is(err, tc.want) {
			t.Errorf("Open(?%s, %+v): %v, want %v", tc.q, tc.opts, err, tc.want)
		}
		var oe *driver.OptionError
		if errors.Is(tc.want, driver.ErrUnknownOption) || errors.Is(tc.want, driver.ErrInvalidOption) {
			if !errors.As(err, &oe) || oe.Name == "" {
				t.Errorf("Open(?%s): %v is not an *OptionError naming the option", tc.q, err)
			}
		}
		if errors.Is(tc.want, fs.ErrNotExist) && !errors.Is(err, driver.ErrConnect) {
			t.Errorf("Open of a missing file: %v does not match ErrConnect", err)
		}
	}
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("a failed Open created the file: %v", err)
	}

	// create=only creates, then refuses an existing file.
	c, err := openErr(path, "create=only&beacon_interval=2KiB&sync=5ms", driver.ConnectOptions{Extra: []any{Sync{ssfile.SyncOnFlush()}}})
	if err != nil {
		t.Fatal(err)
	}
	c.Close(testkit.Context(t))
	r, err := ssfile.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := r.Header().BeaconInterval; got != 2048 {
		t.Errorf("beacon interval %d, want 2048", got)
	}
	r.Close()
	_, err = openErr(path, "create=only")
	if !errors.Is(err, fs.ErrExist) || !errors.Is(err, driver.ErrConnect) {
		t.Fatalf("create=only on an existing file: %v, want fs.ErrExist and ErrConnect", err)
	}
	// Go options are defaults; the URI wins.
	if _, err := openErr(path, "create=if-missing", driver.ConnectOptions{Extra: []any{WithCreate(CreateOnly)}}); err != nil {
		t.Fatalf("URI create=if-missing over CreateOnly: %v", err)
	}
	for _, q := range []string{"", "create=never", "create=true", "create=false"} {
		if _, err := openErr(path, q); err != nil {
			t.Errorf("Open(?%s) of an existing file: %v", q, err)
		}
	}

	// Not a .ss file.
	bad := dir + "/bad.ss"
	if err := os.WriteFile(bad, []byte("this is not a stream file, not at all, no header here......................................................................."), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := openErr(bad, ""); !errors.Is(err, driver.ErrConnect) {
		t.Fatalf("Open of a file that is not .ss: %v", err)
	}
	if _, err := openErr(dir, ""); !errors.Is(err, driver.ErrConnect) {
		t.Fatalf("Open of a directory: %v", err)
	}
}

func TestUnknownExtraOnConsumerAndProducer(t *testing.T) {
	c := open(t, tempFile(t), "create")
	if _, err := c.NewProducer(testkit.Context(t), "", driver.ProducerOptions{Extra: []any{1}}); !errors.Is(err, driver.ErrUnknownOption) {
		t.Fatalf("producer Extra: %v", err)
	}
	if _, err := c.NewConsumer(testkit.Context(t), []driver.StreamKey{"a"}, driver.ConsumerOptions{Extra: []any{1}}); !errors.Is(err, driver.ErrUnknownOption) {
		t.Fatalf("consumer Extra: %v", err)
	}
}

func TestOffsetsPath(t *testing.T) {
	for _, tc := range []struct{ group, want string }{
		{"g1", "/d/a.ss.g1.offsets"},
		{"a/b c", "/d/a.ss.a%2Fb%20c.offsets"},
	} {
		if got := OffsetsPath("/d/a.ss", tc.group); got != tc.want {
			t.Errorf("OffsetsPath(%q) = %q, want %q", tc.group, got, tc.want)
		}
	}
	long := OffsetsPath("/d/a.ss", string(make([]byte, 300)))
	other := OffsetsPath("/d/a.ss", string(make([]byte, 301)))
	if len(long) > len("/d/a.ss")+120 || long == other {
		t.Errorf("long group names: %q and %q", long, other)
	}
	if DefaultGroup() != driver.HostID()+":r" {
		t.Errorf("DefaultGroup() = %q, want SeaStreamer's %q", DefaultGroup(), driver.HostID()+":r")
	}
}

// TestOptionsDocumented checks that the package documentation lists every
// declared URI parameter.
func TestOptionsDocumented(t *testing.T) {
	doc, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range options.Params() {
		if !strings.Contains(string(doc), p+"=") {
			t.Errorf("doc.go does not list the URI option %s", p)
		}
	}
}
