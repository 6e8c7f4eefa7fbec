package redis

import (
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/seastream/ss/streamer/driver"
)

// restartServer restarts the real server with $SS_REDIS_SCRIPT (the
// absolute path of scripts/redis.sh, which keeps the data), or skips.
func restartServer(t *testing.T, srv *server) {
	t.Helper()
	srv.needReal(t, "restarts the server")
	script := os.Getenv("SS_REDIS_SCRIPT")
	if script == "" {
		t.Skip("set SS_REDIS_SCRIPT to the absolute path of scripts/redis.sh (with SS_REDIS_PORT if not 6379) to run the restart tests")
	}
	out, err := exec.Command("bash", script, "restart").CombinedOutput()
	t.Logf("%s restart:\n%s", script, out)
	if err != nil {
		t.Fatalf("restart: %v", err)
	}
}

// Producers and consumers carry on across a server restart: nothing is
// lost, nothing comes twice, and a Resumable consumer's group survives.
func TestServerRestart(t *testing.T) {
	srv := newServer(t)
	if !srv.real || os.Getenv("SS_REDIS_SCRIPT") == "" {
		restartServer(t, srv) // skips
	}
	e := srv.env(t, "")
	k := e.key("s")
	p := e.producer(driver.ProducerOptions{})
	rt := e.consumer([]driver.StreamKey{k}, driver.ConsumerOptions{})
	rs := e.consumer([]driver.StreamKey{k}, driver.ConsumerOptions{Mode: driver.Resumable, Group: "r", Extra: []any{WithAckMode(AckDisabled)}})
	sendN(e, p, driver.Header{StreamKey: k}, "m", 5)
	wantPayloads(t, e.nextN(rt, 5), "m", 0, 5)
	wantPayloads(t, e.nextN(rs, 5), "m", 0, 5)
	if err := rs.Commit(e.ctx); err != nil {
		t.Fatal(err)
	}
	restartServer(t, srv)
	sendN(e, p, driver.Header{StreamKey: k}, "n", 5)
	wantPayloads(t, e.nextN(rt, 5), "n", 0, 5)
	wantPayloads(t, e.nextN(rs, 5), "n", 0, 5)
	e.nothingWithin(rt, 50*time.Millisecond)
	e.nothingWithin(rs, 50*time.Millisecond)
	if n := len(e.pendingIDs(k, "r")); n != 5 {
		t.Fatalf("%d pending in the group after the restart, want the 5 new ones", n)
	}
}
