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

// writeFile writes a .ss file of one stream with the sequence numbers seqs.
func writeFile(t *testing.T, seqs ...uint64) string {
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

// TestOrder: sequence numbers must go up; with --strict, one at a time.
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
		{"going down", []uint64{1, 3, 2, 4}, nil, 1, "does not go up"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			status := run(append(tc.args, writeFile(t, tc.seqs...)), &stdout, &stderr)
			if status != tc.status || !strings.Contains(stdout.String(), tc.out) {
				t.Errorf("exit %d, want %d; output:\n%s%s", status, tc.status, stdout.String(), stderr.String())
			}
		})
	}
}
