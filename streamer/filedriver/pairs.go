package filedriver

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"log/slog"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cespare/xxhash/v2"

	"github.com/seastream/ss/internal/regfile"
	"github.com/seastream/ss/streamer/driver"
)

// A pair group is a LoadBalanced group shared by consumers in any process of
// the host, as Kafka shares partitions: each (stream, shard) pair of the
// file is owned by one member at a time, which receives all its messages in
// order; members join, leave and die, and the pairs move between them. Its
// state is a directory beside the file, GroupDir(file, group):
//
//	start            where the group began reading, and the streams it reads
//	members/<id>     one per member, under the member's flock while it lives
//	pairs/<key>~<n>  one per pair: the owner's flock, and the pair's position
//
// A member is alive while it holds the flock on its file: the kernel drops
// the flock when the process dies, so no heartbeat has to time out. Every
// heartbeat (DefaultHeartbeat) each member lists the members, removes the
// files of dead ones (those whose flock it can take), and computes each
// pair's owner from the live members by rendezvous hashing, so that all
// members agree without talking and a change of members moves few pairs. A
// member takes a pair it owns by taking its flock (the previous owner may
// still hold it for a heartbeat: it is taken then), reads the pair's
// position from its file, and delivers the pair's messages from there; it
// gives a pair it no longer owns up by writing its position (after the last
// message Next returned) and letting the flock go. Commit writes the
// positions of the pairs a member holds. So a member that leaves or loses a
// pair in a rebalance hands on exactly what it returned, and a member that
// dies hands on its last commit: the messages it returned after that are
// delivered again, and only those.
//
// The position of a pair is written in place, in one of two checksummed
// slots in turn, so that a crash during a write leaves the other one: the
// pair file is never replaced, as its flock is what ownership is. A pair
// file is created, by the first member that reads one of the pair's
// messages, with the offset of that message as its position (written to a
// temporary file linked into place, so that no member sees it empty).
//
// Each member reads the whole file from the group's start, skipping what it
// does not own: reading is cheap next to delivering, and it sees every
// pair's first message whoever owns it.
type pairGroup struct {
	dir   string
	id    string
	self  *os.File // members/<id>, flocked
	start int64
	beat  time.Duration
	log   *slog.Logger
	// settle moves a position at the end of a sealed segment of a stream
	// directory to the start of the next (config.settled); nil for a file.
	settle func(int64) int64

	mu    sync.Mutex
	held  map[driver.StreamShard]*pairHold
	known map[driver.StreamShard]bool // a pair file exists
	live  []string                    // the members of the last heartbeat
	gone  bool                        // left: nothing is admitted any more

	wake     chan struct{}
	stop     chan struct{}
	stopOnce sync.Once
	done     chan struct{}
}

// pairHold is a pair a member holds.
type pairHold struct {
	f         *os.File // the pair file, flocked
	next      int64    // deliver the pair's messages at offsets >= next
	committed int64    // next as last written
	seq       uint64   // of the slot last written
	// ready: the reader was moved back to next since the pair was taken.
	// Until then what the queue holds of it may come from after next (read
	// when the member held it before), and handing that out would skip
	// what lies between.
	ready bool
}

// DefaultHeartbeat is how often a member of a pair group looks at the
// members: a rebalance after a member joins, leaves or dies takes about one
// heartbeat, at most two.
const DefaultHeartbeat = 250 * time.Millisecond

// GroupDir returns the directory that holds the state of the LoadBalanced
// group for the file at path: path + "." + group + ".group", the group
// escaped as in OffsetsPath; for a stream directory, inside it:
// path/group.group.
func GroupDir(path, group string) string {
	return strings.TrimSuffix(OffsetsPath(path, group), ".offsets") + ".group"
}

// ErrGroupStreams is matched by NewConsumer's error when a LoadBalanced
// member of a pair group subscribes other streams than the group reads:
// pairs go to members that read them, so members must agree.
var ErrGroupStreams = errors.New("filedriver: the members of a LoadBalanced group must subscribe the same streams")

// joinPairGroup makes a member of the group. start is where a group that
// does not exist yet begins (the reader's position).
func joinPairGroup(path, group string, streams []driver.StreamKey, start int64, id string, beat time.Duration, log *slog.Logger) (*pairGroup, error) {
	dir := GroupDir(path, group)
	for _, d := range []string{dir, filepath.Join(dir, "members"), filepath.Join(dir, "pairs")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, &driver.BackendError{Backend: Scheme, Op: "join the group", Err: err}
		}
	}
	names := make([]string, len(streams))
	for i, k := range streams {
		names[i] = string(k)
	}
	slices.Sort(names)
	st, err := groupStart(dir, start, strings.Join(names, ","))
	if err != nil {
		return nil, err
	}
	if id == "" {
		id = fmt.Sprintf("%d-%08x", os.Getpid(), rand.Uint32())
	}
	if !validMemberID(id) {
		return nil, &driver.OptionError{Scheme: Scheme, Name: "ConsumerID", Value: id, Reason: "a group member's id must be 1 to 100 characters of [A-Za-z0-9._-]", Err: driver.ErrInvalidOption}
	}
	self, err := regfile.OpenLocked(filepath.Join(dir, "members", id), os.O_RDWR|os.O_CREATE, 0o644, ErrGroupBusy)
	if err != nil {
		if errors.Is(err, ErrGroupBusy) {
			return nil, fmt.Errorf("%w: a member with id %q is in group %q already", ErrGroupBusy, id, group)
		}
		return nil, &driver.BackendError{Backend: Scheme, Op: "join the group", Err: err}
	}
	g := &pairGroup{
		dir: dir, id: id, self: self, start: st, beat: beat, log: log,
		held: make(map[driver.StreamShard]*pairHold), known: make(map[driver.StreamShard]bool),
		wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{}),
	}
	return g, nil
}

func validMemberID(id string) bool {
	if id == "" || len(id) > 100 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if !driver.IsStreamKeyByte(id[i]) {
			return false
		}
	}
	return true
}

// groupStart reads the group's start file, or creates it with start and
// streams. A member that subscribes other streams gets ErrGroupStreams.
func groupStart(dir string, start int64, streams string) (int64, error) {
	path := filepath.Join(dir, "start")
	if err := createWith(path, []byte(fmt.Sprintf("%d %s\n", start, streams))); err != nil && !errors.Is(err, fs.ErrExist) {
		return 0, &driver.BackendError{Backend: Scheme, Op: "join the group", Err: err}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, &driver.BackendError{Backend: Scheme, Op: "join the group", Err: err}
	}
	off, have, ok := strings.Cut(strings.TrimSuffix(string(data), "\n"), " ")
	n, perr := strconv.ParseInt(off, 10, 64)
	if !ok || perr != nil {
		return 0, &OffsetsError{Path: path, Op: "load", Err: fmt.Errorf("%w: the group's start file holds %q", ErrOffsetsCorrupt, data)}
	}
	if have != streams {
		return 0, fmt.Errorf("%w: the group reads %q, this member subscribes %q: %w", ErrGroupStreams, have, streams, driver.ErrInvalidOption)
	}
	return n, nil
}

// createWith creates path holding data, atomically: other processes see no
// file or the whole of it. It fails with fs.ErrExist if path exists.
func createWith(path string, data []byte) error {
	tmp := fmt.Sprintf("%s.tmp-%d-%x", path, os.Getpid(), rand.Uint32())
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Link(tmp, path) // fails if path exists: never replaces
	}
	os.Remove(tmp)
	if err == nil {
		err = syncDir(filepath.Dir(path))
	}
	return err
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// pairName is the file name of a pair: stream keys have no '~'.
func pairName(ss driver.StreamShard) string {
	return string(ss.Stream) + "~" + strconv.FormatUint(uint64(ss.Shard), 10)
}

func parsePairName(name string) (driver.StreamShard, bool) {
	key, shard, ok := strings.Cut(name, "~")
	n, err := strconv.ParseUint(shard, 10, 64)
	if !ok || err != nil || key == "" || strings.Contains(name, ".tmp-") {
		return driver.StreamShard{}, false
	}
	return driver.StreamShard{Stream: driver.StreamKey(key), Shard: driver.ShardID(n)}, true
}

// A pair file holds two slots of slotSize bytes: magic, record sequence,
// position, CRC-32C of the 20 bytes before it. The slot with the highest
// valid sequence is the position.
const (
	slotSize  = 32
	slotMagic = "SSGP"
)

func encodeSlot(seq uint64, next int64) []byte {
	b := make([]byte, slotSize)
	copy(b, slotMagic)
	binary.BigEndian.PutUint64(b[4:], seq)
	binary.BigEndian.PutUint64(b[12:], uint64(next))
	binary.BigEndian.PutUint32(b[20:], crc32.Checksum(b[:20], castagnoli))
	return b
}

// readSlots returns the position in the pair file's data and the sequence
// of its slot; ok is false if no slot is valid.
func readSlots(data []byte) (next int64, seq uint64, ok bool) {
	for i := 0; i+24 <= len(data) && i < 2*slotSize; i += slotSize {
		b := data[i:]
		if string(b[:4]) != slotMagic || crc32.Checksum(b[:20], castagnoli) != binary.BigEndian.Uint32(b[20:]) {
			continue
		}
		if s := binary.BigEndian.Uint64(b[4:]); !ok || s > seq {
			seq, next, ok = s, int64(binary.BigEndian.Uint64(b[12:])), true
		}
	}
	return next, seq, ok
}

// ensurePair creates the pair file if it does not exist, with the offset of
// the pair's first message, at, as its position. It runs under g.mu.
func (g *pairGroup) ensurePair(ss driver.StreamShard, at int64) {
	if g.known[ss] {
		return
	}
	err := createWith(filepath.Join(g.dir, "pairs", pairName(ss)), encodeSlot(1, at))
	if err != nil && !errors.Is(err, fs.ErrExist) {
		g.log.Warn("filedriver: creating a pair of the group", "dir", g.dir, "pair", pairName(ss), "err", err)
		return // tried again at its next message
	}
	g.known[ss] = true
	select {
	case g.wake <- struct{}{}:
	default:
	}
}

// admit reports whether the reader should hand on a message of ss at
// offset at: the member holds ss and has not returned it yet.
func (g *pairGroup) admit(ss driver.StreamShard, at int64) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.gone {
		return false
	}
	g.ensurePair(ss, at)
	h := g.held[ss]
	return h != nil && at >= h.next
}

// handOut is admit at Next, which returns the message if it reports true:
// the pair's position moves past it.
func (g *pairGroup) handOut(it *item) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	h := g.held[it.msg.StreamShard()]
	if g.gone || h == nil || !h.ready || it.at < h.next {
		return false
	}
	h.next = it.next
	return true
}

// oldest returns the lowest position of the pairs held, or MaxInt64.
func (g *pairGroup) oldest() int64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	at := int64(math.MaxInt64)
	for _, h := range g.held {
		at = min(at, h.next)
	}
	return at
}

// markReady marks every pair held as ready; the caller has moved the
// reader back to their positions and emptied the queue.
func (g *pairGroup) markReady() {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, h := range g.held {
		h.ready = true
	}
}

// owner returns the member of live that owns ss: the highest score.
func owner(live []string, ss driver.StreamShard) string {
	var best string
	var bestScore uint64
	key := pairName(ss)
	for _, m := range live {
		if s := xxhash.Sum64String(m + "\x00" + key); best == "" || s > bestScore {
			best, bestScore = m, s
		}
	}
	return best
}

// liveMembers lists the members, removing the files of dead ones: those
// whose flock can be taken.
func (g *pairGroup) liveMembers() ([]string, error) {
	dir := filepath.Join(g.dir, "members")
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	live := []string{g.id}
	for _, e := range entries {
		name := e.Name()
		if name == g.id {
			continue
		}
		f, err := regfile.OpenLocked(filepath.Join(dir, name), os.O_RDWR, 0, ErrGroupBusy)
		switch {
		case errors.Is(err, ErrGroupBusy):
			live = append(live, name) // its member holds it
		case err == nil:
			os.Remove(f.Name()) // dead: its process let go
			f.Close()
		case errors.Is(err, fs.ErrNotExist):
		default:
			return nil, err
		}
	}
	slices.Sort(live)
	return live, nil
}

// balance is one heartbeat: it takes the pairs this member owns and gives
// up those it does not. It returns the positions of the pairs it took.
func (g *pairGroup) balance() (took []int64, err error) {
	live, err := g.liveMembers()
	if err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(filepath.Join(g.dir, "pairs"))
	if err != nil {
		return nil, err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.gone {
		return nil, nil
	}
	if !slices.Equal(live, g.live) {
		g.log.Debug("filedriver: group members", "dir", g.dir, "members", live)
		g.live = live
	}
	for _, e := range entries {
		if ss, ok := parsePairName(e.Name()); ok {
			g.known[ss] = true
		}
	}
	for ss, h := range g.held {
		if owner(live, ss) != g.id {
			if err := g.giveUp(ss, h); err != nil {
				return took, err
			}
		}
	}
	for ss := range g.known {
		if g.held[ss] != nil || owner(live, ss) != g.id {
			continue
		}
		h, err := g.take(ss)
		if err != nil {
			return took, err
		}
		if h != nil {
			g.held[ss] = h
			took = append(took, h.next)
		}
	}
	return took, nil
}

// take takes the flock of a pair and reads its position, or returns nil if
// another member still holds it.
func (g *pairGroup) take(ss driver.StreamShard) (*pairHold, error) {
	f, err := regfile.OpenLocked(filepath.Join(g.dir, "pairs", pairName(ss)), os.O_RDWR, 0, ErrGroupBusy)
	if errors.Is(err, ErrGroupBusy) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	data := make([]byte, 2*slotSize)
	n, _ := f.ReadAt(data, 0)
	next, seq, ok := readSlots(data[:n])
	if !ok {
		f.Close()
		return nil, &OffsetsError{Path: f.Name(), Op: "load", Err: fmt.Errorf("%w: no valid position in the pair file", ErrOffsetsCorrupt)}
	}
	g.log.Debug("filedriver: took a pair", "dir", g.dir, "pair", pairName(ss), "offset", next)
	return &pairHold{f: f, next: next, committed: next, seq: seq}, nil
}

// write stores the pair's position if it moved.
func (h *pairHold) write(settle func(int64) int64) error {
	if h.next == h.committed {
		return nil
	}
	seq, next := h.seq+1, h.next
	if settle != nil {
		next = settle(next)
	}
	if _, err := h.f.WriteAt(encodeSlot(seq, next), int64(seq%2)*slotSize); err != nil {
		return err
	}
	if err := h.f.Sync(); err != nil {
		return err
	}
	h.seq, h.committed = seq, h.next
	return nil
}

// giveUp writes the pair's position and lets it go. It runs under g.mu.
func (g *pairGroup) giveUp(ss driver.StreamShard, h *pairHold) error {
	err := h.write(g.settle)
	h.f.Close()
	delete(g.held, ss)
	g.log.Debug("filedriver: gave a pair up", "dir", g.dir, "pair", pairName(ss), "offset", h.next)
	if err != nil {
		return &OffsetsError{Path: h.f.Name(), Op: "commit", Err: err}
	}
	return nil
}

// commit writes the positions of the pairs held.
func (g *pairGroup) commit() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	var errs []error
	for _, h := range g.held {
		if err := h.write(g.settle); err != nil {
			errs = append(errs, &OffsetsError{Path: h.f.Name(), Op: "commit", Err: err})
		}
	}
	return errors.Join(errs...)
}

// leave gives every pair up and removes the member.
func (g *pairGroup) leave() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.gone {
		return nil
	}
	g.gone = true
	var errs []error
	for ss, h := range g.held {
		if err := g.giveUp(ss, h); err != nil {
			errs = append(errs, err)
		}
	}
	os.Remove(g.self.Name())
	g.self.Close()
	return errors.Join(errs...)
}
