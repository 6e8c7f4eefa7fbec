package redis

import (
	"bytes"
	"context"
	"net"
	"sync/atomic"
	"testing"

	"github.com/alicebob/miniredis/v2"
	goredis "github.com/redis/go-redis/v9"
	"github.com/seastream/ss/streamer/driver"
)

// dropProxy forwards TCP connections to target, except that it runs the
// first command containing "xadd" and cuts its client's connection instead
// of passing the reply on: the server stored the entry, the client saw a
// connection failure.
type dropProxy struct {
	l       net.Listener
	target  string
	dropped atomic.Bool
}

func newDropProxy(t *testing.T, target string) *dropProxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &dropProxy{l: l, target: target}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go p.handle(c)
		}
	}()
	return p
}

func (p *dropProxy) handle(c net.Conn) {
	s, err := net.Dial("tcp", p.target)
	if err != nil {
		c.Close()
		return
	}
	defer s.Close()
	defer c.Close()
	var drop atomic.Bool
	go func() {
		defer c.Close()
		buf := make([]byte, 64<<10)
		for {
			n, err := s.Read(buf)
			if n > 0 && drop.Load() {
				return // the reply to the XADD: cut instead
			}
			if n > 0 {
				if _, werr := c.Write(buf[:n]); werr != nil {
					return
				}
			}
			if err != nil {
				return
			}
		}
	}()
	buf := make([]byte, 64<<10)
	for {
		n, err := c.Read(buf)
		if n > 0 {
			if bytes.Contains(bytes.ToLower(buf[:n]), []byte("xadd")) && p.dropped.CompareAndSwap(false, true) {
				drop.Store(true)
			}
			if _, werr := s.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// TestClusterProducerNoResend: a cluster client's pipeline resends its
// commands after a connection failure; a producer's must not, or a message
// whose XADD ran but whose reply was lost is stored twice. The "cluster" is
// a miniredis behind a proxy that cuts the connection after the first XADD
// ran, all slots mapped to it (WithClusterOptions: ClusterSlots).
func TestClusterProducerNoResend(t *testing.T) {
	mr := miniredis.RunT(t)
	p := newDropProxy(t, mr.Addr())
	addr := p.l.Addr().String()
	slots := WithClusterOptions(func(o *goredis.ClusterOptions) {
		o.ClusterSlots = func(context.Context) ([]goredis.ClusterSlot, error) {
			return []goredis.ClusterSlot{{Start: 0, End: 16383, Nodes: []goredis.ClusterNode{{Addr: addr}}}}, nil
		}
	})
	e := (&server{base: "redis://" + addr, real: false, cluster: true, mr: mr}).env(t, "timeout=2s", slots)
	if !e.conn.Cluster() {
		t.Fatal("not a cluster connection")
	}
	pr := e.producer(driver.ProducerOptions{})
	k := e.key("s")
	pe, err := pr.Send(e.ctx, driver.Header{StreamKey: k}, []byte("once"))
	if err != nil {
		t.Fatal(err)
	}
	_, werr := pe.Wait(e.ctx)
	if !p.dropped.Load() {
		t.Fatal("the proxy saw no XADD")
	}
	n, err := goredis.NewClient(&goredis.Options{Addr: mr.Addr()}).XLen(e.ctx, string(k)).Result()
	if err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Fatalf("%d entries stored (receipt error %v), want 1: the XADD was sent again", n, werr)
	}
	if werr == nil {
		t.Fatal("the receipt resolved although its reply was lost")
	}
	t.Logf("stored once; the receipt failed: %v", werr)
}
