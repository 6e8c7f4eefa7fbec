package redis

import (
	"errors"
	"strconv"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/seastream/ss/streamer/driver"
)

// Errors of this package. The adapter also returns the sentinels of package
// streamer/driver (ErrClosed, ErrStreamEnded, ErrUnsupported...) for the
// cases they name, and wraps go-redis errors in *driver.BackendError or
// *driver.ConnectError.
var (
	// ErrInvalidID is wrapped by an *IDError for text that is not a Redis
	// stream id "<ms>-<seq>".
	ErrInvalidID = errors.New("redis: invalid stream entry id: want <ms>-<seq> in decimal")

	// ErrIDRange is wrapped by an *IDError for an entry id that does not fit
	// in a sequence number (ms above 2^48-1 or more than 65536 entries in one
	// millisecond; see ID.SeqNo). The consumer returns it from Next in place
	// of the entry and goes on with the next one; read such entries with
	// go-redis (Consumer.As gives the client).
	ErrIDRange = errors.New("redis: entry id does not fit in a sequence number (needs ms < 2^48 and seq < 65536)")

	// ErrTimestampOrder is wrapped by a *TimestampError when a message sent
	// with an explicit timestamp is older than the newest entry of its Redis
	// stream: Redis ids only grow. Send in timestamp order, or create the
	// producer with WithLateTimestamps(LateClamp) (URI late_timestamps=clamp).
	ErrTimestampOrder = errors.New("redis: timestamp is older than the stream's last entry: Redis ids only grow; send in order or use late_timestamps=clamp")

	// ErrNoRecordKey is returned by SendExtras for a message with a key:
	// Redis entries have fields, not keys.
	ErrNoRecordKey = driver.NewSentinel(driver.ErrExtrasUnsupported, "redis: entries have no record key: send the key as an attribute (a field), or without it")

	// ErrFieldName is returned by SendExtras for an attribute named as the
	// payload's field.
	ErrFieldName = driver.NewSentinel(driver.ErrExtrasUnsupported, "redis: an attribute has the name of the payload's field: rename it, or choose another field (WithMessageField)")

	// ErrClampFields is returned by SendExtras for a message with
	// attributes on a producer with late_timestamps=clamp, whose script
	// writes the payload's field alone.
	ErrClampFields = driver.NewSentinel(driver.ErrExtrasUnsupported, "redis: late_timestamps=clamp writes the payload's field alone: use another late_timestamps mode to send fields")

	// ErrVerbatimHeader is returned by Send on a verbatim producer for a
	// header whose sequence number and timestamp are not a Redis id: Seq must
	// be a packed id (ms<<16 | seq, as this adapter's consumers return) whose
	// millisecond part equals the timestamp. To keep only the timestamp, send
	// without WithVerbatimHeaders, WithTimestamp(t). It is a case of
	// driver.ErrHeaderUnsupported, which errors.Is also matches.
	ErrVerbatimHeader = driver.NewSentinel(driver.ErrHeaderUnsupported, "redis: verbatim header is not a Redis id: Seq must be ms<<16|seq with ms equal to the timestamp (headers read from Redis are)")

	// ErrNotReplicated is wrapped by a *ReplicationError for a message of
	// a producer with WithReplicas (URI replicas=N) whose XADD the master
	// ran but fewer than N replicas acknowledged within the timeout (WAIT).
	// The message is stored on the master, and may or may not survive its
	// failure: sending it again may store it twice.
	ErrNotReplicated = errors.New("redis: message stored on the master but not acknowledged by enough replicas (WAIT)")

	// ErrShardConflict is returned when a stream has both the Redis key
	// "<stream>" and "<stream>:0", so shard 0 is ambiguous. Merge or delete
	// one of them.
	ErrShardConflict = errors.New("redis: shard 0 is ambiguous: both <stream> and <stream>:0 exist")
)

// IDError reports an entry id that is malformed or cannot be packed into a
// sequence number.
type IDError struct {
	Stream driver.StreamKey // the stream, when known
	Shard  driver.ShardID
	ID     string // the id as Redis wrote it
	Err    error  // ErrInvalidID or ErrIDRange
}

func (e *IDError) Error() string {
	var b strings.Builder
	b.WriteString(e.Err.Error())
	b.WriteString(": id ")
	b.WriteString(e.ID)
	if e.Stream != "" {
		b.WriteString(" in ")
		b.WriteString(driver.StreamShard{Stream: e.Stream, Shard: e.Shard}.String())
	}
	return b.String()
}

func (e *IDError) Unwrap() error { return e.Err }

// TimestampError reports a message whose explicit timestamp Redis refused.
type TimestampError struct {
	Key string // the Redis key
	Ms  uint64 // the timestamp asked for, in ms
	Err error  // ErrTimestampOrder
	// Cause is the server's reply.
	Cause error
}

func (e *TimestampError) Error() string {
	return e.Err.Error() + ": key " + e.Key + ", timestamp " + ID{Ms: e.Ms}.Time().Format(driver.TimestampFormat) + " (" + e.Cause.Error() + ")"
}

func (e *TimestampError) Unwrap() []error { return []error{e.Err, e.Cause} }

// ReplicationError reports a message that its master stored (at ID) but
// that fewer replicas than Wanted acknowledged within Timeout (see
// WithReplicas).
type ReplicationError struct {
	Stream driver.StreamKey
	Shard  driver.ShardID
	Key    string // the Redis key
	ID     string // the entry id the master assigned
	Wanted int    // replicas asked for
	Got    int    // replicas that acknowledged, as WAIT answered
	// Timeout is how long WAIT waited.
	Timeout time.Duration
	// Err is how WAIT failed (a connection error), nil if it answered Got.
	Err error
}

func (e *ReplicationError) Error() string {
	var b strings.Builder
	b.WriteString("redis: ")
	b.WriteString(driver.StreamShard{Stream: e.Stream, Shard: e.Shard}.String())
	b.WriteString(" (key ")
	b.WriteString(e.Key)
	b.WriteString("): entry ")
	b.WriteString(e.ID)
	b.WriteString(" stored on the master but ")
	if e.Err != nil {
		b.WriteString("WAIT for " + strconv.Itoa(e.Wanted) + " replicas failed: " + e.Err.Error())
	} else {
		b.WriteString(strconv.Itoa(e.Got) + " of " + strconv.Itoa(e.Wanted) + " replicas acknowledged it within " + e.Timeout.String())
	}
	b.WriteString(" (not replicated: it may be lost if the master fails)")
	return b.String()
}

func (e *ReplicationError) Unwrap() []error {
	if e.Err == nil {
		return []error{ErrNotReplicated}
	}
	return []error{ErrNotReplicated, e.Err}
}

// backendErr wraps a go-redis error for op.
func backendErr(op string, err error) error {
	if err == nil {
		return nil
	}
	return &driver.BackendError{Backend: scheme, Op: op, Err: err}
}

// isRedisErr reports whether err is a server error reply starting with
// prefix (e.g. "BUSYGROUP", "NOGROUP", "NOSCRIPT").
func isRedisErr(err error, prefix string) bool {
	var re goredis.Error
	if !errors.As(err, &re) {
		return false
	}
	return strings.HasPrefix(re.Error(), prefix)
}

// isTooSmallID reports whether err is Redis' refusal of an XADD id not
// greater than the stream's last one.
func isTooSmallID(err error) bool {
	return isRedisErr(err, "ERR The ID specified in XADD is equal or smaller")
}
