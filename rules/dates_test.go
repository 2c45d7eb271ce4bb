package rules

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// d builds a date the test knows to be valid.
func d(y int, m time.Month, day int) Date {
	return Date{Year: y, Month: m, Day: day}
}

func TestNewDate(t *testing.T) {
	tests := []struct {
		name    string
		y       int        // year
		m       time.Month // month
		d       int        // day
		wantErr bool       // whether the date does not exist
	}{
		{name: "ordinary", y: 2025, m: time.July, d: 26},
		{name: "29 February of a leap year", y: 2024, m: time.February, d: 29},
		{name: "29 February of a common year", y: 2025, m: time.February, d: 29, wantErr: true},
		{name: "29 February 1900, not a leap year", y: 1900, m: time.February, d: 29, wantErr: true},
		{name: "29 February 2000, a leap year", y: 2000, m: time.February, d: 29},
		{name: "30 February", y: 2024, m: time.February, d: 30, wantErr: true},
		{name: "31 April", y: 2025, m: time.April, d: 31, wantErr: true},
		{name: "31 December", y: 2025, m: time.December, d: 31},
		{name: "day zero", y: 2025, m: time.January, d: 0, wantErr: true},
		{name: "day 32", y: 2025, m: time.January, d: 32, wantErr: true},
		{name: "month zero", y: 2025, m: 0, d: 1, wantErr: true},
		{name: "month 13", y: 2025, m: 13, d: 1, wantErr: true},
		{name: "year zero", y: 0, m: time.January, d: 1, wantErr: true},
		{name: "five-digit year", y: 10000, m: time.January, d: 1, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := NewDate(tt.y, tt.m, tt.d)
			if tt.wantErr {
				var de *DateError
				if !errors.As(err, &de) || de.Code != DateImpossible || de.Day != tt.d || de.Month != int(tt.m) || de.Year != tt.y {
					t.Errorf("NewDate(%d, %d, %d) = %v, %#v; want DateImpossible with the parts", tt.y, tt.m, tt.d, got, err)
				}
				return
			}
			if want := d(tt.y, tt.m, tt.d); err != nil || got != want {
				t.Errorf("NewDate(%d, %d, %d) = %v, %v; want %v, nil", tt.y, tt.m, tt.d, got, err, want)
			}
		})
	}
}

func TestDaysIn(t *testing.T) {
	tests := []struct {
		name string
		y    int        // year
		m    time.Month // month
		want int        // days in that month
	}{
		{name: "February of a common year", y: 2025, m: time.February, want: 28},
		{name: "February of a leap year", y: 2024, m: time.February, want: 29},
		{name: "February of a century year", y: 1900, m: time.February, want: 28},
		{name: "February of a 400th year", y: 2000, m: time.February, want: 29},
		{name: "February 2100", y: 2100, m: time.February, want: 28},
		{name: "April", y: 2025, m: time.April, want: 30},
		{name: "December", y: 2025, m: time.December, want: 31},
		{name: "month 13", y: 2025, m: 13, want: 0},
		{name: "month zero", y: 2025, m: 0, want: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := DaysIn(tt.y, tt.m); got != tt.want {
				t.Errorf("DaysIn(%d, %d) = %d; want %d", tt.y, tt.m, got, tt.want)
			}
		})
	}
}

func TestDateString(t *testing.T) {
	tests := []struct {
		name string
		in   Date   // date to print
		want string // YYYY-MM-DD
	}{
		{name: "two-digit day and month", in: d(2025, time.July, 26), want: "2025-07-26"},
		{name: "padded day and month", in: d(2026, time.January, 1), want: "2026-01-01"},
		{name: "padded year", in: d(999, time.December, 31), want: "0999-12-31"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.in.String(); got != tt.want {
				t.Errorf("%#v.String() = %q; want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestAddDays(t *testing.T) {
	tests := []struct {
		name string
		from Date // starting date
		n    int  // days to add
		want Date // resulting date
	}{
		{name: "zero", from: d(2025, time.July, 26), n: 0, want: d(2025, time.July, 26)},
		{name: "next month", from: d(2025, time.July, 26), n: 10, want: d(2025, time.August, 5)},
		{name: "back across a leap day", from: d(2024, time.March, 1), n: -1, want: d(2024, time.February, 29)},
		{name: "back across February of a common year", from: d(2025, time.March, 1), n: -1, want: d(2025, time.February, 28)},
		{name: "forward across a year end", from: d(2025, time.December, 31), n: 1, want: d(2026, time.January, 1)},
		{name: "a leap year", from: d(2024, time.January, 1), n: 366, want: d(2025, time.January, 1)},
		{name: "over a DST change", from: d(2026, time.March, 28), n: 2, want: d(2026, time.March, 30)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.from.AddDays(tt.n); got != tt.want {
				t.Errorf("%v.AddDays(%d) = %v; want %v", tt.from, tt.n, got, tt.want)
			}
		})
	}
}

func TestDaysUntil(t *testing.T) {
	tests := []struct {
		name string
		from Date // the receiver
		to   Date // the argument
		want int  // calendar days from from to to
	}{
		{name: "same day", from: d(2025, time.July, 26), to: d(2025, time.July, 26), want: 0},
		{name: "next day", from: d(2025, time.July, 26), to: d(2025, time.July, 27), want: 1},
		{name: "previous day", from: d(2025, time.July, 26), to: d(2025, time.July, 25), want: -1},
		{name: "across a leap day", from: d(2024, time.February, 28), to: d(2024, time.March, 1), want: 2},
		{name: "a whole leap year", from: d(2024, time.January, 1), to: d(2025, time.January, 1), want: 366},
		{name: "across the spring DST change", from: d(2026, time.March, 28), to: d(2026, time.March, 30), want: 2},
		{name: "across the autumn DST change", from: d(2026, time.October, 24), to: d(2026, time.October, 26), want: 2},
		{name: "longer than a time.Duration holds", from: d(1, time.January, 1), to: d(9999, time.December, 31), want: 3652058},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.from.DaysUntil(tt.to); got != tt.want {
				t.Errorf("%v.DaysUntil(%v) = %d; want %d", tt.from, tt.to, got, tt.want)
			}
		})
	}
}

func TestCompare(t *testing.T) {
	tests := []struct {
		name       string
		a, b       Date // dates compared as a.Compare(b)
		want       int  // -1, 0 or +1
		wantBefore bool // a.Before(b)
		wantAfter  bool // a.After(b)
	}{
		{name: "same day", a: d(2025, time.July, 26), b: d(2025, time.July, 26), want: 0},
		{name: "earlier day", a: d(2025, time.July, 25), b: d(2025, time.July, 26), want: -1, wantBefore: true},
		{name: "later month, smaller day", a: d(2025, time.August, 1), b: d(2025, time.July, 31), want: 1, wantAfter: true},
		{name: "earlier year, larger month", a: d(2024, time.December, 31), b: d(2025, time.January, 1), want: -1, wantBefore: true},
		{name: "later year, smaller month", a: d(2026, time.January, 1), b: d(2025, time.December, 31), want: 1, wantAfter: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.a.Compare(tt.b); got != tt.want {
				t.Errorf("%v.Compare(%v) = %d; want %d", tt.a, tt.b, got, tt.want)
			}
			if got := tt.a.Before(tt.b); got != tt.wantBefore {
				t.Errorf("%v.Before(%v) = %t; want %t", tt.a, tt.b, got, tt.wantBefore)
			}
			if got := tt.a.After(tt.b); got != tt.wantAfter {
				t.Errorf("%v.After(%v) = %t; want %t", tt.a, tt.b, got, tt.wantAfter)
			}
		})
	}
}

func TestWeekday(t *testing.T) {
	tests := []struct {
		name string
		in   Date         // date
		want time.Weekday // its day of the week
	}{
		{name: "a Saturday", in: d(2025, time.July, 26), want: time.Saturday},
		{name: "a leap day", in: d(2024, time.February, 29), want: time.Thursday},
		{name: "the spring DST change", in: d(2026, time.March, 29), want: time.Sunday},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.in.Weekday(); got != tt.want {
				t.Errorf("%v.Weekday() = %v; want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestIsZero(t *testing.T) {
	if got := (Date{}).IsZero(); !got {
		t.Errorf("Date{}.IsZero() = false; want true")
	}
	if got := d(2025, time.July, 26).IsZero(); got {
		t.Errorf("2025-07-26.IsZero() = true; want false")
	}
}

func TestParseISO(t *testing.T) {
	tests := []struct {
		name     string
		in       string        // flag value
		want     Date          // date read on success
		wantCode DateErrorCode // expected error code; "" for success
	}{
		{name: "date", in: "2025-07-26", want: d(2025, time.July, 26)},
		{name: "leap day", in: "2024-02-29", want: d(2024, time.February, 29)},
		{name: "leap day of a common year", in: "2025-02-29", wantCode: DateImpossible},
		{name: "month 13", in: "2025-13-01", wantCode: DateImpossible},
		{name: "unpadded month", in: "2025-7-26", wantCode: DateUnrecognised},
		{name: "day first with slashes", in: "26/07/2025", wantCode: DateUnrecognised},
		{name: "day first with dashes", in: "26-07-2025", wantCode: DateUnrecognised},
		{name: "leading space", in: " 2025-07-26", wantCode: DateUnrecognised},
		{name: "trailing space", in: "2025-07-26 ", wantCode: DateUnrecognised},
		{name: "signed year", in: "+025-07-26", wantCode: DateUnrecognised},
		{name: "signed month", in: "2025-+7-26", wantCode: DateUnrecognised},
		{name: "letter in the day", in: "2025-07-2x", wantCode: DateUnrecognised},
		{name: "empty", in: "", wantCode: DateUnrecognised},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseISO(tt.in)
			if code := dateErrorCode(t, err); code != tt.wantCode {
				t.Fatalf("ParseISO(%q) error code = %q; want %q", tt.in, code, tt.wantCode)
			}
			if got != tt.want {
				t.Errorf("ParseISO(%q) = %v; want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestDateText(t *testing.T) {
	tests := []struct {
		name string
		in   Date   // date to encode
		want string // text form
	}{
		{name: "date", in: d(2025, time.July, 26), want: "2025-07-26"},
		{name: "zero date is empty", in: Date{}, want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := tt.in.MarshalText()
			if err != nil || string(b) != tt.want {
				t.Fatalf("%#v.MarshalText() = %q, %v; want %q, nil", tt.in, b, err, tt.want)
			}
			var back Date
			if err := back.UnmarshalText(b); err != nil || back != tt.in {
				t.Errorf("UnmarshalText(%q) = %v, %v; want %v, nil", b, back, err, tt.in)
			}
		})
	}
}

func TestDateTextErrors(t *testing.T) {
	if b, err := d(2025, time.February, 30).MarshalText(); err == nil {
		t.Errorf("2025-02-30.MarshalText() = %q, nil; want an error", b)
	}
	back := d(2000, time.January, 1)
	if err := back.UnmarshalText([]byte("26/07/2025")); err == nil {
		t.Errorf("UnmarshalText(%q) = nil error; want an error", "26/07/2025")
	}
	if want := d(2000, time.January, 1); back != want {
		t.Errorf("date after a failed UnmarshalText = %v; want it unchanged, %v", back, want)
	}
}

func TestLisbon(t *testing.T) {
	if got := Lisbon().String(); got != "Europe/Lisbon" {
		t.Errorf("Lisbon().String() = %q; want %q", got, "Europe/Lisbon")
	}
}

func TestToday(t *testing.T) {
	utc := func(y int, m time.Month, day, h, min int) time.Time {
		return time.Date(y, m, day, h, min, 0, 0, time.UTC)
	}
	newYork, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		now  time.Time // the instant
		want Date      // the date in Lisbon at that instant
	}{
		{name: "summer evening UTC is already the next day", now: utc(2025, time.July, 26, 23, 30), want: d(2025, time.July, 27)},
		{name: "summer, just before midnight in Lisbon", now: utc(2025, time.July, 26, 22, 59), want: d(2025, time.July, 26)},
		{name: "winter evening UTC is the same day", now: utc(2026, time.January, 15, 23, 30), want: d(2026, time.January, 15)},
		{name: "new year's eve in winter", now: utc(2025, time.December, 31, 23, 59), want: d(2025, time.December, 31)},
		// Clocks go forward at 01:00 UTC on the last Sunday of March.
		{name: "spring change, the evening before at 23:30 UTC", now: utc(2026, time.March, 28, 23, 30), want: d(2026, time.March, 28)},
		{name: "spring change night, 00:30 UTC", now: utc(2026, time.March, 29, 0, 30), want: d(2026, time.March, 29)},
		{name: "spring change night, 01:30 UTC", now: utc(2026, time.March, 29, 1, 30), want: d(2026, time.March, 29)},
		{name: "the evening after the spring change, 23:30 UTC", now: utc(2026, time.March, 29, 23, 30), want: d(2026, time.March, 30)},
		// Clocks go back at 01:00 UTC on the last Sunday of October.
		{name: "autumn change, the evening before at 23:30 UTC", now: utc(2026, time.October, 24, 23, 30), want: d(2026, time.October, 25)},
		{name: "autumn change night, 00:30 UTC", now: utc(2026, time.October, 25, 0, 30), want: d(2026, time.October, 25)},
		{name: "autumn change night, 01:30 UTC", now: utc(2026, time.October, 25, 1, 30), want: d(2026, time.October, 25)},
		{name: "the evening after the autumn change, 23:30 UTC", now: utc(2026, time.October, 25, 23, 30), want: d(2026, time.October, 25)},
		{name: "an instant in another zone", now: time.Date(2026, time.July, 26, 20, 0, 0, 0, newYork), want: d(2026, time.July, 27)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Today(tt.now); got != tt.want {
				t.Errorf("Today(%v) = %v; want %v", tt.now, got, tt.want)
			}
		})
	}
}

// dateErrorCode returns the code of a *DateError, "" for nil, and fails the
// test for any other error.
func dateErrorCode(t *testing.T, err error) DateErrorCode {
	t.Helper()
	if err == nil {
		return ""
	}
	var e *DateError
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not a *DateError", err, err)
	}
	return e.Code
}

func TestParseDate(t *testing.T) {
	jul26 := d(2025, time.July, 26)
	// Each input names its own subtest; the comments group them by form.
	tests := []struct {
		in   string // text as a user types it
		want Date   // date read
	}{
		// Numeric, day first.
		{"26/07/2025", jul26},
		{"26.07.2025", jul26},
		{"26-07-2025", jul26},
		{"26/7/2025", jul26},
		{"6/7/2025", d(2025, time.July, 6)},
		{"06/07/2025", d(2025, time.July, 6)},
		{"26/07/25", jul26},
		{"26.7.25", jul26},
		{"26 07 2025", jul26},
		{"01/02/2026", d(2026, time.February, 1)},
		{"29/02/2024", d(2024, time.February, 29)},
		{"31/12/1999", d(1999, time.December, 31)},
		{"01/01/00", d(2000, time.January, 1)},
		{"31/12/99", d(2099, time.December, 31)},
		// Year first.
		{"2025-07-26", jul26},
		{"2025/07/26", jul26},
		{"2025-7-26", jul26},
		// Surrounding whitespace and punctuation.
		{"  26/07/2025  ", jul26},
		{"\t26/07/2025\n", jul26},
		{"26/07/2025.", jul26},
		{"(26/07/2025)", jul26},
		{"«26.07.2025»", jul26},
		{"26/07/2025!", jul26},
		{"\u00a026 July 2025\u00a0", jul26},
		// English.
		{"26 July 2025", jul26},
		{"26 july 2025", jul26},
		{"26 JULY 2025", jul26},
		{"26 Jul 2025", jul26},
		{"26 jul 25", jul26},
		{"26-Jul-2025", jul26},
		{"26jul2025", jul26},
		{"July 26, 2025", jul26},
		{"July 26 2025", jul26},
		{"Jul. 26, 2025", jul26},
		{"July 26th, 2025", jul26},
		{"26th July 2025", jul26},
		{"the 26th of July 2025", jul26},
		{"on 26 July 2025", jul26},
		{"1st March 2026", d(2026, time.March, 1)},
		{"2nd May 2026", d(2026, time.May, 2)},
		{"3rd June 2026", d(2026, time.June, 3)},
		{"4th Sept 2026", d(2026, time.September, 4)},
		{"4 Sep 2026", d(2026, time.September, 4)},
		{"1 January 2026", d(2026, time.January, 1)},
		{"1 Feb 2026", d(2026, time.February, 1)},
		{"1 Apr 2026", d(2026, time.April, 1)},
		{"1 Aug 2026", d(2026, time.August, 1)},
		{"1 October 2026", d(2026, time.October, 1)},
		{"1 Nov 2026", d(2026, time.November, 1)},
		{"25 December 2026", d(2026, time.December, 25)},
		// Portuguese.
		{"26 de julho de 2025", jul26},
		{"dia 26 de julho de 2025", jul26},
		{"26 de Julho de 2025", jul26},
		{"26 julho 2025", jul26},
		{"1 de janeiro de 2026", d(2026, time.January, 1)},
		{"28 de fevereiro de 2026", d(2026, time.February, 28)},
		{"28 fev 2026", d(2026, time.February, 28)},
		{"1 de março de 2026", d(2026, time.March, 1)},
		{"1 de marco de 2026", d(2026, time.March, 1)},
		{"1 de MARÇO de 2026", d(2026, time.March, 1)},
		{"1.º de março de 2026", d(2026, time.March, 1)},
		{"1º de março de 2026", d(2026, time.March, 1)},
		{"1 abr 2026", d(2026, time.April, 1)},
		{"1 de maio de 2026", d(2026, time.May, 1)},
		{"1 de junho de 2026", d(2026, time.June, 1)},
		{"15 de agosto de 2026", d(2026, time.August, 15)},
		{"15 ago 2026", d(2026, time.August, 15)},
		{"15 de setembro de 2026", d(2026, time.September, 15)},
		{"15 set 2026", d(2026, time.September, 15)},
		{"15 de outubro de 2026", d(2026, time.October, 15)},
		{"15 out 2026", d(2026, time.October, 15)},
		{"15 de novembro de 2026", d(2026, time.November, 15)},
		{"31 de dezembro de 2026", d(2026, time.December, 31)},
		{"31 dez 2026", d(2026, time.December, 31)},
		// French.
		{"26 juillet 2025", jul26},
		{"le 26 juillet 2025", jul26},
		{"26 juil. 2025", jul26},
		{"1er janvier 2026", d(2026, time.January, 1)},
		{"le 1er août 2026", d(2026, time.August, 1)},
		{"1 aout 2026", d(2026, time.August, 1)},
		{"1 AOÛT 2026", d(2026, time.August, 1)},
		{"1 février 2026", d(2026, time.February, 1)},
		{"1 fevrier 2026", d(2026, time.February, 1)},
		{"1 févr. 2026", d(2026, time.February, 1)},
		{"1 FÉVRIER 2026", d(2026, time.February, 1)},
		{"1 fe\u0301vrier 2026", d(2026, time.February, 1)}, // decomposed accent
		{"1 mars 2026", d(2026, time.March, 1)},
		{"1 avril 2026", d(2026, time.April, 1)},
		{"1 avr. 2026", d(2026, time.April, 1)},
		{"1 mai 2026", d(2026, time.May, 1)},
		{"1 juin 2026", d(2026, time.June, 1)},
		{"1 septembre 2026", d(2026, time.September, 1)},
		{"1 octobre 2026", d(2026, time.October, 1)},
		{"1 novembre 2026", d(2026, time.November, 1)},
		{"25 décembre 2026", d(2026, time.December, 25)},
		{"25 decembre 2026", d(2026, time.December, 25)},
		{"25 déc. 2026", d(2026, time.December, 25)},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseDate(tt.in)
			if err != nil || got != tt.want {
				t.Errorf("ParseDate(%q) = %v, %v; want %v, nil", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestParseDateImpossible(t *testing.T) {
	tests := []struct {
		name                string
		in                  string // text that reads as a date that does not exist
		wantD, wantM, wantY int    // the parts the error must report
	}{
		{name: "31 February", in: "31/02/2025", wantD: 31, wantM: 2, wantY: 2025},
		{name: "29 February of a common year", in: "29/02/2025", wantD: 29, wantM: 2, wantY: 2025},
		{name: "29 February, two-digit year", in: "29.02.25", wantD: 29, wantM: 2, wantY: 2025},
		{name: "29 February in Portuguese", in: "29 de fevereiro de 2025", wantD: 29, wantM: 2, wantY: 2025},
		{name: "30 February of a leap year", in: "30 February 2024", wantD: 30, wantM: 2, wantY: 2024},
		{name: "31 April", in: "31 April 2026", wantD: 31, wantM: 4, wantY: 2026},
		{name: "day 32", in: "32/01/2025", wantD: 32, wantM: 1, wantY: 2025},
		{name: "day zero", in: "00/01/2025", wantD: 0, wantM: 1, wantY: 2025},
		{name: "month 13", in: "26/13/2025", wantD: 26, wantM: 13, wantY: 2025},
		{name: "month zero", in: "26/00/2025", wantD: 26, wantM: 0, wantY: 2025},
		{name: "month first is read day first", in: "07/26/2025", wantD: 7, wantM: 26, wantY: 2025},
		{name: "ISO leap day of a common year", in: "2025-02-29", wantD: 29, wantM: 2, wantY: 2025},
		{name: "ISO month 13", in: "2025-13-01", wantD: 1, wantM: 13, wantY: 2025},
		{name: "year before 1900", in: "26/07/1899", wantD: 26, wantM: 7, wantY: 1899},
		{name: "year after 2199", in: "26/07/2200", wantD: 26, wantM: 7, wantY: 2200},
		{name: "ancient year with a month name", in: "26 July 1066", wantD: 26, wantM: 7, wantY: 1066},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseDate(tt.in)
			var de *DateError
			if !errors.As(err, &de) {
				t.Fatalf("ParseDate(%q) = %v, %v; want a *DateError", tt.in, got, err)
			}
			if de.Code != DateImpossible || de.Day != tt.wantD || de.Month != tt.wantM || de.Year != tt.wantY || de.Input != tt.in {
				t.Errorf("ParseDate(%q) error = %+v; want code %q, day %d, month %d, year %d, input %q",
					tt.in, de, DateImpossible, tt.wantD, tt.wantM, tt.wantY, tt.in)
			}
			if got != (Date{}) {
				t.Errorf("ParseDate(%q) date = %v; want the zero Date", tt.in, got)
			}
		})
	}
}

func TestParseDateUnrecognised(t *testing.T) {
	tests := []struct {
		name string
		in   string // text that is not a date ParseDate knows
	}{
		{name: "empty", in: ""},
		{name: "spaces", in: "   "},
		{name: "a word", in: "hello"},
		{name: "a relative date", in: "tomorrow"},
		{name: "no year", in: "26/07"},
		{name: "no day", in: "July 2025"},
		{name: "a lone number", in: "26"},
		{name: "no separators", in: "26072025"},
		{name: "three-digit year", in: "26/07/202"},
		{name: "five-digit year", in: "26/07/20255"},
		{name: "three-digit day", in: "126/07/2025"},
		{name: "three-digit month", in: "26/007/2025"},
		{name: "four numbers", in: "26/07/2025/01"},
		{name: "a time as well", in: "26/07/2025 15:30"},
		{name: "Spanish month", in: "26 julio 2025"},
		{name: "month name too short", in: "26 ju 2025"},
		{name: "ambiguous abbreviation, juin or juillet", in: "26 jui 2025"},
		{name: "two month names", in: "26 July July 2025"},
		{name: "trailing words", in: "26 July 2025 hello"},
		{name: "date inside a sentence", in: "my card expires 26/07/2025"},
		{name: "detached ordinal", in: "26 st July 2025"},
		{name: "year first with a month name", in: "2025 July 26"},
		{name: "ordinal year", in: "26th/07/2025th"},
		{name: "Arabic-Indic digits", in: "٢٦/٠٧/٢٠٢٥"},
		{name: "invalid UTF-8 after a date", in: "26/07/2025\xff"},
		{name: "only invalid UTF-8", in: "\xff\xfe\xfd"},
		{name: "overlong zero-padded year", in: "26/07/" + strings.Repeat("0", 200) + "2025"},
		{name: "overlong input", in: strings.Repeat("26 ", 100)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseDate(tt.in)
			if code := dateErrorCode(t, err); code != DateUnrecognised {
				t.Errorf("ParseDate(%q) = %v, code %q; want code %q", tt.in, got, code, DateUnrecognised)
			}
		})
	}
}

func TestDateErrorOmitsInput(t *testing.T) {
	in := "Maria Silva 31/02/2025"
	_, err := ParseDate("31/02/2025")
	if err == nil {
		t.Fatal(`ParseDate("31/02/2025") = nil error; want an error`)
	}
	if got, want := err.Error(), "rules: impossible date"; got != want {
		t.Errorf(`ParseDate("31/02/2025").Error() = %q; want %q`, got, want)
	}
	_, err = ParseDate(in)
	if err == nil {
		t.Fatalf("ParseDate(%q) = nil error; want an error", in)
	}
	if got := err.Error(); strings.Contains(got, "Maria") || strings.Contains(got, "31") {
		t.Errorf("ParseDate(%q).Error() = %q; want no part of the input", in, got)
	}
}

func FuzzParseDate(f *testing.F) {
	for _, s := range []string{
		"26/07/2025", "26.07.2025", "26-07-2025", "2025-07-26", "26/7/25",
		"26 July 2025", "July 26, 2025", "26th of July 2025", "26 jul 25",
		"26 de julho de 2025", "dia 1.º de março de 2026", "le 1er août 2026",
		"1 févr. 2026", "1 fe\u0301vrier 2026", "31/02/2025", "26/13/2025",
		"", "hello", "\xff", "٢٦/٠٧/٢٠٢٥", "26jul2025",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseDate(s)
		if err != nil {
			var de *DateError
			if !errors.As(err, &de) {
				t.Fatalf("ParseDate(%q) error %v (%T) is not a *DateError", s, err, err)
			}
			if de.Code != DateUnrecognised && de.Code != DateImpossible {
				t.Fatalf("ParseDate(%q) error code = %q; want %q or %q", s, de.Code, DateUnrecognised, DateImpossible)
			}
			return
		}
		if got.Year < MinYear || got.Year > MaxYear {
			t.Fatalf("ParseDate(%q) = %v; want a year in %d..%d", s, got, MinYear, MaxYear)
		}
		back, err := ParseISO(got.String())
		if err != nil || back != got {
			t.Fatalf("ParseISO(ParseDate(%q).String()) = %v, %v; want %v, nil", s, back, err, got)
		}
	})
}
