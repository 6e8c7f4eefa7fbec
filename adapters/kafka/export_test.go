package kafka

// SetTestHooks sets what a LoadBalanced consumer calls when a poll has
// returned (before its records are installed), when a rebalance waits for
// it, and after a revocation, for tests that hold it at those moments.
func SetTestHooks(k *Consumer, polled, blocked, revoked func()) {
	k.hooks.Store(&testHooks{polled: polled, blocked: blocked, revoked: revoked})
}
