package redis

// The fetcher's own client, and interrupting its blocking reads on Close
// or a new plan.

import (
	"context"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// fetchClient returns the fetcher's client, making one if needed; nil once
// the consumer is closed. On one server it has one connection, whose CLIENT
// ID interrupt uses. In a cluster it is a cluster client with a pool per
// node, as the fetcher reads the keys of different slots in parallel (see
// xread); its reads are short (shortBlock), as on a server without CLIENT
// UNBLOCK: which connection of which node serves a read is the cluster
// client's choice.
func (k *Consumer) fetchClient() goredis.UniversalClient {
	k.fmu.Lock()
	defer k.fmu.Unlock()
	if k.closed.Load() {
		return nil
	}
	if k.fclient == nil && k.conn.Cluster() {
		k.fid.Store(0)
		k.fclient = k.conn.newClient(nil, nil)
	}
	if k.fclient == nil {
		k.fid.Store(0)
		k.fclient = k.conn.newClient(func(o *goredis.Options) {
			o.PoolSize = 1
			user := o.OnConnect
			o.OnConnect = func(ctx context.Context, cn *goredis.Conn) error {
				if user != nil {
					if err := user(ctx, cn); err != nil {
						return err
					}
				}
				id, err := cn.ClientID(ctx).Result()
				if err != nil {
					id = 0 // not supported (miniredis): interrupt closes the client
				}
				k.fid.Store(id)
				return nil
			}
		}, nil)
	}
	return k.fclient
}

func (k *Consumer) closeFetchClient() {
	k.fmu.Lock()
	defer k.fmu.Unlock()
	if k.fclient != nil {
		_ = k.fclient.Close()
		k.fclient = nil
	}
}

// blocking marks the start of a blocking read for plan gen; it reports
// false, and the read must not be sent, if the consumer closed or got a new
// plan meanwhile. unblocked marks its end.
func (k *Consumer) blocking(gen uint64) bool {
	k.fmu.Lock()
	defer k.fmu.Unlock()
	if k.closed.Load() || k.gen.Load() != gen {
		return false
	}
	k.inBlock = true
	return true
}

func (k *Consumer) unblocked() {
	k.fmu.Lock()
	k.inBlock = false
	k.fcond.Broadcast()
	k.fmu.Unlock()
}

// shortBlock bounds blocking reads on servers without CLIENT UNBLOCK, where
// interrupt waits for them to end.
const shortBlock = 100 * time.Millisecond

// blockTime is how long the next blocking read may wait on the server.
func (k *Consumer) blockTime() time.Duration {
	if k.fid.Load() == 0 {
		return min(k.cfg.heartbeat, shortBlock)
	}
	return k.cfg.heartbeat
}

// interrupt ends the fetcher's blocking read, if any, after Close or a new
// plan. It uses CLIENT UNBLOCK, which makes the read return normally, so
// that a group's entries served just then reach the fetcher (to be released
// or dropped as stale) instead of being lost with the connection. Servers
// without CLIENT UNBLOCK get reads of at most shortBlock, and interrupt waits
// for the current one to end: dropping the connection could strand entries
// (and miniredis would even serve the abandoned read later).
func (k *Consumer) interrupt() {
	deadline := time.Now().Add(k.cfg.timeout)
	for {
		k.fmu.Lock()
		if k.fclient == nil || !k.inBlock {
			k.fmu.Unlock()
			return
		}
		id := k.fid.Load()
		if id == 0 {
			for k.inBlock {
				k.fcond.Wait()
			}
			k.fmu.Unlock()
			return
		}
		if time.Now().After(deadline) {
			_ = k.fclient.Close()
			k.fclient = nil
			k.fmu.Unlock()
			return
		}
		k.fmu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), k.cfg.timeout)
		n, err := k.conn.client.ClientUnblock(ctx, id).Result()
		cancel()
		if err != nil {
			k.fid.Store(0) // wait for the read to end instead
			continue
		}
		if n == 1 {
			return
		}
		// The read has not reached the server yet: try again shortly.
		time.Sleep(time.Millisecond)
	}
}
