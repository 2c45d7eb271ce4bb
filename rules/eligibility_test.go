package rules

import (
	"testing"
	"time"
)

func TestCheckEligibility(t *testing.T) {
	tests := []struct {
		name         string
		expiry       Date    // expiry date printed on the card
		today        Date    // today in Lisbon
		wantVerdict  Verdict // outcome of the 90-day rule
		wantLastDay  Date    // expiry minus 90 days
		wantDaysLeft int     // days from today to expiry
		wantCaution  bool    // eligible with fewer than 120 days left
	}{
		{
			name:   "brief example: exactly 90 days left is the last day",
			expiry: d(2027, time.February, 23), today: d(2026, time.November, 25),
			wantVerdict: Eligible, wantLastDay: d(2026, time.November, 25), wantDaysLeft: 90, wantCaution: true,
		},
		{
			name:   "brief example: one day later expiry is one day too late",
			expiry: d(2027, time.February, 22), today: d(2026, time.November, 25),
			wantVerdict: TooLate, wantLastDay: d(2026, time.November, 24), wantDaysLeft: 89,
		},
		{
			name:   "91 days left",
			expiry: d(2027, time.February, 24), today: d(2026, time.November, 25),
			wantVerdict: Eligible, wantLastDay: d(2026, time.November, 26), wantDaysLeft: 91, wantCaution: true,
		},
		{
			name:   "119 days left is still in the caution band",
			expiry: d(2026, time.December, 31), today: d(2026, time.September, 3),
			wantVerdict: Eligible, wantLastDay: d(2026, time.October, 2), wantDaysLeft: 119, wantCaution: true,
		},
		{
			name:   "120 days left needs no caution",
			expiry: d(2026, time.December, 31), today: d(2026, time.September, 2),
			wantVerdict: Eligible, wantLastDay: d(2026, time.October, 2), wantDaysLeft: 120,
		},
		{
			name:   "facts example: expiry 31 Dec 2026, last day 2 Oct 2026",
			expiry: d(2026, time.December, 31), today: d(2026, time.October, 2),
			wantVerdict: Eligible, wantLastDay: d(2026, time.October, 2), wantDaysLeft: 90, wantCaution: true,
		},
		{
			name:   "facts example: expiry 31 Dec 2026, 3 Oct 2026 is too late",
			expiry: d(2026, time.December, 31), today: d(2026, time.October, 3),
			wantVerdict: TooLate, wantLastDay: d(2026, time.October, 2), wantDaysLeft: 89,
		},
		{
			name:   "facts example: expiry 15 Nov 2026, last day 17 Aug 2026",
			expiry: d(2026, time.November, 15), today: d(2026, time.August, 17),
			wantVerdict: Eligible, wantLastDay: d(2026, time.August, 17), wantDaysLeft: 90, wantCaution: true,
		},
		{
			name:   "facts example: expiry 30 Jun 2025, last day 1 Apr 2025",
			expiry: d(2025, time.June, 30), today: d(2025, time.April, 1),
			wantVerdict: Eligible, wantLastDay: d(2025, time.April, 1), wantDaysLeft: 90, wantCaution: true,
		},
		{
			name:   "a year ahead",
			expiry: d(2027, time.July, 26), today: d(2026, time.July, 26),
			wantVerdict: Eligible, wantLastDay: d(2027, time.April, 27), wantDaysLeft: 365,
		},
		{
			name:   "card expiring today is too late, not expired",
			expiry: d(2026, time.July, 26), today: d(2026, time.July, 26),
			wantVerdict: TooLate, wantLastDay: d(2026, time.April, 27), wantDaysLeft: 0,
		},
		{
			name:   "card that expired yesterday",
			expiry: d(2026, time.July, 25), today: d(2026, time.July, 26),
			wantVerdict: Expired, wantLastDay: d(2026, time.April, 26), wantDaysLeft: -1,
		},
		{
			name:   "card that expired long ago",
			expiry: d(2020, time.February, 22), today: d(2026, time.July, 26),
			wantVerdict: Expired, wantLastDay: d(2019, time.November, 24), wantDaysLeft: -2346,
		},
		{
			name:   "last day crosses 29 February of a leap year",
			expiry: d(2028, time.May, 29), today: d(2028, time.February, 29),
			wantVerdict: Eligible, wantLastDay: d(2028, time.February, 29), wantDaysLeft: 90, wantCaution: true,
		},
		{
			name:   "the day after the leap-year last day",
			expiry: d(2028, time.May, 29), today: d(2028, time.March, 1),
			wantVerdict: TooLate, wantLastDay: d(2028, time.February, 29), wantDaysLeft: 89,
		},
		{
			name:   "same expiry in a common year has a different last day",
			expiry: d(2027, time.May, 29), today: d(2027, time.February, 28),
			wantVerdict: Eligible, wantLastDay: d(2027, time.February, 28), wantDaysLeft: 90, wantCaution: true,
		},
		{
			name:   "late March expiry: last day falls in the previous year",
			expiry: d(2027, time.March, 25), today: d(2026, time.December, 25),
			wantVerdict: Eligible, wantLastDay: d(2026, time.December, 25), wantDaysLeft: 90, wantCaution: true,
		},
		{
			name:   "late March expiry, checked on 1 January",
			expiry: d(2027, time.March, 25), today: d(2027, time.January, 1),
			wantVerdict: TooLate, wantLastDay: d(2026, time.December, 25), wantDaysLeft: 83,
		},
		{
			name:   "31 March expiry: last day is 31 December",
			expiry: d(2027, time.March, 31), today: d(2026, time.December, 31),
			wantVerdict: Eligible, wantLastDay: d(2026, time.December, 31), wantDaysLeft: 90, wantCaution: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := CheckEligibility(tt.expiry, tt.today)
			want := Eligibility{
				Verdict:  tt.wantVerdict,
				Expiry:   tt.expiry,
				Today:    tt.today,
				LastDay:  tt.wantLastDay,
				DaysLeft: tt.wantDaysLeft,
				Caution:  tt.wantCaution,
			}
			if got != want {
				t.Errorf("CheckEligibility(%v, %v) = %+v; want %+v", tt.expiry, tt.today, got, want)
			}
		})
	}
}

// TestCheckEligibilityAgreesWithLastDay walks across the boundary day by day:
// "eligible" must mean exactly "today is not after LastDay".
func TestCheckEligibilityAgreesWithLastDay(t *testing.T) {
	expiry := d(2028, time.May, 29)
	for today := d(2027, time.December, 1); !today.After(expiry.AddDays(2)); today = today.AddDays(1) {
		e := CheckEligibility(expiry, today)
		if got, want := e.Verdict == Eligible, !today.After(e.LastDay); got != want {
			t.Errorf("CheckEligibility(%v, %v).Verdict = %q; want eligible = %t", expiry, today, e.Verdict, want)
		}
		if got, want := e.Verdict == Expired, today.After(expiry); got != want {
			t.Errorf("CheckEligibility(%v, %v).Verdict = %q; want expired = %t", expiry, today, e.Verdict, want)
		}
	}
}

func TestResidenceAfterExpiry(t *testing.T) {
	tests := []struct {
		name         string
		expiry, want Date
	}{
		{"same day six months on", Date{2026, time.March, 15}, Date{2026, time.September, 15}},
		{"into the next year", Date{2026, time.August, 20}, Date{2027, time.February, 20}},
		{"end of a longer month", Date{2026, time.August, 31}, Date{2027, time.February, 28}},
		{"leap February", Date{2027, time.August, 31}, Date{2028, time.February, 29}},
		{"December", Date{2026, time.December, 31}, Date{2027, time.June, 30}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ResidenceAfterExpiry(tt.expiry); got != tt.want {
				t.Errorf("ResidenceAfterExpiry(%v) = %v; want %v", tt.expiry, got, tt.want)
			}
		})
	}
}

func TestFeesMayHaveChanged(t *testing.T) {
	for _, tt := range []struct {
		today Date
		want  bool
	}{
		{Date{2026, time.December, 7}, false},
		{Date{2027, time.February, 28}, false},
		{Date{2027, time.March, 1}, true},
		{Date{2028, time.January, 10}, true},
	} {
		if got := FeesMayHaveChanged(tt.today); got != tt.want {
			t.Errorf("FeesMayHaveChanged(%v) = %v; want %v", tt.today, got, tt.want)
		}
	}
}
