package flows

import (
	"strings"
	"testing"
	"time"

	"github.com/aimabot/aimabot/rules"
)

// A card too close to expiry, or expired, is told to renew; the reply says
// the Portal takes the card only when the card's expiry is inside a window
// AIMA confirmed, and otherwise says plainly that it is not known yet.
func TestRenewalPortalCoverage(t *testing.T) {
	f := newFlow(t)
	for _, tt := range []struct {
		name    string
		now     time.Time
		expiry  string
		covered bool
	}{
		{"expired inside the window", time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC), "30/09/2026", true},
		{"too late, expiring after the window", time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC), "20/02/2027", false},
		{"expiring today, after the window", time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC), "25/11/2026", false},
		{"expired before the window", time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC), "15/03/2025", false},
		{"too late, in the window's last month", time.Date(2026, 9, 1, 10, 0, 0, 0, time.UTC), "31/10/2026", true},
	} {
		for _, lang := range Languages() {
			t.Run(tt.name+"/"+lang, func(t *testing.T) {
				s := Session{}
				var replies []Reply
				for _, in := range []Input{ParseText("/start", lang), {Kind: Button, Data: "0:lang:" + lang},
					{Kind: Button, Data: "1:sit:duplicate"}, {Kind: Button, Data: "2:reason:lost"}, ParseText(tt.expiry, lang)} {
					s, replies, _ = f.Step(s, in, tt.now)
				}
				var text strings.Builder
				for _, r := range replies {
					text.WriteString(r.Text)
				}
				e, err := rules.ParseDate(tt.expiry)
				if err != nil {
					t.Fatal(err)
				}
				c := rules.CheckPortal(e)
				d := map[string]any{"Expiry": f.cat.DateShort(lang, e), "From": f.cat.DateShort(lang, c.Window.From),
					"To": f.cat.DateShort(lang, c.Window.To), "Confirmed": f.cat.DateShort(lang, c.Window.Confirmed)}
				want, other := "portal_unknown", "portal_covered"
				if tt.covered {
					want, other = other, want
				}
				got := text.String()
				if !strings.Contains(got, f.cat.Text(lang, want, d)) || strings.Contains(got, f.cat.Text(lang, other, d)) {
					t.Errorf("verdict for a card expiring %s on %s:\n%s\nwant %s, not %s", tt.expiry, tt.now.Format(time.DateOnly), got, want, other)
				}
			})
		}
	}
}

// A date typed at the verdict changes the card's date: the verdict is given
// again for the new date, nothing else asked.
func TestDateTypedAtVerdict(t *testing.T) {
	f := newFlow(t)
	now := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		typed     string
		wantState string
		wantDate  rules.Date
		wantSay   string
	}{
		{"20/02/2030", StateVerdict, rules.Date{Year: 2030, Month: 2, Day: 20}, "20 February 2030"},
		{"sorry it is 3 march 2031", StateVerdict, rules.Date{Year: 2031, Month: 3, Day: 3}, "3 March 2031"},
		{"31/04/2030", StateExpiry, rules.Date{Year: 2027, Month: 1, Day: 20}, "There is no 31 April 2030"},
	} {
		t.Run(tt.typed, func(t *testing.T) {
			s := Session{}
			for _, in := range []Input{ParseText("/start", "en"), {Kind: Button, Data: "0:lang:en"},
				{Kind: Button, Data: "1:sit:duplicate"}, {Kind: Button, Data: "2:reason:lost"}, ParseText("20/01/2027", "en")} {
				s, _, _ = f.Step(s, in, now)
			}
			if s.State != StateVerdict {
				t.Fatalf("state = %s; want the verdict", s.State)
			}
			next, replies, err := f.Step(s, ParseText(tt.typed, "en"), now)
			var text strings.Builder
			for _, r := range replies {
				text.WriteString(r.Text)
			}
			if err != nil || next.State != tt.wantState || next.Expiry != tt.wantDate || !strings.Contains(text.String(), tt.wantSay) {
				t.Errorf("Step(verdict, %q) = %s, %v, %v:\n%s\nwant %s, %v, saying %q", tt.typed, next.State, next.Expiry, err,
					text.String(), tt.wantState, tt.wantDate, tt.wantSay)
			}
		})
	}
}
