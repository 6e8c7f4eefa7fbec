package driver_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/seastream/ss/streamer/driver"
)

func TestValidateStreamKey(t *testing.T) {
	tests := []struct {
		key  string
		want error
	}{
		{"a", nil},
		{"orders.v1_final-2", nil},
		{strings.Repeat("k", driver.MaxStreamKeyLen), nil},
		{"", driver.ErrInvalidStreamKey},
		{strings.Repeat("k", driver.MaxStreamKeyLen+1), driver.ErrInvalidStreamKey},
		{"a b", driver.ErrInvalidStreamKey},
		{"a/b", driver.ErrInvalidStreamKey},
		{"a:b", driver.ErrInvalidStreamKey},
		{"a,b", driver.ErrInvalidStreamKey},
		{"é", driver.ErrInvalidStreamKey},
		{"a\x00", driver.ErrInvalidStreamKey},
		{"SEA_STREAMER_INTERNAL", driver.ErrReservedStreamKey},
		{"SEA_STREAMER_WILDCARD", driver.ErrReservedStreamKey},
	}
	for _, tt := range tests {
		err := driver.ValidateStreamKey(tt.key)
		if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
			t.Errorf("ValidateStreamKey(%q) = %v, want %v", tt.key, err, tt.want)
		}
		if err != nil {
			var ke *driver.StreamKeyError
			if !errors.As(err, &ke) || ke.Key != tt.key {
				t.Errorf("ValidateStreamKey(%q): error %v is not a *StreamKeyError with the key", tt.key, err)
			}
			if _, err2 := driver.NewStreamKey(tt.key); !errors.Is(err2, tt.want) {
				t.Errorf("NewStreamKey(%q) = %v, want %v", tt.key, err2, tt.want)
			}
		} else if k, err2 := driver.NewStreamKey(tt.key); err2 != nil || string(k) != tt.key {
			t.Errorf("NewStreamKey(%q) = %q, %v", tt.key, k, err2)
		}
	}
	if err := driver.ValidateStreamKeySyntax("SEA_STREAMER_WILDCARD"); err != nil {
		t.Errorf("ValidateStreamKeySyntax(wildcard) = %v", err)
	}
}

func TestSeqPos(t *testing.T) {
	if (driver.SeqPos{}) != driver.SeqBeginning() {
		t.Error("zero SeqPos is not the beginning")
	}
	for _, tt := range []struct {
		p    driver.SeqPos
		want string
	}{{driver.SeqBeginning(), "beginning"}, {driver.SeqEnd(), "end"}, {driver.SeqAt(42), "seq 42"}} {
		if got := tt.p.String(); got != tt.want {
			t.Errorf("%#v.String() = %q, want %q", tt.p, got, tt.want)
		}
	}
	if got := (driver.StreamShard{Stream: "a", Shard: 3}).String(); got != "a/3" {
		t.Errorf("StreamShard.String() = %q", got)
	}
}
