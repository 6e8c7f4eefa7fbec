package sscheck

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/seastream/ss/format"
	"github.com/seastream/ss/ssfile"
)

// scanWithOpts is scan with options.
func scanWithOpts(data []byte, opts ...Option) result {
	var r result
	r.sum, r.err = Scan(data, Visitor{
		Message: func(m *Message) error {
			c := *m
			c.Payload = slices.Clone(m.Payload)
			r.messages = append(r.messages, c)
			return nil
		},
		Problem: func(p *Problem) error { r.problems = append(r.problems, p); return nil },
	}, opts...)
	return r
}

func orderProblems(ps []*Problem) []*Problem {
	var out []*Problem
	for _, p := range ps {
		if errors.Is(p, ErrOrder) {
			out = append(out, p)
		}
	}
	return out
}

// TestOrder checks the order of sequence numbers and timestamps per (stream
// key, shard): by default any order is sound, as SeaStreamer's MessageSink
// writes any sequence number and timestamp; with Strict, sequence numbers
// must be consecutive and timestamps not go back. Order problems lose
// nothing.
func TestOrder(t *testing.T) {
	type m struct {
		key        string
		shard, seq uint64
		ts         uint64
	}
	eos := m{format.InternalStreamKey, 0, 0, 50}
	for _, tc := range []struct {
		name         string
		msgs         []m
		dflt, strict []int // the messages reported, by index
	}{
		{name: "consecutive", msgs: []m{{"a", 0, 1, 1}, {"b", 0, 1, 1}, {"a", 0, 2, 2}, {"a", 1, 7, 2}, {"a", 1, 8, 3}, eos}},
		{name: "gaps (Kafka offsets)", msgs: []m{{"a", 0, 10, 1}, {"a", 0, 12, 2}, {"a", 0, 20, 3}}, strict: []int{1, 2}},
		{name: "seq goes down", msgs: []m{{"a", 0, 1, 1}, {"a", 0, 2, 2}, {"a", 0, 1, 3}, {"a", 0, 4, 4}}, strict: []int{2}},
		{name: "seq repeated", msgs: []m{{"a", 0, 1, 1}, {"a", 0, 1, 2}}, strict: []int{1}},
		{name: "timestamp goes back", msgs: []m{{"a", 0, 1, 5}, {"a", 0, 2, 4}, {"a", 0, 3, 6}}, strict: []int{1}},
		{name: "one seq far too high", msgs: []m{{"a", 0, 1, 1}, {"a", 0, 2, 2}, {"a", 0, 2 + 1<<40, 3}, {"a", 0, 4, 4}, {"a", 0, 5, 5}}, strict: []int{2}},
		{name: "one seq too low", msgs: []m{{"a", 0, 5, 1}, {"a", 0, 6, 2}, {"a", 0, 3, 3}, {"a", 0, 8, 4}}, strict: []int{2}},
		{name: "shards are separate", msgs: []m{{"a", 0, 5, 1}, {"a", 1, 1, 2}, {"a", 0, 6, 3}, {"a", 1, 2, 4}}},
		{name: "end of stream twice", msgs: []m{{"a", 0, 1, 1}, eos, {"a", 0, 2, 60}, eos}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			msgs := make([]msg, len(tc.msgs))
			for i, x := range tc.msgs {
				msgs[i] = msg{h: format.MessageHeader{StreamKey: x.key, ShardID: x.shard, SeqNo: x.seq, Timestamp: 1_700_000_000_000 + x.ts}, payload: []byte(fmt.Sprint(i))}
			}
			data := build(t, header(1024), msgs)
			for _, mode := range []struct {
				name string
				opts []Option
				want []int
			}{{"default", nil, tc.dflt}, {"strict", []Option{Strict()}, tc.strict}} {
				r := scanWithOpts(data, mode.opts...)
				if r.err != nil || len(r.messages) != len(msgs) {
					t.Fatalf("%s: err %v, %d messages kept of %d", mode.name, r.err, len(r.messages), len(msgs))
				}
				var got []int
				for _, p := range r.problems {
					if !errors.Is(p, ErrOrder) || p.Lost() != 0 {
						t.Fatalf("%s: %v", mode.name, p)
					}
					got = append(got, slices.IndexFunc(msgs, func(x msg) bool { return x.start == p.Offset }))
				}
				if !slices.Equal(got, mode.want) {
					t.Errorf("%s: reported messages %v, want %v: %v", mode.name, got, mode.want, r.problems)
				}
			}
		})
	}
}

// TestOrderAfterLostBytes loses messages in a damaged frame: the streams
// whose messages were lost go on with a gap in their sequence numbers,
// which the strict checks must not report as an order problem.
func TestOrderAfterLostBytes(t *testing.T) {
	iv := uint32(512)
	msgs := randomMessages(61, 90, 700)
	data := build(t, header(iv), msgs)
	for i, m := range msgs {
		bad := slices.Clone(data)
		bad[m.start] = 0xFF // a key length over 249: the frame cannot be read
		r := scanWithOpts(bad, Strict())
		if !hasKind(r.problems, ErrFrame) && !hasKind(r.problems, ErrTornTail) {
			t.Fatalf("message %d: %v", i, r.problems)
		}
		if ps := orderProblems(r.problems); len(ps) > 0 {
			t.Fatalf("message %d: lost bytes reported as order problems: %v", i, ps)
		}
	}
}

// TestHeaderFlips flips every bit of every message header (key length to
// terminator, checksum included) of a file written by ssfile's Writer: a
// repair keeps every message the flip did not touch, each as written, and
// nothing that was never written but the damaged message with a changed
// header. Every flip of a key length, size field, checksum or terminator is
// detected, and of a sequence number when a later message of its stream
// follows, with the strict checks; and the strict checks detect every flip
// the default ones do.
func TestHeaderFlips(t *testing.T) {
	for _, iv := range []uint32{1024, 4096} {
		msgs := randomMessages(uint64(iv)+77, 30, 300)
		data, _ := writtenBytes(t, msgs, ssfile.WithBeaconInterval(iv), ssfile.WithCreatedAt(time.UnixMilli(1_700_000_000_000)), ssfile.WithFileName("test.ss"))
		if !bytes.Equal(data, build(t, header(iv), msgs)) {
			t.Fatal("the writer's file differs from the muxer's layout")
		}
		fields := func(m msg) map[int]string {
			k := len(m.h.StreamKey)
			f := map[int]string{0: "key length"}
			for j := 1; j <= k; j++ {
				f[j] = "key"
			}
			for j, name := range []string{"shard", "seq", "timestamp"} {
				for b := range 8 {
					f[1+k+8*j+b] = name
				}
			}
			for b := range 4 {
				f[1+k+24+b] = "size"
			}
			size := format.MessageSize(k, len(m.payload))
			f[size-3], f[size-2], f[size-1] = "checksum", "checksum", "terminator"
			return f
		}
		missed := map[string]int{}
		for i, m := range msgs {
			for k, field := range fields(m) {
				off := frameByteOffset(t, data, m, int64(iv), k)
				for bit := range 8 {
					if testing.Short() && bit != (i+k)%8 {
						continue // one bit of each byte
					}
					bad := slices.Clone(data)
					bad[off] ^= 1 << bit
					desc := fmt.Sprintf("interval %d, message %d, %s byte %d bit %d", iv, i, field, k, bit)
					r := scanWithOpts(bad)
					strict := scanWithOpts(bad, Strict())
					if r.err != nil || strict.err != nil {
						t.Fatalf("%s: %v %v", desc, r.err, strict.err)
					}
					if len(r.problems) > 0 && len(strict.problems) == 0 {
						t.Errorf("%s: found by the default checks, not by the strict ones: %v", desc, r.problems)
					}
					if len(strict.problems) == 0 {
						missed[field]++
						if field == "seq" && slices.ContainsFunc(msgs[i+1:], func(o msg) bool { return o.h.StreamKey == m.h.StreamKey && o.h.ShardID == m.h.ShardID }) {
							t.Errorf("%s: a flipped seq not detected, with a later message in its stream", desc)
						}
					}
					// What a repair keeps.
					j, changed := 0, 0
					for _, g := range r.messages {
						for j < len(msgs) && msgs[j].start != g.Offset {
							if j != i {
								t.Fatalf("%s: message %d lost; problems %v", desc, j, r.problems)
							}
							j++
						}
						if j == len(msgs) {
							t.Fatalf("%s: kept a message at %d where none was written", desc, g.Offset)
						}
						if g.MessageHeader != msgs[j].h || !bytes.Equal(g.Payload, msgs[j].payload) {
							if j != i {
								t.Fatalf("%s: message %d kept changed: %+v", desc, j, g.MessageHeader)
							}
							changed++
						}
						j++
					}
					if j < len(msgs)-1 || j == len(msgs)-1 && i != j {
						t.Fatalf("%s: messages from %d on lost; problems %v", desc, j, r.problems)
					}
					if changed > 0 && field != "key" && field != "shard" && field != "seq" && field != "timestamp" {
						t.Fatalf("%s: kept the damaged message", desc)
					}
				}
			}
		}
		for _, field := range []string{"key length", "size", "checksum", "terminator"} {
			if missed[field] > 0 {
				t.Errorf("interval %d: %d flips of a %s not detected", iv, missed[field], field)
			}
		}
		t.Logf("interval %d: flips not detected with the strict checks: %v", iv, missed)
	}
}

// TestRecoverStaysLinear: with a large beacon interval, a damaged frame
// near the start and another near the end of the same interval make every
// search for where the messages resume fail late; the scan must still take
// time linear in the file (it took seconds for this 660 KB file when each
// candidate start followed its chain again), and report the first damage.
func TestRecoverStaysLinear(t *testing.T) {
	msgs := make([]msg, 20000)
	for i := range msgs {
		msgs[i].h = format.MessageHeader{StreamKey: "a", SeqNo: uint64(i + 1), Timestamp: 1}
	}
	data, starts := writtenBytes(t, msgs, ssfile.WithBeaconInterval(1<<24))
	data[starts[1]] = 0       // the second frame's key length
	data[len(data)-1] ^= 0xff // the last frame's terminator
	var problems []*Problem
	if _, err := Scan(data, Visitor{Problem: func(p *Problem) error {
		problems = append(problems, p)
		return nil
	}}); err != nil {
		t.Fatal(err)
	}
	if len(problems) == 0 || problems[0].Offset != starts[1] || !errors.Is(problems[0], ErrFrame) {
		t.Fatalf("problems %v, want a damaged frame at offset %d first", problems, starts[1])
	}
}

// writtenBytes writes msgs with ssfile.Writer and returns the file's bytes
// and where each message starts.
func writtenBytes(t *testing.T, msgs []msg, opts ...ssfile.Option) ([]byte, []int64) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "w.ss")
	w, err := ssfile.Create(path, opts...)
	if err != nil {
		t.Fatal(err)
	}
	starts := make([]int64, len(msgs))
	for i, m := range msgs {
		starts[i] = w.Size()
		if err := w.Write(m.h, m.payload); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data, starts
}
