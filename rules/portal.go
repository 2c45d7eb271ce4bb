package rules

import "time"

// PortalWindow is a range of card expiry dates that AIMA said its Portal de
// Renovações takes, as last confirmed on a given day. The Portal's coverage
// changes (AIMA opened it month by month in 2025), so a window is a fact of
// a period, not a rule: a card outside every known window is not known to
// be covered, which is not the same as known not to be.
type PortalWindow struct {
	From, To  Date // expiry dates taken, both inclusive
	Confirmed Date // the last day AIMA's own text was seen saying so
}

// PortalWindows are the windows known, oldest first. AIMA's news of
// 01.07.2026 ("Portal de Renovações: certificados e cartões de residência
// permanentes de nacionais UE e familiares"): "autorizações de residência
// expiradas ou a expirar a partir de 1 julho de 2025 e até 31 outubro de
// 2026", still AIMA's text on 08.10.2026 (aima-facts-update-2026-12 §1). The
// end date has passed since, and what AIMA takes after it is not known.
func PortalWindows() []PortalWindow {
	return []PortalWindow{{
		From:      Date{2025, time.July, 1},
		To:        Date{2026, time.October, 31},
		Confirmed: Date{2026, time.October, 8},
	}}
}

// PortalCoverage is what is known of whether the Portal takes a card.
type PortalCoverage struct {
	// Covered says the card's expiry is inside Window.
	Covered bool
	// Window is the window the expiry is in when Covered; otherwise the
	// nearest known one, to say what AIMA last confirmed.
	Window PortalWindow
}

// CheckPortal says whether a card expiring on expiry is inside a window the
// Portal is known to take.
func CheckPortal(expiry Date) PortalCoverage {
	ws := PortalWindows()
	c := PortalCoverage{Window: ws[len(ws)-1]}
	for _, w := range ws {
		if !expiry.Before(w.From) && !expiry.After(w.To) {
			return PortalCoverage{Covered: true, Window: w}
		}
		if expiry.Before(w.From) {
			c.Window = w // the first window after the expiry
			break
		}
	}
	return c
}
