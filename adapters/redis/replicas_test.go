package redis

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/seastream/ss/streamer/driver"
)

func TestReplicasOptions(t *testing.T) {
	c := defaultConfig()
	if c.replicas != 0 || c.replicasTimeout != DefaultReplicasTimeout {
		t.Fatalf("defaults: replicas %d, timeout %v", c.replicas, c.replicasTimeout)
	}
	if err := c.applyURI(parse(t, "redis://h/s?replicas=2&replicas_timeout=250ms")); err != nil {
		t.Fatal(err)
	}
	if c.replicas != 2 || c.replicasTimeout != 250*time.Millisecond {
		t.Fatalf("replicas %d, timeout %v", c.replicas, c.replicasTimeout)
	}
	c = defaultConfig()
	if err := c.applyExtra([]any{WithReplicas(1, 3*time.Second)}, driver.ScopeProducer); err != nil {
		t.Fatal(err)
	}
	if c.replicas != 1 || c.replicasTimeout != 3*time.Second {
		t.Fatalf("WithReplicas: replicas %d, timeout %v", c.replicas, c.replicasTimeout)
	}
	for _, q := range []string{"replicas=-1", "replicas=x", "replicas=1001", "replicas_timeout=0s", "replicas_timeout=500us", "replicas_timeout=soon"} {
		c := defaultConfig()
		err := c.applyURI(parse(t, "redis://h/s?"+q))
		if !errors.Is(err, driver.ErrInvalidOption) || !strings.Contains(err.Error(), strings.SplitN(q, "=", 2)[0]) {
			t.Errorf("%s: %v, want ErrInvalidOption naming the option", q, err)
		}
	}
	for _, o := range []Option{WithReplicas(-1, time.Second), WithReplicas(1, 0)} {
		c := defaultConfig()
		if err := c.applyExtra([]any{o}, driver.ScopeProducer); !errors.Is(err, driver.ErrInvalidOption) {
			t.Errorf("%v: %v, want ErrInvalidOption", o, err)
		}
	}
	c = defaultConfig()
	if err := c.applyExtra([]any{WithReplicas(1, time.Second)}, driver.ScopeConsumer); err == nil {
		t.Error("a consumer took WithReplicas")
	}
}

// TestReplicasStandalone: on a server without replicas, replicas=1 stores
// every message but fails every receipt with a *ReplicationError after the
// timeout; replicas=0 sends no WAIT.
func TestReplicasStandalone(t *testing.T) {
	srv := newServer(t)
	srv.needReal(t, "miniredis has no WAIT")
	e := srv.env(t, "")
	if roleReplicas(t, e) > 0 {
		t.Skip("the server has replicas")
	}
	stream := e.key("s")
	h := driver.Header{StreamKey: stream}

	p := e.producer(driver.ProducerOptions{Extra: []any{WithReplicas(1, 50*time.Millisecond)}})
	const n = 30
	pes := make([]driver.Pending, n)
	for i := range n {
		pe, err := p.Send(e.ctx, h, []byte(strconv.Itoa(i)))
		if err != nil {
			t.Fatal(err)
		}
		pes[i] = pe
	}
	start := time.Now()
	for i, pe := range pes {
		_, err := pe.Wait(e.ctx)
		var re *ReplicationError
		if !errors.Is(err, ErrNotReplicated) || !errors.As(err, &re) {
			t.Fatalf("receipt %d: %v, want a *ReplicationError", i, err)
		}
		if re.Wanted != 1 || re.Got != 0 || re.Err != nil || re.Stream != stream || re.Key != string(stream) || re.ID == "" {
			t.Fatalf("receipt %d: %+v", i, re)
		}
		if i == 0 && !strings.Contains(err.Error(), string(stream)) || !strings.Contains(err.Error(), "0 of 1 replicas") {
			t.Fatalf("message %q does not name the stream and counts", err)
		}
	}
	if d := time.Since(start); d < 50*time.Millisecond {
		t.Errorf("receipts failed after %v, before WAIT's timeout", d)
	}
	if err := p.Flush(e.ctx); !errors.Is(err, ErrNotReplicated) {
		t.Errorf("Flush: %v, want ErrNotReplicated", err)
	}
	if got := e.stored(string(stream)); len(got) != n {
		t.Errorf("%d messages on the master, want %d (stored, not replicated)", len(got), n)
	}

	// replicas=0: no WAIT, receipts resolve.
	p0 := e.producer(driver.ProducerOptions{Extra: []any{WithReplicas(0, time.Second)}})
	if got := e.send(p0, h, "after"); got.Seq == 0 {
		t.Errorf("replicas=0: header %+v", got)
	}
}

func roleReplicas(t *testing.T, e *env) int {
	t.Helper()
	role, err := e.client.Do(e.ctx, "role").Slice()
	if err != nil || len(role) < 3 {
		t.Fatalf("ROLE: %v %v", role, err)
	}
	r, _ := role[2].([]any)
	return len(r)
}

// TestClusterReplicas: on a cluster of one replica per master, replicas=1
// resolves every receipt (messages to shards on every master, so that the
// pipelines split by node each get their WAIT), and replicas=2 fails them.
func TestClusterReplicas(t *testing.T) {
	e := newClusterServer(t).env(t, "")
	e.waitClusterHealthy() // a replica still syncing would fail replicas=1
	stream := e.key("s")
	const shards, n = 8, 400
	for _, tc := range []struct {
		replicas int
		ok       bool
	}{{1, true}, {2, false}} {
		p := e.producer(driver.ProducerOptions{ShardCount: shards, Extra: []any{WithReplicas(tc.replicas, 200*time.Millisecond)}})
		pes := make([]driver.Pending, n)
		for i := range n {
			pe, err := p.Send(e.ctx, driver.Header{StreamKey: stream, Shard: driver.ShardID(i % shards)}, []byte(strconv.Itoa(i)))
			if err != nil {
				t.Fatal(err)
			}
			pes[i] = pe
		}
		for i, pe := range pes {
			_, err := pe.Wait(e.ctx)
			if tc.ok && err != nil {
				t.Fatalf("replicas=%d: receipt %d: %v", tc.replicas, i, err)
			}
			var re *ReplicationError
			if !tc.ok && (!errors.As(err, &re) || re.Wanted != 2 || re.Got != 1) {
				t.Fatalf("replicas=%d: receipt %d: %v, want 1 of 2 replicas", tc.replicas, i, err)
			}
		}
	}
	total := 0
	for s := range shards {
		total += len(e.stored(shardKey(stream, driver.ShardID(s), true)))
	}
	if total != 2*n {
		t.Errorf("%d messages stored, want %d", total, 2*n)
	}
}
