// Package officehours counts time the way a support team's targets count it:
// only while the team is open. A Calendar holds the opening hours of each
// weekday (with breaks), in Europe/Lisbon, closed on Portugal's national
// public holidays; the zero-configuration calendar is always open.
//
// Wall-clock hours are turned into instants day by day in the calendar's
// zone, so a day when the clocks change has its real length: an 09:00–18:00
// day is nine hours either side of a change at 01:00.
package officehours

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Calendar is a team's office hours. It is immutable and safe for
// concurrent use.
type Calendar struct {
	loc    *time.Location
	always bool
	week   [7][]span // by time.Weekday
}

// span is an opening, in minutes from midnight, [from, to).
type span struct{ from, to int }

// maxDays bounds the days a count walks: a target is hours or days, and a
// case is not left waiting a year.
const maxDays = 400

// Always is a calendar that never closes: clocks run all the time.
func Always() *Calendar { return &Calendar{loc: time.UTC, always: true} }

// Parse reads office hours: ";"-separated entries of days and openings,
// "mon-fri 09:00-13:00 14:00-18:00; sat 10:00-13:00", in loc. Days are the
// English three-letter names, alone, in ranges (mon-fri) or lists
// (mon,wed). An empty spec is Always.
func Parse(spec string, loc *time.Location) (*Calendar, error) {
	spec = strings.TrimSpace(spec)
	if spec == "" {
		return Always(), nil
	}
	if loc == nil {
		return nil, errors.New("office hours: no time zone")
	}
	c := &Calendar{loc: loc}
	for _, entry := range strings.Split(spec, ";") {
		fields := strings.Fields(entry)
		if len(fields) == 0 {
			continue
		}
		days, err := parseDays(fields[0])
		if err != nil {
			return nil, fmt.Errorf("office hours %q: %w", entry, err)
		}
		if len(fields) == 1 {
			return nil, fmt.Errorf("office hours %q: no hours (like 09:00-18:00)", strings.TrimSpace(entry))
		}
		for _, f := range fields[1:] {
			s, err := parseSpan(f)
			if err != nil {
				return nil, fmt.Errorf("office hours %q: %w", strings.TrimSpace(entry), err)
			}
			for _, d := range days {
				c.week[d] = append(c.week[d], s)
			}
		}
	}
	for d := range c.week {
		slices.SortFunc(c.week[d], func(a, b span) int { return a.from - b.from })
		for i := 1; i < len(c.week[d]); i++ {
			if c.week[d][i].from < c.week[d][i-1].to {
				return nil, fmt.Errorf("office hours: %s has overlapping hours", time.Weekday(d))
			}
		}
	}
	if !slices.ContainsFunc(c.week[:], func(s []span) bool { return len(s) > 0 }) {
		return nil, errors.New("office hours: no day is open")
	}
	return c, nil
}

var dayNames = map[string]time.Weekday{"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday,
	"wed": time.Wednesday, "thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday}

func parseDays(s string) ([]time.Weekday, error) {
	var out []time.Weekday
	for _, part := range strings.Split(strings.ToLower(s), ",") {
		a, b, isRange := strings.Cut(part, "-")
		from, ok := dayNames[a]
		if !ok {
			return nil, fmt.Errorf("%q is not a day (mon, tue, … sun)", a)
		}
		if !isRange {
			out = append(out, from)
			continue
		}
		to, ok := dayNames[b]
		if !ok {
			return nil, fmt.Errorf("%q is not a day (mon, tue, … sun)", b)
		}
		for d := from; ; d = (d + 1) % 7 {
			out = append(out, d)
			if d == to {
				break
			}
		}
	}
	return out, nil
}

func parseSpan(s string) (span, error) {
	a, b, ok := strings.Cut(s, "-")
	if !ok {
		return span{}, fmt.Errorf("%q: want hours like 09:00-13:00", s)
	}
	from, err1 := parseClock(a)
	to, err2 := parseClock(b)
	if err := errors.Join(err1, err2); err != nil {
		return span{}, err
	}
	if to <= from {
		return span{}, fmt.Errorf("%q ends before it starts", s)
	}
	return span{from, to}, nil
}

func parseClock(s string) (int, error) {
	h, m, ok := strings.Cut(s, ":")
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if !ok || err1 != nil || err2 != nil || hh < 0 || mm < 0 || mm > 59 || hh > 24 || (hh == 24 && mm > 0) {
		return 0, fmt.Errorf("%q is not a time of day like 09:30", s)
	}
	return hh*60 + mm, nil
}

// Always reports whether the calendar never closes.
func (c *Calendar) Always() bool { return c.always }

// openings are a day's opening instants, none on a holiday.
func (c *Calendar) openings(y int, m time.Month, d int) [][2]time.Time {
	day := time.Date(y, m, d, 12, 0, 0, 0, c.loc)
	if holiday(y, m, d) {
		return nil
	}
	var out [][2]time.Time
	for _, s := range c.week[day.Weekday()] {
		out = append(out, [2]time.Time{
			time.Date(y, m, d, s.from/60, s.from%60, 0, 0, c.loc),
			time.Date(y, m, d, s.to/60, s.to%60, 0, 0, c.loc),
		})
	}
	return out
}

// Elapsed is the office time between from and to (0 when to is not after
// from).
func (c *Calendar) Elapsed(from, to time.Time) time.Duration {
	if !to.After(from) {
		return 0
	}
	if c.always {
		return to.Sub(from)
	}
	var total time.Duration
	y, m, d := from.In(c.loc).Date()
	for i := 0; i < maxDays; i++ {
		day := time.Date(y, m, d+i, 12, 0, 0, 0, c.loc)
		if day.Add(-12 * time.Hour).After(to) {
			break
		}
		for _, o := range c.openings(day.Date()) {
			a, b := later(o[0], from), earlier(o[1], to)
			if b.After(a) {
				total += b.Sub(a)
			}
		}
	}
	return total
}

// Add is the instant d of office time after from: a target's deadline. A
// deadline past the days a count walks is the zero time.
func (c *Calendar) Add(from time.Time, d time.Duration) time.Time {
	if c.always {
		return from.Add(d)
	}
	y, m, dd := from.In(c.loc).Date()
	for i := 0; i < maxDays; i++ {
		for _, o := range c.openings(time.Date(y, m, dd+i, 12, 0, 0, 0, c.loc).Date()) {
			a := later(o[0], from)
			if !o[1].After(a) {
				continue
			}
			left := o[1].Sub(a)
			if d <= left {
				return a.Add(d)
			}
			d -= left
		}
	}
	return time.Time{}
}

// Open reports whether the team is open at t.
func (c *Calendar) Open(t time.Time) bool {
	if c.always {
		return true
	}
	for _, o := range c.openings(t.In(c.loc).Date()) {
		if !t.Before(o[0]) && t.Before(o[1]) {
			return true
		}
	}
	return false
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func earlier(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// holiday reports Portugal's national public holidays (Código do
// Trabalho, art. 234): 1 January, Good Friday, Easter Sunday, 25 April,
// 1 May, Corpus Christi, 10 June, 15 August, 5 October, 1 November,
// 1 December, 8 December and 25 December.
func holiday(y int, m time.Month, d int) bool {
	switch {
	case m == time.January && d == 1, m == time.April && d == 25, m == time.May && d == 1,
		m == time.June && d == 10, m == time.August && d == 15, m == time.October && d == 5,
		m == time.November && d == 1, m == time.December && (d == 1 || d == 8 || d == 25):
		return true
	}
	easter := Easter(y)
	day := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	for _, offset := range []int{-2, 0, 60} { // Good Friday, Easter, Corpus Christi
		if day.Equal(easter.AddDate(0, 0, offset)) {
			return true
		}
	}
	return false
}

// Easter is Easter Sunday of year y (Gregorian; the anonymous algorithm),
// at midnight UTC.
func Easter(y int) time.Time {
	a, b, c := y%19, y/100, y%100
	d, e := b/4, b%4
	f := (b + 8) / 25
	g := (b - f + 1) / 3
	h := (19*a + b - d - g + 15) % 30
	i, k := c/4, c%4
	l := (32 + 2*e + 2*i - h - k) % 7
	m := (a + 11*h + 22*l) / 451
	month := (h + l - 7*m + 114) / 31
	day := (h+l-7*m+114)%31 + 1
	return time.Date(y, time.Month(month), day, 0, 0, 0, 0, time.UTC)
}
