package format_test

import (
	"bytes"
	"testing"

	"github.com/seastream/ss/format"
	"github.com/seastream/ss/internal/testkit"
)

// The decoders must reject bad input with an error, never a panic, and what
// they accept must encode back to the same bytes. Their corpora are in
// testdata/fuzz/<Target>/; a plain go test replays them:
//
//	go test ./format -run=^$ -fuzz=^FuzzHeader$ -fuzztime=1m

func FuzzHeader(f *testing.F) {
	for _, v := range testkit.Vectors(f) {
		f.Add(v[:format.HeaderSize])
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := format.DecodeHeader(b)
		if err != nil {
			return
		}
		enc, err := format.AppendHeader(nil, h)
		if err != nil {
			t.Fatalf("decoded header does not encode: %v", err)
		}
		if !bytes.Equal(enc, b[:format.HeaderSize]) {
			t.Fatalf("header does not round-trip")
		}
	})
}

func FuzzMessage(f *testing.F) {
	for _, v := range testkit.Vectors(f) {
		f.Add(v[format.HeaderSize:])
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, n, err := format.DecodeMessage(b)
		if err != nil {
			return
		}
		enc, sum, err := format.AppendMessage(nil, m.Header(), m.Payload)
		if err != nil || sum != m.Checksum || !bytes.Equal(enc, b[:n]) {
			t.Fatalf("message does not round-trip: %v", err)
		}
	})
}

func FuzzBeacon(f *testing.F) {
	for _, v := range testkit.Vectors(f) {
		if len(v) > 1024 {
			f.Add(v[1024:])
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		info, err := format.ScanBeacon(b)
		bc, n, derr := format.DecodeBeacon(b)
		if (err == nil) != (derr == nil) {
			t.Fatalf("ScanBeacon %v, DecodeBeacon %v", err, derr)
		}
		if err != nil {
			return
		}
		if n != info.Size || len(bc.Markers) != info.Markers || bc.Size() != n {
			t.Fatalf("sizes disagree")
		}
		enc, err := format.AppendBeacon(nil, &bc)
		if err != nil || !bytes.Equal(enc, b[:n]) {
			t.Fatalf("beacon does not round-trip: %v", err)
		}
	})
}
