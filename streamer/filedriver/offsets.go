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
	"time"

	"github.com/cespare/xxhash/v2"

	"github.com/seastream/ss/format"
	"github.com/seastream/ss/ssfile"
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
	last   frameID                             // the message that ends at offset, if known
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
	Last      *frameJSON  `json:"last,omitempty"` // absent in files written before it was added
	From      *fromJSON   `json:"from,omitempty"`
	Streams   []streamPos `json:"streams,omitempty"`
}

// frameJSON identifies the message before the committed offset, so that a
// resume can check that the offset still means what it meant (ss-repair
// keeps the header but may move every message after a damaged one).
type frameJSON struct {
	Offset int64  `json:"offset"`
	Key    string `json:"key"`
	Shard  uint64 `json:"shard"`
	Seq    uint64 `json:"seq"`
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
	if l := f.Last; l != nil && l.Offset >= format.HeaderSize {
		p.last = frameID{at: l.Offset, key: l.Key, shard: l.Shard, seq: l.Seq}
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
	if l := p.last; l.at != 0 {
		f.Last = &frameJSON{Offset: l.at, Key: l.key, Shard: l.shard, Seq: l.seq}
	}
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

// frameID identifies a message in a file: where its frame starts and its
// (stream, shard, seq), which is unique in a file.
type frameID struct {
	at    int64 // 0: unknown
	key   string
	shard uint64
	seq   uint64
}

func frameIDOf(m *ssfile.Message) frameID {
	return frameID{at: m.Offset, key: m.StreamKey, shard: m.ShardID, seq: m.SeqNo}
}

func (id frameID) is(m *ssfile.Message) bool {
	return m.Offset == id.at && m.StreamKey == id.key && m.ShardID == id.shard && m.SeqNo == id.seq
}

// resume moves src to the committed position p and sets f to go on from it.
//
// The offset is used only once the file confirms it: the message recorded
// before it (p.last) is still where it was, and ends there. A repair
// (ss-repair keeps the header but drops damaged messages, moving the ones
// after them) or any other rewrite makes the check fail; the position is
// then found again by sequence number through the beacons: just after the
// last message returned, or, if that one was dropped, after the latest of
// the last messages returned per (stream, shard) that is still in the file,
// or from the beginning, with the committed sequence numbers skipping what
// was returned. Found again, a resume may deliver a message of a stream
// that had none returned yet a second time from before the committed start,
// but it never skips one. Offsets files written before p.last was recorded
// are checked the same way, through the sequence numbers.
func (c *consumer) resume(src *source, f *filter, p *position) error {
	f.after = p.seqs
	if p.from != nil {
		f.from = p.from.clone()
		f.from.started = make(map[driver.StreamShard]bool, len(p.seqs))
		for ss := range p.seqs {
			f.from.started[ss] = true
		}
	}
	switch {
	case p.offset == format.HeaderSize:
		return src.setOffset(p.offset)
	case p.last.at != 0 && src.confirms(p.last, p.offset):
		return src.setOffset(p.offset)
	case p.last.at == 0 && len(p.seqs) == 0 && p.from != nil:
		// After a Seek or Rewind with nothing returned since: search again,
		// which the file cannot make wrong.
		c.log.Info("filedriver: resuming by searching again for the committed Seek or Rewind target", "offsets", c.store.path)
		f.from = nil
		var err error
		if p.from.byTime {
			err = src.seekTime(f, time.UnixMilli(p.from.ts))
		} else {
			err = src.rewindTo(f, driver.SeqPos{Kind: driver.SeqPosAt, Seq: p.from.seq})
		}
		p.offset, p.last = src.pos, frameID{}
		return err
	case p.last.at == 0 && len(p.seqs) == 0:
		// Nothing to check against (an offsets file of an older version,
		// committed at the end before anything was read): use the offset if a
		// message or the end of the file is there.
		if src.frameAt(p.offset) {
			return src.setOffset(p.offset)
		}
		c.log.Warn("filedriver: the committed offset is not at a message of the file (was it repaired?); resuming from the beginning, skipping the committed sequence numbers",
			"offsets", c.store.path, "offset", p.offset)
		p.offset = format.HeaderSize
		return src.setOffset(p.offset)
	}
	off, last, how := int64(0), frameID{}, ""
	if p.last.at != 0 {
		if end, id, ok := src.endOf(p.last.key, p.last.shard, p.last.seq); ok {
			off, last, how = end, id, "after the last message returned"
		}
	}
	if off == 0 {
		for ss, seq := range p.seqs {
			if end, id, ok := src.endOf(string(ss.Stream), uint64(ss.Shard), uint64(seq)); ok && end > off {
				off, last, how = end, id, "after the latest message returned that is still in the file"
			}
		}
	}
	if off == 0 {
		off, how = format.HeaderSize, "from the beginning, skipping the committed sequence numbers"
	}
	if p.last.at == 0 && off == p.offset {
		p.last = last
		return src.setOffset(off) // an older offsets file, confirmed
	}
	c.log.Warn("filedriver: the committed offset no longer matches the file (was it repaired?); found the position again by sequence number",
		"offsets", c.store.path, "offset", p.offset, "resume_at", off, "how", how)
	p.offset, p.last = off, last
	return src.setOffset(off)
}
