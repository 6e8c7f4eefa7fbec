package redis

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/seastream/ss/internal/syncbuf"
	"github.com/seastream/ss/streamer/driver"
)

// TestLibraryLogsGoToSlog: with the server unreachable, go-redis's own lines
// ("connection pool: failed to dial", which its default logger prints on
// stderr) go to slog.Default() at debug level, so that a program's logger
// at info or above shows none; Open returns the connect error.
func TestLibraryLogsGoToSlog(t *testing.T) {
	u, err := driver.ParseURI("redis://127.0.0.1:1/k?timeout=2s")
	if err != nil {
		t.Fatal(err)
	}
	prev := slog.Default()
	t.Cleanup(func() { slog.SetDefault(prev) })
	var debug, info syncbuf.Buffer
	for _, c := range []struct {
		buf   *syncbuf.Buffer
		level slog.Level
	}{{&debug, slog.LevelDebug}, {&info, slog.LevelInfo}} {
		slog.SetDefault(slog.New(slog.NewTextHandler(c.buf, &slog.HandlerOptions{Level: c.level})))
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		_, err = Driver{}.Open(ctx, u, driver.ConnectOptions{})
		cancel()
		var ce *driver.ConnectError
		if !errors.As(err, &ce) {
			t.Fatalf("Open of an unreachable server = %v, want a *driver.ConnectError", err)
		}
	}
	slog.SetDefault(prev)
	got := debug.String()
	if !strings.Contains(got, "level=DEBUG") || !strings.Contains(got, "failed to dial") ||
		!strings.Contains(got, "source=go-redis") || !strings.Contains(got, "backend=redis") {
		t.Errorf("debug log %q, want go-redis's dial failure at debug level", got)
	}
	if info.String() != "" {
		t.Errorf("an info-level logger got %q, want nothing", info.String())
	}
}

// TestLibraryLogsGoToCallersLogger: given a logger (streamer.WithLogger),
// go-redis's lines go to it, at debug level, and not to slog.Default().
func TestLibraryLogsGoToCallersLogger(t *testing.T) {
	u, err := driver.ParseURI("redis://127.0.0.1:1/k?timeout=2s")
	if err != nil {
		t.Fatal(err)
	}
	prev := slog.Default()
	t.Cleanup(func() { slog.SetDefault(prev) })
	var mine, deflt syncbuf.Buffer
	slog.SetDefault(slog.New(slog.NewTextHandler(&deflt, &slog.HandlerOptions{Level: slog.LevelDebug})))
	log := slog.New(slog.NewTextHandler(&mine, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := (Driver{}).Open(ctx, u, driver.ConnectOptions{Logger: log}); err == nil {
		t.Fatal("Open of an unreachable server succeeded")
	}
	if got := mine.String(); !strings.Contains(got, "failed to dial") || !strings.Contains(got, "source=go-redis") {
		t.Errorf("the caller's logger got %q, want go-redis's dial failure", got)
	}
	if got := deflt.String(); strings.Contains(got, "go-redis") {
		t.Errorf("slog.Default() got %q, want nothing of go-redis with a logger given", got)
	}
	libLogs.Lock()
	n := len(libLogs.n)
	libLogs.Unlock()
	if n != 0 {
		t.Errorf("%d loggers still attached after a failed Open", n)
	}
}
