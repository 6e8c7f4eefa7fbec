package filedriver

import (
	"sync"
	"time"

	"github.com/seastream/ss/streamer/driver"
)

// syncEvents collects the shared writer's fdatasyncs for the user's HookFsync
// hooks. ssfile reports a sync while it holds the Writer's lock, and a hook
// may call back into the Streamer (a Send would wait for that lock), so the
// events are kept here and handed to the hooks by the flusher after Flush
// returns, and after Close. A nil *syncEvents (no hooks) does nothing.
type syncEvents struct {
	hooks []driver.HookFsync
	path  string

	mu sync.Mutex
	ev []driver.FsyncEvent
}

func newSyncEvents(cfg config) *syncEvents {
	if len(cfg.fsyncHooks) == 0 {
		return nil
	}
	return &syncEvents{hooks: cfg.fsyncHooks, path: cfg.path}
}

// observer is the ssfile.WithSyncObserver callback, nil without hooks.
func (s *syncEvents) observer() func(time.Duration, error) {
	if s == nil {
		return nil
	}
	return func(d time.Duration, err error) {
		s.mu.Lock()
		s.ev = append(s.ev, driver.FsyncEvent{Path: s.path, Latency: d, Err: err})
		s.mu.Unlock()
	}
}

// deliver calls the hooks with the syncs since the last call.
func (s *syncEvents) deliver() {
	if s == nil {
		return
	}
	s.mu.Lock()
	ev := s.ev
	s.ev = nil
	s.mu.Unlock()
	for _, e := range ev {
		for _, h := range s.hooks {
			h.OnFsync(e)
		}
	}
}
