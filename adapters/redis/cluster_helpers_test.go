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

// waitClusterHealthy waits until the cluster is as scripts/redis-cluster.sh
// starts it, in the view of every node: each lists the same nodes, all
// connected and none flagged fail, every master has a replica, and each
// says cluster_state:ok and is a master its replica acknowledges or a
// replica whose link to its master is up.
func (e *env) waitClusterHealthy() {
	e.t.Helper()
	e.eventually("every node up, cluster_state:ok, every replica in sync in every node's view", func() bool {
		text, err := e.clusterClient().ClusterNodes(e.ctx).Result()
		if err != nil {
			return false
		}
		addrs, ok := healthyView(text)
		if !ok {
			return false
		}
		for _, addr := range addrs {
			c := goredis.NewClient(&goredis.Options{Addr: addr, MaxRetries: -1})
			view, verr := c.ClusterNodes(e.ctx).Result()
			info, err := c.Info(e.ctx, "replication").Result()
			cinfo, cerr := c.ClusterInfo(e.ctx).Result()
			// A master's replica can say its link is up before the master
			// counts it as online; WAIT on a connection that wrote nothing
			// counts the online replicas, which is what replicas=N needs.
			online := 1
			if master := strings.Contains(info, "role:master"); master && err == nil {
				online, err = c.Do(e.ctx, "wait", 1, 100).Int()
			}
			c.Close()
			if verr != nil || err != nil || cerr != nil || !strings.Contains(cinfo, "cluster_state:ok") || online < 1 ||
				!strings.Contains(info, "role:master") && !strings.Contains(info, "master_link_status:up") {
				return false
			}
			if va, ok := healthyView(view); !ok || len(va) != len(addrs) {
				return false
			}
		}
		return true
	})
}

// healthyView returns the addresses of the nodes in a CLUSTER NODES reply,
// and whether they are all connected, none flagged fail, and every master
// has a replica.
func healthyView(text string) (addrs []string, ok bool) {
	masters, replicated := 0, make(map[string]bool)
	for line := range strings.Lines(text) {
		f := strings.Fields(line)
		if len(f) < 8 {
			continue
		}
		if strings.Contains(f[2], "fail") || f[7] != "connected" {
			return nil, false
		}
		addr, _, _ := strings.Cut(f[1], "@")
		addrs = append(addrs, addr)
		if strings.Contains(f[2], "master") {
			masters++
		} else {
			replicated[f[3]] = true
		}
	}
	return addrs, masters > 0 && len(replicated) == masters
}
