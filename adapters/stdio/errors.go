package stdio

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/seastream/ss/streamer/driver"
)

// Sentinel errors of the stdio adapter. The adapter also returns the
// sentinels of package driver where they apply (driver.ErrInvalidUTF8 for a
// payload or line that is not UTF-8, driver.ErrUnsupported for seek and
// rewind, driver.ErrStreamEnded at the end of the input).
var (
	// ErrBadMeta is wrapped by a *MetaError for a line whose bracketed meta
	// cannot be parsed, such as "[Jan 1, 2022] x".
	ErrBadMeta = errors.New("stdio: cannot parse the meta of the line: write [timestamp | stream_key | seq | shard] payload, each part optional but in this order")

	// ErrBadTimestamp is returned by Send for a timestamp outside the years
	// 0000 to 9999, which a line cannot hold. It is a case of
	// driver.ErrInvalidTimestamp, which errors.Is also matches.
	ErrBadTimestamp = driver.NewSentinel(driver.ErrInvalidTimestamp, "stdio: invalid timestamp: use YYYY-MM-DDTHH:MM:SS with optional .fraction (1 to 9 digits), years 0000 to 9999")

	// ErrLineTooLong is wrapped by a *LineError for an input line longer
	// than the maximum line size (Options.MaxLineSize); the line is skipped.
	ErrLineTooLong = errors.New("stdio: line too long: raise the maximum line size (?maxline=) or split the message")

	// ErrPayloadNewline is returned by Send for a payload that contains a
	// line feed: the stdio format is one message per line. It is a case of
	// driver.ErrPayloadUnsupported, which errors.Is also matches.
	ErrPayloadNewline = driver.NewSentinel(driver.ErrPayloadUnsupported, "stdio: payload contains a newline: stdio carries one message per line; use the file backend for multi-line or binary payloads")
)

// MetaError reports why the meta of a line (the text between "[" and "]")
// could not be parsed. It wraps ErrBadMeta, or a *driver.StreamKeyError for
// an over-long or reserved stream key.
type MetaError struct {
	Meta   string // the meta as written, without the brackets
	Part   string // the part that could not be parsed, trimmed
	Reason string // what is wrong with Part
	Err    error  // ErrBadMeta or a *driver.StreamKeyError
}

func (e *MetaError) Error() string {
	return fmt.Sprintf("stdio: bad meta [%s]: %s: expected [timestamp | stream_key | seq | shard], each part optional but in this order",
		clip(e.Meta, 120), e.Reason)
}

func (e *MetaError) Unwrap() error { return e.Err }

// LineError reports an input line the consumer skipped: it could not be
// parsed, is not UTF-8 (driver.ErrInvalidUTF8) or is too long
// (ErrLineTooLong). The stream goes on after it.
type LineError struct {
	Line int64  // 1-based line number in the input
	Text string // the start of the line, for the report
	Err  error  // a *MetaError, driver.ErrInvalidUTF8 or ErrLineTooLong
}

func (e *LineError) Error() string {
	why := e.Err.Error()
	if errors.Is(e.Err, driver.ErrInvalidUTF8) {
		why = "the line is not valid UTF-8 (stdio carries text; use the file backend for binary data)"
	}
	return "stdio: line " + strconv.FormatInt(e.Line, 10) + " skipped: " + why + ": " + strconv.Quote(clip(e.Text, 80))
}

func (e *LineError) Unwrap() error { return e.Err }

// clip shortens s to at most n bytes (without splitting a UTF-8 sequence),
// marking the cut.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n] + "..."
}
