package redis

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	goredis "github.com/redis/go-redis/v9"
)

// go-redis logs through one package-level logger, by default to stderr in
// its own format: with the server down, "redis: connection pool: failed to
// dial after 5 attempts" four times before the error Open returns anyway.
// Open installs, once, libLogger in its place, which forwards go-redis's
// lines to slog.Default() at debug level. go-redis's logger is global and
// most of its lines come from pool goroutines with a background context, so
// they cannot be told apart per Conn; every failure that matters reaches the
// caller as an error from a command, which the adapter reports on the Conn's
// own logger. A program that calls goredis.SetLogger after the first Open
// keeps its own logger.
var installLibLogger = sync.OnceFunc(func() { goredis.SetLogger(libLogger{}) })

// libLogger implements go-redis's logging interface.
type libLogger struct{}

func (libLogger) Printf(ctx context.Context, format string, v ...any) {
	if ctx == nil {
		ctx = context.Background()
	}
	log := slog.Default()
	if !log.Enabled(ctx, slog.LevelDebug) {
		return
	}
	log.LogAttrs(ctx, slog.LevelDebug, fmt.Sprintf(format, v...), slog.String("backend", scheme), slog.String("source", "go-redis"))
}
