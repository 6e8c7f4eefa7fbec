package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seastream/ss/beacon"
	"github.com/seastream/ss/format"
)

// fileOfSeqs lays out a .ss file of one stream whose messages carry the
// sequence numbers seqs, in that order, and returns its path.
func fileOfSeqs(t *testing.T, seqs ...uint64) string {
	t.Helper()
	m := beacon.NewMuxer(1024, 0, nil)
	data, err := m.AppendHeader(nil, format.Header{FileName: "t.ss", CreatedAt: 1_700_000_000_000, BeaconInterval: 1024})
	if err != nil {
		t.Fatal(err)
	}
	for i, seq := range seqs {
		h := format.MessageHeader{StreamKey: "orders", SeqNo: seq, Timestamp: 1_700_000_000_000 + uint64(i)}
		if data, _, err = m.AppendMessage(data, h, []byte("payload")); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(t.TempDir(), "t.ss")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestOrder: any order of sequence numbers is sound, as SeaStreamer's
// MessageSink writes any; with --strict, each must be the next.
func TestOrder(t *testing.T) {
	for _, tc := range []struct {
		name   string
		seqs   []uint64
		args   []string
		status int
		out    string
	}{
		{"consecutive", []uint64{1, 2, 3}, nil, 0, "OK: 3 messages"},
		{"consecutive, strict", []uint64{1, 2, 3}, []string{"--strict"}, 0, "OK: 3 messages"},
		{"gaps", []uint64{10, 12, 20}, nil, 0, "OK: 3 messages"},
		{"gaps, strict", []uint64{10, 12, 20}, []string{"--strict"}, 1, "is not the next (strict)"},
		{"going down", []uint64{1, 3, 2, 4}, nil, 0, "OK: 4 messages, 1 streams, 0 beacons, 308 bytes; 1 sequence numbers do not go up (a problem only with --strict)"},
		{"going down, strict", []uint64{1, 3, 2, 4}, []string{"--strict"}, 1, "does not go up"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			status := run(append(tc.args, fileOfSeqs(t, tc.seqs...)), &stdout, &stderr)
			if status != tc.status || !strings.Contains(stdout.String(), tc.out) {
				t.Errorf("exit %d, want %d; output:\n%s%s", status, tc.status, stdout.String(), stderr.String())
			}
		})
	}
}

// TestSeaStreamerFiles: files SeaStreamer wrote and reopened verify, with a
// note for each reopen; --strict still reports sequence numbers going back.
func TestSeaStreamerFiles(t *testing.T) {
	dir := filepath.Join("..", "..", "internal", "sscheck", "testdata", "seastreamer")
	for _, tc := range []struct {
		file   string
		args   []string
		status int
		out    []string
	}{
		{"sink-reopen-640.ss", nil, 0, []string{
			"sink-reopen-640.ss: note: offset 30191: sscheck: SeaStreamer closed and reopened the file here: from the message at offset 30191 (MessageSink's",
			"sink-reopen-640.ss: note: offset 41497: ",
			"sink-reopen-640.ss: OK: 671 messages, 13 streams, 79 beacons, 50969 bytes; 81 sequence numbers do not go up (a problem only with --strict)\n"}},
		{"producer-reopen-1024.ss", nil, 0, []string{"note: offset 22988: sscheck: SeaStreamer closed and reopened the file here: from the message at offset 22988 (its producer's", "OK: 651 messages"}},
		{"sink-boundary-1024.ss", nil, 0, []string{"at the beacon position 3072, where it wrote an empty beacon, from the message at offset 3079", "OK: 113 messages"}},
		{"sink-noreopen-1000.ss", []string{"--strict"}, 1, []string{"does not go up", "problems: 501 valid messages"}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			status := run(append(tc.args, filepath.Join(dir, tc.file)), &stdout, &stderr)
			if status != tc.status {
				t.Errorf("exit %d, want %d", status, tc.status)
			}
			for _, want := range tc.out {
				if !strings.Contains(stdout.String(), want) {
					t.Errorf("no %q in the output:\n%s%s", want, stdout.String(), stderr.String())
				}
			}
		})
	}
}
