package redis_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/seastream/ss/adapters/redis"
	"github.com/seastream/ss/streamer"
)

// A worker of a load-balanced group that acknowledges each message once it
// is processed (AckRolling), so that a crash redelivers only unfinished work.
// It needs a Redis server, so it is not run as a test.
func Example_loadBalancedWorker() {
	ctx := context.Background()
	s, err := streamer.Open(ctx, "redis://localhost:6379/orders?ack=rolling&commit_interval=500ms")
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close(ctx)
	c, err := s.NewConsumer(ctx, nil,
		streamer.WithMode(streamer.LoadBalanced), streamer.WithGroup("billing"),
		streamer.WithDriverOption(redis.WithAutoClaim(30*time.Second, 2*time.Minute)))
	if err != nil {
		log.Fatal(err)
	}
	var rc *redis.Consumer
	if !c.As(&rc) {
		log.Fatal("not a redis consumer")
	}
	for msg, err := range c.Messages(ctx) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%s %s\n", msg.Header, msg.Payload) // process it
		if err := rc.Ack(msg.Header); err != nil {
			log.Fatal(err)
		}
	}
}

// A producer that keeps the timestamps of the messages it copies (from an
// archive, say), tolerating a few out of order, and trims the stream to
// about a million entries.
func Example_replayWithTimestamps() {
	ctx := context.Background()
	s, err := streamer.Open(ctx, "redis://localhost:6379/prices?late_timestamps=clamp&maxlen=1000000")
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close(ctx)
	p, err := s.NewProducer(ctx, "")
	if err != nil {
		log.Fatal(err)
	}
	t0 := time.Date(2023, 6, 5, 13, 55, 53, 0, time.UTC)
	r, err := p.Send(ctx, []byte(`{"price":1}`), streamer.WithTimestamp(t0))
	if err != nil {
		log.Fatal(err)
	}
	h, err := r.Wait(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(h.Timestamp.Equal(t0), redis.IDFromSeqNo(h.Seq))
}
