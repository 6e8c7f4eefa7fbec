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
