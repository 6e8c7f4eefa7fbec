package sscheck

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/seastream/ss/beacon"
	"github.com/seastream/ss/format"
	"github.com/seastream/ss/internal/regfile"
)

// RepairOptions says where a repair writes.
type RepairOptions struct {
	// Out is the path of the repaired file. It must not name the input.
	Out string
	// Force lets the repair replace an existing Out.
	Force bool
	// InPlace replaces the input itself (Out must be empty). The input must
	// not be open by a writer (see ssfile's lock).
	InPlace bool
	// From, when not nil, is the state the input goes on from (see From):
	// a segment of a stream directory and its seed. The repaired file goes
	// on from it too, so its markers are those the directory's writer
	// would have written, unless OutFrom.
	From *State
	// OutFrom, when not nil, is the state the repaired file goes on from
	// instead of From: the state the repaired segment before it ended
	// with, once that repair dropped messages (its running checksums, and
	// perhaps its markers written, are no longer those of the input's
	// seed).
	OutFrom *State
}

// Repair writes a new .ss file with every valid message of the file at in,
// in order, with the same header (file name, creation time, beacon
// interval; a damaged header as Scan reads it, with the name length and
// beacon interval the file confirms), laid out by the writer's rules: beacons are rebuilt from the
// kept messages, so a file with nothing to repair is rewritten byte for
// byte, and a repaired file verifies clean but for order problems. What is
// dropped is what Scan reports as lost (see Scan); report receives every
// problem as it is found. A message reported out of order (ErrOrder) is
// kept as it reads, so a repaired file may be reported out of order again:
// nothing tells whether its header or its neighbour's is the damaged one,
// and its payload is intact.
//
// The input is only read, unless InPlace. The output is written to a
// temporary file beside it, synced, then renamed over the target, so that a
// crash never leaves a partial file at the target.
func Repair(in string, o RepairOptions, report func(*Problem) error) (sum Summary, err error) {
	target := o.Out
	switch {
	case o.InPlace && o.Out != "":
		return sum, errors.New("sscheck: repair: give an output path or in-place, not both")
	case o.InPlace:
		target = in
	case o.Out == "":
		return sum, errors.New("sscheck: repair: no output path")
	}
	inInfo, err := os.Stat(in)
	if err != nil {
		return sum, fmt.Errorf("sscheck: repair: %w", err)
	}
	if !o.InPlace {
		if fi, err := os.Stat(target); err == nil {
			if os.SameFile(fi, inInfo) {
				return sum, fmt.Errorf("sscheck: repair: the output %s is the input; repair in place to replace it", target)
			}
			if !o.Force {
				return sum, fmt.Errorf("sscheck: repair: %s: %w (force to replace it)", target, fs.ErrExist)
			}
		}
	}

	var data []byte
	var unmap func()
	if o.InPlace {
		// Lock first, then map what was locked: a writer that appended
		// between the mapping and the lock would be missing from the copy.
		// The lock is held until the copy is renamed over the file.
		f, err := regfile.OpenLocked(in, os.O_RDONLY, 0, ErrLocked)
		if err != nil {
			return sum, fmt.Errorf("sscheck: repair: %w", err)
		}
		defer f.Close()
		if inInfo, err = f.Stat(); err != nil {
			return sum, fmt.Errorf("sscheck: repair: %w", err)
		}
		data, unmap, err = mapOpen(f, in)
	} else {
		data, unmap, err = mapFile(in)
	}
	if err != nil {
		return sum, fmt.Errorf("sscheck: repair: %w", err)
	}
	defer unmap()
	cfg := config{seed: o.From}
	header, headerProblems, err := readHeaderGuarded(data, cfg)
	if err != nil {
		return sum, err
	}

	tmp, err := os.CreateTemp(filepath.Dir(target), "."+filepath.Base(target)+".repair-*")
	if err != nil {
		return sum, fmt.Errorf("sscheck: repair: %w", err)
	}
	done := false
	defer func() {
		if !done {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	bw := bufio.NewWriterSize(tmp, 1<<20)
	outFrom := o.From
	if o.OutFrom != nil {
		outFrom = o.OutFrom
	}
	mux := beacon.NewMuxer(header.BeaconInterval, 0, seedTracker(outFrom))
	buf, err := mux.AppendHeader(nil, header)
	if err != nil {
		return sum, fmt.Errorf("sscheck: repair: header: %w", err)
	}
	if _, err := bw.Write(buf); err != nil {
		return sum, fmt.Errorf("sscheck: repair: %w", err)
	}
	err = guard(func() error {
		var err error
		sum, err = scanAfter(data, header, headerProblems, Visitor{
			Problem: report,
			Message: func(m *Message) error {
				var err error
				if buf, _, err = mux.AppendMessage(buf[:0], m.MessageHeader, m.Payload); err != nil {
					return fmt.Errorf("sscheck: repair: message at offset %d: %w", m.Offset, err)
				}
				_, err = bw.Write(buf)
				return err
			},
		}, releaser(data), cfg)
		return err
	})
	if err != nil {
		return sum, err
	}
	if err := bw.Flush(); err != nil {
		return sum, fmt.Errorf("sscheck: repair: %w", err)
	}
	if err := tmp.Chmod(inInfo.Mode().Perm()); err != nil {
		return sum, fmt.Errorf("sscheck: repair: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		return sum, fmt.Errorf("sscheck: repair: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return sum, fmt.Errorf("sscheck: repair: %w", err)
	}
	if err := os.Rename(tmp.Name(), target); err != nil {
		return sum, fmt.Errorf("sscheck: repair: %w", err)
	}
	done = true
	return sum, syncDir(filepath.Dir(target))
}

// seedTracker returns a tracker that goes on from st, nil for none.
func seedTracker(st *State) *beacon.Tracker {
	if st == nil {
		return nil
	}
	t := new(beacon.Tracker)
	for _, s := range st.Streams {
		t.Set(s)
	}
	t.SetMarkersWritten(st.MarkersWritten)
	return t
}

func readHeaderGuarded(data []byte, cfg config) (h format.Header, p []*Problem, err error) {
	err = guard(func() error {
		var err error
		h, p, err = readHeader(data, releaser(data), cfg)
		return err
	})
	return h, p, err
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sscheck: repair: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sscheck: repair: syncing %s: %w", dir, err)
	}
	return nil
}
