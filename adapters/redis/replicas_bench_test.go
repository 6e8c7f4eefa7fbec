package redis_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"strings"
	"testing"

	goredis "github.com/redis/go-redis/v9"
	"github.com/seastream/ss/streamer"
)

// BenchmarkClusterProduce: a producer on the cluster of
// SS_REDIS_CLUSTER_URL (it skips without one), one stream, without WAIT
// (replicas=0) and with WAIT 1 after each pipeline (replicas=1):
//
//	SS_REDIS_CLUSTER_PORT=7101 bash scripts/redis-cluster.sh start
//	SS_REDIS_CLUSTER_URL=redis://127.0.0.1:7101,127.0.0.1:7102,127.0.0.1:7103 \
//		go test -run '^$' -bench ClusterProduce -benchtime 200000x ./adapters/redis/
func BenchmarkClusterProduce(b *testing.B) {
	for _, replicas := range []string{"0", "1"} {
		b.Run("replicas="+replicas, func(b *testing.B) {
			u := os.Getenv("SS_REDIS_CLUSTER_URL")
			if u == "" {
				b.Skip("set SS_REDIS_CLUSTER_URL (bash scripts/redis-cluster.sh start) to run the cluster benchmark")
			}
			var r [4]byte
			_, _ = rand.Read(r[:])
			key := "bench-" + hex.EncodeToString(r[:])
			ctx := context.Background()
			s, err := streamer.Open(ctx, strings.TrimSuffix(u, "/")+"/"+key+"?cluster=true&replicas="+replicas)
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close(ctx)
			cc := goredis.NewClusterClient(&goredis.ClusterOptions{Addrs: strings.Split(strings.TrimPrefix(strings.TrimSuffix(u, "/"), "redis://"), ",")})
			defer cc.Close()
			defer cc.Del(ctx, key)
			p, err := s.NewProducer(ctx, "")
			if err != nil {
				b.Fatal(err)
			}
			sendTimed(b, ctx, p)
		})
	}
}
