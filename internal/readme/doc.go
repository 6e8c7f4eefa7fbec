// Package readme holds the test that keeps the repository's README.md true:
// every Go code block in it is a complete program that is built and run, its
// output compared with the block that follows it, and every shell block is
// run as written (but for the test command itself, which is what runs this).
package readme
