package ssdecode

import (
	"context"
	"errors"

	"github.com/seastream/ss/ssfile"
)

// TornTail reports whether the file at path ends in the middle of a message,
// reading only its end: it returns the warning Run gives for it, or nil. For
// tools that read the file otherwise (ss-relay) and should warn as ss-decode
// does.
func TornTail(path string) (*Warning, error) {
	r, err := ssfile.Open(path, ssfile.WithMode(ssfile.Replay))
	if err != nil {
		return nil, err
	}
	defer r.Close()
	if err := r.SeekEnd(); err != nil {
		return nil, err
	}
	if _, err := r.Next(context.Background()); errors.Is(err, ssfile.ErrTornTail) {
		return tornWarning(r, err), nil
	}
	return nil, nil
}
