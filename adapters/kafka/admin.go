package kafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"sort"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/seastream/ss/streamer/driver"
)

// topicInfo is what metadata says of one topic.
type topicInfo struct {
	id         [16]byte
	partitions []int32 // sorted
}

// metadata returns the topics that exist among topics (nil: every topic but
// Kafka's internal ones). Missing topics are absent from the map.
func (c *Conn) metadata(ctx context.Context, topics []string) (map[string]topicInfo, error) {
	req := kmsg.NewPtrMetadataRequest()
	if topics != nil {
		req.Topics = make([]kmsg.MetadataRequestTopic, 0, len(topics))
		for _, t := range topics {
			rt := kmsg.NewMetadataRequestTopic()
			rt.Topic = kmsg.StringPtr(t)
			req.Topics = append(req.Topics, rt)
		}
	}
	resp, err := req.RequestWith(ctx, c.admin)
	if err != nil {
		return nil, wrapErr("metadata", err)
	}
	out := make(map[string]topicInfo, len(resp.Topics))
	for _, t := range resp.Topics {
		if t.Topic == nil {
			continue
		}
		if err := kerr.ErrorForCode(t.ErrorCode); err != nil {
			if errors.Is(err, kerr.UnknownTopicOrPartition) {
				continue
			}
			return nil, wrapErr("metadata", fmt.Errorf("topic %q: %w", *t.Topic, err))
		}
		if topics == nil && !wildcardTopic.MatchString(*t.Topic) {
			continue
		}
		ti := topicInfo{id: t.TopicID, partitions: make([]int32, 0, len(t.Partitions))}
		for _, p := range t.Partitions {
			ti.partitions = append(ti.partitions, p.Partition)
		}
		sort.Slice(ti.partitions, func(i, j int) bool { return ti.partitions[i] < ti.partitions[j] })
		out[*t.Topic] = ti
	}
	return out, nil
}

// partitions returns the partitions of the topics that exist.
func (c *Conn) partitions(ctx context.Context, topics []string) (map[string][]int32, error) {
	md, err := c.metadata(ctx, topics)
	if err != nil {
		return nil, err
	}
	out := make(map[string][]int32, len(md))
	for t, ti := range md {
		out[t] = ti.partitions
	}
	return out, nil
}

// wildcardTopic matches the topics a Wildcard consumer reads: every topic
// but Kafka's internal ones, whose names start with two underscores.
var wildcardTopic = regexp.MustCompile(`^(?:[^_]|_[^_]|_$)`)

// Special timestamps of ListOffsets.
const (
	listLatest   = -1
	listEarliest = -2
)

// listOffsets returns, for each partition, the earliest offset whose
// timestamp is at least ts, or the log start (listEarliest) or end
// (listLatest) offset. For a timestamp after every record, the log end
// offset is returned.
func (c *Conn) listOffsets(ctx context.Context, parts map[string][]int32, ts int64) (map[string]map[int32]int64, error) {
	out := make(map[string]map[int32]int64, len(parts))
	if len(parts) == 0 {
		return out, nil
	}
	req := kmsg.NewPtrListOffsetsRequest()
	req.ReplicaID = -1
	for t, ps := range parts {
		rt := kmsg.NewListOffsetsRequestTopic()
		rt.Topic = t
		for _, p := range ps {
			rp := kmsg.NewListOffsetsRequestTopicPartition()
			rp.Partition = p
			rp.Timestamp = ts
			rt.Partitions = append(rt.Partitions, rp)
		}
		req.Topics = append(req.Topics, rt)
	}
	resp, err := req.RequestWith(ctx, c.admin)
	if err != nil {
		return nil, wrapErr("list offsets", err)
	}
	var missing map[string][]int32
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			if err := kerr.ErrorForCode(p.ErrorCode); err != nil {
				return nil, wrapErr("list offsets", fmt.Errorf("topic %q partition %d: %w", t.Topic, p.Partition, err))
			}
			if p.Offset < 0 { // no record at or after ts: the end
				if missing == nil {
					missing = make(map[string][]int32)
				}
				missing[t.Topic] = append(missing[t.Topic], p.Partition)
				continue
			}
			if out[t.Topic] == nil {
				out[t.Topic] = make(map[int32]int64)
			}
			out[t.Topic][p.Partition] = p.Offset
		}
	}
	if missing != nil && ts != listLatest {
		ends, err := c.listOffsets(ctx, missing, listLatest)
		if err != nil {
			return nil, err
		}
		for t, ps := range ends {
			if out[t] == nil {
				out[t] = make(map[int32]int64)
			}
			for p, o := range ps {
				out[t][p] = o
			}
		}
	}
	return out, nil
}

// createTopic creates topic; a topic that already exists is not an error.
func createTopic(ctx context.Context, cl *kgo.Client, topic string, partitions int32, replication int16) error {
	req := kmsg.NewPtrCreateTopicsRequest()
	rt := kmsg.NewCreateTopicsRequestTopic()
	rt.Topic = topic
	rt.NumPartitions = partitions
	rt.ReplicationFactor = replication
	req.Topics = append(req.Topics, rt)
	req.TimeoutMillis = 30000
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return wrapErr("create topic", err)
	}
	for _, t := range resp.Topics {
		if err := kerr.ErrorForCode(t.ErrorCode); err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
			msg := ""
			if t.ErrorMessage != nil {
				msg = ": " + *t.ErrorMessage
			}
			return wrapErr("create topic", fmt.Errorf("topic %q: %w%s", t.Topic, err, msg))
		}
	}
	return nil
}

// fetchCommitted returns the offsets group committed for the partitions of
// topics (ids from metadata, for brokers that answer with topic ids).
// Partitions without a commit are absent.
func (c *Conn) fetchCommitted(ctx context.Context, group string, md map[string]topicInfo) (map[string]map[int32]int64, error) {
	out := make(map[string]map[int32]int64)
	if len(md) == 0 {
		return out, nil
	}
	byID := make(map[[16]byte]string, len(md))
	req := kmsg.NewPtrOffsetFetchRequest()
	req.Group = group
	for t, ti := range md {
		rt := kmsg.NewOffsetFetchRequestTopic()
		rt.Topic = t
		rt.Partitions = ti.partitions
		req.Topics = append(req.Topics, rt)
		byID[ti.id] = t
	}
	var resp *kmsg.OffsetFetchResponse
	err := retryCoordinator(ctx, func() error {
		var err error
		if resp, err = req.RequestWith(ctx, c.admin); err != nil {
			return err
		}
		if err := kerr.ErrorForCode(resp.ErrorCode); coordinatorErr(err) {
			return err
		}
		for _, g := range resp.Groups {
			if err := kerr.ErrorForCode(g.ErrorCode); coordinatorErr(err) {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, wrapErr("fetch committed offsets", err)
	}
	noGroup := func(code int16) bool { return code == kerr.GroupIDNotFound.Code } // no commit yet
	add := func(topic string, p int32, off int64, code int16) error {
		if err := kerr.ErrorForCode(code); err != nil && !noGroup(code) {
			return wrapErr("fetch committed offsets", fmt.Errorf("group %q topic %q partition %d: %w", group, topic, p, err))
		}
		if off < 0 {
			return nil
		}
		if out[topic] == nil {
			out[topic] = make(map[int32]int64)
		}
		out[topic][p] = off
		return nil
	}
	if err := kerr.ErrorForCode(resp.ErrorCode); err != nil && !noGroup(resp.ErrorCode) {
		return nil, wrapErr("fetch committed offsets", fmt.Errorf("group %q: %w", group, err))
	}
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			if err := add(t.Topic, p.Partition, p.Offset, p.ErrorCode); err != nil {
				return nil, err
			}
		}
	}
	for _, g := range resp.Groups {
		if err := kerr.ErrorForCode(g.ErrorCode); err != nil && !noGroup(g.ErrorCode) {
			return nil, wrapErr("fetch committed offsets", fmt.Errorf("group %q: %w", group, err))
		}
		for _, t := range g.Topics {
			name := t.Topic
			if name == "" {
				name = byID[t.TopicID]
			}
			for _, p := range t.Partitions {
				if err := add(name, p.Partition, p.Offset, p.ErrorCode); err != nil {
					return nil, err
				}
			}
		}
	}
	return out, nil
}

// commitSimple commits offsets for group as a simple (memberless) consumer:
// generation -1, as Kafka allows for a group with no active members. ids maps
// topics to their ids for brokers that want them.
func (c *Conn) commitSimple(ctx context.Context, group string, offsets map[string]map[int32]int64, ids map[string][16]byte) error {
	if len(offsets) == 0 {
		return nil
	}
	req := kmsg.NewPtrOffsetCommitRequest()
	req.Group = group
	req.Generation = -1
	names := make(map[[16]byte]string, len(offsets))
	for t, ps := range offsets {
		rt := kmsg.NewOffsetCommitRequestTopic()
		rt.Topic = t
		rt.TopicID = ids[t]
		names[rt.TopicID] = t
		for p, o := range ps {
			rp := kmsg.NewOffsetCommitRequestTopicPartition()
			rp.Partition = p
			rp.Offset = o
			rt.Partitions = append(rt.Partitions, rp)
		}
		req.Topics = append(req.Topics, rt)
	}
	var resp *kmsg.OffsetCommitResponse
	err := retryCoordinator(ctx, func() error {
		var err error
		if resp, err = req.RequestWith(ctx, c.admin); err != nil {
			return err
		}
		for _, t := range resp.Topics {
			for _, p := range t.Partitions {
				if err := kerr.ErrorForCode(p.ErrorCode); coordinatorErr(err) {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return wrapErr("commit", err)
	}
	for _, t := range resp.Topics {
		name := t.Topic
		if name == "" {
			name = names[t.TopicID]
		}
		for _, p := range t.Partitions {
			if err := kerr.ErrorForCode(p.ErrorCode); err != nil {
				return fmt.Errorf("%w: group %q topic %q partition %d: %w", ErrGroupCommit, group, name, p.Partition,
					&driver.BackendError{Backend: scheme, Op: "commit", Err: err})
			}
		}
	}
	return nil
}

// kgoLogger forwards franz-go's log lines to slog.
type kgoLogger struct{ l *slog.Logger }

func (k kgoLogger) Level() kgo.LogLevel {
	ctx := context.Background()
	switch {
	case k.l.Enabled(ctx, slog.LevelDebug):
		return kgo.LogLevelDebug
	case k.l.Enabled(ctx, slog.LevelInfo):
		return kgo.LogLevelInfo
	case k.l.Enabled(ctx, slog.LevelWarn):
		return kgo.LogLevelWarn
	case k.l.Enabled(ctx, slog.LevelError):
		return kgo.LogLevelError
	}
	return kgo.LogLevelNone
}

func (k kgoLogger) Log(level kgo.LogLevel, msg string, keyvals ...any) {
	var l slog.Level
	switch level {
	case kgo.LogLevelError:
		l = slog.LevelError
	case kgo.LogLevelWarn:
		l = slog.LevelWarn
	case kgo.LogLevelInfo:
		l = slog.LevelInfo
	default:
		l = slog.LevelDebug
	}
	k.l.Log(context.Background(), l, "kafka: "+msg, keyvals...)
}

// coordinatorErr reports whether err says the group coordinator is not
// available, still loading or elsewhere: what a broker that just started or
// restarted answers for a while, and a cluster moving a coordinator.
func coordinatorErr(err error) bool {
	return errors.Is(err, kerr.CoordinatorNotAvailable) || errors.Is(err, kerr.CoordinatorLoadInProgress) ||
		errors.Is(err, kerr.NotCoordinator)
}

// retryCoordinator calls req until it returns nil or an error other than a
// coordinator error, backing off from 50 ms to 1 s in between (franz-go
// forgets the stale coordinator but leaves the retry to the caller). When
// ctx ends first, it returns ctx's error, wrapping the last one too.
func retryCoordinator(ctx context.Context, req func() error) error {
	backoff := 50 * time.Millisecond
	for {
		err := req()
		if !coordinatorErr(err) {
			return err
		}
		t := time.NewTimer(backoff)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w (while the group coordinator answered: %w)", ctx.Err(), err)
		}
		backoff = min(2*backoff, time.Second)
	}
}
