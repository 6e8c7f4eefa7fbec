package testkit

import (
	"runtime"
	"time"
)

// GrowthRatio tells linear work from quadratic without timing assertions
// that a busy machine breaks: it runs small and large in turns, rounds times
// each, on one locked OS thread, and returns the ratio of their least CPU
// times (the thread's own, where the system reports it: other processes'
// load does not count). For large doing k times small's input, linear work
// gives about k, quadratic k²: a test asserts a bound between the two (for
// k = 4, 10 leaves room for noise and still fails quadratic work, 16).
func GrowthRatio(rounds int, small, large func()) float64 {
	return GrowthRatioOf(rounds, Work{Run: small}, Work{Run: large})
}

// Work is one size of a GrowthRatio measurement. Prepare, when set, runs
// before each call of Run and outside the time measured: restoring a file
// that Run changes, say, whose cost is not the work under test.
type Work struct {
	Prepare, Run func()
}

// GrowthRatioOf is GrowthRatio for work that needs preparing before each run.
func GrowthRatioOf(rounds int, small, large Work) float64 {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	ts, tl := time.Duration(1<<63-1), time.Duration(1<<63-1)
	for range max(rounds, 1) {
		ts = min(ts, cpuTime(small))
		tl = min(tl, cpuTime(large))
	}
	return float64(tl) / float64(max(ts, time.Microsecond))
}

// minMeasure is the least CPU time a measurement spans: kernels that account
// CPU time by scheduler ticks (4 ms at 250 Hz) make a shorter one coarse.
const minMeasure = 50 * time.Millisecond

// cpuTime returns the CPU time one call of w.Run takes on the calling
// (locked) thread: it calls it as many times as it takes to span minMeasure,
// leaving w.Prepare out of the count.
func cpuTime(w Work) time.Duration {
	calls := 0
	var spent time.Duration
	for calls == 0 || spent < minMeasure {
		if w.Prepare != nil {
			w.Prepare()
		}
		t0 := threadCPU()
		w.Run()
		spent += threadCPU() - t0
		calls++
	}
	return spent / time.Duration(calls)
}
