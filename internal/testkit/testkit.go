// Package testkit holds what the tests of several packages share: how a
// test that tries every case (every byte offset, every bit) samples them
// under `go test -short`, so that the README's quick test command stays
// within minutes while CI still runs every case; the bounded context of a
// test (Context); the sample files that seed fuzz targets (Vectors); and
// benchmark helpers (ReportPercentiles, GrowthRatio, ProcessCPU).
//
// It imports no package of the module: the internal tests of ssfile, beacon
// and the rest import it, so it cannot import them.
package testkit

import "testing"

// Stride returns the step of a loop over n cases: 1, so that every case
// runs; under -short, a step that samples about short of them. The step is
// odd so that sampled byte offsets fall on every alignment.
func Stride(n, short int) int {
	if !testing.Short() || short <= 0 || n <= short {
		return 1
	}
	return n/short | 1
}

// Count returns full, or short under -short.
func Count(full, short int) int {
	if testing.Short() {
		return min(full, short)
	}
	return full
}
