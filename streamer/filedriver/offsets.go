package filedriver

import (
	"cmp"
	"context"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cespare/xxhash/v2"

	"github.com/seastream/ss/format"
	"github.com/seastream/ss/internal/regfile"
	"github.com/seastream/ss/ssdir"
	"github.com/seastream/ss/ssfile"
	"github.com/seastream/ss/streamer/driver"
)

// DefaultGroup returns the group of a Resumable consumer created without
// one: SeaStreamer's per-host Resumable group, driver.HostID() + ":r" (its
// host id: $HOST_ID, the container id, or the MAC address), the name its
// Redis backend uses, so that one host's programs find one position.
func DefaultGroup() string { return driver.HostID() + ":r" }

// OffsetsPath returns the file that keeps the committed position of group
// for the .ss file at path: path + "." + group + ".offsets", the group
// percent-escaped outside [A-Za-z0-9._-] and shortened (with a hash) if long.
// Its commit log is the same path + ".log" (see the package doc). For a
// stream directory (path is a directory) it is inside the directory,
// path/group.offsets, so that the group's files go where the stream goes;
// the directory's writer leaves names other than its segments alone.
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
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return filepath.Join(path, name+".offsets")
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
	// Log is the generation of the commit log that continues this snapshot
	// (0: none). In a log record it is unused.
	Log uint64 `json:"log,omitempty"`
	// Writer and Full are set in log records: the store that wrote it, and
	// whether Streams lists every (stream, shard) or only those that changed
	// since that store's previous record.
	Writer uint64 `json:"writer,omitempty"`
	Full   bool   `json:"full,omitempty"`
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

// offsetStore keeps one group's committed position for one file: a snapshot,
// the JSON offsets file at path (the only form older versions wrote), and a
// commit log beside it, path + ".log".
//
// A commit appends one checksummed record to the log and syncs it: the
// (stream, shard)s returned since the previous commit, with the offset and
// start condition, so that its cost does not grow with streams that did not
// change. A store's first record, and its first after another store
// compacted, lists every (stream, shard). When the log outgrows the last
// full state written (4 times, at least 1 MiB), the commit compacts: it
// writes the full state as a new snapshot (temporary file, fsync, rename,
// fsync of the directory) naming a new log generation, then starts the log
// again with that generation. A log whose generation is not the snapshot's
// (a crash between the two steps) is ignored: the snapshot holds it all.
//
// Loading replays the records of the writer of the last valid record from
// its last full one (or the snapshot it compacted), so the last commit wins
// whole, as with one file; a torn record at the end (a crash mid-commit) is
// ignored and cut by the next commit. Every step holds an exclusive flock
// on the log, which is never renamed or removed, so that consumers of one
// group in several processes do not interleave.
type offsetStore struct {
	path  string
	group string

	mu       sync.Mutex // serialises commits; held while a delta is taken from the consumer
	f        *os.File   // the log, opened by load
	gen      uint64     // log generation last seen
	end      int64      // valid end of the log as last seen; 0: unknown
	based    bool       // this store wrote a full state in generation gen
	writer   uint64     // random id in this store's records
	fullSize int64      // size of the last full state written
	state    position   // this store's committed position (or the loaded one)
	hdr      format.Header
	// compactMin is the log size below which it is never compacted; tests
	// lower it.
	compactMin int64
}

const (
	logMagic      = "ssoffs1\n"
	logHeaderSize = 16
	recHeaderSize = 8 // length, CRC-32C of the body
	maxRecord     = 1 << 30
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func (s *offsetStore) logPath() string { return s.path + ".log" }

// load opens the store and returns the committed position, or ok == false
// if there is none for this file (none was committed, or it was committed
// for another file of the same name: h differs). It removes the temporary
// files of commits that crashed.
func (s *offsetStore) load(h format.Header) (p position, ok bool, err error) {
	s.hdr = h
	s.writer = rand.Uint64() | 1
	s.state = position{seqs: make(map[driver.StreamShard]driver.SeqNo)}
	fail := func(err error) (position, bool, error) {
		return position{}, false, &OffsetsError{Path: s.path, Op: "load", Err: err}
	}
	if s.f, err = os.OpenFile(s.logPath(), os.O_RDWR|os.O_CREATE, 0o644); err != nil {
		return fail(err)
	}
	if err := regfile.LockWait(s.f); err != nil {
		s.close()
		return fail(err)
	}
	defer regfile.Unlock(s.f)
	s.removeTemps()
	snap, exists, err := s.readSnapshot()
	if err != nil || !exists {
		if err != nil {
			s.close()
		}
		return position{}, false, err
	}
	st := snap
	seqs := make(map[driver.StreamShard]driver.SeqNo, len(snap.Streams))
	apply := func(f *offsetsFile) {
		if f.Full {
			clear(seqs)
		}
		for _, x := range f.Streams {
			seqs[driver.StreamShard{Stream: driver.StreamKey(x.Key), Shard: driver.ShardID(x.Shard)}] = driver.SeqNo(x.Seq)
		}
		st.File, st.CreatedAt, st.Offset, st.Last, st.From = f.File, f.CreatedAt, f.Offset, f.Last, f.From
	}
	apply(&snap)
	if snap.Log != 0 {
		data, err := io.ReadAll(io.NewSectionReader(s.f, 0, 1<<62))
		if err != nil {
			s.close()
			return fail(err)
		}
		if gen, ok := logGen(data); ok && gen == snap.Log {
			var recs []offsetsFile
			scanRecords(data, logHeaderSize, func(body []byte) bool {
				var r offsetsFile
				if json.Unmarshal(body, &r) != nil {
					return false
				}
				recs = append(recs, r)
				return true
			})
			if n := len(recs); n > 0 {
				w, from := recs[n-1].Writer, 0
				for i := n - 1; i >= 0; i-- {
					if recs[i].Writer == w && recs[i].Full {
						from = i
						break
					}
				}
				for i := from; i < n; i++ {
					if recs[i].Writer == w {
						apply(&recs[i])
					}
				}
			}
		}
	}
	if st.Offset < format.HeaderSize {
		s.close()
		return fail(fmt.Errorf("%w: offset %d", ErrOffsetsCorrupt, st.Offset))
	}
	if st.File != h.FileName || st.CreatedAt != h.CreatedAt {
		return position{}, false, nil
	}
	p.offset = st.Offset
	p.seqs = seqs
	if l := st.Last; l != nil && l.Offset >= format.HeaderSize {
		p.last = frameID{at: l.Offset, key: l.Key, shard: l.Shard, seq: l.Seq}
	}
	if st.From != nil {
		p.from = &startCond{byTime: st.From.ByTime, ts: st.From.Timestamp, seq: driver.SeqNo(st.From.Seq)}
	}
	s.state = p.clone()
	return p, true, nil
}

// readSnapshot reads the JSON offsets file.
func (s *offsetStore) readSnapshot() (f offsetsFile, exists bool, err error) {
	data, err := os.ReadFile(s.path)
	if errors.Is(err, fs.ErrNotExist) {
		return f, false, nil
	}
	if err != nil {
		return f, false, &OffsetsError{Path: s.path, Op: "load", Err: err}
	}
	if err := json.Unmarshal(data, &f); err != nil {
		return f, false, &OffsetsError{Path: s.path, Op: "load", Err: fmt.Errorf("%w: %w", ErrOffsetsCorrupt, err)}
	}
	if f.Version != 1 || f.Group != s.group || f.Offset < format.HeaderSize {
		return f, false, &OffsetsError{Path: s.path, Op: "load",
			Err: fmt.Errorf("%w: version %d, group %q, offset %d", ErrOffsetsCorrupt, f.Version, f.Group, f.Offset)}
	}
	return f, true, nil
}

// removeTemps removes the temporary files of snapshots whose commit
// crashed: with the log locked, no store of this group is writing one (they
// are written only under the lock). Another group's files never match: a
// temporary name ends in ".tmp-" and digits only.
func (s *offsetStore) removeTemps() {
	dir, base := filepath.Split(s.path)
	if dir == "" {
		dir = "."
	}
	names, err := filepath.Glob(filepath.Join(dir, globEscape(base)+".tmp-*"))
	if err != nil {
		return
	}
	for _, name := range names {
		suffix := strings.TrimPrefix(filepath.Base(name), base+".tmp-")
		if suffix != "" && strings.Trim(suffix, "0123456789") == "" {
			_ = os.Remove(name)
		}
	}
}

func globEscape(s string) string {
	var b strings.Builder
	for _, c := range s {
		if strings.ContainsRune(`*?[\`, c) {
			b.WriteByte('\\')
		}
		b.WriteRune(c)
	}
	return b.String()
}

func (s *offsetStore) close() {
	if s.f != nil {
		s.f.Close()
		s.f = nil
	}
}

// logGen returns the generation in a log's header.
func logGen(data []byte) (uint64, bool) {
	if len(data) < logHeaderSize || string(data[:8]) != logMagic {
		return 0, false
	}
	return binary.LittleEndian.Uint64(data[8:16]), true
}

// scanRecords calls fn with the body of each valid record from off, and
// returns the offset after the last valid one: a torn or damaged record
// ends the log.
func scanRecords(data []byte, off int64, fn func(body []byte) bool) int64 {
	for int64(len(data))-off >= recHeaderSize {
		n := int64(binary.LittleEndian.Uint32(data[off:]))
		sum := binary.LittleEndian.Uint32(data[off+4:])
		if n > int64(len(data))-off-recHeaderSize {
			break
		}
		body := data[off+recHeaderSize : off+recHeaderSize+n]
		if crc32.Checksum(body, castagnoli) != sum || (fn != nil && !fn(body)) {
			break
		}
		off += recHeaderSize + n
	}
	return off
}

// commit stores the position p: if p.seqs is nil, its sequence numbers
// are this store's committed ones updated with delta (the (stream, shard)s
// returned since the last commit), else p.seqs, which the store keeps.
func (s *offsetStore) commit(ctx context.Context, p *position, delta []streamPos) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.f == nil {
		return &OffsetsError{Path: s.path, Op: "commit", Err: fs.ErrClosed}
	}
	// Bring this store's committed state forward; a failed commit leaves it
	// ahead of the files, which is harmless: the next record lists it all.
	s.state.offset, s.state.last, s.state.from = p.offset, p.last, p.from
	rec := offsetsFile{Version: 1, Group: s.group, File: s.hdr.FileName, CreatedAt: s.hdr.CreatedAt, Offset: p.offset, Writer: s.writer, Streams: delta}
	if p.seqs != nil {
		s.state.seqs = p.seqs
		s.based = false
	} else {
		for _, x := range delta {
			s.state.seqs[driver.StreamShard{Stream: driver.StreamKey(x.Key), Shard: driver.ShardID(x.Shard)}] = driver.SeqNo(x.Seq)
		}
	}
	setScalars(&rec, &s.state)
	if err := regfile.LockWait(s.f); err != nil {
		return &OffsetsError{Path: s.path, Op: "commit", Err: err}
	}
	defer regfile.Unlock(s.f)
	if err := s.appendOrCompact(&rec); err != nil {
		s.end, s.based = 0, false
		return &OffsetsError{Path: s.path, Op: "commit", Err: err}
	}
	return nil
}

func setScalars(f *offsetsFile, p *position) {
	if l := p.last; l.at != 0 {
		f.Last = &frameJSON{Offset: l.at, Key: l.key, Shard: l.shard, Seq: l.seq}
	}
	if p.from != nil {
		f.From = &fromJSON{ByTime: p.from.byTime, Timestamp: p.from.ts, Seq: uint64(p.from.seq)}
	}
}

// fullState is this store's committed position in full.
func (s *offsetStore) fullState() offsetsFile {
	f := offsetsFile{Version: 1, Group: s.group, File: s.hdr.FileName, CreatedAt: s.hdr.CreatedAt, Offset: s.state.offset, Writer: s.writer, Full: true}
	setScalars(&f, &s.state)
	f.Streams = make([]streamPos, 0, len(s.state.seqs))
	for ss, seq := range s.state.seqs {
		f.Streams = append(f.Streams, streamPos{Key: string(ss.Stream), Shard: uint64(ss.Shard), Seq: uint64(seq)})
	}
	slices.SortFunc(f.Streams, func(a, b streamPos) int {
		if c := strings.Compare(a.Key, b.Key); c != 0 {
			return c
		}
		return cmp.Compare(a.Shard, b.Shard)
	})
	return f
}

// appendOrCompact writes delta to the log, or the full state if this store
// has none in the log's generation; the log must be locked.
func (s *offsetStore) appendOrCompact(delta *offsetsFile) error {
	var hdr [logHeaderSize]byte
	n, err := s.f.ReadAt(hdr[:], 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	gen, ok := logGen(hdr[:n])
	if !ok {
		return s.compact() // a new log, or a compaction that crashed while starting it
	}
	if gen != s.gen {
		// Another store compacted (or this is the first commit): make sure
		// the snapshot continues into this log, else the records would be
		// ignored.
		snap, exists, err := s.readSnapshot()
		if err != nil || !exists || snap.Log != gen {
			return s.compact()
		}
		s.gen, s.end, s.based = gen, 0, false
	}
	size, err := s.f.Seek(0, io.SeekEnd)
	if err != nil {
		return err
	}
	if s.end == 0 || size != s.end {
		// Others appended, or a commit crashed: find the valid end.
		start := s.end
		if start == 0 || start > size {
			start = logHeaderSize
		}
		data := make([]byte, size-start)
		if _, err := s.f.ReadAt(data, start); err != nil {
			return err
		}
		s.end = start + scanRecords(data, 0, nil)
		if s.end < size {
			if err := s.f.Truncate(s.end); err != nil {
				return err
			}
		}
	}
	rec := delta
	full := !s.based
	if full {
		f := s.fullState()
		rec = &f
	}
	body, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	if len(body) > maxRecord {
		return s.compact()
	}
	buf := make([]byte, recHeaderSize, recHeaderSize+len(body))
	binary.LittleEndian.PutUint32(buf, uint32(len(body)))
	binary.LittleEndian.PutUint32(buf[4:], crc32.Checksum(body, castagnoli))
	buf = append(buf, body...)
	if _, err := s.f.WriteAt(buf, s.end); err != nil {
		_ = s.f.Truncate(s.end)
		return err
	}
	if err := s.f.Sync(); err != nil {
		return err
	}
	s.end += int64(len(buf))
	if full {
		s.based, s.fullSize = true, int64(len(buf))
	}
	if s.end > max(s.compactMin, 4*s.fullSize) {
		// The commit is durable already: a failed compaction only means the
		// next commit tries again.
		if err := s.compact(); err != nil {
			s.end = 0
		}
	}
	return nil
}

// compact writes the full state as the snapshot of a new generation, then
// starts the log of that generation; the log must be locked.
func (s *offsetStore) compact() error {
	f := s.fullState()
	f.Writer, f.Full = 0, false
	f.Log = rand.Uint64() | 1
	data, err := json.MarshalIndent(f, "", "\t")
	if err != nil {
		return err
	}
	if err := writeFileAtomic(s.path, append(data, '\n')); err != nil {
		return err
	}
	s.gen, s.end, s.based, s.fullSize = 0, 0, false, int64(len(data))
	var hdr [logHeaderSize]byte
	copy(hdr[:], logMagic)
	binary.LittleEndian.PutUint64(hdr[8:], f.Log)
	if err := s.f.Truncate(0); err != nil {
		return err
	}
	if _, err := s.f.WriteAt(hdr[:], 0); err != nil {
		return err
	}
	if err := s.f.Sync(); err != nil {
		return err
	}
	s.gen, s.end, s.based = f.Log, logHeaderSize, true
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
	if src.d != nil {
		if err := c.checkSegment(src, p); err != nil {
			return err
		}
	}
	switch {
	case atSegmentStart(p.offset, src.d != nil):
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
		if err := src.rewind(0); err != nil {
			return err
		}
		p.offset = src.pos
		return nil
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
		if err := src.rewind(0); err != nil {
			return err
		}
		off, how = src.pos, "from the beginning, skipping the committed sequence numbers"
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

// unknownSegment reports whether the committed position of a stream
// directory is in a segment after the newest one: the directory was removed
// and written again from scratch (its numbers start at 1 again), so the
// position is another directory's, and the group starts over as with a
// file recreated under its offsets (AutoStreamReset).
func (c *consumer) unknownSegment(src *source, p *position) bool {
	seg, _ := splitDirPos(p.offset)
	segs, err := ssdir.Segments(src.path)
	if err != nil || len(segs) == 0 || seg <= segs[len(segs)-1].Number {
		return false
	}
	c.log.Warn("filedriver: the committed position is in a segment after the newest of the stream directory (was it written again from scratch?); starting over",
		"dir", src.path, "segment", seg, "newest", segs[len(segs)-1].Number, "offsets", c.store.path)
	return true
}

// checkSegment fails the resume of a stream directory whose committed
// position is in a segment retention has deleted since: the messages after
// the position in it are lost for the group, and going on would skip them
// silently. With skip_deleted (WithSkipDeleted) the consumer goes on from
// the oldest segment left instead, logging what it skipped; the committed
// sequence numbers still skip what was returned.
func (c *consumer) checkSegment(src *source, p *position) error {
	seg, _ := splitDirPos(p.offset)
	oldest, err := src.d.oldest()
	if err != nil {
		return err
	}
	if oldest == 0 || seg >= oldest {
		return nil
	}
	if !c.conn.cfg.skipDeleted {
		return &OffsetsError{Path: c.store.path, Op: "load", Err: fmt.Errorf(
			"%w: the group's committed position is in segment %d of %s, which retention deleted before the group read it to its end (the oldest segment left is %d); give skip_deleted=true (filedriver.WithSkipDeleted) to go on from there, losing what was deleted",
			ssdir.ErrSegmentDeleted, seg, src.path, oldest)}
	}
	c.log.Warn("filedriver: the committed position is in a segment retention deleted; going on from the oldest segment left (skip_deleted)",
		"dir", src.path, "segment", seg, "oldest", oldest, "offsets", c.store.path)
	if err := src.rewind(0); err != nil {
		return err
	}
	p.offset, p.last = src.pos, frameID{}
	return nil
}
