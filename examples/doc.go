// Package examples holds SeaStreamer's example programs, written in Go on
// package streamer: each is a main package under this directory, and runs on
// any backend chosen by URI (file://, stdio://, kafka://, redis://).
//
//	producer    sends "tick 0", "tick 1", ... to a stream
//	consumer    prints every message of a stream, from the earliest
//	processor   appends " processed" to each message of one stream, into another
//	resumable   a processor that commits, and resumes where it stopped
//	buffered    a processor that consumes and writes in batches
//	blocking    a processor running CPU-bound work in a worker pool, output in input order
//
// README.md in this directory has the commands to run each. This package
// itself holds only their end-to-end tests.
package examples
