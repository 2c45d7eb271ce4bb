package rules

import "time"

// Verdict is the outcome of the 90-day rule.
type Verdict string

const (
	// Eligible: the contact form may still be used.
	Eligible Verdict = "eligible"
	// TooLate: the card is still valid but the 90-day window has closed; the
	// way forward is renewal on the Portal de Renovações.
	TooLate Verdict = "too_late"
	// Expired: the expiry date has passed; renewal too.
	Expired Verdict = "expired"
)

// The rule, as AIMA published it on 19.03.2025 ("AIMA lança novo serviço
// online!"):
//
//	"Os pedidos só podem ser feitos até 90 dias antes da validade do
//	Cartão/Título de Residência."
//	(Requests can only be made until 90 days before the expiry of the
//	residence card/title.)
//
// So expiry minus 90 days is the last day to apply, not the first. The seed
// post states it backwards ("no earlier than 90 days before"), following a
// mistranslation; its own comments, and Advocacia Pinheiro's worked example
// (expiry 30 June 2025, deadline 1 April 2025), confirm the reading here.
const NoticeDays = 90

// CautionDays: users have reported the form refusing requests "within 4
// months of expiration", a rule found in no official text. Below this many
// days left an eligible applicant is told to apply at once and keep
// screenshots.
const CautionDays = 120

// Eligibility is the 90-day rule applied to one card on one day, with the
// dates a reply needs.
type Eligibility struct {
	Verdict  Verdict
	Expiry   Date
	Today    Date
	LastDay  Date // expiry minus 90 calendar days, the last day a request is allowed (inclusive)
	DaysLeft int  // calendar days from today to expiry
	Caution  bool // eligible but fewer than 120 days left: apply now, the form has been reported to refuse close to expiry
}

// CheckEligibility applies the 90-day rule to a card expiring on expiry,
// with today as the date in Lisbon (see Today). Days are calendar days, and
// a card expiring today is too late rather than expired.
func CheckEligibility(expiry, today Date) Eligibility {
	e := Eligibility{
		Expiry:   expiry,
		Today:    today,
		LastDay:  expiry.AddDays(-NoticeDays),
		DaysLeft: today.DaysUntil(expiry),
	}
	switch {
	case e.DaysLeft < 0:
		e.Verdict = Expired
	case e.DaysLeft >= NoticeDays: // the same as today <= LastDay
		e.Verdict = Eligible
		e.Caution = e.DaysLeft < CautionDays
	default:
		e.Verdict = TooLate
	}
	return e
}

// ResidenceMonths: after a card's expiry date the right of residence
// continues for 6 months (Regulatory Decree 84/2007, art. 63, no. 14).
const ResidenceMonths = 6

// ResidenceAfterExpiry is the last day the right of residence continues
// after a card expired on expiry, without a renewal request: 6 months on, at
// the end of the month when that month is shorter (31 August -> 28 or 29
// February).
func ResidenceAfterExpiry(expiry Date) Date {
	y, m := expiry.Year, expiry.Month+ResidenceMonths
	if m > time.December {
		y, m = y+1, m-12
	}
	return Date{Year: y, Month: m, Day: min(expiry.Day, DaysIn(y, m))}
}

// FeeTableYear is the year of the newest fee table known: Portaria 307/2023
// is indexed to inflation every 1 March, and the 1 March 2026 update is the
// last one the facts hold.
const FeeTableYear = 2026

// FeesMayHaveChanged says whether, on today, AIMA has most likely updated
// its fees since the newest table known (every 1 March).
func FeesMayHaveChanged(today Date) bool {
	return !today.Before(Date{FeeTableYear + 1, time.March, 1})
}
