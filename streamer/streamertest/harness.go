// Package streamertest is the conformance suite every streamer backend runs:
//
//	func TestConformance(t *testing.T) {
//		streamertest.Run(t, streamertest.Harness{
//			NewURI: func(t *testing.T) string { return "file://" + t.TempDir() + "/test.ss?create=true" },
//			Caps:   streamertest.Capabilities{Seek: true, Rewind: true, ...},
//		})
//	}
//
// Each case opens fresh Streamers through the harness and uses stream keys
// unique to the case. A backend that truly cannot do something declares it
// in Capabilities, and the cases that need it are skipped with t.Skip and the
// reason. The cases assert behaviour exactly: every message arrives, none
// twice where the mode promises it, payloads byte for byte, order per
// (stream, shard), the documented error kinds. None sleeps to synchronise.
package streamertest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/seastream/ss/streamer"
)

// Harness describes how to reach a backend and what it can do.
type Harness struct {
	// NewURI prepares a fresh namespace for one test case (for example a file
	// in t.TempDir(), or a broker's address) and returns the URI to open it,
	// without stream keys; query options are allowed. Every Streamer of the
	// case is opened on this URI, possibly with stream keys inserted before
	// the query. Clean up with t.Cleanup. Required.
	NewURI func(t *testing.T) string

	// Options are given to every Open.
	Options []streamer.Option

	// Mux opens the URIs; nil means the default Mux.
	Mux *streamer.Mux

	// Restart, if set, is called by the resume cases between closing every
	// Streamer and opening new ones, to simulate a process (or server)
	// restart beyond closing and reopening.
	Restart func(t *testing.T, uri string)

	// Caps declares what the backend supports.
	Caps Capabilities

	// Timeout bounds each case (default 60s). A case that times out reports
	// what it was still waiting for.
	Timeout time.Duration
}

// Capabilities declares what a backend supports. A zero field means "not
// supported": the cases needing it are skipped, naming the field.
type Capabilities struct {
	// MultipleStreamers: several Streamers opened on one URI in one process
	// share its streams (not stdio, whose Streamer owns the process's
	// standard input and output). Without it, cases use one Streamer.
	MultipleStreamers bool
	// Earliest: a consumer created with ResetEarliest reads messages
	// produced before it existed.
	Earliest bool
	// Binary: payloads may hold any bytes, newlines and invalid UTF-8
	// included, and may be empty.
	Binary bool
	// MaxPayload is the largest payload the large-payload case sends; 0
	// means 1 MiB.
	MaxPayload int
	// Shards: messages may be sent to shards other than 0, and Assign and
	// Unassign narrow a consumer to some shards.
	Shards bool
	// Seek: Consumer.Seek by timestamp.
	Seek bool
	// Rewind: Consumer.Rewind to SeqBeginning, SeqEnd and SeqAt.
	Rewind bool
	// Groups: LoadBalanced consumers of one group share the messages, each
	// message going to one member, and members may join and leave.
	Groups bool
	// GroupsSharePerMessage: the members of a group share even a single
	// (stream, shard), so each member receives some messages (file, Redis;
	// not Kafka, which balances whole partitions).
	GroupsSharePerMessage bool
	// DefaultGroup: a LoadBalanced consumer without a group joins the
	// backend's default group (Redis: SeaStreamer's "<host_id>:s") instead
	// of failing with ErrConsumerGroupNotSet.
	DefaultGroup bool
	// Resume: a Resumable consumer's commits survive closing and reopening
	// (and Restart).
	Resume bool
	// Replay: WithReplay ends the stream (ErrStreamEnded) at the end of the
	// data present when the consumer started.
	Replay bool
	// Wildcard: a consumer of the Wildcard key receives every stream.
	Wildcard bool
	// ExplicitTimestamp: WithTimestamp is stored (in milliseconds).
	ExplicitTimestamp bool
	// Verbatim: producers WithVerbatimHeaders store WithSeq and WithTimestamp
	// exactly.
	Verbatim bool
}

func (h Harness) needs(t *testing.T, ok bool, what string) {
	t.Helper()
	if !ok {
		t.Skipf("backend does not declare %s in streamertest.Capabilities", what)
	}
}

// env is one test case's view of the harness.
type env struct {
	t    *testing.T
	h    Harness
	uri  string
	ctx  context.Context
	salt string
}

func newEnv(t *testing.T, h Harness) *env {
	timeout := h.Timeout
	if timeout == 0 {
		timeout = 60 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	t.Cleanup(cancel)
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return &env{t: t, h: h, uri: h.NewURI(t), ctx: ctx, salt: hex.EncodeToString(b[:])}
}

// key returns a stream key unique to this case.
func (e *env) key(i int) streamer.StreamKey {
	name := e.t.Name()
	if j := strings.LastIndexByte(name, '/'); j >= 0 {
		name = name[j+1:]
	}
	var b strings.Builder
	for _, c := range []byte(name) {
		if len(b.String()) >= 40 {
			break
		}
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' {
			b.WriteByte(c)
		}
	}
	return streamer.StreamKey(fmt.Sprintf("%s-%s-%d", b.String(), e.salt, i))
}

// uriWith returns the case's URI with stream keys inserted.
func (e *env) uriWith(keys ...streamer.StreamKey) string {
	base, query, hasQuery := strings.Cut(e.uri, "?")
	if !strings.HasSuffix(base, "://") {
		base = strings.TrimSuffix(base, "/")
	}
	ks := make([]string, len(keys))
	for i, k := range keys {
		ks[i] = string(k)
	}
	s := base + "/" + strings.Join(ks, ",")
	if hasQuery {
		s += "?" + query
	}
	return s
}

func (e *env) mux() *streamer.Mux {
	if e.h.Mux != nil {
		return e.h.Mux
	}
	return streamer.DefaultMux()
}

// open opens a Streamer on the case's URI (with keys, if given) and closes
// it at the end of the test.
func (e *env) open(keys ...streamer.StreamKey) *streamer.Streamer {
	e.t.Helper()
	uri := e.uri
	if len(keys) > 0 {
		uri = e.uriWith(keys...)
	}
	s, err := e.mux().Open(e.ctx, uri, e.h.Options...)
	if err != nil {
		e.t.Fatalf("Open(%q): %v", uri, err)
	}
	e.t.Cleanup(func() { _ = s.Close(context.Background()) })
	return s
}

// another returns a second Streamer on the case's URI if the backend
// supports several, else s itself.
func (e *env) another(s *streamer.Streamer) *streamer.Streamer {
	e.t.Helper()
	if e.h.Caps.MultipleStreamers {
		return e.open()
	}
	return s
}

func (e *env) producer(s *streamer.Streamer, key streamer.StreamKey, opts ...streamer.ProducerOption) *streamer.Producer {
	e.t.Helper()
	p, err := s.NewProducer(e.ctx, key, opts...)
	if err != nil {
		e.t.Fatalf("NewProducer(%q): %v", key, err)
	}
	return p
}

// consumer creates a consumer that sees messages sent after this call: from
// the earliest message when the backend supports it (the streams are fresh),
// from the latest otherwise.
func (e *env) consumer(s *streamer.Streamer, keys []streamer.StreamKey, opts ...streamer.ConsumerOption) *streamer.Consumer {
	e.t.Helper()
	if e.h.Caps.Earliest {
		opts = append([]streamer.ConsumerOption{streamer.WithAutoStreamReset(streamer.ResetEarliest)}, opts...)
	}
	c, err := s.NewConsumer(e.ctx, keys, opts...)
	if err != nil {
		e.t.Fatalf("NewConsumer(%q): %v", keys, err)
	}
	e.t.Cleanup(func() { _ = c.Close(context.Background()) })
	return c
}

// send sends and returns the receipt, failing the test on error.
func (e *env) send(p *streamer.Producer, key streamer.StreamKey, payload []byte, opts ...streamer.SendOption) streamer.Receipt {
	e.t.Helper()
	r, err := p.SendTo(e.ctx, key, payload, opts...)
	if err != nil {
		e.t.Fatalf("SendTo(%q): %v", key, err)
	}
	return r
}

func (e *env) wait(r streamer.Receipt) streamer.Header {
	e.t.Helper()
	h, err := r.Wait(e.ctx)
	if err != nil {
		e.t.Fatalf("Receipt.Wait: %v", err)
	}
	return h
}

// next returns the next message or fails, saying what was expected.
func (e *env) next(c *streamer.Consumer, what string) streamer.Message {
	e.t.Helper()
	m, err := c.Next(e.ctx)
	if err != nil {
		e.t.Fatalf("Next (waiting for %s): %v", what, err)
	}
	return m
}

// nextN reads n messages, cloning their payloads.
func (e *env) nextN(c *streamer.Consumer, n int, what string) []streamer.Message {
	e.t.Helper()
	out := make([]streamer.Message, 0, n)
	for i := 0; i < n; i++ {
		m, err := c.Next(e.ctx)
		if err != nil {
			e.t.Fatalf("Next: got %d of %d %s: %v", i, n, what, err)
		}
		out = append(out, m.Clone())
	}
	return out
}
