package ssdecode

import "errors"

// ErrInvalidOption means Options (or a flag value given for them) cannot be
// used: no file, an unknown format, an invalid stream key, a time that does
// not parse.
var ErrInvalidOption = errors.New("ssdecode: invalid option")
