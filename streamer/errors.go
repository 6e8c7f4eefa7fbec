package streamer

import (
	"errors"

	"github.com/seastream/ss/streamer/driver"
)

// Errors returned by this package and by every backend; test them with
// errors.Is. The typed errors (*StreamKeyError, *URIError, *OptionError,
// *ConnectError, *BackendError) carry details; reach them with errors.As.
// Each error's text says what to do. See package driver for when each one is
// returned.
var (
	ErrClosed              = driver.ErrClosed
	ErrConnect             = driver.ErrConnect
	ErrNotAnchored         = driver.ErrNotAnchored
	ErrConsumerGroupIsSet  = driver.ErrConsumerGroupIsSet
	ErrConsumerGroupNotSet = driver.ErrConsumerGroupNotSet
	ErrStreamKeyEmpty      = driver.ErrStreamKeyEmpty
	ErrStreamKeyNotFound   = driver.ErrStreamKeyNotFound
	ErrConsumerNotAssigned = driver.ErrConsumerNotAssigned
	ErrCommitNotAllowed    = driver.ErrCommitNotAllowed
	ErrInvalidUTF8         = driver.ErrInvalidUTF8
	ErrInvalidURI          = driver.ErrInvalidURI
	ErrUnknownScheme       = driver.ErrUnknownScheme
	ErrUnknownOption       = driver.ErrUnknownOption
	ErrInvalidOption       = driver.ErrInvalidOption
	ErrInvalidStreamKey    = driver.ErrInvalidStreamKey
	ErrReservedStreamKey   = driver.ErrReservedStreamKey
	ErrUnsupported         = driver.ErrUnsupported
	ErrStreamEnded         = driver.ErrStreamEnded
	ErrProducerEnded       = driver.ErrProducerEnded
	ErrPayloadTooLarge     = driver.ErrPayloadTooLarge
	ErrPayloadUnsupported  = driver.ErrPayloadUnsupported
	ErrHeaderUnsupported   = driver.ErrHeaderUnsupported
	ErrExtrasUnsupported   = driver.ErrExtrasUnsupported
	ErrInvalidTimestamp    = driver.ErrInvalidTimestamp
)

// ErrNoReceipt is returned by Wait on the zero Receipt, which a failed send
// returns beside its error.
var ErrNoReceipt = errors.New("streamer: zero Receipt: the send it came from failed, see its error")

func invalidOption(name, value, reason string) error {
	return &OptionError{Name: name, Value: value, Reason: reason, Err: ErrInvalidOption}
}
