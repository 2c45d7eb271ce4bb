package rules

import (
	"errors"
	"slices"
	"strings"
	"time"
	"unicode"
)

// DateErrorCode says why a date could not be read.
type DateErrorCode string

const (
	// DateUnrecognised: the text is not a date in any form ParseDate knows.
	DateUnrecognised DateErrorCode = "unrecognised"
	// DateImpossible: the text was read as day, month and year, but no such
	// date exists (31/02, month 13) or the year is outside MinYear..MaxYear.
	// Day, Month and Year hold what was read; DaysIn helps explain why.
	DateImpossible DateErrorCode = "impossible"
)

// DateError reports a date that could not be used.
type DateError struct {
	Code DateErrorCode
	// Input is the text as given. Error never prints it: people type dates
	// next to other personal data, and errors end up in logs.
	Input string
	// The parts read, set when Code is DateImpossible. Month is a plain int
	// because it may be out of range (13).
	Day, Month, Year int
}

func (e *DateError) Error() string {
	if e.Code == DateImpossible {
		return "rules: impossible date"
	}
	return "rules: unrecognised date"
}

// maxDateInput bounds the work on a message that is clearly not a date; the
// longest accepted forms ("dia 26 de fevereiro de 2025") are far shorter.
const maxDateInput = 100

// ParseDate reads a date the way people type it. Numbers are day first, as
// Portuguese cards print them, except the year-first ISO form:
//
//	26/07/2025  26.07.2025  26-07-2025  26/7/25  2025-07-26
//	26 July 2025  July 26, 2025  26th of July 2025  26 jul 25
//	26 de julho de 2025  dia 26 de julho de 2025  1.º de março de 2025
//	26 juillet 2025  le 1er août 2025  26 févr. 2025
//
// Month names are English, Portuguese or French, full or abbreviated (any
// unambiguous prefix of at least three letters), in any case, with or
// without accents. A two-digit year means 20yy. Surrounding spaces and
// punctuation are ignored.
//
// It returns a *DateError: DateImpossible with the parts read when the date
// has a day, month and year that do not exist together or a year outside
// MinYear..MaxYear, DateUnrecognised for anything else.
func ParseDate(s string) (Date, error) {
	unrecognised := &DateError{Code: DateUnrecognised, Input: s}
	if len(s) > maxDateInput {
		return Date{}, unrecognised
	}
	parts, ok := dateParts(tokenize(s))
	if !ok {
		return Date{}, unrecognised
	}
	day, month, year := parts[0], parts[1], parts[2]
	if year >= MinYear && year <= MaxYear {
		if d, err := NewDate(year, time.Month(month), day); err == nil {
			return d, nil
		}
	}
	return Date{}, &DateError{Code: DateImpossible, Input: s, Day: day, Month: month, Year: year}
}

// dateToken is a run of ASCII digits or of (folded) letters.
type dateToken struct {
	text  string
	num   bool
	glued bool // follows the previous token with no separator, as "th" in "26th"
}

// tokenize lower-cases s, folds accents away and splits it into runs of
// digits and runs of letters; everything else separates tokens.
func tokenize(s string) []dateToken {
	var toks []dateToken
	var cur strings.Builder
	curNum, glued, sep := false, false, true
	flush := func() {
		if cur.Len() > 0 {
			toks = append(toks, dateToken{text: cur.String(), num: curNum, glued: glued})
			cur.Reset()
		}
	}
	for _, r := range s {
		if unicode.Is(unicode.Mn, r) {
			continue // a combining accent, as in decomposed "é"
		}
		r = foldRune(r)
		var num bool
		switch {
		case r >= '0' && r <= '9':
			num = true
		case r == 'º' || r == 'ª':
			// Portuguese ordinal marks ("1.º"): letters to Unicode, noise here.
			sep = true
			flush()
			continue
		case unicode.IsLetter(r) || unicode.IsNumber(r) || r == unicode.ReplacementChar:
			// Other scripts' digits and invalid bytes become words, which
			// nothing below accepts, rather than silently vanishing.
			num = false
		default:
			sep = true
			flush()
			continue
		}
		if cur.Len() > 0 && num != curNum {
			flush()
			sep = false
		}
		if cur.Len() == 0 {
			curNum, glued = num, !sep && len(toks) > 0
			sep = false
		}
		cur.WriteRune(r)
	}
	flush()
	return toks
}

// foldRune lower-cases r and drops the accents used in Portuguese and French
// month names, so "Fevereiro", "FÉVR" and "fevr" read alike.
func foldRune(r rune) rune {
	r = unicode.ToLower(r)
	switch r {
	case 'à', 'á', 'â', 'ã', 'ä', 'å':
		return 'a'
	case 'ç':
		return 'c'
	case 'è', 'é', 'ê', 'ë':
		return 'e'
	case 'ì', 'í', 'î', 'ï':
		return 'i'
	case 'ò', 'ó', 'ô', 'õ', 'ö':
		return 'o'
	case 'ù', 'ú', 'û', 'ü':
		return 'u'
	case 'ñ':
		return 'n'
	case 'ý', 'ÿ':
		return 'y'
	}
	return r
}

// dateItem is a token that carries meaning: a number or a month name.
type dateItem struct {
	value   int
	digits  int  // 0 for a month name
	ordinal bool // had a suffix such as "st" or "er"
}

func (it dateItem) isMonthName() bool { return it.digits == 0 }
func (it dateItem) isDay() bool       { return it.digits >= 1 && it.digits <= 2 }
func (it dateItem) isMonthNum() bool  { return it.digits >= 1 && it.digits <= 2 && !it.ordinal }
func (it dateItem) isYear() bool      { return (it.digits == 2 || it.digits == 4) && !it.ordinal }

// dateParts finds day, month and year in the tokens, or reports false when
// they do not form one of the accepted shapes.
func dateParts(toks []dateToken) ([3]int, bool) {
	var items []dateItem
	for _, t := range toks {
		switch {
		case t.num:
			n, ok := atoiDigits(t.text)
			if !ok || len(t.text) > 4 {
				return [3]int{}, false
			}
			items = append(items, dateItem{value: n, digits: len(t.text)})
		case t.glued && isOrdinalSuffix(t.text) && len(items) > 0 && !items[len(items)-1].isMonthName():
			items[len(items)-1].ordinal = true
		case isFiller(t.text):
		default:
			m := monthByName(t.text)
			if m == 0 {
				return [3]int{}, false
			}
			items = append(items, dateItem{value: int(m)})
		}
	}
	if len(items) != 3 {
		return [3]int{}, false
	}
	a, b, c := items[0], items[1], items[2]
	switch {
	case a.digits == 4 && !a.ordinal && b.isMonthNum() && c.isDay(): // 2025-07-26
		return [3]int{c.value, b.value, a.value}, true
	case a.isDay() && (b.isMonthNum() || b.isMonthName()) && c.isYear(): // 26/07/2025, 26 July 2025
		return [3]int{a.value, b.value, fullYear(c)}, true
	case a.isMonthName() && b.isDay() && c.isYear(): // July 26, 2025
		return [3]int{b.value, a.value, fullYear(c)}, true
	}
	return [3]int{}, false
}

// fullYear reads a two-digit year as 20yy: the dates the bot asks for are
// card expiries and recent events, never the 1900s.
func fullYear(it dateItem) int {
	if it.digits == 2 {
		return 2000 + it.value
	}
	return it.value
}

func isOrdinalSuffix(s string) bool {
	switch s {
	case "st", "nd", "rd", "th", "er":
		return true
	}
	return false
}

// isFiller reports words that surround dates in the three languages and
// carry no part of them: "dia 26 de julho", "le 26 juillet", "the 26th of".
func isFiller(s string) bool {
	switch s {
	case "de", "do", "da", "dia", "em", "le", "du", "the", "of", "on":
		return true
	}
	return false
}

// monthNames holds full month names, accents folded; abbreviations are their
// prefixes. It is a read-only lookup table.
var monthNames = [...]struct {
	name  string
	month time.Month
}{
	{"january", time.January}, {"janeiro", time.January}, {"janvier", time.January},
	{"february", time.February}, {"fevereiro", time.February}, {"fevrier", time.February},
	{"march", time.March}, {"marco", time.March}, {"mars", time.March},
	{"april", time.April}, {"abril", time.April}, {"avril", time.April},
	{"may", time.May}, {"maio", time.May}, {"mai", time.May},
	{"june", time.June}, {"junho", time.June}, {"juin", time.June},
	{"july", time.July}, {"julho", time.July}, {"juillet", time.July},
	{"august", time.August}, {"agosto", time.August}, {"aout", time.August},
	{"september", time.September}, {"setembro", time.September}, {"septembre", time.September},
	{"october", time.October}, {"outubro", time.October}, {"octobre", time.October},
	{"november", time.November}, {"novembro", time.November}, {"novembre", time.November},
	{"december", time.December}, {"dezembro", time.December}, {"decembre", time.December},
}

// monthByName returns the month that s names or abbreviates, or 0. An
// abbreviation is any prefix of three letters or more that points to a
// single month ("jui" could be juin or juillet, so it is refused).
func monthByName(s string) time.Month {
	if len(s) < 3 {
		return 0
	}
	var found time.Month
	for _, mn := range monthNames {
		if !strings.HasPrefix(mn.name, s) {
			continue
		}
		if found != 0 && found != mn.month {
			return 0
		}
		found = mn.month
	}
	return found
}

// maxSentence bounds the text FindDate looks through.
const maxSentence = 400

// FindDate reads a date that stands inside a sentence, as in "my card
// expires on 26/07/2027". It tries the whole text first, then every run of up
// to five words, and accepts the date only when all the runs that read as a
// date agree; two different dates are unrecognised rather than a guess. An
// impossible date in the text is reported as such.
func FindDate(s string) (Date, error) {
	d, err := ParseDate(s)
	if err == nil || len(s) > maxSentence {
		return d, err
	}
	words := strings.Fields(s)
	var found []Date
	var impossible error
	for n := min(5, len(words)); n >= 1; n-- {
		for i := 0; i+n <= len(words); i++ {
			d, err := ParseDate(strings.Join(words[i:i+n], " "))
			var de *DateError
			switch {
			case err == nil:
				if !slices.Contains(found, d) {
					found = append(found, d)
				}
			case errors.As(err, &de) && de.Code == DateImpossible && impossible == nil:
				impossible = err
			}
		}
	}
	switch {
	case len(found) == 1:
		return found[0], nil
	case len(found) == 0 && impossible != nil:
		return Date{}, impossible
	}
	return Date{}, &DateError{Code: DateUnrecognised, Input: s}
}
