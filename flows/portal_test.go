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
