package rules

import (
	"testing"
	"time"
)

func TestCheckPortal(t *testing.T) {
	w := PortalWindows()[0]
	for _, tt := range []struct {
		name   string
		expiry Date
		want   bool
	}{
		{"the window's first day", Date{2025, time.July, 1}, true},
		{"inside, expired already", Date{2026, time.March, 3}, true},
		{"the window's last day", Date{2026, time.October, 31}, true},
		{"the day after: not known", Date{2026, time.November, 1}, false},
		{"next year: not known", Date{2027, time.February, 20}, false},
		{"expired before the window: not known", Date{2025, time.June, 30}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := CheckPortal(tt.expiry)
			if got.Covered != tt.want || got.Window != w {
				t.Errorf("CheckPortal(%v) = %+v; want covered %v, window %+v", tt.expiry, got, tt.want, w)
			}
		})
	}
}
