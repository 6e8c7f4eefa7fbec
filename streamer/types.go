package streamer

import (
	"time"

	"github.com/seastream/ss/streamer/driver"
)

// Value types shared with drivers; see package driver for their docs.
type (
	StreamKey      = driver.StreamKey
	ShardID        = driver.ShardID
	SeqNo          = driver.SeqNo
	SeqPos         = driver.SeqPos
	SeqPosKind     = driver.SeqPosKind
	StreamShard    = driver.StreamShard
	Header         = driver.Header
	Message        = driver.Message
	Attr           = driver.Attr
	MessageID      = driver.MessageID
	ConsumerMode   = driver.ConsumerMode
	StreamReset    = driver.StreamReset
	URI            = driver.URI
	StreamKeyError = driver.StreamKeyError
	URIError       = driver.URIError
	OptionError    = driver.OptionError
	ConnectError   = driver.ConnectError
	BackendError   = driver.BackendError
)

// Consumer modes.
const (
	RealTime     = driver.RealTime
	Resumable    = driver.Resumable
	LoadBalanced = driver.LoadBalanced
)

// Where a consumer without a committed position starts.
const (
	ResetLatest   = driver.ResetLatest
	ResetEarliest = driver.ResetEarliest
)

// Reserved stream keys, and limits.
const (
	Internal        = driver.Internal
	Wildcard        = driver.Wildcard
	MaxStreamKeyLen = driver.MaxStreamKeyLen
	TimestampFormat = driver.TimestampFormat
)

// NewStreamKey validates s (1 to 249 bytes of [A-Za-z0-9._-], not reserved)
// and returns it as a StreamKey.
func NewStreamKey(s string) (StreamKey, error) { return driver.NewStreamKey(s) }

// ValidateStreamKey reports why s cannot be a stream key, or nil.
func ValidateStreamKey(s string) error { return driver.ValidateStreamKey(s) }

// ParseTimestamp parses SeaStreamer's text form of a timestamp,
// 2022-01-01T00:00:00 or 2022-01-01T00:00:00.123 (1 to 9 fraction digits), as
// UTC. Errors wrap ErrInvalidTimestamp.
func ParseTimestamp(s string) (time.Time, error) { return driver.ParseTimestamp(s) }

// ParseURI parses a streamer URI; see URI for the rules.
func ParseURI(s string) (*URI, error) { return driver.ParseURI(s) }

// SeqBeginning is the position of the first message still stored.
func SeqBeginning() SeqPos { return driver.SeqBeginning() }

// SeqEnd is the position after the last message.
func SeqEnd() SeqPos { return driver.SeqEnd() }

// SeqAt is the position of the first message with a sequence number of at
// least n.
func SeqAt(n SeqNo) SeqPos { return driver.SeqAt(n) }
