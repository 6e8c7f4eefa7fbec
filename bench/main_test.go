package bench

import (
	"fmt"
	"os"
	"testing"
)

// TestMain runs this binary as a group member process when the group
// benchmarks ask for one (groups_test.go), and as the benchmarks otherwise.
func TestMain(m *testing.M) {
	if path := os.Getenv(groupMemberEnv); path != "" {
		if err := groupMember(path); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}
	os.Exit(m.Run())
}
