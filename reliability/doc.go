// Package reliability measures how the .ss engine behaves when things go
// wrong: files cut at every byte (torn writes), bits flipped at random (bit
// rot), many producers and consumers on one file (load), and bad input of
// every kind. Its tests are the harness; RESULTS.md holds the figures they
// measured.
//
// The damaged files are checked with internal/sscheck, the structural check
// behind ss-verify and ss-repair, written independently of package ssfile's
// reader. Format v1 checksums only payloads, so sscheck uses every other
// redundancy the format has to find damage elsewhere: stream key characters
// and lengths, terminators, frame sizes against the beacons' remaining-byte
// counts, the beacon markers' sequence numbers, timestamps and running
// checksums recomputed per (stream key, shard), the writer's marker
// rotation, and the order of sequence numbers (with its Strict option: one
// at a time, timestamps never going back). After damage it finds where the
// messages resume, and goes on checking, so that it gives back every message
// that can still be trusted. The package itself exports nothing.
//
// Run the harness with
//
//	go test -race ./reliability/
//
// (about 40 s). Environment variables make it longer or write the figures:
//
//	SS_LOAD_DURATION=20s  how long each load test produces (default 1s)
//	SS_BITROT_CASES=5000  bit flips per region (default 1000)
//	SS_FULL=1             the command-line tools on every cut and every flip
//	SS_WRITE_RESULTS=1    rewrite RESULTS.md from what the run measured
//
// The long archive run (issue 12: ss-relay from Redis into a stream
// directory, its memory sampled) runs only when both of these are set, and
// needs -timeout 0 (or longer than the duration):
//
//	SS_ARCHIVE_DURATION=24h  how long TestArchiveLongRun produces
//	SS_REDIS_URL=redis://127.0.0.1:6379  the Redis server it produces to
//	SS_ARCHIVE_RATE=2000     messages a second it produces (default 2000)
//
// as in
//
//	SS_REDIS_URL=redis://127.0.0.1:6379 SS_ARCHIVE_DURATION=24h SS_WRITE_RESULTS=1 go test -count=1 -timeout 0 -run TestArchiveLongRun -v ./reliability/
//
// RESULTS.md was written by
//
//	SS_FULL=1 SS_LOAD_DURATION=20s SS_BITROT_CASES=5000 SS_WRITE_RESULTS=1 go test ./reliability/
//
// and its fuzzing section by fuzz.sh.
package reliability
