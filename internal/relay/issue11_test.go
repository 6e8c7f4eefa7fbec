package relay

// Regression tests for issue 11 (item 10) and issue 16 (item 6).

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"

	"github.com/seastream/ss/internal/syncbuf"
	"github.com/seastream/ss/internal/testkit"
	"github.com/seastream/ss/streamer/driver"
)

// TestSameFileUnderAnotherSpelling: a file relayed into itself under another
// spelling (./, a symbolic link) is refused at once, before anything is
// written; another file, or a stream of the same file the input does not
// read, is not.
func TestSameFileUnderAnotherSpelling(t *testing.T) {
	path := archive(t, lines)
	dir, base := filepath.Split(path)
	link := filepath.Join(t.TempDir(), "link.ss")
	if err := os.Symlink(path, link); err != nil {
		t.Fatal(err)
	}
	before, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	mux := newMux(t, strings.NewReader(""), io.Discard)
	for _, c := range []struct{ in, out string }{
		{"file://" + path + "/a", "file://" + dir + "./" + base + "/a"},
		{"file://" + path + "/a", "file://" + dir + "." + string(filepath.Separator) + base + "/"},
		{"file://" + path + "/a,b", "file://" + link + "/b"},
		{"file://" + path + "/SEA_STREAMER_WILDCARD", "file://" + link + "/c"},
	} {
		_, err := Run(testkit.Context(t), Config{Mux: mux, Input: c.in, Output: c.out, Replay: true})
		if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "feedback loop") {
			t.Errorf("Run(%s → %s) = %v, want ErrConfig naming a feedback loop", c.in, c.out, err)
		}
	}
	after, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if after.Size() != before.Size() {
		t.Errorf("the refused relays changed the file: %d bytes, was %d", after.Size(), before.Size())
	}
	// Allowed: a new file, and a stream of the same file the input does not read.
	for _, out := range []string{"file://" + filepath.Join(t.TempDir(), "new.ss") + "/", "file://" + link + "/copy"} {
		st, err := Run(testkit.Context(t), Config{Mux: mux, Input: "file://" + path + "/a", Output: out, Replay: true})
		if err != nil || st.Relayed != 3 {
			t.Errorf("Run(→ %s) = %+v, %v; want 3 relayed", out, st, err)
		}
	}
}

// interruptingDriver is an output standing in for a slow one, whose send
// completes just as the relay is interrupted: Send cancels the relay's
// context, then succeeds.
type interruptingDriver struct{ cancel context.CancelFunc }

func (d interruptingDriver) Open(context.Context, *driver.URI, driver.ConnectOptions) (driver.Conn, error) {
	return interruptingConn(d), nil
}

type interruptingConn struct{ cancel context.CancelFunc }

func (c interruptingConn) NewProducer(context.Context, driver.StreamKey, driver.ProducerOptions) (driver.Producer, error) {
	return interruptingProducer(c), nil
}
func (interruptingConn) NewConsumer(context.Context, []driver.StreamKey, driver.ConsumerOptions) (driver.Consumer, error) {
	return nil, driver.ErrUnsupported
}
func (interruptingConn) Close(context.Context) error { return nil }

type interruptingProducer struct{ cancel context.CancelFunc }

func (p interruptingProducer) Send(_ context.Context, h driver.Header, _ []byte) (driver.Pending, error) {
	p.cancel()
	return storedPending{h}, nil
}
func (interruptingProducer) Flush(context.Context) error { return nil }
func (interruptingProducer) End(context.Context) error   { return nil }

type storedPending struct{ h driver.Header }

func (p storedPending) Wait(context.Context) (driver.Header, error) { return p.h, nil }

// TestCountsMessageSentAsInterrupted: a message whose send succeeds as the
// relay is interrupted is counted (its receipt checked). The old loop chose
// at random between queuing its receipt and stopping, and lost it half the
// time; 40 runs make that certain to show.
func TestCountsMessageSentAsInterrupted(t *testing.T) {
	for i := range 40 {
		ctx, cancel := context.WithCancel(testkit.Context(t))
		mux := newMux(t, strings.NewReader("[k] 1\n[k] 2\n"), io.Discard)
		if err := mux.Register("slow", interruptingDriver{cancel}); err != nil {
			t.Fatal(err)
		}
		st, err := Run(ctx, Config{Mux: mux, Input: "stdio:///k", Output: "slow://x/"})
		cancel()
		if err != nil || !st.Interrupted || st.Relayed != 1 {
			t.Fatalf("run %d: Run = %+v, %v; want 1 relayed (the message sent), interrupted", i, st, err)
		}
	}
}

// TestNothingToRelayIsSaid: a stream key that matches nothing ends with a
// note on stderr, as does a time range that holds nothing; a relay that
// relayed something says nothing of the kind.
func TestNothingToRelayIsSaid(t *testing.T) {
	path := archive(t, lines)
	run := func(cfg Config) string {
		t.Helper()
		var errs syncbuf.Buffer
		cfg.Mux, cfg.Output, cfg.Stderr, cfg.Replay = newMux(t, strings.NewReader(""), io.Discard), "stdio:///", &errs, true
		if _, err := Run(testkit.Context(t), cfg); err != nil {
			t.Fatal(err)
		}
		return errs.String()
	}
	if got, want := run(Config{Input: "file://" + path + "/nosuch,a-typo"}), `no message of stream(s) nosuch,a-typo in "file://`+path+`/nosuch,a-typo"`; !strings.Contains(got, want) {
		t.Errorf("stderr %q, want %q", got, want)
	}
	if got := run(Config{Input: "file://" + path + "/a", Since: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}); !strings.Contains(got, "no message of stream(s) a in \"file://"+path+"/a\" in the time range of --since and --until") {
		t.Errorf("stderr %q, want a note that no message is in the time range", got)
	}
	if got := run(Config{Input: "file://" + path + "/a"}); got != "" {
		t.Errorf("a relay of 3 messages wrote %q", got)
	}
}

// TestTornTailWarns: a file input that ends in the middle of a message gets
// ss-decode's warning; the complete messages are relayed.
func TestTornTailWarns(t *testing.T) {
	path := archive(t, lines)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, fi.Size()-3); err != nil {
		t.Fatal(err)
	}
	var errs syncbuf.Buffer
	st, err := Run(testkit.Context(t), Config{Mux: newMux(t, strings.NewReader(""), io.Discard), Input: "file://" + path + "/a,b",
		Output: "stdio:///", Replay: true, Stderr: &errs})
	if err != nil || st.Relayed != int64(len(lines)-1) {
		t.Fatalf("Run = %+v, %v; want %d relayed", st, err, len(lines)-1)
	}
	if want := "ss-relay: warning: " + path + ": the file ends in the middle of a message at offset"; !strings.Contains(errs.String(), want) {
		t.Errorf("stderr %q, want %q", errs.String(), want)
	}
}

// TestNoStreamHintNamesBackend: an input URI without a stream key is refused
// before connecting, with a hint for its own backend (Redis has no
// wildcard).
func TestNoStreamHintNamesBackend(t *testing.T) {
	for _, c := range []struct{ in, want, not string }{
		{"redis://127.0.0.1:1/", "redis://127.0.0.1:1/orders,payments", "SEA_STREAMER_WILDCARD"},
		{"kafka://127.0.0.1:1/", "SEA_STREAMER_WILDCARD for every topic", "of the file"},
		{"file://" + filepath.Join(t.TempDir(), "x.ss") + "/", "SEA_STREAMER_WILDCARD for every stream of the file", "topic"},
	} {
		_, err := Run(testkit.Context(t), Config{Mux: newMux(t, strings.NewReader(""), io.Discard), Input: c.in, Output: "stdio:///"})
		if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), c.not) {
			t.Errorf("Run(%s) = %v; want ErrConfig with %q, without %q", c.in, err, c.want, c.not)
		}
	}
}

// TestRenumberIsANote: relaying stdio into Redis, which numbers messages
// itself, says so once, as a note, not in words of a failure.
func TestRenumberIsANote(t *testing.T) {
	base := strings.TrimSuffix(os.Getenv("SS_REDIS_URL"), "/")
	if base == "" {
		base = "redis://" + miniredis.RunT(t).Addr()
	}
	var errs syncbuf.Buffer
	in := strings.NewReader("[k] 1\n[k] 2\n[k] 3\n")
	st, err := Run(testkit.Context(t), Config{Mux: newMux(t, in, io.Discard), Input: "stdio:///k", Output: base + "/relay-note-" + salt(t), Stderr: &errs})
	if err != nil || st.Relayed != 3 {
		t.Fatalf("Run = %+v, %v", st, err)
	}
	want := "ss-relay: note: redis:// assigns sequence numbers; stream keys, shards and timestamps are kept\n"
	if errs.String() != want {
		t.Errorf("stderr %q, want just %q", errs.String(), want)
	}
}

// TestNothingArrivedIsSaid: a live input interrupted before its first
// message says so.
func TestNothingArrivedIsSaid(t *testing.T) {
	inR, inW := io.Pipe()
	t.Cleanup(func() { _ = inW.Close() })
	ctx, cancel := context.WithCancel(testkit.Context(t))
	mux := newMux(t, inR, io.Discard)
	var errs syncbuf.Buffer
	// The line is of another stream. The interrupt may come while the relay
	// still connects or while it waits: either way it stops cleanly and says
	// that nothing arrived.
	go func() {
		_, _ = io.WriteString(inW, "[other] x\n")
		cancel()
	}()
	st, err := Run(ctx, Config{Mux: mux, Input: "stdio:///k", Output: "stdio:///", Stderr: &errs})
	if err != nil || !st.Interrupted || st.Relayed != 0 {
		t.Fatalf("Run = %+v, %v; want interrupted, nothing relayed", st, err)
	}
	if want := `ss-relay: no message of stream(s) k arrived from "stdio:///k" before the interrupt`; !strings.Contains(errs.String(), want) {
		t.Errorf("stderr %q, want %q", errs.String(), want)
	}
}
