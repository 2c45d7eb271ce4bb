package officehours

import (
	"testing"
	"time"
)

func lisbon(t testing.TB) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Europe/Lisbon")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func at(t testing.TB, s string) time.Time {
	t.Helper()
	v, err := time.ParseInLocation("2006-01-02 15:04", s, lisbon(t))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

const week = "mon-fri 09:00-13:00 14:00-18:00"

func TestElapsed(t *testing.T) {
	c, err := Parse(week, lisbon(t))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, from, to string
		want           time.Duration
	}{
		{"within a morning", "2026-12-07 10:00", "2026-12-07 11:20", 80 * time.Minute},
		{"over lunch", "2026-12-07 12:30", "2026-12-07 14:30", time.Hour},
		{"overnight", "2026-12-14 17:00", "2026-12-16 10:00", time.Hour + 8*time.Hour + time.Hour},
		{"over a weekend", "2026-12-11 17:00", "2026-12-14 10:00", 2 * time.Hour},
		{"over a holiday (8 December)", "2026-12-07 17:00", "2026-12-09 10:00", 2 * time.Hour},
		{"asked on a holiday", "2026-12-08 10:00", "2026-12-08 16:00", 0},
		{"Good Friday 2027 (26 March)", "2027-03-25 17:00", "2027-03-29 09:30", 90 * time.Minute},
		{"Easter weekend, the clocks going forward", "2027-03-25 17:00", "2027-03-29 10:00", 2 * time.Hour},
		{"the clocks go back (31 October 2027)", "2027-10-29 17:30", "2027-11-02 09:15", 30*time.Minute + 15*time.Minute},
		{"backwards", "2026-12-07 11:00", "2026-12-07 10:00", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := c.Elapsed(at(t, tt.from), at(t, tt.to)); got != tt.want {
				t.Errorf("Elapsed(%s, %s) = %v; want %v", tt.from, tt.to, got, tt.want)
			}
		})
	}
}

func TestAdd(t *testing.T) {
	c, err := Parse(week, lisbon(t))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, from string
		d          time.Duration
		want       string
	}{
		{"within a morning", "2026-12-07 10:00", time.Hour, "2026-12-07 11:00"},
		{"over lunch", "2026-12-07 12:30", time.Hour, "2026-12-07 14:30"},
		{"asked at night", "2026-12-07 22:00", 2 * time.Hour, "2026-12-09 11:00"}, // the 8th is a holiday
		{"over a weekend", "2026-12-11 17:30", 2 * time.Hour, "2026-12-14 10:30"},
		{"Good Friday and the clocks going forward", "2027-03-25 17:00", 2 * time.Hour, "2027-03-29 10:00"},
		{"the clocks go back", "2027-10-29 17:30", 4 * time.Hour, "2027-11-02 12:30"}, // 1 November is a holiday
		{"ends as it closes", "2026-12-07 12:00", time.Hour, "2026-12-07 13:00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := c.Add(at(t, tt.from), tt.d); !got.Equal(at(t, tt.want)) {
				t.Errorf("Add(%s, %v) = %v; want %s", tt.from, tt.d, got.In(lisbon(t)), tt.want)
			}
		})
	}
}

// A day the clocks change has its real length: open all Sunday, 29 March
// 2026 is 23 hours long and 25 October 2026 25.
func TestDaylightSaving(t *testing.T) {
	c, err := Parse("sun 00:00-24:00", lisbon(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		day  string
		want time.Duration
	}{{"2026-03-29", 23 * time.Hour}, {"2026-10-25", 25 * time.Hour}, {"2026-11-08", 24 * time.Hour}} {
		from := at(t, tt.day+" 00:00")
		if got := c.Elapsed(from, from.Add(48*time.Hour)); got != tt.want {
			t.Errorf("Elapsed over Sunday %s = %v; want %v", tt.day, got, tt.want)
		}
		if got := c.Add(from, tt.want); !got.Equal(at(t, tt.day+" 00:00").AddDate(0, 0, 1)) {
			t.Errorf("Add(Sunday %s, %v) = %v; want Monday 00:00", tt.day, tt.want, got.In(lisbon(t)))
		}
	}
}

func TestOpenAndAlways(t *testing.T) {
	c, err := Parse("mon,wed 09:00-12:00; sat 10:00-11:00", lisbon(t))
	if err != nil {
		t.Fatal(err)
	}
	for s, want := range map[string]bool{"2026-12-07 09:00": true, "2026-12-07 12:00": false, "2026-12-09 11:59": true,
		"2026-12-10 10:00": false, "2026-12-12 10:30": true, "2026-12-25 10:30": false} {
		if got := c.Open(at(t, s)); got != want {
			t.Errorf("Open(%s) = %v; want %v", s, got, want)
		}
	}
	a := Always()
	from := at(t, "2026-12-08 10:00")
	if got := a.Elapsed(from, from.Add(90*time.Minute)); got != 90*time.Minute || !a.Add(from, time.Hour).Equal(from.Add(time.Hour)) || !a.Open(from) {
		t.Errorf("Always: Elapsed = %v; want clocks that never stop", got)
	}
}

func TestParseErrors(t *testing.T) {
	for _, spec := range []string{"mon", "funday 09:00-10:00", "mon 10:00-09:00", "mon 9h-10h", "mon 09:00-12:00 11:00-13:00",
		"mon 25:00-26:00"} {
		if _, err := Parse(spec, lisbon(t)); err == nil {
			t.Errorf("Parse(%q) = nil error; want one", spec)
		}
	}
	if c, err := Parse("  ", nil); err != nil || !c.Always() {
		t.Errorf("Parse(blank) = %v; want Always", err)
	}
}

func TestEaster(t *testing.T) {
	for y, want := range map[int]string{2025: "2025-04-20", 2026: "2026-04-05", 2027: "2027-03-28", 2028: "2028-04-16"} {
		if got := Easter(y).Format("2006-01-02"); got != want {
			t.Errorf("Easter(%d) = %s; want %s", y, got, want)
		}
	}
}
