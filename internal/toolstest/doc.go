// Package toolstest holds the end-to-end tests of the command-line tools
// ss-decode, ss-verify and ss-repair: it builds them, runs them on the
// fixtures in testdata/ and on files it writes, and compares their output
// with golden files checked against SeaStreamer's own ss-decode.
package toolstest
