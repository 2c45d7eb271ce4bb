package flows

import (
	"strings"
	"testing"
	"time"

	"github.com/aimabot/aimabot/rules"
)

// Every answer of the knowledge base, in every language, with and without
// a support team, fits a phone: at most maxPhoneText characters, sources
// included.
func TestAnswersFitAPhone(t *testing.T) {
	// What the conversation may know adds lines to an answer: the card's
	// date (eligible, too late, expired), the request's checklist, fees
	// that may have changed.
	known := []struct {
		name  string
		s     Session
		today rules.Date
	}{
		{"nothing known", Session{}, rules.Date{Year: 2026, Month: time.December, Day: 7}},
		{"a lost card in time, after 1 March", Session{Kind: rules.Duplicate, Reason: rules.Lost,
			Expiry: rules.Date{Year: 2027, Month: time.September, Day: 30}}, rules.Date{Year: 2027, Month: time.March, Day: 5}},
		{"an expired card, an address", Session{Kind: rules.DataChange, Reason: rules.Address,
			Expiry: rules.Date{Year: 2026, Month: time.August, Day: 31}}, rules.Date{Year: 2026, Month: time.December, Day: 7}},
	}
	for _, f := range []*Flow{newFlow(t), flowWithout(t)} {
		for _, tp := range f.kb.Topics() {
			for _, lang := range Languages() {
				for _, k := range known {
					s := k.s
					s.Lang = lang
					tr := &turn{f: f, cat: f.cat, s: s, today: k.today}
					tr.faqAnswer(tp.ID)
					for _, r := range tr.out {
						if n := len([]rune(r.Text)); n > maxPhoneText {
							t.Errorf("%s in %s, %s (support team %v): %d characters; want at most %d:\n%s", tp.ID, lang, k.name, f.staff, n, maxPhoneText, r.Text)
						}
					}
				}
			}
		}
	}
}

// /status in the documents shows the checklist once, not again in the
// question that follows it; /help comes apart from the step's question.
func TestNoBlockTwice(t *testing.T) {
	f := newFlow(t)
	_, replies := play(t, f, tourNow, with(toDocuments, "photo 1000", "/status")...)
	if n := strings.Count(texts(replies), "Your documents:"); n != 1 {
		t.Errorf("/status in the documents shows the checklist %d times; want once:\n%s", n, texts(replies))
	}
	_, replies = play(t, f, tourNow, with(toDocuments, "photo 1000", "/help")...)
	if len(replies) < 2 || !strings.Contains(replies[0].Text, "/start") || strings.Contains(replies[0].Text, "Document 2 of 3") {
		t.Errorf("/help = %q; want the commands in a message of their own, then the question", texts(replies))
	}
}
