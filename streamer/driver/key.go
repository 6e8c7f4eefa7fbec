package driver

import "strconv"

// MaxStreamKeyLen is the maximum length of a stream key, in bytes.
const MaxStreamKeyLen = 249

// Reserved stream keys.
const (
	// Internal is reserved by SeaStreamer for its own messages, such as the
	// end-of-stream message of the file format. It can be neither produced to
	// nor subscribed to.
	Internal StreamKey = "SEA_STREAMER_INTERNAL"

	// Wildcard subscribes a consumer to every stream of a backend that
	// supports it (the file backend, ungrouped consumers). It cannot be
	// produced to.
	Wildcard StreamKey = "SEA_STREAMER_WILDCARD"
)

// StreamKey names a stream (a topic in Kafka, a key in Redis). Valid keys are
// 1 to MaxStreamKeyLen bytes of [A-Za-z0-9._-]. Build one from untrusted text
// with NewStreamKey; a conversion StreamKey("...") is not checked until used.
type StreamKey string

// NewStreamKey returns s as a StreamKey after ValidateStreamKey.
func NewStreamKey(s string) (StreamKey, error) {
	if err := ValidateStreamKey(s); err != nil {
		return "", err
	}
	return StreamKey(s), nil
}

// ValidateStreamKey returns a *StreamKeyError wrapping ErrInvalidStreamKey if
// s is empty, longer than MaxStreamKeyLen bytes, or has a byte outside
// [A-Za-z0-9._-]; or wrapping ErrReservedStreamKey if s is Internal or
// Wildcard. Use ValidateStreamKeySyntax to accept the reserved keys.
func ValidateStreamKey(s string) error {
	if err := ValidateStreamKeySyntax(s); err != nil {
		return err
	}
	if StreamKey(s).IsReserved() {
		return &StreamKeyError{Key: s, Err: ErrReservedStreamKey}
	}
	return nil
}

// ValidateStreamKeySyntax is ValidateStreamKey without the check for
// reserved keys.
func ValidateStreamKeySyntax(s string) error {
	if len(s) == 0 || len(s) > MaxStreamKeyLen {
		return &StreamKeyError{Key: s, Err: ErrInvalidStreamKey}
	}
	for i := 0; i < len(s); i++ {
		if !IsStreamKeyByte(s[i]) {
			return &StreamKeyError{Key: s, Err: ErrInvalidStreamKey}
		}
	}
	return nil
}

// IsStreamKeyByte reports whether c may appear in a stream key:
// [A-Za-z0-9._-].
func IsStreamKeyByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '.' || c == '_' || c == '-'
}

// IsReserved reports whether k is Internal or Wildcard.
func (k StreamKey) IsReserved() bool { return k == Internal || k == Wildcard }

// String returns the key as a string.
func (k StreamKey) String() string { return string(k) }

// ShardID identifies a shard of a stream (a partition in Kafka). SeaStreamer
// backends that do not shard use shard 0.
type ShardID uint64

// SeqNo is a message's sequence number within its (stream, shard): an offset
// in Kafka, an entry id in Redis, a counter in the file format. The triple
// (StreamKey, ShardID, SeqNo) identifies a message.
type SeqNo uint64

// StreamShard names one shard of one stream; it is comparable and can be a
// map key.
type StreamShard struct {
	Stream StreamKey
	Shard  ShardID
}

func (s StreamShard) String() string {
	return string(s.Stream) + "/" + strconv.FormatUint(uint64(s.Shard), 10)
}

// SeqPosKind tells what a SeqPos points at.
type SeqPosKind uint8

// Kinds of SeqPos.
const (
	SeqPosBeginning SeqPosKind = iota // the first message still stored
	SeqPosEnd                         // after the last message: only new ones
	SeqPosAt                          // the message with a sequence number
)

// SeqPos is a position in a stream used by Rewind: the beginning, the end, or
// a sequence number. The zero value is the beginning. Build one with
// SeqBeginning, SeqEnd or SeqAt.
type SeqPos struct {
	Kind SeqPosKind
	Seq  SeqNo // meaningful when Kind is SeqPosAt
}

// SeqBeginning returns the position of the first message still stored.
func SeqBeginning() SeqPos { return SeqPos{Kind: SeqPosBeginning} }

// SeqEnd returns the position after the last message.
func SeqEnd() SeqPos { return SeqPos{Kind: SeqPosEnd} }

// SeqAt returns the position of the first message whose sequence number is
// at least n.
func SeqAt(n SeqNo) SeqPos { return SeqPos{Kind: SeqPosAt, Seq: n} }

func (p SeqPos) String() string {
	switch p.Kind {
	case SeqPosBeginning:
		return "beginning"
	case SeqPosEnd:
		return "end"
	case SeqPosAt:
		return "seq " + strconv.FormatUint(uint64(p.Seq), 10)
	}
	return "SeqPos(" + strconv.Itoa(int(p.Kind)) + ")"
}
