package filedriver

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/cespare/xxhash/v2"

	"github.com/seastream/ss/format"
	"github.com/seastream/ss/streamer/driver"
)

// DefaultGroup returns the group of a Resumable consumer created without
// one: "host-" followed by the host name (os.Hostname), or "host-localhost"
// if the name is unknown. It is stable across restarts of the host's
// processes, like SeaStreamer's per-host group id, so that a restarted
// program resumes where it committed.
func DefaultGroup() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		h = "localhost"
	}
	return "host-" + h
}

// OffsetsPath returns the file that keeps the committed position of group
// for the .ss file at path: path + "." + group + ".offsets", the group
// percent-escaped outside [A-Za-z0-9._-] and shortened (with a hash) if long.
func OffsetsPath(path, group string) string {
	var b strings.Builder
	for i := 0; i < len(group); i++ {
		c := group[i]
		if driver.IsStreamKeyByte(c) {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	name := b.String()
	if len(name) > 96 {
		var h [8]byte
		sum := xxhash.Sum64String(group)
		for i := range h {
			h[i] = byte(sum >> (56 - 8*i))
		}
		name = name[:80] + "-" + hex.EncodeToString(h[:])
	}
	return path + "." + name + ".offsets"
}

// position is what a Resumable consumer commits: where to read next, and
// what it has returned of each (stream, shard) since its last Seek or Rewind.
type position struct {
	offset int64                               // of the next message to read
	seqs   map[driver.StreamShard]driver.SeqNo // last returned, per (stream, shard)
	from   *startCond                          // start condition of the last Seek or Rewind; started is unused
}

func (p position) clone() position {
	c := p
	c.seqs = make(map[driver.StreamShard]driver.SeqNo, len(p.seqs))
	for k, v := range p.seqs {
		c.seqs[k] = v
	}
	return c
}

// offsetsFile is the JSON form of a committed position.
type offsetsFile struct {
	Version   int         `json:"version"`
	Group     string      `json:"group"`
	File      string      `json:"file"`       // file name in the .ss header
	CreatedAt uint64      `json:"created_at"` // creation time in the .ss header, ms
	Offset    int64       `json:"offset"`
	From      *fromJSON   `json:"from,omitempty"`
	Streams   []streamPos `json:"streams,omitempty"`
}

type fromJSON struct {
	ByTime    bool   `json:"by_time"`
	Timestamp int64  `json:"timestamp,omitempty"` // ms
	Seq       uint64 `json:"seq,omitempty"`
}

type streamPos struct {
	Key   string `json:"key"`
	Shard uint64 `json:"shard"`
	Seq   uint64 `json:"seq"`
}

// offsetStore reads and writes one group's offsets file.
type offsetStore struct {
	path  string
	group string
}

// load returns the committed position, or ok == false if there is none for
// this file (none was committed, or it was committed for another file of the
// same name: h differs).
func (s *offsetStore) load(h format.Header) (p position, ok bool, err error) {
	data, err := os.ReadFile(s.path)
	if errors.Is(err, fs.ErrNotExist) {
		return p, false, nil
	}
	if err != nil {
		return p, false, &OffsetsError{Path: s.path, Op: "load", Err: err}
	}
	var f offsetsFile
	if err := json.Unmarshal(data, &f); err != nil {
		return p, false, &OffsetsError{Path: s.path, Op: "load", Err: fmt.Errorf("%w: %w", ErrOffsetsCorrupt, err)}
	}
	if f.Version != 1 || f.Group != s.group || f.Offset < format.HeaderSize {
		return p, false, &OffsetsError{Path: s.path, Op: "load",
			Err: fmt.Errorf("%w: version %d, group %q, offset %d", ErrOffsetsCorrupt, f.Version, f.Group, f.Offset)}
	}
	if f.File != h.FileName || f.CreatedAt != h.CreatedAt {
		return p, false, nil
	}
	p.offset = f.Offset
	p.seqs = make(map[driver.StreamShard]driver.SeqNo, len(f.Streams))
	for _, s := range f.Streams {
		p.seqs[driver.StreamShard{Stream: driver.StreamKey(s.Key), Shard: driver.ShardID(s.Shard)}] = driver.SeqNo(s.Seq)
	}
	if f.From != nil {
		p.from = &startCond{byTime: f.From.ByTime, ts: f.From.Timestamp, seq: driver.SeqNo(f.From.Seq)}
	}
	return p, true, nil
}

// save replaces the offsets file with p, crash-safely: it writes a
// temporary file in the same directory, syncs it, renames it over the old
// one and syncs the directory. After a crash the file holds either the old
// position or the new one, never a mix; a stray "*.tmp-*" file may be left,
// which is ignored.
func (s *offsetStore) save(ctx context.Context, h format.Header, p position) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	f := offsetsFile{Version: 1, Group: s.group, File: h.FileName, CreatedAt: h.CreatedAt, Offset: p.offset}
	if p.from != nil {
		f.From = &fromJSON{ByTime: p.from.byTime, Timestamp: p.from.ts, Seq: uint64(p.from.seq)}
	}
	for ss, seq := range p.seqs {
		f.Streams = append(f.Streams, streamPos{Key: string(ss.Stream), Shard: uint64(ss.Shard), Seq: uint64(seq)})
	}
	slices.SortFunc(f.Streams, func(a, b streamPos) int {
		if c := strings.Compare(a.Key, b.Key); c != 0 {
			return c
		}
		switch {
		case a.Shard < b.Shard:
			return -1
		case a.Shard > b.Shard:
			return 1
		}
		return 0
	})
	data, err := json.MarshalIndent(f, "", "\t")
	if err != nil {
		return &OffsetsError{Path: s.path, Op: "commit", Err: err}
	}
	if err := writeFileAtomic(s.path, append(data, '\n')); err != nil {
		return &OffsetsError{Path: s.path, Op: "commit", Err: err}
	}
	return nil
}

// writeFileAtomic replaces path with data: temp file, fsync, rename, fsync
// of the directory.
func writeFileAtomic(path string, data []byte) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, base+".tmp-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err = tmp.Write(data); err != nil {
		return err
	}
	if err = tmp.Sync(); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
