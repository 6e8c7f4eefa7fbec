package ssfile

import (
	"fmt"
	"os"

	"github.com/seastream/ss/internal/regfile"
)

// ErrNotRegular means the path names a named pipe, a device, a directory or
// anything else than a regular file. Open, Create and Append refuse such a
// path before opening it for data, so that a named pipe cannot block them;
// the error names the path and what it is. Give the path of a .ss file.
var ErrNotRegular = regfile.ErrNotRegular

// openLocked opens the regular file at path for writing and takes the
// writer's lock on the file the path names (see regfile.OpenLocked); op
// names the caller in errors.
func openLocked(op, path string, flag int) (*os.File, error) {
	f, err := regfile.OpenLocked(path, flag, 0o644, ErrLocked)
	if err != nil {
		return nil, fmt.Errorf("ssfile: %s: %w", op, err)
	}
	return f, nil
}
