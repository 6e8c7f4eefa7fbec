package ssfile_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/seastream/ss/beacon"
	"github.com/seastream/ss/format"
	"github.com/seastream/ss/internal/testkit"
	"github.com/seastream/ss/ssfile"
)

// The reader must never panic or hang on any bytes, nor hand out a message
// whose checksum fails; and what the muxer lays out must read back as
// written, at any beacon interval. Their corpora are in
// testdata/fuzz/<Target>/; a plain go test replays them:
//
//	go test ./ssfile -run=^$ -fuzz=^FuzzReader$ -fuzztime=1m

// FuzzReader reads arbitrary bytes as a file: no panic, no hang, and every
// message handed out has a valid checksum. Seeks on the same bytes must not
// panic either.
func FuzzReader(f *testing.F) {
	for _, v := range testkit.Vectors(f) {
		f.Add(v, "hello", uint64(1), uint64(20))
	}
	f.Fuzz(func(t *testing.T, b []byte, key string, shard, seq uint64) {
		r, err := ssfile.NewBytesReader(b)
		if err != nil {
			return
		}
		ctx := context.Background()
		for range len(b) {
			m, err := r.Next(ctx)
			if err != nil {
				break
			}
			if format.Checksum(m.Payload) != m.Checksum {
				t.Fatalf("message at %d handed out with a bad checksum", m.Offset)
			}
		}
		_ = r.Seek(ssfile.SeqNoTarget(key, shard, seq))
		_ = r.Seek(ssfile.Target{StreamKey: key, ShardID: shard, Timestamp: seq, ByTime: true})
		_ = r.RewindToBeacon(int(seq % 8))
		_ = r.SeekEnd()
	})
}

// FuzzRoundTrip lays out messages derived from the input at a small random
// interval and reads them back.
func FuzzRoundTrip(f *testing.F) {
	f.Add(uint16(0), []byte("hello world, this is a payload"))
	f.Add(uint16(900), bytes.Repeat([]byte{0xAB}, 5000))
	f.Fuzz(func(t *testing.T, iv uint16, data []byte) {
		interval := uint32(128 + int(iv)%2048)
		m := beacon.NewMuxer(interval, 0, nil)
		file, err := m.AppendHeader(nil, format.Header{FileName: "fuzz", BeaconInterval: interval})
		if err != nil {
			t.Fatal(err)
		}
		var want []format.MessageHeader
		var payloads [][]byte
		for i := 0; len(data) > 0; i++ {
			n := 0
			if len(data) >= 2 {
				n = int(binary.BigEndian.Uint16(data)) % (len(data) + 1)
			}
			h := format.MessageHeader{StreamKey: fmt.Sprintf("s%d", i%3), ShardID: uint64(i % 2), SeqNo: uint64(i), Timestamp: uint64(i)}
			file, _, err = m.AppendMessage(file, h, data[:n])
			if err != nil {
				t.Fatal(err)
			}
			want = append(want, h)
			payloads = append(payloads, data[:n])
			data = data[max(n, 1):]
		}
		r, err := ssfile.NewBytesReader(file)
		if err != nil {
			t.Fatal(err)
		}
		for i := range want {
			got, err := r.Next(context.Background())
			if err != nil {
				t.Fatalf("interval %d, message %d: %v", interval, i, err)
			}
			if got.MessageHeader != want[i] || !bytes.Equal(got.Payload, payloads[i]) {
				t.Fatalf("interval %d, message %d differs", interval, i)
			}
		}
		if _, err := r.Next(context.Background()); !errors.Is(err, io.EOF) {
			t.Fatalf("after the last message: %v", err)
		}
	})
}
