package filedriver

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/seastream/ss/internal/regfile"
)

// A lease makes one consumer at a time, in any process of the host, the
// holder of a group's position: an exclusive flock on a file beside the
// offsets store, held from NewConsumer to Close. The kernel drops it when
// the process dies, so a crashed holder never blocks the next one. The file
// holds who has it (pid, host, since when), for the error of the next
// consumer that asks.
//
// Without it, two processes reading one Resumable group each read the whole
// stream and the last commit won: silent duplicates.
type lease struct{ f *os.File }

// leasePath is the lease file of the group whose store is at store.
func leasePath(store string) string { return store + ".lease" }

// takeLease takes the lease of group for file, or fails with a
// *GroupBusyError naming its holder.
func takeLease(file, group, store string) (*lease, error) {
	path := leasePath(store)
	f, err := regfile.OpenLocked(path, os.O_RDWR|os.O_CREATE, 0o644, ErrGroupBusy)
	if errors.Is(err, ErrGroupBusy) {
		holder, _ := os.ReadFile(path)
		return nil, &GroupBusyError{File: file, Group: group, Lease: path, Holder: strings.TrimSpace(string(holder))}
	}
	if err != nil {
		return nil, &OffsetsError{Path: path, Op: "lease", Err: err}
	}
	host, _ := os.Hostname()
	who := fmt.Sprintf("pid %d on %s since %s\n", os.Getpid(), host, time.Now().UTC().Format(time.RFC3339))
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(who), 0) // only for the message of who asks next
	}
	return &lease{f: f}, nil
}

// release gives the lease up.
func (l *lease) release() {
	if l != nil && l.f != nil {
		l.f.Close()
		l.f = nil
	}
}
