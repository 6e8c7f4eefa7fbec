package driver

import (
	"cmp"
	"fmt"
	"strings"
)

// A backend declares each of its options once, in an Options table over its
// own config type C: the option's name, the URI query parameters that set it,
// how their text is read, where its Go form may be given, and the setter that
// checks a value and stores it in C. The URI's query is applied from the
// table (unknown parameters are refused, listing the declared ones), and the
// Go form of an option (a Setting, carried in the Extra lists) goes through
// the same setter, so that both forms accept the same values and report the
// same errors. Adding an option is one declaration plus, if it has a Go form,
// a one-line exported constructor that documents it.

// OptionScope says which calls accept the Go form of a backend option.
// Open accepts every option (one given there is a default for every
// producer and consumer of the Conn); NewProducer and NewConsumer accept the
// options of their kind. As the argument of Options.Apply it names the call.
type OptionScope uint8

// Option scopes.
const (
	// ScopeOpen is the connection's: Open only.
	ScopeOpen OptionScope = 1 << iota
	// ScopeProducer is a producer's: Open or NewProducer.
	ScopeProducer
	// ScopeConsumer is a consumer's: Open or NewConsumer.
	ScopeConsumer
	// ScopeClients is both a producer's and a consumer's.
	ScopeClients = ScopeProducer | ScopeConsumer
)

// call names the call of scope s, as given to Options.Apply.
func (s OptionScope) call() string {
	switch s {
	case ScopeProducer:
		return "NewProducer"
	case ScopeConsumer:
		return "NewConsumer"
	}
	return "Open"
}

// hint says where an option of scope s may be given.
func (s OptionScope) hint() string {
	switch s {
	case ScopeProducer:
		return "give it to Open or NewProducer"
	case ScopeConsumer:
		return "give it to Open or NewConsumer"
	}
	return "give it to Open"
}

// Options is a backend's table of option declarations over its config type
// C. Build it once, at package initialisation (NewOptions, then Add and
// AddValue from package-level variables); it is read-only afterwards and
// safe for concurrent use.
type Options[C any] struct {
	scheme string
	decls  []*Decl[C]
}

// NewOptions returns an empty table for the backend of scheme (named in its
// errors).
func NewOptions[C any](scheme string) *Options[C] {
	return &Options[C]{scheme: scheme}
}

// Decl declares one option.
type Decl[C any] struct {
	// Name names the option in errors about its Go form and in a Setting's
	// String, e.g. "db" or "WithTLS".
	Name string
	// Params are the URI query parameters that set it; none for an option
	// set from Go only.
	Params []string
	// Scope says where its Go form may be given.
	Scope OptionScope
	// FromURI sets c from the option's parameters in u. ApplyURI calls it,
	// in declaration order, when at least one of Params is present.
	FromURI func(c *C, u *URI) error
}

// Add declares d and returns it (for Setting).
func (o *Options[C]) Add(d Decl[C]) *Decl[C] {
	p := &d
	o.decls = append(o.decls, p)
	return p
}

// Setting returns the Go form of d with value (shown by String and in
// errors) and apply, which checks and sets the config.
func (d *Decl[C]) Setting(value string, apply func(*C) error) Setting[C] {
	return Setting[C]{name: d.Name, scope: d.Scope, value: value, apply: apply}
}

// Value declares an option whose URI parameter and Go form carry one value
// of type V: Parse reads it from the URI, Set checks it and stores it, for
// both forms.
type Value[C, V any] struct {
	// Name names the option in errors and in a Setting's String; empty
	// means Param.
	Name string
	// Param is the URI query parameter; empty for an option set from Go only.
	Param string
	// Scope says where its Go form may be given.
	Scope OptionScope
	// Parse reads parameter param of u, reporting whether it is present;
	// (*URI).OptionBool, OptionUint, OptionDuration, OptionSize and Text
	// fit when V is their type. Errors are *OptionError.
	Parse func(u *URI, param string) (v V, ok bool, err error)
	// Set checks v and stores it in c; its errors are *OptionError.
	Set func(c *C, v V) error

	decl *Decl[C]
}

// AddValue declares v in o and returns it (for Setting).
func AddValue[C, V any](o *Options[C], v Value[C, V]) *Value[C, V] {
	p := &v
	d := Decl[C]{Name: cmp.Or(v.Name, v.Param), Scope: v.Scope}
	if v.Param != "" && v.Parse != nil {
		d.Params = []string{v.Param}
		d.FromURI = func(c *C, u *URI) error {
			x, ok, err := p.Parse(u, p.Param)
			if err != nil || !ok {
				return err
			}
			return p.Set(c, x)
		}
	}
	p.decl = o.Add(d)
	return p
}

// Setting returns the Go form of v carrying x.
func (v *Value[C, V]) Setting(x V) Setting[C] {
	return v.decl.Setting(fmt.Sprint(x), func(c *C) error { return v.Set(c, x) })
}

// Setting is the Go form of a declared option, as it travels in the Extra
// lists of ConnectOptions, ProducerOptions and ConsumerOptions (a backend
// usually wraps it in a type of its own, which names the backend in
// UnknownExtraError). Build it with Decl.Setting, Value.Setting or Combine;
// the zero Setting is refused by Apply.
type Setting[C any] struct {
	name  string
	scope OptionScope
	value string
	apply func(*C) error
}

// String returns "name=value".
func (s Setting[C]) String() string { return s.name + "=" + s.value }

// Combine returns one Setting, named name, that applies settings in order
// (e.g. a Go option setting two values that have a URI parameter each). It
// may be given where all of them may.
func Combine[C any](name string, settings ...Setting[C]) Setting[C] {
	scope := ScopeOpen | ScopeClients
	values := make([]string, len(settings))
	for i, s := range settings {
		scope &= s.scope
		values[i] = s.value
	}
	return Setting[C]{name: name, scope: scope, value: strings.Join(values, ","), apply: func(c *C) error {
		for _, s := range settings {
			if err := s.apply(c); err != nil {
				return err
			}
		}
		return nil
	}}
}

// Params returns the declared URI query parameters, in declaration order.
func (o *Options[C]) Params() []string {
	var out []string
	for _, d := range o.decls {
		out = append(out, d.Params...)
	}
	return out
}

// CheckURI refuses a query parameter of u that no option declares, with an
// *OptionError wrapping ErrUnknownOption that lists the declared ones.
func (o *Options[C]) CheckURI(u *URI) error {
	return u.CheckOptions(o.Params()...)
}

// ApplyURI checks u's query (CheckURI) and sets c from it, option by option
// in declaration order.
func (o *Options[C]) ApplyURI(c *C, u *URI) error {
	if err := o.CheckURI(u); err != nil {
		return err
	}
	for _, d := range o.decls {
		if d.FromURI == nil || !present(u, d.Params) {
			continue
		}
		if err := d.FromURI(c, u); err != nil {
			return err
		}
	}
	return nil
}

func present(u *URI, params []string) bool {
	for _, p := range params {
		if _, ok := u.Option(p); ok {
			return true
		}
	}
	return false
}

// Apply applies the Go option s given to the call at (ScopeOpen for Open,
// ScopeProducer for NewProducer, ScopeConsumer for NewConsumer). It refuses,
// with an *OptionError wrapping ErrInvalidOption, the zero Setting and an
// option given where it has no meaning.
func (o *Options[C]) Apply(c *C, at OptionScope, s Setting[C]) error {
	if s.apply == nil {
		return o.Invalid("Option", "zero value", "build options with the With... functions")
	}
	if at != ScopeOpen && s.scope&at == 0 {
		return o.Invalid(s.name, s.value, "this option cannot be given to "+at.call()+": "+s.scope.hint())
	}
	return s.apply(c)
}

// Invalid returns an *OptionError of the table's backend wrapping
// ErrInvalidOption.
func (o *Options[C]) Invalid(name, value, reason string) error {
	return &OptionError{Scheme: o.scheme, Name: name, Value: value, Reason: reason, Err: ErrInvalidOption}
}

// Text reads query parameter param of u as it is written; for Value.Parse.
func Text(u *URI, param string) (string, bool, error) {
	s, ok := u.Option(param)
	return s, ok, nil
}
