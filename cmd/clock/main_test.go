package main

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/seastream/ss/streamer"
)

// readAll returns the messages of uri's streams, from the start to the end
// of the data.
func readAll(t *testing.T, uri string) []streamer.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := streamer.Open(ctx, uri)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(ctx)
	c, err := s.NewConsumer(ctx, nil, streamer.WithAutoStreamReset(streamer.ResetEarliest), streamer.WithReplay())
	if err != nil {
		t.Fatal(err)
	}
	var msgs []streamer.Message
	for m, err := range c.Messages(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, m.Clone())
	}
	return msgs
}

// TestStreamURI: --stream takes a URI as SeaStreamer's producer does, and
// writes to its stream.
func TestStreamURI(t *testing.T) {
	uri := "file://" + filepath.Join(t.TempDir(), "c.ss") + "/ticks"
	var stderr bytes.Buffer
	if code := run([]string{"--stream", uri, "--count", "3", "--interval", "0"}, &stderr); code != 0 {
		t.Fatalf("clock --stream %s: status %d\n%s", uri, code, stderr.String())
	}
	msgs := readAll(t, uri)
	if len(msgs) != 3 {
		t.Fatalf("got %d messages, want 3: %v", len(msgs), msgs)
	}
	for i, m := range msgs {
		if want := fmt.Sprintf(`{ "tick": %d }`, i); m.StreamKey != "ticks" || string(m.Payload) != want {
			t.Errorf("message %d: %s %q, want stream ticks, %q", i, m.Header, m.Payload, want)
		}
	}
}

func TestStreamURIUsage(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		args   []string
		stderr string
	}{
		{[]string{"--stream", "file://" + dir + "/a.ss/x", "--output", "file://" + dir + "/b.ss/x"}, "give one"},
		{[]string{"--stream", "file://" + dir + "/a.ss/x,y"}, "must name one stream key"},
		{[]string{"--stream", "file://" + dir + "/a.ss/"}, "must name one stream key"},
		{[]string{"--stream", "kafka://localhost:9092/bad key"}, "invalid URI"},
	} {
		var stderr bytes.Buffer
		if code := run(c.args, &stderr); code != 2 || !strings.Contains(stderr.String(), c.stderr) {
			t.Errorf("clock %q: status %d, stderr %q; want 2 and %q", c.args, code, stderr.String(), c.stderr)
		}
	}
}
