package driver

import (
	"errors"
	"strings"
	"testing"
	"time"
)

type toyConfig struct {
	n        int
	every    time.Duration
	name     string
	lo, hi   int
	loHiSeen bool
}

var (
	toyOptions = NewOptions[toyConfig]("toy")
	toyN       = AddValue(toyOptions, Value[toyConfig, uint64]{Param: "n", Scope: ScopeOpen, Parse: (*URI).OptionUint,
		Set: func(c *toyConfig, v uint64) error {
			if v > 10 {
				return toyOptions.Invalid("n", "", "at most 10")
			}
			c.n = int(v)
			return nil
		}})
	toyEvery = AddValue(toyOptions, Value[toyConfig, time.Duration]{Name: "WithEvery", Param: "every", Scope: ScopeConsumer,
		Parse: (*URI).OptionDuration, Set: func(c *toyConfig, d time.Duration) error { c.every = d; return nil }})
	toyName = AddValue(toyOptions, Value[toyConfig, string]{Param: "name", Scope: ScopeClients, Parse: Text,
		Set: func(c *toyConfig, s string) error { c.name = s; return nil }})
	toyGoOnly = AddValue(toyOptions, Value[toyConfig, int]{Name: "lo", Scope: ScopeProducer,
		Set: func(c *toyConfig, v int) error { c.lo = v; return nil }})
	toyPair = toyOptions.Add(Decl[toyConfig]{Name: "WithPair", Params: []string{"lo", "hi"}, Scope: ScopeProducer,
		FromURI: func(c *toyConfig, u *URI) error { c.loHiSeen = true; return nil }})
)

func TestOptionsURI(t *testing.T) {
	u, err := ParseURI("toy://h/s?n=3&every=2s&name=x&hi=1")
	if err != nil {
		t.Fatal(err)
	}
	var c toyConfig
	if err := toyOptions.ApplyURI(&c, u); err != nil {
		t.Fatal(err)
	}
	if c.n != 3 || c.every != 2*time.Second || c.name != "x" || !c.loHiSeen || c.lo != 0 {
		t.Fatalf("%+v", c)
	}
	if got := strings.Join(toyOptions.Params(), ","); got != "n,every,name,lo,hi" {
		t.Errorf("Params() = %s", got)
	}
	for q, want := range map[string]string{
		"nope=1":     `streamer: unknown option for toy://: "nope" = "1": known options are every, hi, lo, n, name`,
		"n=11":       `streamer: invalid option for toy://: "n": at most 10`,
		"every=soon": `streamer: invalid option for toy://: "every" = "soon": expected a duration such as "500ms" or "2s"`,
	} {
		u, err := ParseURI("toy://h/s?" + q)
		if err != nil {
			t.Fatal(err)
		}
		err = toyOptions.ApplyURI(new(toyConfig), u)
		var oe *OptionError
		if !errors.As(err, &oe) || err.Error() != want {
			t.Errorf("?%s: %v\nwant %s", q, err, want)
		}
	}
}

func TestOptionsApply(t *testing.T) {
	var c toyConfig
	for _, s := range []Setting[toyConfig]{toyN.Setting(4), toyEvery.Setting(time.Second), toyName.Setting("y"), toyGoOnly.Setting(7)} {
		if err := toyOptions.Apply(&c, ScopeOpen, s); err != nil {
			t.Fatalf("%s at Open: %v", s, err)
		}
	}
	if c.n != 4 || c.every != time.Second || c.name != "y" || c.lo != 7 {
		t.Fatalf("%+v", c)
	}
	if s := toyEvery.Setting(time.Second).String(); s != "WithEvery=1s" {
		t.Errorf("String() = %q", s)
	}
	for _, tc := range []struct {
		s    Setting[toyConfig]
		at   OptionScope
		want string // "" for no error
	}{
		{toyN.Setting(11), ScopeOpen, `streamer: invalid option for toy://: "n": at most 10`},
		{toyN.Setting(1), ScopeConsumer, `streamer: invalid option for toy://: "n" = "1": this option cannot be given to NewConsumer: give it to Open`},
		{toyEvery.Setting(1), ScopeProducer, `streamer: invalid option for toy://: "WithEvery" = "1ns": this option cannot be given to NewProducer: give it to Open or NewConsumer`},
		{toyEvery.Setting(1), ScopeConsumer, ""},
		{toyName.Setting("z"), ScopeProducer, ""},
		{toyName.Setting("z"), ScopeConsumer, ""},
		{toyPair.Setting("1,2", func(c *toyConfig) error { c.lo, c.hi = 1, 2; return nil }), ScopeProducer, ""},
		{Setting[toyConfig]{}, ScopeOpen, `streamer: invalid option for toy://: "Option" = "zero value": build options with the With... functions`},
		{Combine("both", toyName.Setting("a"), toyEvery.Setting(time.Second)), ScopeConsumer, ""},
		{Combine("both", toyName.Setting("a"), toyEvery.Setting(time.Second)), ScopeProducer, `streamer: invalid option for toy://: "both" = "a,1s": this option cannot be given to NewProducer: give it to Open or NewConsumer`},
		{Combine("both", toyName.Setting("a"), toyN.Setting(12)), ScopeOpen, `streamer: invalid option for toy://: "n": at most 10`},
	} {
		err := toyOptions.Apply(new(toyConfig), tc.at, tc.s)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s at %s: %v", tc.s, tc.at.call(), err)
		case tc.want != "" && (err == nil || err.Error() != tc.want || !errors.Is(err, ErrInvalidOption)):
			t.Errorf("%s at %s: %v\nwant %s", tc.s, tc.at.call(), err, tc.want)
		}
	}
}
