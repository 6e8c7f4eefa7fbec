package reliability

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/seastream/ss/format"
	"github.com/seastream/ss/internal/sstest"
	"github.com/seastream/ss/internal/testkit"
	"github.com/seastream/ss/ssfile"
	"github.com/seastream/ss/streamer"
	"github.com/seastream/ss/streamer/filedriver"
)

// badCase is one bad input and the error it must give.
type badCase struct {
	input string
	try   func() error
	// want lists what the error must match with errors.Is: every one of
	// them. Empty with noSentinel: any error (none exists to match).
	want       []error
	names      string // how want reads in the table
	noSentinel bool
	// ok means the input is accepted on purpose; check then says whether
	// what followed is right.
	ok bool
}

// TestBadInput tries each bad input of the inventory and checks the error,
// by sentinel. With SS_WRITE_RESULTS=1 it writes the table input → error to
// RESULTS.md.
func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	p := func(name string) string { return filepath.Join(dir, name) }
	mux := new(streamer.Mux)
	if err := mux.Register(filedriver.Scheme, filedriver.Driver{}); err != nil {
		t.Fatal(err)
	}
	open := func(uri string) error {
		s, err := mux.Open(ctx, uri)
		if err == nil {
			s.Close(ctx)
		}
		return err
	}
	// A sound file with three messages, and some broken ones.
	msgs := []rec{{Header: format.MessageHeader{StreamKey: "a", SeqNo: 1, Timestamp: 1}, Payload: []byte("one")},
		{Header: format.MessageHeader{StreamKey: "a", SeqNo: 2, Timestamp: 2}, Payload: []byte("two")},
		{Header: format.MessageHeader{StreamKey: "a", SeqNo: 3, Timestamp: 3}, Payload: []byte("three")}}
	sstest.WriteFile(t, p("app.ss"), msgs, ssfile.WithCreatedAt(fixedCreated))
	if err := os.WriteFile(p("notes.txt"), []byte(strings.Repeat("this is not a stream file\n", 10)), 0o644); err != nil {
		t.Fatal(err)
	}
	sound, err := os.ReadFile(p("app.ss"))
	if err != nil {
		t.Fatal(err)
	}
	v2 := append([]byte(nil), sound...)
	v2[2] = 2
	if err := os.WriteFile(p("v2.ss"), v2, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p("empty.ss"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	write := func(path string, h format.MessageHeader, payload []byte, opts ...ssfile.Option) error {
		w, err := ssfile.Create(path, opts...)
		if err != nil {
			return err
		}
		defer w.Close()
		return w.Write(h, payload)
	}
	uri := func(path, rest string) string { return "file://" + path + rest }

	cases := []badCase{
		// URIs.
		{input: `streamer.Open("")`, try: func() error { return open("") }, want: []error{streamer.ErrInvalidURI}, names: "streamer.ErrInvalidURI"},
		{input: `streamer.Open("orders")`, try: func() error { return open("orders") }, want: []error{streamer.ErrInvalidURI}, names: "streamer.ErrInvalidURI"},
		{input: `streamer.Open("ftp://host/orders")`, try: func() error { return open("ftp://host/orders") }, want: []error{streamer.ErrUnknownScheme}, names: "streamer.ErrUnknownScheme"},
		{input: `streamer.Open("file://…/app.ss/orders?colour=blue")`, try: func() error { return open(uri(p("app.ss"), "/orders?colour=blue")) }, want: []error{streamer.ErrUnknownOption}, names: "streamer.ErrUnknownOption"},
		{input: `streamer.Open("file://…/app.ss/orders?create=sometimes")`, try: func() error { return open(uri(p("app.ss"), "/orders?create=sometimes")) }, want: []error{streamer.ErrInvalidOption}, names: "streamer.ErrInvalidOption"},
		{input: `streamer.Open("file://…/app.ss/orders?size_limit=lots")`, try: func() error { return open(uri(p("app.ss"), "/orders?size_limit=lots")) }, want: []error{streamer.ErrInvalidOption}, names: "streamer.ErrInvalidOption"},
		{input: `streamer.Open("file://…/missing.ss/orders")` + " (no create option)", try: func() error { return open(uri(p("missing.ss"), "/orders")) }, want: []error{streamer.ErrConnect, fs.ErrNotExist}, names: "streamer.ErrConnect, fs.ErrNotExist"},
		{input: `streamer.Open("file://…/app.ss/bad*key")`, try: func() error { return open(uri(p("app.ss"), "/bad*key")) }, want: []error{streamer.ErrInvalidStreamKey}, names: "streamer.ErrInvalidStreamKey"},

		// Stream keys.
		{input: `streamer.NewStreamKey("")`, try: func() error { _, err := streamer.NewStreamKey(""); return err }, want: []error{streamer.ErrInvalidStreamKey}, names: "streamer.ErrInvalidStreamKey"},
		{input: `streamer.NewStreamKey("bad key")`, try: func() error { _, err := streamer.NewStreamKey("bad key"); return err }, want: []error{streamer.ErrInvalidStreamKey}, names: "streamer.ErrInvalidStreamKey"},
		{input: "streamer.NewStreamKey(250 × \"k\")", try: func() error { _, err := streamer.NewStreamKey(strings.Repeat("k", 250)); return err }, want: []error{streamer.ErrInvalidStreamKey}, names: "streamer.ErrInvalidStreamKey"},
		{input: `Producer.SendTo(ctx, "SEA_STREAMER_INTERNAL", …)`, try: func() error {
			s, err := mux.Open(ctx, uri(p("app.ss"), "/orders"))
			if err != nil {
				return err
			}
			defer s.Close(ctx)
			pr, err := s.NewProducer(ctx, "orders")
			if err != nil {
				return err
			}
			_, err = pr.SendTo(ctx, streamer.Internal, []byte("x"))
			return err
		}, want: []error{streamer.ErrReservedStreamKey}, names: "streamer.ErrReservedStreamKey"},
		{input: `Producer.SendTo(ctx, "bad key", …)`, try: func() error {
			s, err := mux.Open(ctx, uri(p("app.ss"), "/orders"))
			if err != nil {
				return err
			}
			defer s.Close(ctx)
			pr, err := s.NewProducer(ctx, "orders")
			if err != nil {
				return err
			}
			_, err = pr.SendTo(ctx, "bad key", []byte("x"))
			return err
		}, want: []error{streamer.ErrInvalidStreamKey}, names: "streamer.ErrInvalidStreamKey"},
		{input: `ssfile Writer.Write, key "bad key"`, try: func() error {
			return write(p("k1.ss"), format.MessageHeader{StreamKey: "bad key"}, nil)
		}, want: []error{format.ErrInvalidStreamKey}, names: "format.ErrInvalidStreamKey"},
		{input: "ssfile Writer.Write, key of 250 bytes", try: func() error {
			return write(p("k2.ss"), format.MessageHeader{StreamKey: strings.Repeat("k", 250)}, nil)
		}, want: []error{format.ErrInvalidStreamKey}, names: "format.ErrInvalidStreamKey"},
		{input: "ssfile Writer.Write, timestamp after year 9999", try: func() error {
			return write(p("ts.ss"), format.MessageHeader{StreamKey: "a", Timestamp: format.MaxTimestamp + 1}, nil)
		}, want: []error{format.ErrTimestampRange}, names: "format.ErrTimestampRange"},

		// Payloads and the size limit.
		{input: "ssfile Writer.Write, 2 MiB payload, size limit 1 MiB", try: func() error {
			return write(p("big.ss"), format.MessageHeader{StreamKey: "a"}, make([]byte, 2<<20), ssfile.WithSizeLimit(1<<20))
		}, want: []error{ssfile.ErrSizeLimit}, names: "ssfile.ErrSizeLimit"},
		{input: "Producer.Send, 8 KiB payload, size_limit=4KiB", try: func() error {
			s, err := mux.Open(ctx, uri(p("big2.ss"), "/orders?create=if-missing&size_limit=4KiB&beacon_interval=1KiB"))
			if err != nil {
				return err
			}
			defer s.Close(ctx)
			pr, err := s.NewProducer(ctx, "orders")
			if err != nil {
				return err
			}
			_, err = pr.Send(ctx, make([]byte, 8<<10))
			return err
		}, want: []error{ssfile.ErrSizeLimit}, names: "ssfile.ErrSizeLimit"},
		{input: "a full size limit (4 KiB): 100-byte messages until it is reached", try: func() error {
			w, err := ssfile.Create(p("full.ss"), ssfile.WithSizeLimit(4096), ssfile.WithBeaconInterval(1024))
			if err != nil {
				return err
			}
			defer w.Close()
			for n := uint64(1); ; n++ {
				if err := w.Write(format.MessageHeader{StreamKey: "a", SeqNo: n}, make([]byte, 100)); err != nil {
					return err
				}
			}
		}, want: []error{ssfile.ErrSizeLimit}, names: "ssfile.ErrSizeLimit"},

		// Files.
		{input: "ssfile.Open of a text file", try: func() error { return openRead(p("notes.txt")) }, want: []error{format.ErrMagic}, names: "format.ErrMagic"},
		{input: "ssfile.Append to a text file", try: func() error { return appendClose(p("notes.txt")) }, want: []error{format.ErrMagic}, names: "format.ErrMagic"},
		{input: `streamer.Open("file://…/notes.txt/orders")`, try: func() error { return open(uri(p("notes.txt"), "/orders")) }, want: []error{streamer.ErrConnect, format.ErrMagic}, names: "streamer.ErrConnect, format.ErrMagic"},
		{input: "ssfile.Open of a .ss file of version 2", try: func() error { return openRead(p("v2.ss")) }, want: []error{format.ErrUnsupportedVersion}, names: "format.ErrUnsupportedVersion"},
		{input: "ssfile.Append to a .ss file of version 2", try: func() error { return appendClose(p("v2.ss")) }, want: []error{format.ErrUnsupportedVersion}, names: "format.ErrUnsupportedVersion"},
		{input: "ssfile.Open of an empty file", try: func() error { return openRead(p("empty.ss")) }, want: []error{format.ErrShortInput}, names: "format.ErrShortInput"},
		{input: "ssfile.Append to an empty file", try: func() error {
			if err := appendClose(p("empty.ss")); err != nil {
				return err
			}
			return openRead(p("empty.ss")) // now a sound, empty .ss file
		}, ok: true},
		{input: "ssfile.Open of a missing file", try: func() error { return openRead(p("missing.ss")) }, want: []error{fs.ErrNotExist}, names: "fs.ErrNotExist"},
		{input: "ssfile.Open of a directory", try: func() error { return openRead(dir) }, want: []error{ssfile.ErrNotRegular}, names: "ssfile.ErrNotRegular"},
		{input: "ssfile.Open of a named pipe (which would block open(2) forever)", try: func() error {
			return testkit.Returns(t, func() error { return openRead(testkit.FIFO(t)) })
		}, want: []error{ssfile.ErrNotRegular}, names: "ssfile.ErrNotRegular"},
		{input: "ssfile.Append on /dev/zero", try: func() error { return appendClose("/dev/zero") }, want: []error{ssfile.ErrNotRegular}, names: "ssfile.ErrNotRegular"},
		{input: "a second ssfile writer on a file", try: func() error {
			w, err := ssfile.Append(p("app.ss"))
			if err != nil {
				return err
			}
			defer w.Close()
			return appendClose(p("app.ss"))
		}, want: []error{ssfile.ErrLocked}, names: "ssfile.ErrLocked"},
		{input: "ssfile Writer.Write after Close", try: func() error {
			w, err := ssfile.Create(p("closed.ss"))
			if err != nil {
				return err
			}
			w.Close()
			return w.Write(format.MessageHeader{StreamKey: "a"}, nil)
		}, want: []error{ssfile.ErrClosed}, names: "ssfile.ErrClosed"},
		{input: "ssfile Reader.Seek past every message", try: func() error {
			r, err := ssfile.Open(p("app.ss"))
			if err != nil {
				return err
			}
			defer r.Close()
			return r.Seek(ssfile.SeqNoTarget("a", 0, 100))
		}, want: []error{ssfile.ErrNotFound}, names: "ssfile.ErrNotFound"},
		{input: "ssfile.WithBeaconInterval(1000)", try: func() error { return appendClose(p("iv.ss"), ssfile.WithBeaconInterval(1000)) }, want: []error{ssfile.ErrInvalidOption}, names: "ssfile.ErrInvalidOption"},
		{input: "ssfile.WithFileName(200 bytes)", try: func() error { return appendClose(p("name.ss"), ssfile.WithFileName(strings.Repeat("n", 200))) }, want: []error{format.ErrFileNameTooLong}, names: "format.ErrFileNameTooLong"},

		// Files changed under a follower.
		{input: "a followed file deleted", try: func() error {
			return followThen(ctx, p("del.ss"), sound, func(path string) error { return os.Remove(path) })
		}, want: []error{ssfile.ErrRemoved}, names: "ssfile.ErrRemoved"},
		{input: "a followed file replaced (rename over it)", try: func() error {
			return followThen(ctx, p("rep.ss"), sound, func(path string) error {
				if err := os.WriteFile(path+".new", sound, 0o644); err != nil {
					return err
				}
				return os.Rename(path+".new", path)
			})
		}, want: []error{ssfile.ErrReplaced}, names: "ssfile.ErrReplaced"},
		{input: "a followed file truncated", try: func() error {
			return followThen(ctx, p("cut.ss"), sound, func(path string) error { return os.Truncate(path, format.HeaderSize+10) })
		}, want: []error{ssfile.ErrTruncated}, names: "ssfile.ErrTruncated"},

		// Unwritable places. The tests may run as root, whom permissions
		// do not stop, so the unwritable directory is a path under a
		// regular file.
		{input: "ssfile.Create(\"<a regular file>/x.ss\")", try: func() error {
			w, err := ssfile.Create(filepath.Join(p("notes.txt"), "x.ss"))
			if err == nil {
				w.Close()
			}
			return err
		}, want: []error{syscall.ENOTDIR}, names: "syscall.ENOTDIR"},
		{input: "ssfile.Create(\"<missing dir>/x.ss\")", try: func() error {
			w, err := ssfile.Create(filepath.Join(p("nodir"), "x.ss"))
			if err == nil {
				w.Close()
			}
			return err
		}, want: []error{fs.ErrNotExist}, names: "fs.ErrNotExist"},
		{input: `streamer.Open("file://<a regular file>/x.ss/orders?create=if-missing")`, try: func() error { return open(uri(filepath.Join(p("notes.txt"), "x.ss"), "/orders?create=if-missing")) }, want: []error{streamer.ErrConnect, syscall.ENOTDIR}, names: "streamer.ErrConnect, syscall.ENOTDIR"},
	}

	var rows [][]string
	for _, c := range cases {
		err := c.try()
		text := "(no error)"
		if err != nil {
			text = strings.ReplaceAll(err.Error(), dir, "<tmp>")
		}
		matched := c.names
		switch {
		case c.ok:
			if err != nil {
				t.Errorf("%s: %v, want no error", c.input, err)
			}
			matched = "accepted: it starts a new file"
		case c.noSentinel:
			if err == nil {
				t.Errorf("%s: no error", c.input)
			}
			matched = "an error, with no sentinel to match"
		default:
			for _, w := range c.want {
				if !errors.Is(err, w) {
					t.Errorf("%s: %v, want an error matching %v", c.input, err, w)
				}
			}
		}
		rows = append(rows, []string{c.input, matched, "`" + text + "`"})
	}
	writeSection(t, "badinput", "### Bad input\n\nEach input is tried by TestBadInput, which checks the error with errors.Is against the sentinels named; the text is what the error says (temporary paths shortened to <tmp>).\n\n"+
		table([]string{"input", "error (errors.Is)", "error text"}, rows))
}

func openRead(path string) error {
	r, err := ssfile.Open(path)
	if err != nil {
		return err
	}
	defer r.Close()
	_, err = readAll(r)
	return err
}

func appendClose(path string, opts ...ssfile.Option) error {
	w, err := ssfile.Append(path, opts...)
	if err != nil {
		return err
	}
	return w.Close()
}

// followThen writes data to path, follows it to its end, does change, and
// returns what the follower's next Next says.
func followThen(ctx context.Context, path string, data []byte, change func(string) error) error {
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return err
	}
	r, err := ssfile.Open(path, ssfile.WithMode(ssfile.LiveReplay), ssfile.WithPollInterval(10*time.Millisecond))
	if err != nil {
		return err
	}
	defer r.Close()
	if err := r.SeekEnd(); err != nil {
		return err
	}
	if err := change(path); err != nil {
		return fmt.Errorf("changing the file: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_, err = r.Next(ctx)
	if errors.Is(err, io.EOF) {
		return errors.New("no error: the follower saw nothing")
	}
	return err
}
