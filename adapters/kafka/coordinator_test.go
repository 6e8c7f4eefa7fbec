package kafka_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/seastream/ss/internal/testkit"
	"github.com/seastream/ss/streamer"
)

// unavailableCoordinator makes the cluster answer the next n requests of
// key (FindCoordinator, OffsetFetch or OffsetCommit) with code, as a broker that just started
// or restarted does for a while, and counts them.
func unavailableCoordinator(c *kfake.Cluster, key kmsg.Key, code int16, n int32) *atomic.Int32 {
	var answered atomic.Int32
	c.ControlKey(int16(key), func(kreq kmsg.Request) (kmsg.Response, error, bool) {
		if answered.Load() >= n {
			return nil, nil, false
		}
		c.KeepControl()
		answered.Add(1)
		switch req := kreq.(type) {
		case *kmsg.FindCoordinatorRequest:
			resp := req.ResponseKind().(*kmsg.FindCoordinatorResponse)
			resp.Version = req.Version
			resp.ErrorCode, resp.NodeID = code, -1
			for _, key := range req.CoordinatorKeys {
				rc := kmsg.NewFindCoordinatorResponseCoordinator()
				rc.Key, rc.ErrorCode, rc.NodeID = key, code, -1
				resp.Coordinators = append(resp.Coordinators, rc)
			}
			return resp, nil, true
		case *kmsg.OffsetFetchRequest:
			resp := req.ResponseKind().(*kmsg.OffsetFetchResponse)
			resp.Version = req.Version
			resp.ErrorCode = code
			for _, g := range req.Groups {
				rg := kmsg.NewOffsetFetchResponseGroup()
				rg.Group, rg.ErrorCode = g.Group, code
				resp.Groups = append(resp.Groups, rg)
			}
			return resp, nil, true
		case *kmsg.OffsetCommitRequest:
			resp := req.ResponseKind().(*kmsg.OffsetCommitResponse)
			resp.Version = req.Version
			for _, t := range req.Topics {
				rt := kmsg.NewOffsetCommitResponseTopic()
				rt.Topic, rt.TopicID = t.Topic, t.TopicID
				for _, p := range t.Partitions {
					rp := kmsg.NewOffsetCommitResponseTopicPartition()
					rp.Partition, rp.ErrorCode = p.Partition, code
					rt.Partitions = append(rt.Partitions, rp)
				}
				resp.Topics = append(resp.Topics, rt)
			}
			return resp, nil, true
		}
		return nil, nil, false
	})
	return &answered
}

// TestCoordinatorUnavailable: a Resumable consumer created, committing, or
// resuming while the group coordinator is unavailable or loading (a broker
// just started or restarted) retries until it answers, within its ctx and
// the timeout option, and reports both if the coordinator never answers.
func TestCoordinatorUnavailable(t *testing.T) {
	if realBroker() {
		t.Skip("needs kfake to inject coordinator errors")
	}
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.AllowAutoTopicCreation(), kfake.DefaultNumPartitions(1))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := testkit.Context(t)
	s := open(t, "kafka://"+strings.Join(c.ListenAddrs(), ",")+"?timeout=20s")
	k := topic(t, "coord")
	p, err := s.NewProducer(ctx, k)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"m0", "m1", "m2"} {
		send(t, ctx, p, k, m)
	}
	group := string(topic(t, "cg"))
	resumable := func() *streamer.Consumer {
		t.Helper()
		cons, err := s.NewConsumer(ctx, []streamer.StreamKey{k}, streamer.WithMode(streamer.Resumable),
			streamer.WithGroup(group), streamer.WithAutoStreamReset(streamer.ResetEarliest))
		if err != nil {
			t.Fatalf("NewConsumer: %v", err)
		}
		return cons
	}

	// A fresh broker has no offsets topic yet: it answers
	// COORDINATOR_NOT_AVAILABLE until it has created it.
	finds := unavailableCoordinator(c, kmsg.FindCoordinator, kerr.CoordinatorNotAvailable.Code, 4)
	fetches := unavailableCoordinator(c, kmsg.OffsetFetch, kerr.CoordinatorNotAvailable.Code, 3)
	cons := resumable()
	if n, m := finds.Load(), fetches.Load(); n != 4 || m != 3 {
		t.Fatalf("%d coordinator lookups and %d offset fetches answered COORDINATOR_NOT_AVAILABLE, want 4 and 3", n, m)
	}
	if m := next(t, ctx, cons); string(m.Payload) != "m0" {
		t.Fatalf("got %q, want m0", m.Payload)
	}
	commits := unavailableCoordinator(c, kmsg.OffsetCommit, kerr.CoordinatorLoadInProgress.Code, 2)
	if err := cons.Commit(ctx); err != nil {
		t.Fatalf("Commit while the coordinator loads: %v", err)
	}
	if n := commits.Load(); n != 2 {
		t.Fatalf("%d commits answered COORDINATOR_LOAD_IN_PROGRESS, want 2", n)
	}
	_ = cons.Close(ctx)

	unavailableCoordinator(c, kmsg.OffsetFetch, kerr.NotCoordinator.Code, 2)
	cons = resumable()
	if m := next(t, ctx, cons); string(m.Payload) != "m1" {
		t.Fatalf("resumed at %q, want m1", m.Payload)
	}

	// A coordinator that never answers: Commit gives up when its ctx ends,
	// reporting that and the coordinator's error.
	unavailableCoordinator(c, kmsg.OffsetCommit, kerr.CoordinatorNotAvailable.Code, 1<<30)
	short, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	err = cons.Commit(short)
	if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, kerr.CoordinatorNotAvailable) {
		t.Fatalf("Commit with no coordinator = %v, want DeadlineExceeded wrapping COORDINATOR_NOT_AVAILABLE", err)
	}
	_ = cons.Close(ctx)
}
