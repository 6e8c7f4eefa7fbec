package sscheck

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/seastream/ss/format"
	"github.com/seastream/ss/internal/testkit"
	"github.com/seastream/ss/ssfile"
)

// found is a message as one of the two readers of the format gives it.
type found struct {
	h       format.MessageHeader
	offset  int64
	payload string
}

func (f found) String() string {
	return fmt.Sprintf("%s/%d #%d at %d (%d bytes)", f.h.StreamKey, f.h.ShardID, f.h.SeqNo, f.offset, len(f.payload))
}

// strictRead reads data with ssfile's Reader, the strict path: every message
// up to the first damage, and whether it read the whole file cleanly.
func strictRead(data []byte) (msgs []found, clean, ok bool) {
	r, err := ssfile.NewBytesReader(data)
	if err != nil {
		return nil, false, false
	}
	defer r.Close()
	for {
		m, err := r.Next(context.Background())
		if errors.Is(err, io.EOF) {
			return msgs, true, true
		}
		if err != nil {
			return msgs, false, true
		}
		msgs = append(msgs, found{m.MessageHeader, m.Offset, string(m.Payload)})
	}
}

// tolerantRead reads data with Scan, the tolerant path behind ss-verify and
// ss-repair: every valid message it finds.
func tolerantRead(data []byte) ([]found, int64, error) {
	var msgs []found
	sum, err := Scan(data, Visitor{Message: func(m *Message) error {
		msgs = append(msgs, found{m.MessageHeader, m.Offset, string(m.Payload)})
		return nil
	}})
	return msgs, sum.Problems, err
}

// FuzzStrictTolerantAgree reads random and damaged files with both readers
// of the format (issue 17, item 1): the tolerant scan must find every
// message the strict Reader returns, the same, in the same order, before
// whatever else it finds after damage; and on a file the strict Reader reads
// whole, exactly those.
func FuzzStrictTolerantAgree(f *testing.F) {
	for _, v := range testkit.Vectors(f) {
		f.Add(v)
	}
	rng := rand.New(rand.NewPCG(3, 17))
	for i := range 6 {
		path := filepath.Join(f.TempDir(), fmt.Sprintf("seed%d.ss", i))
		w, err := ssfile.Create(path, ssfile.WithAnyBeaconInterval(128+uint32(i)*64))
		if err != nil {
			f.Fatal(err)
		}
		for j := range 40 {
			p := make([]byte, rng.IntN(300))
			for k := range p {
				p[k] = byte(rng.Uint32())
			}
			h := format.MessageHeader{StreamKey: fmt.Sprintf("s%d", j%3), ShardID: uint64(j % 2), SeqNo: uint64(j/6 + 1), Timestamp: uint64(1700000000000 + j)}
			if err := w.Write(h, p); err != nil {
				f.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			f.Fatal(err)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
		damaged := bytes.Clone(data)
		damaged[rng.IntN(len(damaged)-format.HeaderSize)+format.HeaderSize] ^= 1 << rng.IntN(8)
		f.Add(damaged)
		f.Add(data[:len(data)-rng.IntN(200)-1])
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		strict, clean, ok := strictRead(data)
		if !ok {
			return // no readable header: nothing to compare
		}
		tolerant, problems, err := tolerantRead(data)
		if err != nil {
			t.Fatalf("the strict Reader read the header, the scan did not: %v", err)
		}
		if len(tolerant) < len(strict) {
			t.Fatalf("the scan found %d messages, the strict Reader returned %d", len(tolerant), len(strict))
		}
		for i, m := range strict {
			if tolerant[i] != m {
				t.Fatalf("message %d: strict %v, tolerant %v", i, m, tolerant[i])
			}
		}
		if clean && len(tolerant) != len(strict) {
			t.Fatalf("the strict Reader read the whole file (%d messages), the scan found %d (%d problems)", len(strict), len(tolerant), problems)
		}
	})
}
