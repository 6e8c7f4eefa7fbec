//go:build !linux

package reliability

import "errors"

// committerRole is a role of TestOperationsCost, which runs on Linux only
// (it reads /proc); elsewhere no test starts it.
func committerRole() error {
	return errors.New("the committer role belongs to TestOperationsCost, which runs on Linux only")
}
