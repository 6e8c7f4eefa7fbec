// Package fuzz holds the go test -fuzz targets of the .ss decoders and engine.
//
//	go test ./fuzz -run=^$ -fuzz=^FuzzReader$ -fuzztime=1m
//
// Every decoder must reject bad input with an error, never a panic; the
// reader must never hand out a message whose checksum fails; and what the
// writer lays out must read back as written, at any beacon interval.
package fuzz
