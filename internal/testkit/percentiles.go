package testkit

import (
	"slices"
	"testing"
	"time"
)

// ReportPercentiles reports the median and 99th percentile of latencies as
// the benchmark metrics p50-µs and p99-µs. It sorts lat.
func ReportPercentiles(b *testing.B, lat []time.Duration) {
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}
