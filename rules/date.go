package rules

import (
	"fmt"
	"sync"
	"time"
	_ "time/tzdata" // the bot must know Lisbon's rules even on a host without a zone database
)

// Date is a civil date: a day on the calendar, with no time of day and no
// zone. Card expiries and "today" are compared as dates, so an instant never
// has to be pinned to a zone again after Today.
//
// The zero Date means "not set".
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// The years a Date built by NewDate may have: four digits keep String and
// ParseISO exact inverses of each other.
const (
	minDateYear = 1
	maxDateYear = 9999
)

// MinYear and MaxYear bound the years ParseDate accepts: anything outside is
// a typo, not a residence card.
const (
	MinYear = 1900
	MaxYear = 2199
)

// NewDate returns the date, or a *DateError with code DateImpossible and the
// parts given when the date does not exist (month 13, 31 April, 29 February
// of a common year) or its year is not in 1..9999.
func NewDate(y int, m time.Month, d int) (Date, error) {
	if y < minDateYear || y > maxDateYear || m < time.January || m > time.December || d < 1 || d > DaysIn(y, m) {
		return Date{}, &DateError{Code: DateImpossible, Day: d, Month: int(m), Year: y}
	}
	return Date{Year: y, Month: m, Day: d}, nil
}

// DaysIn returns the number of days of month m in year y (Gregorian
// calendar), or 0 if m is not a month. It lets a caller explain an
// impossible date ("February 2025 has only 28 days").
func DaysIn(y int, m time.Month) int {
	switch m {
	case time.April, time.June, time.September, time.November:
		return 30
	case time.February:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case time.January, time.March, time.May, time.July, time.August, time.October, time.December:
		return 31
	}
	return 0
}

// String returns the date as YYYY-MM-DD.
func (d Date) String() string {
	return fmt.Sprintf("%04d-%02d-%02d", d.Year, int(d.Month), d.Day)
}

// utc is the date at midnight UTC: UTC has no daylight saving, so every day
// is exactly 24 hours long and date arithmetic through time.Time is exact.
func (d Date) utc() time.Time {
	return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC)
}

func dateOf(t time.Time) Date {
	y, m, d := t.Date()
	return Date{Year: y, Month: m, Day: d}
}

// AddDays returns the date n calendar days later (earlier if n < 0).
func (d Date) AddDays(n int) Date {
	return dateOf(d.utc().AddDate(0, 0, n))
}

// DaysUntil returns the number of calendar days from d to e, negative if e is
// before d.
func (d Date) DaysUntil(e Date) int {
	// Unix seconds rather than Sub: a time.Duration saturates after about
	// 292 years, and both instants are whole UTC days apart.
	return int((e.utc().Unix() - d.utc().Unix()) / (24 * 60 * 60))
}

// Compare returns -1 if d is before e, 0 if they are the same date and +1 if
// d is after e.
func (d Date) Compare(e Date) int {
	switch {
	case d.Year != e.Year:
		return sign(d.Year - e.Year)
	case d.Month != e.Month:
		return sign(int(d.Month - e.Month))
	}
	return sign(d.Day - e.Day)
}

func sign(n int) int {
	switch {
	case n < 0:
		return -1
	case n > 0:
		return 1
	}
	return 0
}

// Before reports whether d is an earlier day than e.
func (d Date) Before(e Date) bool { return d.Compare(e) < 0 }

// After reports whether d is a later day than e.
func (d Date) After(e Date) bool { return d.Compare(e) > 0 }

// Weekday returns the day of the week of d.
func (d Date) Weekday() time.Weekday { return d.utc().Weekday() }

// IsZero reports whether d is the zero Date ("not set").
func (d Date) IsZero() bool { return d == Date{} }

// MarshalText encodes d as YYYY-MM-DD, and the zero Date as an empty text so
// that "not set" survives a round trip through storage.
func (d Date) MarshalText() ([]byte, error) {
	if d.IsZero() {
		return []byte{}, nil
	}
	if _, err := NewDate(d.Year, d.Month, d.Day); err != nil {
		return nil, err
	}
	return []byte(d.String()), nil
}

// UnmarshalText decodes what MarshalText produced: YYYY-MM-DD, or an empty
// text for the zero Date.
func (d *Date) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*d = Date{}
		return nil
	}
	v, err := ParseISO(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// ParseISO reads exactly YYYY-MM-DD (four-digit year, two-digit month and
// day), the form String writes. It is meant for flags, configuration and
// storage; for dates typed by people use ParseDate.
func ParseISO(s string) (Date, error) {
	if len(s) != len("2006-01-02") || s[4] != '-' || s[7] != '-' {
		return Date{}, &DateError{Code: DateUnrecognised, Input: s}
	}
	y, ok1 := atoiDigits(s[0:4])
	m, ok2 := atoiDigits(s[5:7])
	d, ok3 := atoiDigits(s[8:10])
	if !ok1 || !ok2 || !ok3 {
		return Date{}, &DateError{Code: DateUnrecognised, Input: s}
	}
	v, err := NewDate(y, time.Month(m), d)
	if err != nil {
		err.(*DateError).Input = s
		return Date{}, err
	}
	return v, nil
}

// atoiDigits converts a short run of ASCII digits; unlike strconv.Atoi it
// refuses signs, so "+1" or "-1" cannot pass as a number.
func atoiDigits(s string) (int, bool) {
	if s == "" || len(s) > 9 {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

var lisbon = sync.OnceValue(func() *time.Location {
	loc, err := time.LoadLocation("Europe/Lisbon")
	if err != nil {
		// Unreachable: time/tzdata embeds the zone database as a fallback.
		panic("rules: Europe/Lisbon time zone unavailable: " + err.Error())
	}
	return loc
})

// Lisbon returns the Europe/Lisbon time zone, in which AIMA counts days.
func Lisbon() *time.Location { return lisbon() }

// Today returns the calendar date in Lisbon at instant now. Lisbon is on
// UTC+1 in summer, so late evening UTC is already the next day there.
func Today(now time.Time) Date {
	return dateOf(now.In(Lisbon()))
}
