package taskapi

import (
	"encoding/json"
	"fmt"
	"time"
)

// DateLayout is the wire and storage form of a Date.
const DateLayout = "2006-01-02"

// Date is a calendar day without a time or a zone, as the tutorial's
// due_date (a MySQL DATE). Its zero value is not a valid date.
type Date struct {
	t time.Time // always midnight UTC
}

// NewDate returns the Date of year, month and day.
func NewDate(year int, month time.Month, day int) Date {
	return Date{time.Date(year, month, day, 0, 0, 0, 0, time.UTC)}
}

// DateOf returns the calendar day of t in t's own location.
func DateOf(t time.Time) Date {
	y, m, d := t.Date()
	return NewDate(y, m, d)
}

// ParseDate reads a date as YYYY-MM-DD, or as an RFC 3339 timestamp whose
// day (in its own offset) is taken, as clients of the tutorial sent both.
func ParseDate(s string) (Date, error) {
	if t, err := time.Parse(DateLayout, s); err == nil {
		return Date{t}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return Date{}, fmt.Errorf("invalid date %q: want YYYY-MM-DD", s)
	}
	return DateOf(t), nil
}

// IsZero reports whether d is the zero Date.
func (d Date) IsZero() bool { return d.t.IsZero() }

// String returns d as YYYY-MM-DD.
func (d Date) String() string { return d.t.Format(DateLayout) }

// Time returns midnight UTC of d.
func (d Date) Time() time.Time { return d.t }

// Before reports whether d is an earlier day than e.
func (d Date) Before(e Date) bool { return d.t.Before(e.t) }

// After reports whether d is a later day than e.
func (d Date) After(e Date) bool { return d.t.After(e.t) }

// MarshalJSON encodes d as "YYYY-MM-DD".
func (d Date) MarshalJSON() ([]byte, error) {
	return json.Marshal(d.String())
}

// UnmarshalJSON accepts what ParseDate accepts.
func (d *Date) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("date must be a string")
	}
	v, err := ParseDate(s)
	if err != nil {
		return err
	}
	*d = v
	return nil
}
