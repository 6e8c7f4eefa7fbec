//go:build !unix

package testkit

import "time"

// ProcessCPU returns 0: getrusage is not available here, so a benchmark's
// CPU metric reads 0 rather than a wrong number.
func ProcessCPU() time.Duration { return 0 }

// PeakRSS returns 0: getrusage is not available here, so a memory check
// has nothing to compare.
func PeakRSS() int64 { return 0 }
