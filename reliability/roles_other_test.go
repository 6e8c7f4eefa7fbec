//go:build !linux

package reliability

import "errors"

// The helper roles of the tests that run on Linux only (_linux_test.go), for
// helperMain in load_test.go to name elsewhere, where no test starts them.
// A role added to a _linux_test.go file needs its line here, or the
// cross-builds of CI fail.

var errLinuxRole = errors.New("this helper role belongs to a test that runs on Linux only")

// committerRole is TestOperationsCost's.
func committerRole() error { return errLinuxRole }

// memberRole is TestGroupsAcrossProcesses'.
func memberRole(string) error { return errLinuxRole }

// dirWriterRole is TestStreamDirectoryKills'.
func dirWriterRole(string) error { return errLinuxRole }
