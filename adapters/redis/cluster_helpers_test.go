package redis

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// envClusterURL names the environment variable pointing the cluster tests
// at a Redis Cluster, e.g. redis://127.0.0.1:7001,127.0.0.1:7002,127.0.0.1:7003
// (bash scripts/redis-cluster.sh start).
const envClusterURL = "SS_REDIS_CLUSTER_URL"

// newClusterServer returns the cluster of SS_REDIS_CLUSTER_URL, or skips.
func newClusterServer(t testing.TB) *server {
	t.Helper()
	u := os.Getenv(envClusterURL)
	if u == "" {
		t.Skipf("needs a Redis Cluster: set %s (bash scripts/redis-cluster.sh start)", envClusterURL)
	}
	return &server{base: strings.TrimSuffix(u, "/"), real: true, cluster: true}
}

// clusterClient returns the connection's cluster client.
func (e *env) clusterClient() *goredis.ClusterClient {
	e.t.Helper()
	var cc *goredis.ClusterClient
	if !e.conn.As(&cc) {
		e.t.Fatal("Conn.As(**goredis.ClusterClient) failed on a cluster connection")
	}
	return cc
}

// masterOf returns the address of the master that holds key.
func (e *env) masterOf(key string) string {
	e.t.Helper()
	cc := e.clusterClient()
	cc.ReloadState(e.ctx)
	m, err := cc.MasterForKey(e.ctx, key)
	if err != nil {
		e.t.Fatalf("MasterForKey(%s): %v", key, err)
	}
	return m.Options().Addr
}

// clusterNode is a line of CLUSTER NODES.
type clusterNode struct {
	id, addr, master string
	isMaster         bool
}

func (e *env) clusterNodes() []clusterNode {
	e.t.Helper()
	text, err := e.clusterClient().ClusterNodes(e.ctx).Result()
	if err != nil {
		e.t.Fatalf("CLUSTER NODES: %v", err)
	}
	var out []clusterNode
	for line := range strings.Lines(text) {
		f := strings.Fields(line)
		if len(f) < 8 {
			continue
		}
		addr, _, _ := strings.Cut(f[1], "@")
		out = append(out, clusterNode{id: f[0], addr: addr, master: f[3], isMaster: strings.Contains(f[2], "master")})
	}
	return out
}

// failover makes a replica of the master holding key take over with
// CLUSTER FAILOVER (the coordinated kind: the replica first catches up with
// the master, which holds its clients' writes meanwhile) and waits until the
// cluster routes key to it. It returns the old and new masters.
func (e *env) failover(key string) (from, to string) {
	e.t.Helper()
	from = e.masterOf(key)
	var masterID string
	nodes := e.clusterNodes()
	for _, n := range nodes {
		if n.addr == from {
			masterID = n.id
		}
	}
	for _, n := range nodes {
		if !n.isMaster && n.master == masterID {
			to = n.addr
		}
	}
	if masterID == "" || to == "" {
		e.t.Fatalf("no replica of %s (the master of %s) in\n%v", from, key, nodes)
	}
	rc := goredis.NewClient(&goredis.Options{Addr: to})
	defer rc.Close()
	deadline := time.Now().Add(30 * time.Second)
	var asked time.Time
	for {
		role, _ := rc.Do(e.ctx, "role").Slice()
		if len(role) > 0 && fmt.Sprint(role[0]) == "master" {
			if e.masterOf(key) == to {
				return from, to
			}
		} else if time.Since(asked) > 6*time.Second {
			// A manual failover that does not complete within 5s (Redis'
			// CLUSTER_MF_TIMEOUT; a loaded machine) is abandoned: ask again.
			if err := rc.Do(e.ctx, "cluster", "failover").Err(); err != nil {
				e.t.Fatalf("CLUSTER FAILOVER on %s: %v", to, err)
			}
			asked = time.Now()
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("%s did not take over from %s within 30s", to, from)
		}
		select {
		case <-time.After(20 * time.Millisecond):
		case <-e.ctx.Done():
			e.t.Fatal(e.ctx.Err())
		}
	}
}

// waitClusterOK waits until every node of the cluster reports cluster_state:ok.
func (e *env) waitClusterOK() {
	e.t.Helper()
	cc := e.clusterClient()
	e.eventually("cluster_state:ok on every node", func() bool {
		ok := true
		err := cc.ForEachShard(e.ctx, func(ctx context.Context, c *goredis.Client) error {
			info, err := c.ClusterInfo(ctx).Result()
			if err != nil || !strings.Contains(info, "cluster_state:ok") {
				ok = false
			}
			return nil
		})
		return err == nil && ok
	})
}
