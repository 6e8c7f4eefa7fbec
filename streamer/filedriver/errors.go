package filedriver

import (
	"errors"
	"fmt"
)

// Scheme is the URI scheme the file driver serves.
const Scheme = "file"

var (
	// ErrOffsetsCorrupt is returned by NewConsumer when the committed
	// position of a Resumable consumer's group cannot be decoded. The store
	// is replaced atomically, so this means damage from outside (a disk
	// error, an edit): remove the file named in the *OffsetsError to start
	// the group over from its AutoStreamReset.
	ErrOffsetsCorrupt = errors.New("filedriver: the committed offsets file is damaged: remove it to start the group over")

	// ErrGroupMismatch is returned by NewConsumer when a LoadBalanced member
	// joins a group of this process whose members read differently (replay
	// or not): members of one group share one reader, so they must agree.
	ErrGroupMismatch = errors.New("filedriver: consumers of one group must use the same replay option")

	// ErrGroupBusy is matched by the *GroupBusyError of NewConsumer when
	// another consumer, in this process or another, holds the group: a
	// Resumable group's position is read and committed by one consumer at a
	// time.
	ErrGroupBusy = errors.New("filedriver: the group is held by another consumer")
)

// GroupBusyError is NewConsumer's error when another consumer holds the
// group (see ErrGroupBusy).
type GroupBusyError struct {
	File   string // the .ss file
	Group  string
	Lease  string // the lease file
	Holder string // who holds it, as it wrote in the lease file ("pid 12 on host since ...")
}

func (e *GroupBusyError) Error() string {
	holder := e.Holder
	if holder == "" {
		holder = "another consumer"
	}
	return fmt.Sprintf("%v: Resumable group %q of %s is held by %s (lease %s); one consumer at a time holds a Resumable group's position: close that consumer, or give this one another group", ErrGroupBusy, e.Group, e.File, holder, e.Lease)
}

func (e *GroupBusyError) Unwrap() error { return ErrGroupBusy }

// OffsetsError reports a problem with the file that keeps a group's
// committed position.
type OffsetsError struct {
	Path string // the offsets file
	Op   string // "load" or "commit"
	Err  error
}

func (e *OffsetsError) Error() string {
	return fmt.Sprintf("filedriver: %s committed offsets %s: %v", e.Op, e.Path, e.Err)
}

func (e *OffsetsError) Unwrap() error { return e.Err }
