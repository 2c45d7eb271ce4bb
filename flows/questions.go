package flows

import (
	"fmt"
	"net/url"
	"strings"
	"unicode"

	"github.com/aimabot/aimabot/flows/faq"
	"github.com/aimabot/aimabot/rules"
)

// --- questions ---

// answerQuestion answers typed text that did not answer the current step
// from the knowledge base, then asks the step's question again. It reports
// false when the text is neither a known question nor looks like one, so the
// step's own hint is given instead.
func (t *turn) answerQuestion() bool {
	if t.in.Kind != Text || !hasWords(t.in.Text) {
		return false
	}
	// Where the step wants typed text (a date), a sentence is most likely
	// an attempt at the answer: only a real question goes to the knowledge base.
	if t.s.State == StateExpiry && !isQuestion(t.in.Text) {
		return false
	}
	m := t.f.kb.Match(t.in.Text, t.s.Language())
	if m.Topic == faq.None {
		if !looksLikeQuestion(t.in.Text) {
			return false
		}
		t.s.Misses++
		t.s.Unanswered++
		t.out = append(t.out, Reply{Event: EventFAQUnmatched})
		switch {
		case !t.f.staff:
			t.say("faq_none_no_staff", nil)
			t.send()
		case t.s.Unanswered >= unansweredForCase && t.openCase(WhyQuestion):
			t.s.Question = t.in.Text
			t.say("faq_none_case", nil)
			t.send()
		default:
			t.say("faq_none", nil)
			t.send(t.button("btn_human", nil, actHuman))
		}
		t.ask()
		return true
	}
	t.s.Unanswered = 0
	t.out = append(t.out, Reply{Event: EventFAQMatched})
	t.answer(m)
	t.ask()
	return true
}

// answer gives a matched topic's answer, or the choice between two close
// topics.
func (t *turn) answer(m faq.Match) {
	if len(m.Also) == 0 {
		t.faqAnswer(m.Topic)
		return
	}
	t.say("faq_pick", nil)
	var rows [][]ButtonSpec
	for _, id := range append([]string{m.Topic}, m.Also...)[:min(3, 1+len(m.Also))] {
		if tp, ok := t.f.kb.Topic(id); ok {
			rows = append(rows, []ButtonSpec{t.btn(tp.Text[t.s.Language()].Title, actFAQ, id)})
		}
	}
	t.send(rows...)
}

// faqAnswer writes a topic's answer with its sources, and says so when it is
// practical guidance rather than an official rule.
func (t *turn) faqAnswer(id string) bool {
	tp, ok := t.f.kb.Topic(id)
	if !ok {
		return false
	}
	lang := t.s.Language()
	answer := tp.Text[lang].Answer
	if alt := tp.Text[lang].AnswerNoStaff; alt != "" && !t.f.staff {
		answer = alt
	}
	t.text = append(t.text, answer)
	if tp.Kind == faq.Guidance {
		t.say("faq_guidance", nil)
	}
	checked, err := rules.ParseISO(tp.Checked)
	when := tp.Checked
	if err == nil {
		when = t.cat.DateShort(lang, checked)
	}
	var names []string
	seen := map[string]int{}
	for _, src := range tp.Sources {
		name := sourceName(src)
		if seen[name]++; seen[name] > 1 {
			name = fmt.Sprintf("%s (%d)", name, seen[name])
		}
		names = append(names, name)
		t.links = append(t.links, Link{Text: name, URL: src})
	}
	t.say("faq_sources", map[string]any{"Sources": strings.Join(names, " · "), "Checked": when})
	t.send()
	return true
}

// sourceName is the short name a source is shown by, its site
// ("aima.gov.pt"); the address is behind it.
func sourceName(src string) string {
	u, err := url.Parse(src)
	if err != nil || u.Host == "" {
		return src
	}
	return strings.TrimPrefix(u.Host, "www.")
}

// faqMenu lists every topic as a button.
func (t *turn) faqMenu() {
	t.say("faq_menu", nil)
	var rows [][]ButtonSpec
	for _, tp := range t.f.kb.Topics() {
		rows = append(rows, []ButtonSpec{t.btn(tp.Text[t.s.Language()].Title, actFAQ, tp.ID)})
	}
	t.send(rows...)
}

// hasWords is true when the text has at least two words of letters: a
// number or a single word is never taken for a question.
func hasWords(text string) bool {
	n := 0
	for _, f := range strings.Fields(text) {
		for _, r := range f {
			if unicode.IsLetter(r) {
				n++
				break
			}
		}
	}
	return n >= 2
}

// isQuestion is a question mark, or a question word first.
func isQuestion(text string) bool {
	if strings.Contains(text, "?") {
		return true
	}
	first, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(text)), " ")
	switch strings.Trim(first, ",.!:;") {
	case "how", "what", "where", "when", "why", "which", "who", "can", "could", "do", "does", "is", "are", "will",
		"should", "must", "may", "como", "onde", "quando", "quanto", "quantos", "qual", "quais", "porque", "posso",
		"pode", "preciso", "devo", "comment", "combien", "où", "ou", "quand", "quel", "quelle", "pourquoi", "est-ce",
		"puis-je", "dois-je", "faut-il", "peut-on":
		return true
	}
	return false
}

// looksLikeQuestion tells a question from a stray word: a question mark, or
// a few words.
func looksLikeQuestion(text string) bool {
	return strings.Contains(text, "?") || len(strings.Fields(text)) >= 4
}
