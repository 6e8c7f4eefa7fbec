package filedriver

import (
	"strconv"

	"github.com/seastream/ss/streamer/driver"
)

// CreateMode says whether Open creates the file (WithCreate, or the URI
// option create=never|if-missing|only).
type CreateMode uint8

// Values of CreateMode.
const (
	// CreateNever requires the file to exist. It is the default.
	CreateNever CreateMode = iota
	// CreateIfMissing creates the file if it does not exist.
	CreateIfMissing
	// CreateOnly creates the file and fails if it already exists.
	CreateOnly
)

func (c CreateMode) String() string {
	switch c {
	case CreateNever:
		return "never"
	case CreateIfMissing:
		return "if-missing"
	case CreateOnly:
		return "only"
	}
	return "CreateMode(" + strconv.Itoa(int(c)) + ")"
}

// Option is a Go option of the file backend, for Open: give it to
// streamer.WithDriverOption, as in
//
//	streamer.Open(ctx, uri, streamer.WithDriverOption(filedriver.WithCreate(filedriver.CreateIfMissing)))
//
// It concerns file:// URIs only: package streamer drops it for a URI of
// another scheme (it is a driver.SchemeOption), so that a program can give
// the same options whatever backend its output URI names. The URI's query
// option of the same name overrides it.
type Option struct{ s driver.Setting[config] }

func (o Option) String() string { return "file option " + o.s.String() }

// OptionScheme implements driver.SchemeOption: the option is for file://.
func (Option) OptionScheme() string { return Scheme }

// WithCreate sets whether Open creates the file (URI option
// create=never|if-missing|only, or create=true for if-missing). Creating a
// file creates its missing parent directories too. The default is
// CreateNever.
func WithCreate(mode CreateMode) Option { return Option{optCreate.Setting(mode)} }

// WithEOSOnClose makes the file's writer write an end-of-stream message when
// it closes, which ends its readers' streams (URI option eos=true).
func WithEOSOnClose(v bool) Option { return Option{optEOS.Setting(v)} }

// WithBeaconInterval sets the beacon interval of a file created by Open, in
// bytes: a multiple of 1024 (URI option beacon_interval). The default is
// 1 MiB.
func WithBeaconInterval(n uint32) Option { return Option{optBeaconInterval.Setting(n)} }

// WithSizeLimit sets the size limit of the file in bytes, at least 1024
// (URI option size_limit, e.g. 1GiB). The default is 16 GiB.
func WithSizeLimit(n int64) Option { return Option{optSizeLimit.Setting(n)} }

// WithEnvelope makes the Conn's producers store each payload in the
// archive envelope (package envelope), with the key and attributes of a
// message sent with them (streamer.WithKey, WithAttrs: a Kafka record's key
// and headers, a Redis entry's other fields), and its consumers decode
// every payload back into Message.Payload, Key and Attrs; a payload that is
// not enveloped is then an error, never handed out as it is (URI option
// envelope=v1). The default, EnvelopeNone, keeps plain SeaStreamer
// payloads, byte for byte, and refuses keys and attributes with
// driver.ErrExtrasUnsupported.
func WithEnvelope(e Envelope) Option { return Option{optEnvelope.Setting(e)} }

// extraError is the error for x in the Extra list of NewProducer or
// NewConsumer (at): an Option is refused as one that belongs to Open,
// anything else as another backend's.
func extraError(x any, at driver.OptionScope) error {
	if o, ok := x.(Option); ok {
		var c config
		if err := options.Apply(&c, at, o.s); err != nil {
			return err
		}
	}
	return driver.UnknownExtraError(Scheme, x)
}
