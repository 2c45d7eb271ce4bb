package flows

import (
	"strings"
	"testing"
)

// Every answer of the knowledge base, in every language, with and without
// a support team, fits a phone: at most maxPhoneText characters, sources
// included.
func TestAnswersFitAPhone(t *testing.T) {
	for _, f := range []*Flow{newFlow(t), flowWithout(t)} {
		for _, tp := range f.kb.Topics() {
			for _, lang := range Languages() {
				tr := &turn{f: f, cat: f.cat, s: Session{Lang: lang}}
				tr.faqAnswer(tp.ID)
				for _, r := range tr.out {
					if n := len([]rune(r.Text)); n > maxPhoneText {
						t.Errorf("%s in %s (support team %v): %d characters; want at most %d:\n%s", tp.ID, lang, f.staff, n, maxPhoneText, r.Text)
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
