package stdio

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seastream/ss/internal/syncbuf"
	"github.com/seastream/ss/internal/testkit"
	"github.com/seastream/ss/streamer/driver"
)

// openConn opens a connection of d on uri and closes it at the end of the
// test.
func openConn(t *testing.T, d Driver, uri string, extra ...any) driver.Conn {
	t.Helper()
	u, err := driver.ParseURI(uri)
	if err != nil {
		t.Fatal(err)
	}
	c, err := d.Open(testkit.Context(t), u, driver.ConnectOptions{Extra: extra})
	if err != nil {
		t.Fatalf("Open(%q): %v", uri, err)
	}
	t.Cleanup(func() { _ = c.Close(context.Background()) })
	return c
}

func newConsumer(t *testing.T, c driver.Conn, streams []driver.StreamKey, opts driver.ConsumerOptions) driver.Consumer {
	t.Helper()
	cons, err := c.NewConsumer(testkit.Context(t), streams, opts)
	if err != nil {
		t.Fatalf("NewConsumer(%v): %v", streams, err)
	}
	t.Cleanup(func() { _ = cons.Close(context.Background()) })
	return cons
}

// pipeInput returns a pipe whose read end is the driver's input; the write
// end is closed at the end of the test so that the reading goroutine ends.
func pipeInput(t *testing.T) (*io.PipeReader, *io.PipeWriter) {
	r, w := io.Pipe()
	t.Cleanup(func() { _ = w.Close() })
	return r, w
}

func keys(ks ...string) []driver.StreamKey {
	out := make([]driver.StreamKey, len(ks))
	for i, k := range ks {
		out[i] = driver.StreamKey(k)
	}
	return out
}

// drain reads until the stream ends and returns "key|shard|seq|payload" for
// each message.
func drain(t *testing.T, c driver.Consumer) []string {
	t.Helper()
	var out []string
	for {
		m, err := c.Next(testkit.Context(t))
		if errors.Is(err, driver.ErrStreamEnded) {
			return out
		}
		if err != nil {
			t.Fatalf("Next after %d messages: %v", len(out), err)
		}
		out = append(out, fmt.Sprintf("%s|%d|%d|%s", m.StreamKey, m.Shard, m.Seq, m.Payload))
	}
}

func equal(t *testing.T, what string, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("%s:\n got %q\nwant %q", what, got, want)
	}
}

func TestConsumeLines(t *testing.T) {
	input := strings.Join([]string{
		`a plain, raw message`,
		`[2022-01-01T00:00:00] { "payload": "anything" }`,
		`[2022-01-01T00:00:00.123 | my_topic] "a string payload"`,
		`[2022-01-01T00:00:00 | my-topic-2 | 123] ["array", "of", "values"]`,
		`[2022-01-01T00:00:00 | my-topic-2 | 123 | 4] { "payload": "anything" }`,
		`[my_topic] a string payload`,
		`[my_topic | 10] { "payload": "anything" }`,
		`[my_topic] after an explicit seq`,
		`[my_topic | 123 | 4] { "payload": "anything" }`,
		"[my-topic-2] crlf\r",
		`[other] not subscribed`,
		`last line without newline`,
	}, "\n")
	var reports syncbuf.Buffer
	d := Driver{In: strings.NewReader(input), Out: io.Discard, Errors: &reports}
	c := openConn(t, d, "stdio:///my_topic,my-topic-2")
	cons := newConsumer(t, c, keys("my_topic", "my-topic-2"), driver.ConsumerOptions{})
	before := time.Now().UTC().Truncate(time.Millisecond)
	var got []string
	var stamps []time.Time
	for {
		m, err := cons.Next(testkit.Context(t))
		if errors.Is(err, driver.ErrStreamEnded) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%s|%d|%d|%s", m.StreamKey, m.Shard, m.Seq, m.Payload))
		stamps = append(stamps, m.Timestamp)
	}
	equal(t, "messages", got, []string{
		`broadcast|0|0|a plain, raw message`,
		`broadcast|0|1|{ "payload": "anything" }`,
		`my_topic|0|0|"a string payload"`,
		`my-topic-2|0|123|["array", "of", "values"]`,
		`my-topic-2|4|123|{ "payload": "anything" }`,
		`my_topic|0|1|a string payload`,
		`my_topic|0|10|{ "payload": "anything" }`,
		`my_topic|0|11|after an explicit seq`,
		`my_topic|4|123|{ "payload": "anything" }`,
		`my-topic-2|0|124|crlf`,
		`broadcast|0|2|last line without newline`,
	})
	if len(stamps) == 11 {
		if !stamps[1].Equal(time.Date(2022, 1, 1, 0, 0, 0, 0, time.UTC)) || !stamps[2].Equal(time.Date(2022, 1, 1, 0, 0, 0, 123e6, time.UTC)) {
			t.Errorf("explicit timestamps: %v, %v", stamps[1], stamps[2])
		}
		if stamps[0].Before(before) || stamps[0].Location() != time.UTC || stamps[0].Nanosecond()%1e6 != 0 {
			t.Errorf("implicit timestamp %v: want now, UTC, in milliseconds", stamps[0])
		}
	}
	if reports.String() != "" {
		t.Errorf("unexpected reports: %s", reports.String())
	}
	// The stream stays ended.
	if _, err := cons.Next(testkit.Context(t)); !errors.Is(err, driver.ErrStreamEnded) {
		t.Errorf("Next after the end: %v", err)
	}
	// A consumer created after the end of the input ends at once.
	late := newConsumer(t, c, keys("my_topic"), driver.ConsumerOptions{})
	if _, err := late.Next(testkit.Context(t)); !errors.Is(err, driver.ErrStreamEnded) {
		t.Errorf("late consumer: %v", err)
	}
}

func TestBadLinesReported(t *testing.T) {
	long := "[k] " + strings.Repeat("x", 400)
	input := strings.Join([]string{
		`[k] good 1`,
		`[Jan 1, 2022] { "payload": "anything" }`,
		"[k] bad \xff utf8",
		`[` + strings.Repeat("a", 250) + `] over-long key`,
		`[k] good 2`,
		long,
		`[ ]`,
		`[k | 1 | 2 | 3] four parts`,
		`[k] good 3`,
	}, "\n") + "\n"
	var reports syncbuf.Buffer
	d := Driver{In: strings.NewReader(input), Out: io.Discard, Errors: &reports}
	c := openConn(t, d, "stdio:///k?maxline=300")
	cons := newConsumer(t, c, keys("k"), driver.ConsumerOptions{})
	equal(t, "good lines", drain(t, cons), []string{"k|0|0|good 1", "k|0|1|good 2", "k|0|2|good 3"})

	lines := strings.Split(strings.TrimSuffix(reports.String(), "\n"), "\n")
	want := []struct {
		line int
		text string
	}{
		{2, `"Jan 1, 2022" is neither a timestamp`},
		{3, "the line is not valid UTF-8"},
		{4, "250 bytes long, the maximum is 249"},
		{6, "line too long"},
		{7, "empty part"},
		{8, `unexpected part "3" after the shard`},
	}
	if len(lines) != len(want) {
		t.Fatalf("got %d reports, want %d:\n%s", len(lines), len(want), reports.String())
	}
	for i, w := range want {
		prefix := fmt.Sprintf("stdio: line %d skipped: ", w.line)
		if !strings.HasPrefix(lines[i], prefix) || !strings.Contains(lines[i], w.text) {
			t.Errorf("report %d = %q, want prefix %q and %q", i, lines[i], prefix, w.text)
		}
	}
}

// TestLongLines checks lines longer than the reading buffer (64 KiB): kept
// whole up to the maximum, skipped beyond it, with the count of lines right.
func TestLongLines(t *testing.T) {
	big := strings.Repeat("y", 200<<10)
	huge := strings.Repeat("z", 300<<10)
	input := "[k] " + big + "\n[k] " + huge + "\n[k] after\n"
	var reports syncbuf.Buffer
	d := Driver{In: strings.NewReader(input), Out: io.Discard, Errors: &reports}
	c := openConn(t, d, "stdio:///k", Options{MaxLineSize: 250 << 10})
	cons := newConsumer(t, c, keys("k"), driver.ConsumerOptions{})
	got := drain(t, cons)
	equal(t, "messages", got, []string{"k|0|0|" + big, "k|0|1|after"})
	if r := reports.String(); !strings.HasPrefix(r, "stdio: line 2 skipped: stdio: line too long") || strings.Count(r, "\n") != 1 {
		t.Errorf("reports: %.200q", r)
	}
}

func TestBroadcastAndGroups(t *testing.T) {
	r, w := pipeInput(t)
	d := Driver{In: r, Out: io.Discard, Errors: io.Discard}
	c := openConn(t, d, "stdio:///")
	lb := driver.ConsumerOptions{Mode: driver.LoadBalanced, Group: "g"}
	all := newConsumer(t, c, keys("a", "b"), driver.ConsumerOptions{})
	g1 := newConsumer(t, c, keys("a", "b"), lb)
	onlyB := newConsumer(t, c, keys("b"), driver.ConsumerOptions{})
	g2 := newConsumer(t, c, keys("a", "b"), lb)
	other := newConsumer(t, c, keys("other"), driver.ConsumerOptions{Mode: driver.LoadBalanced, Group: "h"})

	go func() {
		for i := range 6 {
			fmt.Fprintf(w, "[a] a%d\n", i)
		}
		fmt.Fprintf(w, "[b] b0\n")
		fmt.Fprintf(w, "broadcast line\n")
		_ = w.Close()
	}()
	equal(t, "ungrouped a,b", drain(t, all), []string{"a|0|0|a0", "a|0|1|a1", "a|0|2|a2", "a|0|3|a3", "a|0|4|a4", "a|0|5|a5", "b|0|0|b0", "broadcast|0|0|broadcast line"})
	// The group's deliveries alternate between its members, in creation order.
	equal(t, "group member 1", drain(t, g1), []string{"a|0|0|a0", "a|0|2|a2", "a|0|4|a4", "b|0|0|b0"})
	equal(t, "group member 2", drain(t, g2), []string{"a|0|1|a1", "a|0|3|a3", "a|0|5|a5", "broadcast|0|0|broadcast line"})
	equal(t, "only b", drain(t, onlyB), []string{"b|0|0|b0", "broadcast|0|0|broadcast line"})
	equal(t, "other group", drain(t, other), []string{"broadcast|0|0|broadcast line"})
}

// TestGroupMemberLeaves: what was queued for a member that leaves goes to
// the members that can take it without breaking their order: all of it to a
// member that has read nothing (a newcomer, or an idle one), none of it to a
// member that already read past it.
func TestGroupMemberLeaves(t *testing.T) {
	r, w := pipeInput(t)
	d := Driver{In: r, Out: io.Discard, Errors: io.Discard}
	c := openConn(t, d, "stdio:///")
	lb := driver.ConsumerOptions{Mode: driver.LoadBalanced, Group: "g"}
	a := newConsumer(t, c, keys("k"), lb)
	b := newConsumer(t, c, keys("k"), lb)
	idle := newConsumer(t, c, keys("k"), lb)
	probe := newConsumer(t, c, keys("k"), driver.ConsumerOptions{})
	ctx := testkit.Context(t)
	go fmt.Fprint(w, "[k] 0\n[k] 1\n[k] 2\n[k] 3\n[k] 4\n[k] 5\n")
	for range 6 { // every line has been dispatched once the probe has it
		if _, err := probe.Next(ctx); err != nil {
			t.Fatal(err)
		}
	}
	next := func(c driver.Consumer) string {
		t.Helper()
		m, err := c.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return string(m.Payload)
	}
	// Round-robin: a has 0 and 3, b has 1 and 4, idle has 2 and 5.
	if got := next(b) + next(b); got != "14" {
		t.Fatalf("b read %q, want 1 then 4", got)
	}
	if err := a.Close(ctx); err != nil {
		t.Fatal(err)
	}
	// idle read nothing: it takes a's 0 and 3 merged with its 2 and 5; b,
	// already past them, gets none.
	var got []string
	for range 4 {
		got = append(got, next(idle))
	}
	equal(t, "idle member after a left", got, []string{"0", "2", "3", "5"})

	go fmt.Fprint(w, "[k] 6\n[k] 7\n")
	if _, err := probe.Next(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := probe.Next(ctx); err != nil {
		t.Fatal(err)
	}
	// 6 went to b and 7 to idle: idle leaves unread, and a newcomer takes 7.
	if err := idle.Close(ctx); err != nil {
		t.Fatal(err)
	}
	newcomer := newConsumer(t, c, keys("k"), lb)
	if got := next(newcomer); got != "7" {
		t.Errorf("newcomer read %q, want 7", got)
	}
	if got := next(b); got != "6" {
		t.Errorf("b read %q, want 6", got)
	}
}

func TestWildcardAndAssign(t *testing.T) {
	r, w := pipeInput(t)
	d := Driver{In: r, Out: io.Discard, Errors: io.Discard}
	c := openConn(t, d, "stdio:///")
	wild := newConsumer(t, c, keys(string(driver.Wildcard)), driver.ConsumerOptions{})
	narrow := newConsumer(t, c, keys("a", "b"), driver.ConsumerOptions{})

	if err := narrow.Assign("zzz", 0); !errors.Is(err, driver.ErrStreamKeyNotFound) {
		t.Errorf("Assign(unsubscribed) = %v", err)
	}
	if err := narrow.Unassign("a", 0); !errors.Is(err, driver.ErrConsumerNotAssigned) {
		t.Errorf("Unassign(not assigned) = %v", err)
	}
	if err := narrow.Assign("a", 1); err != nil {
		t.Fatal(err)
	}
	if err := narrow.Assign("b", 0); err != nil {
		t.Fatal(err)
	}
	if err := narrow.Unassign("b", 0); err != nil {
		t.Fatal(err)
	}
	if err := narrow.Unassign("a", 1); !errors.Is(err, driver.ErrStreamKeyEmpty) {
		t.Errorf("Unassign(last) = %v", err)
	}
	go func() {
		fmt.Fprint(w, "[a | 0 | 0] a0\n[a | 0 | 1] a1\n[b] b0\n[x] x0\n")
		_ = w.Close()
	}()
	equal(t, "wildcard", drain(t, wild), []string{"a|0|0|a0", "a|1|0|a1", "b|0|0|b0", "x|0|0|x0"})
	equal(t, "assigned (a,1)", drain(t, narrow), []string{"a|1|0|a1"})
}

func TestProducerFormat(t *testing.T) {
	var out bytes.Buffer
	d := Driver{In: strings.NewReader(""), Out: &out, Errors: io.Discard}
	c := openConn(t, d, "stdio:///clock")
	p, err := c.NewProducer(testkit.Context(t), "clock", driver.ProducerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := testkit.Context(t)
	at := time.Date(2023, 6, 5, 13, 55, 53, 1e6, time.UTC)
	var pend []driver.Pending
	for i, h := range []driver.Header{
		{StreamKey: "clock", Timestamp: at},
		{StreamKey: "clock", Timestamp: at.Add(time.Second)},
		{StreamKey: "other", Timestamp: at},
		{StreamKey: "clock", Shard: 2, Timestamp: at},
	} {
		pd, err := p.Send(ctx, h, fmt.Appendf(nil, `{ "tick": %d }`, i))
		if err != nil {
			t.Fatal(err)
		}
		pend = append(pend, pd)
	}
	before := time.Now().UTC().Truncate(time.Second)
	pd, err := p.Send(ctx, driver.Header{StreamKey: "clock"}, []byte("now"))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.End(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Send(ctx, driver.Header{StreamKey: "clock"}, []byte("x")); !errors.Is(err, driver.ErrProducerEnded) {
		t.Errorf("Send after End: %v", err)
	}
	h, err := pd.Wait(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if h.Seq != 2 || h.Timestamp.Before(before) || h.Timestamp.Nanosecond() != 0 {
		t.Errorf("receipt %v: want seq 2 and now in whole seconds", h)
	}
	lines := strings.Split(out.String(), "\n")
	want := []string{
		`[2023-06-05T13:55:53 | clock | 0] { "tick": 0 }`,
		`[2023-06-05T13:55:54 | clock | 1] { "tick": 1 }`,
		`[2023-06-05T13:55:53 | other | 0] { "tick": 2 }`,
		`[2023-06-05T13:55:53 | clock | 0 | 2] { "tick": 3 }`,
		"[" + h.Timestamp.Format("2006-01-02T15:04:05") + " | clock | 2] now",
		"",
	}
	equal(t, "output", lines, want)
	for i, pd := range pend {
		h, err := pd.Wait(ctx)
		if err != nil {
			t.Fatal(err)
		}
		m, _, err := ParseLine(lines[i])
		if err != nil || h.Seq != m.Seq || !h.Timestamp.Equal(m.Timestamp) || h.StreamKey != m.StreamKey || h.Shard != m.Shard {
			t.Errorf("receipt %d = %v, line %q", i, h, lines[i])
		}
	}
}

func TestProducerVerbatimMillis(t *testing.T) {
	var out bytes.Buffer
	d := Driver{In: strings.NewReader(""), Out: &out, Errors: io.Discard}
	c := openConn(t, d, "stdio:///?millis")
	p, err := c.NewProducer(testkit.Context(t), "", driver.ProducerOptions{Verbatim: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx := testkit.Context(t)
	at := time.Date(2023, 6, 5, 13, 55, 53, 1_500_000, time.UTC)
	for _, h := range []driver.Header{
		{StreamKey: "hello", Seq: 1, Timestamp: at},
		{StreamKey: "hello", Seq: 7, Shard: 3, Timestamp: at},
		{StreamKey: "hello", Seq: 0, Timestamp: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)},
	} {
		if _, err := p.Send(ctx, h, []byte("message-1")); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := p.Send(ctx, driver.Header{StreamKey: "hello", Timestamp: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}, nil); !errors.Is(err, ErrBadTimestamp) {
		t.Errorf("year 10000: %v", err)
	}
	if err := p.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	equal(t, "output", strings.Split(out.String(), "\n"), []string{
		"[2023-06-05T13:55:53.001 | hello | 1] message-1",
		"[2023-06-05T13:55:53.001 | hello | 7 | 3] message-1",
		"[2020-01-01T00:00:00.000 | hello | 0] message-1",
		"",
	})
}

func TestProducerRejects(t *testing.T) {
	d := Driver{In: strings.NewReader(""), Out: io.Discard, Errors: io.Discard}
	c := openConn(t, d, "stdio:///")
	p, err := c.NewProducer(testkit.Context(t), "k", driver.ProducerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Send(testkit.Context(t), driver.Header{StreamKey: "k"}, []byte("two\nlines")); !errors.Is(err, ErrPayloadNewline) {
		t.Errorf("newline: %v", err)
	}
	if _, err := p.Send(testkit.Context(t), driver.Header{StreamKey: "k"}, []byte{0xff}); !errors.Is(err, driver.ErrInvalidUTF8) {
		t.Errorf("invalid UTF-8: %v", err)
	}
	if _, err := c.NewProducer(testkit.Context(t), "k", driver.ProducerOptions{Extra: []any{42}}); !errors.Is(err, driver.ErrUnknownOption) {
		t.Errorf("unknown extra: %v", err)
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk on fire") }

func TestWriteErrorLatches(t *testing.T) {
	d := Driver{In: strings.NewReader(""), Out: &failWriter{}, Errors: io.Discard}
	c := openConn(t, d, "stdio:///")
	p, err := c.NewProducer(testkit.Context(t), "k", driver.ProducerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := testkit.Context(t)
	pd, err := p.Send(ctx, driver.Header{StreamKey: "k"}, []byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	var be *driver.BackendError
	if _, err := pd.Wait(ctx); !errors.As(err, &be) || be.Op != "write" || !strings.Contains(err.Error(), "disk on fire") {
		t.Errorf("Wait: %v", err)
	}
	if err := p.Flush(ctx); !errors.As(err, &be) {
		t.Errorf("Flush: %v", err)
	}
	if _, err := p.Send(ctx, driver.Header{StreamKey: "k"}, []byte("y")); !errors.As(err, &be) {
		t.Errorf("Send after a failed write: %v", err)
	}
}

func TestLoopback(t *testing.T) {
	r, _ := pipeInput(t)
	var out syncbuf.Buffer
	d := Driver{In: r, Out: &out, Errors: io.Discard}
	c := openConn(t, d, "stdio:///?loopback")
	cons := newConsumer(t, c, keys("echo"), driver.ConsumerOptions{})
	p, err := c.NewProducer(testkit.Context(t), "echo", driver.ProducerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := testkit.Context(t)
	var sent []driver.Header
	for i := range 3 {
		pd, err := p.Send(ctx, driver.Header{StreamKey: "echo", Shard: driver.ShardID(i % 2)}, fmt.Appendf(nil, "m%d", i))
		if err != nil {
			t.Fatal(err)
		}
		h, err := pd.Wait(ctx)
		if err != nil {
			t.Fatal(err)
		}
		sent = append(sent, h)
	}
	for i := range 3 {
		m, err := cons.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if m.Header != sent[i] || string(m.Payload) != fmt.Sprintf("m%d", i) {
			t.Errorf("looped back %v %q, want %v m%d", m.Header, m.Payload, sent[i], i)
		}
	}
	if n := strings.Count(out.String(), "\n"); n != 3 {
		t.Errorf("wrote %d lines, want 3: %q", n, out.String())
	}
}

// TestLoopbackOutlivesInput: with loopback, the end of the input does not end
// the stream of the connection's consumers.
func TestLoopbackOutlivesInput(t *testing.T) {
	d := Driver{In: strings.NewReader("[echo] from input\n"), Out: io.Discard, Errors: io.Discard}
	c := openConn(t, d, "stdio:///", Options{Loopback: true})
	cons := newConsumer(t, c, keys("echo"), driver.ConsumerOptions{})
	ctx := testkit.Context(t)
	m, err := cons.Next(ctx)
	if err != nil || string(m.Payload) != "from input" {
		t.Fatalf("Next = %q, %v", m.Payload, err)
	}
	p, err := c.NewProducer(ctx, "echo", driver.ProducerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Send(ctx, driver.Header{StreamKey: "echo"}, []byte("looped")); err != nil {
		t.Fatal(err)
	}
	m, err = cons.Next(ctx)
	if err != nil || string(m.Payload) != "looped" {
		t.Fatalf("Next = %q, %v", m.Payload, err)
	}
}

func TestConsumerCloseAndCancel(t *testing.T) {
	r, _ := pipeInput(t)
	d := Driver{In: r, Out: io.Discard, Errors: io.Discard}
	c := openConn(t, d, "stdio:///")
	cons, err := c.NewConsumer(testkit.Context(t), keys("k"), driver.ConsumerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(testkit.Context(t))
	cancel()
	if _, err := cons.Next(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Next(canceled) = %v", err)
	}
	errc := make(chan error, 1)
	go func() {
		_, err := cons.Next(testkit.Context(t))
		errc <- err
	}()
	if err := cons.Close(testkit.Context(t)); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; !errors.Is(err, driver.ErrClosed) {
		t.Errorf("blocked Next after Close = %v", err)
	}
	for name, err := range map[string]error{
		"Next":   func() error { _, err := cons.Next(testkit.Context(t)); return err }(),
		"Seek":   cons.Seek(testkit.Context(t), time.Now()),
		"Rewind": cons.Rewind(testkit.Context(t), driver.SeqBeginning()),
		"Assign": cons.Assign("k", 0),
		"Commit": cons.Commit(testkit.Context(t)),
		"Close":  cons.Close(testkit.Context(t)),
	} {
		if !errors.Is(err, driver.ErrClosed) {
			t.Errorf("%s after Close = %v", name, err)
		}
	}
}

func TestUnsupported(t *testing.T) {
	r, _ := pipeInput(t)
	d := Driver{In: r, Out: io.Discard, Errors: io.Discard}
	c := openConn(t, d, "stdio:///")
	if _, err := c.NewConsumer(testkit.Context(t), keys("k"), driver.ConsumerOptions{Mode: driver.Resumable}); !errors.Is(err, driver.ErrUnsupported) {
		t.Errorf("Resumable: %v", err)
	}
	cons := newConsumer(t, c, keys("k"), driver.ConsumerOptions{})
	if err := cons.Seek(testkit.Context(t), time.Now()); !errors.Is(err, driver.ErrUnsupported) {
		t.Errorf("Seek: %v", err)
	}
	if err := cons.Rewind(testkit.Context(t), driver.SeqBeginning()); !errors.Is(err, driver.ErrUnsupported) {
		t.Errorf("Rewind: %v", err)
	}
	if _, err := c.NewConsumer(testkit.Context(t), keys("k"), driver.ConsumerOptions{Extra: []any{"x"}}); !errors.Is(err, driver.ErrUnknownOption) {
		t.Errorf("unknown extra: %v", err)
	}
}

func TestOpenOptions(t *testing.T) {
	d := Driver{In: strings.NewReader(""), Out: io.Discard, Errors: io.Discard}
	for uri, want := range map[string]error{
		"stdio:///a?bogus=1":         driver.ErrUnknownOption,
		"stdio:///a?loopback=maybe":  driver.ErrInvalidOption,
		"stdio:///a?maxline=0":       driver.ErrInvalidOption,
		"stdio:///a?maxline=lots":    driver.ErrInvalidOption,
		"stdio://somewhere/a":        driver.ErrInvalidURI,
		"stdio:///a?millis&loopback": nil,
	} {
		u, err := driver.ParseURI(uri)
		if err != nil {
			t.Fatal(err)
		}
		c, err := d.Open(testkit.Context(t), u, driver.ConnectOptions{})
		if !errors.Is(err, want) || (want == nil) != (err == nil) {
			t.Errorf("Open(%q) = %v, want %v", uri, err, want)
		}
		if c != nil {
			_ = c.Close(testkit.Context(t))
		}
	}
	u, _ := driver.ParseURI("stdio:///a")
	if _, err := d.Open(testkit.Context(t), u, driver.ConnectOptions{Extra: []any{struct{}{}}}); !errors.Is(err, driver.ErrUnknownOption) {
		t.Errorf("unknown extra: %v", err)
	}
	if _, err := d.Open(testkit.Context(t), u, driver.ConnectOptions{Extra: []any{Options{MaxLineSize: -1}}}); !errors.Is(err, driver.ErrInvalidOption) {
		t.Errorf("negative MaxLineSize: %v", err)
	}
}

// TestSharedInput: two connections on one reader share its lines, as two
// streamers of one process share its standard input.
func TestSharedInput(t *testing.T) {
	r, w := pipeInput(t)
	d := Driver{In: r, Out: io.Discard, Errors: io.Discard}
	c1 := openConn(t, d, "stdio:///")
	c2 := openConn(t, d, "stdio:///")
	a := newConsumer(t, c1, keys("k"), driver.ConsumerOptions{})
	b := newConsumer(t, c2, keys("k"), driver.ConsumerOptions{})
	go func() {
		fmt.Fprint(w, "[k] 1\n[k] 2\n[k] 3\n")
		_ = w.Close()
	}()
	want := []string{"k|0|0|1", "k|0|1|2", "k|0|2|3"}
	equal(t, "first connection", drain(t, a), want)
	equal(t, "second connection", drain(t, b), want)
}

// TestSharedOutput: two connections on one writer share sequence numbers and
// never interleave partial lines.
func TestSharedOutput(t *testing.T) {
	var out syncbuf.Buffer
	d := Driver{In: strings.NewReader(""), Out: &out, Errors: io.Discard}
	ctx := testkit.Context(t)
	var wg sync.WaitGroup
	for range 2 {
		c := openConn(t, d, "stdio:///")
		p, err := c.NewProducer(ctx, "k", driver.ProducerOptions{})
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 500 {
				if _, err := p.Send(ctx, driver.Header{StreamKey: "k"}, fmt.Appendf(nil, "payload %d", i)); err != nil {
					t.Error(err)
					return
				}
			}
			if err := p.End(ctx); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	seen := map[driver.SeqNo]bool{}
	sc := bufio.NewScanner(strings.NewReader(out.String()))
	for sc.Scan() {
		m, p, err := ParseLine(sc.Text())
		if err != nil || !strings.HasPrefix(p, "payload ") || m.StreamKey != "k" {
			t.Fatalf("bad line %q: %v", sc.Text(), err)
		}
		if seen[m.Seq] {
			t.Fatalf("seq %d written twice", m.Seq)
		}
		seen[m.Seq] = true
	}
	for i := range driver.SeqNo(1000) {
		if !seen[i] {
			t.Fatalf("seq %d missing (%d lines)", i, len(seen))
		}
	}
}

// TestCloseStopsReader: when the last connection closes, a reader that
// supports deadlines (os.Pipe) is interrupted and its goroutine ends; a new
// connection reads the following lines.
func TestCloseStopsReader(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	d := Driver{In: r, Out: io.Discard, Errors: io.Discard}
	u, _ := driver.ParseURI("stdio:///k")
	ctx := testkit.Context(t)
	c, err := d.Open(ctx, u, driver.ConnectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cons, err := c.NewConsumer(ctx, keys("k"), driver.ConsumerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprint(w, "[k] one\n")
	if m, err := cons.Next(ctx); err != nil || string(m.Payload) != "one" {
		t.Fatalf("Next = %q, %v", m.Payload, err)
	}
	in := c.(*conn).in
	_ = cons.Close(ctx)
	if err := c.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if !in.finished() {
		t.Fatal("the reading goroutine is still running after Close")
	}

	c2, err := d.Open(ctx, u, driver.ConnectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close(ctx)
	cons2, err := c2.NewConsumer(ctx, keys("k"), driver.ConsumerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer cons2.Close(ctx)
	fmt.Fprint(w, "[k] two\n")
	if m, err := cons2.Next(ctx); err != nil || string(m.Payload) != "two" {
		t.Fatalf("Next after reopening = %q, %v", m.Payload, err)
	}
}

// lineReader serves one line per Read and logs each in events.
type lineReader struct {
	lines  []string
	events *eventLog
	served chan int // receives the index of each line served
}

type eventLog struct {
	mu sync.Mutex
	ev []string
}

func (l *eventLog) add(e string) {
	l.mu.Lock()
	l.ev = append(l.ev, e)
	l.mu.Unlock()
}

func (l *eventLog) index(e string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Index(l.ev, e)
}

func (r *lineReader) Read(p []byte) (int, error) {
	if len(r.lines) == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.lines[0])
	r.events.add("read " + strings.TrimSpace(r.lines[0]))
	r.served <- len(r.lines)
	r.lines = r.lines[1:]
	return n, nil
}

// TestBackpressure: with a single consumer that does not read, the reading
// goroutine stops reading once the consumer's prefetch is queued, and reads
// on when the consumer takes a message; nothing is lost.
func TestBackpressure(t *testing.T) {
	var lines []string
	for i := range 10 {
		lines = append(lines, fmt.Sprintf("[k] %d\n", i))
	}
	events := &eventLog{}
	lr := &lineReader{lines: lines, events: events, served: make(chan int, 10)}
	d := Driver{In: lr, Out: io.Discard, Errors: io.Discard}
	c := openConn(t, d, "stdio:///")
	cons := newConsumer(t, c, keys("k"), driver.ConsumerOptions{Prefetch: 2})
	<-lr.served
	<-lr.served
	// Two lines are queued: the reader must not read a third one before a
	// Next makes room.
	events.add("next")
	m, err := cons.Next(testkit.Context(t))
	if err != nil || string(m.Payload) != "0" {
		t.Fatalf("Next = %q, %v", m.Payload, err)
	}
	got := drain(t, cons)
	if len(got) != 9 {
		t.Errorf("got %d more messages, want 9: %q", len(got), got)
	}
	if n, r := events.index("next"), events.index("read [k] 2"); r < n {
		t.Errorf("the third line was read before the consumer made room: %q", events.ev)
	}
}

// TestGoOptions: each option's Go form sets what its URI parameter sets and
// refuses what it refuses; the URI's query overrides the Go forms, and an
// Options value still sets them all.
func TestGoOptions(t *testing.T) {
	d := Driver{In: strings.NewReader(""), Out: io.Discard, Errors: io.Discard}
	for _, tc := range []struct {
		uri   string
		extra []any
		want  Options
	}{
		{"stdio:///a", []any{WithLoopback(true), WithMillis(true), WithMaxLineSize(4096)}, Options{Loopback: true, Millis: true, MaxLineSize: 4096}},
		{"stdio:///a?loopback&millis&maxline=4KiB", nil, Options{Loopback: true, Millis: true, MaxLineSize: 4096}},
		{"stdio:///a?loopback=false&maxline=8KiB", []any{WithLoopback(true), WithMaxLineSize(4096)}, Options{MaxLineSize: 8192}},
		{"stdio:///a", []any{Options{Millis: true}, WithLoopback(true)}, Options{Loopback: true, Millis: true, MaxLineSize: DefaultMaxLineSize}},
	} {
		c := openConn(t, d, tc.uri, tc.extra...)
		if got := c.(*conn).opts; got != tc.want {
			t.Errorf("%s %v: options %+v, want %+v", tc.uri, tc.extra, got, tc.want)
		}
	}
	u, _ := driver.ParseURI("stdio:///a")
	for _, bad := range []Option{WithMaxLineSize(-1), WithMaxLineSize(2 << 30), {}} {
		if _, err := d.Open(testkit.Context(t), u, driver.ConnectOptions{Extra: []any{bad}}); !errors.Is(err, driver.ErrInvalidOption) {
			t.Errorf("%v: %v, want ErrInvalidOption", bad, err)
		}
	}
}
