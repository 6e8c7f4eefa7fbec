package kafka_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/seastream/ss/adapters/kafka"
	"github.com/seastream/ss/internal/testkit"
	"github.com/seastream/ss/streamer"
)

// TestSendBackpressure: while the broker holds produce requests, Send blocks
// once the client's MaxBufferedRecords are in flight and returns its ctx's
// error when ctx ends (that message is not queued); blocked sends go through
// once the broker answers. Every receipt resolves, in order, and the topic
// holds exactly the messages whose Send succeeded.
func TestSendBackpressure(t *testing.T) {
	if realBroker() {
		t.Skip("needs kfake to hold produce requests")
	}
	const limit = 8
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.AllowAutoTopicCreation(), kfake.DefaultNumPartitions(1))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := testkit.Context(t)
	s := open(t, "kafka://"+strings.Join(c.ListenAddrs(), ","))
	key := topic(t, "backpressure")
	p, err := s.NewProducer(ctx, key, kafka.WithClientOptions(kgo.MaxBufferedRecords(limit)))
	if err != nil {
		t.Fatal(err)
	}
	var receipts []streamer.Receipt
	var want []string
	sendOK := func(payload string) {
		t.Helper()
		r, err := p.Send(ctx, []byte(payload))
		if err != nil {
			t.Fatalf("Send(%s): %v", payload, err)
		}
		receipts = append(receipts, r)
		want = append(want, payload)
	}
	// A first message, stored, so that metadata and the producer id are
	// in place before the broker starts holding requests.
	sendOK("warm")
	if _, err := receipts[0].Wait(ctx); err != nil {
		t.Fatal(err)
	}

	release := make(chan struct{})
	var releaseOnce sync.Once
	defer releaseOnce.Do(func() { close(release) })
	held := make(chan struct{}, 1)
	c.ControlKey(int16(kmsg.Produce), func(kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		select {
		case held <- struct{}{}:
		default:
		}
		c.SleepControl(func() { <-release })
		return nil, nil, false // then handled as usual
	})
	for i := range limit {
		sendOK(fmt.Sprint(i))
	}
	<-held // the broker holds a request: nothing will finish

	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	_, err = p.Send(short, []byte("dropped"))
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Send with %d records in flight = %v, want the ctx's deadline", limit, err)
	}

	// Two more sends block until the broker answers.
	blocked := make(chan streamer.Receipt, 2)
	errs := make(chan error, 2)
	go func() {
		for _, payload := range []string{"late-a", "late-b"} {
			r, err := p.Send(ctx, []byte(payload))
			if err != nil {
				errs <- err
				return
			}
			blocked <- r
		}
		close(blocked)
	}()
	select {
	case r := <-blocked:
		t.Fatalf("a Send returned (%v) while %d records were in flight", r, limit)
	case err := <-errs:
		t.Fatal(err)
	default:
	}
	releaseOnce.Do(func() { close(release) })
	for r := range blocked {
		receipts = append(receipts, r)
	}
	select {
	case err := <-errs:
		t.Fatal(err)
	default:
	}
	want = append(want, "late-a", "late-b")

	var last streamer.SeqNo
	for i, r := range receipts {
		h, err := r.Wait(ctx)
		if err != nil {
			t.Fatalf("receipt %d: %v", i, err)
		}
		if i > 0 && h.Seq != last+1 {
			t.Fatalf("receipt %d: offset %d after %d", i, h.Seq, last)
		}
		last = h.Seq
	}
	if err := p.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	// The whole topic, read to its end: nothing lost, nothing extra.
	cons, err := s.NewConsumer(ctx, []streamer.StreamKey{key},
		streamer.WithAutoStreamReset(streamer.ResetEarliest), streamer.WithReplay())
	if err != nil {
		t.Fatal(err)
	}
	defer cons.Close(ctx)
	var got []string
	for m, err := range cons.Messages(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, string(m.Payload))
	}
	if !slices.Equal(got, want) {
		t.Fatalf("topic holds %q, want %q", got, want)
	}
}
