package redis

import (
	"context"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// waitHook makes a producer wait for replicas (WithReplicas): it appends
// WAIT n timeout to every pipeline of the producer's XADDs, on the client
// that runs it on one connection (the one server's, or in a cluster each
// node's, so that a pipeline the cluster client splits or redirects gets a
// WAIT per node, after that node's commands). WAIT counts the writes of
// the connection it is sent on, which is why it cannot be one more command
// of the cluster client's pipeline (keyless, it would go to any node).
// A command that was stored when WAIT answered fewer than n (or failed)
// gets a *waitShort, which Producer.send turns into a *ReplicationError.
type waitHook struct {
	n       int
	timeout time.Duration
}

// waitShort is the outcome of a WAIT that did not confirm a pipeline's
// commands: got replicas acknowledged them, or WAIT failed with err.
type waitShort struct {
	got int
	err error
}

func (w *waitShort) Error() string {
	if w.err != nil {
		return "WAIT failed: " + w.err.Error()
	}
	return "WAIT answered too few replicas"
}

// noRetryInt is noRetry for the WAIT: sent again on another connection it
// would count that connection's writes, not the XADDs'.
type noRetryInt struct{ *goredis.IntCmd }

func (noRetryInt) NoRetry() bool { return true }

func (waitHook) DialHook(next goredis.DialHook) goredis.DialHook          { return next }
func (waitHook) ProcessHook(next goredis.ProcessHook) goredis.ProcessHook { return next }

func (h waitHook) ProcessPipelineHook(next goredis.ProcessPipelineHook) goredis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []goredis.Cmder) error {
		ours := false
		for _, c := range cmds {
			if _, ok := c.(noRetry); ok {
				ours = true
				break
			}
		}
		if !ours { // not the producer's XADDs (connection set-up)
			return next(ctx, cmds)
		}
		wait := goredis.NewIntCmd(ctx, "wait", h.n, h.timeout.Milliseconds())
		all := make([]goredis.Cmder, len(cmds), len(cmds)+1)
		copy(all, cmds)
		err := next(ctx, append(all, noRetryInt{wait}))
		got, werr := wait.Result()
		if werr == nil && got >= int64(h.n) {
			return err
		}
		short := &waitShort{got: int(got), err: werr}
		for _, c := range cmds {
			if _, ok := c.(noRetry); ok && c.Err() == nil {
				c.SetErr(short)
			}
		}
		return err
	}
}

// waitSingle and waitCluster adjust a producer's client options (nothing
// without WithReplicas); the read timeout grows by the WAIT's.
func (cfg *config) waitSingle(o *goredis.Options) {
	if cfg.replicas == 0 {
		return
	}
	o.ReadTimeout = longer(o.ReadTimeout, cfg.replicasTimeout)
}

func (cfg *config) waitCluster(o *goredis.ClusterOptions) {
	if cfg.replicas == 0 {
		return
	}
	o.ReadTimeout = longer(o.ReadTimeout, cfg.replicasTimeout)
	h := waitHook{n: cfg.replicas, timeout: cfg.replicasTimeout}
	newNode := o.NewClient
	if newNode == nil {
		newNode = goredis.NewClient
	}
	o.NewClient = func(no *goredis.Options) *goredis.Client {
		no.ReadTimeout = longer(no.ReadTimeout, cfg.replicasTimeout)
		nc := newNode(no)
		nc.AddHook(h)
		return nc
	}
}

// longer returns the read timeout rt (go-redis' meaning: 0 is 3s, -1 and
// -2 none) made d longer.
func longer(rt, d time.Duration) time.Duration {
	switch {
	case rt < 0:
		return rt
	case rt == 0:
		return 3*time.Second + d
	}
	return rt + d
}
