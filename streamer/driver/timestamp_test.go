package driver_test

import (
	"errors"
	"testing"
	"time"

	"github.com/seastream/ss/streamer/driver"
)

func TestParseTimestamp(t *testing.T) {
	good := map[string]time.Time{
		"2022-01-01T00:00:00":           time.Date(2022, 1, 1, 0, 0, 0, 0, time.UTC),
		"2023-06-05T13:55:53.001":       time.Date(2023, 6, 5, 13, 55, 53, 1e6, time.UTC),
		"2023-06-05T13:55:53.5":         time.Date(2023, 6, 5, 13, 55, 53, 5e8, time.UTC),
		"0000-01-01T00:00:00":           time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC),
		"9999-12-31T23:59:59.999999999": time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC),
		"2000-02-29T12:00:00":           time.Date(2000, 2, 29, 12, 0, 0, 0, time.UTC),
	}
	for s, want := range good {
		got, err := driver.ParseTimestamp(s)
		if err != nil || !got.Equal(want) || got.Location() != time.UTC {
			t.Errorf("ParseTimestamp(%q) = %v, %v; want %v", s, got, err, want)
		}
	}
	for _, s := range []string{"", "2022", "1900-02-29T00:00:00", "2022-04-31T00:00:00", "2022-00-01T00:00:00",
		"2022-01-00T00:00:00", "2022-01-01T00:60:00", "2022-01-01T00:00:00,123", "2022-01-01T00:00:00.12a",
		"+022-01-01T00:00:00", "2022-1-01T00:00:00", " 2022-01-01T00:00:00", "2022-01-01t00:00:00"} {
		if got, err := driver.ParseTimestamp(s); !errors.Is(err, driver.ErrInvalidTimestamp) {
			t.Errorf("ParseTimestamp(%q) = %v, %v; want ErrInvalidTimestamp", s, got, err)
		}
	}
}
