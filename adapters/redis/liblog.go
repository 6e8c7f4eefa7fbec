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
// lines at debug level to the loggers of the open Conns (driver
// ConnectOptions.Logger, streamer.WithLogger), or to slog.Default() when no
// open Conn has one. go-redis's logger is global and most of its lines come
// from pool goroutines with a background context, so they cannot be told
// apart per Conn: with several Conns of different loggers, each line goes
// to all of them. A program that calls goredis.SetLogger after the first
// Open keeps its own logger.
var installLibLogger = sync.OnceFunc(func() { goredis.SetLogger(libLogger{}) })

// libLogs holds the loggers of the open Conns, with how many Conns have each.
var libLogs = struct {
	sync.Mutex
	n map[*slog.Logger]int
}{n: make(map[*slog.Logger]int)}

// attachLibLog makes go-redis's lines go to l (too) until detach is called.
func attachLibLog(l *slog.Logger) (detach func()) {
	libLogs.Lock()
	libLogs.n[l]++
	libLogs.Unlock()
	return sync.OnceFunc(func() {
		libLogs.Lock()
		if libLogs.n[l]--; libLogs.n[l] <= 0 {
			delete(libLogs.n, l)
		}
		libLogs.Unlock()
	})
}

// libLogger implements go-redis's logging interface.
type libLogger struct{}

func (libLogger) Printf(ctx context.Context, format string, v ...any) {
	if ctx == nil {
		ctx = context.Background()
	}
	libLogs.Lock()
	logs := make([]*slog.Logger, 0, len(libLogs.n))
	for l := range libLogs.n {
		logs = append(logs, l)
	}
	libLogs.Unlock()
	if len(logs) == 0 {
		logs = append(logs, slog.Default())
	}
	var msg string
	for _, l := range logs {
		if !l.Enabled(ctx, slog.LevelDebug) {
			continue
		}
		if msg == "" {
			msg = fmt.Sprintf(format, v...)
		}
		l.LogAttrs(ctx, slog.LevelDebug, msg, slog.String("backend", scheme), slog.String("source", "go-redis"))
	}
}
