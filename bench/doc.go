// Package bench holds the cross-package benchmarks of the engine, each beside
// the baselines it is judged against, run in the same process: a raw buffered
// write of the same bytes (the physical limit) and github.com/tidwall/wal doing
// the same work. Benchmarks of one package alone (the muxer, one large message,
// tail latency) sit beside that package instead. Results and the commands that
// reproduce them are in README.md.
package bench
