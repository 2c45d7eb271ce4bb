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
// from the knowledge base, or as the small talk it is, then asks the step's
// question again. It reports false when the text is neither, so the step's
// own hint is given instead.
func (t *turn) answerQuestion() bool {
	if t.in.Kind != Text {
		return false
	}
	// Where the step wants typed text (a date), a sentence is most likely
	// an attempt at the answer: only a real question goes to the knowledge base.
	if t.s.State == StateExpiry && !isQuestion(t.in.Text) {
		return false
	}
	m := t.f.kb.Match(t.in.Text, t.s.Language())
	if m.Chat != "" && t.s.State != StateLanguage {
		t.chat(m.Chat)
		return true
	}
	if !hasWords(t.in.Text) {
		return false
	}
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
	t.answer(t.known(m))
	t.ask()
	return true
}

// known settles a match with what the conversation knows: once the request
// is known, a choice between the two requests' document lists is not one
// (faqAnswer answers for the applicant's own request).
func (t *turn) known(m faq.Match) faq.Match {
	isDocs := func(id string) bool { return id == topicDataDocs || id == topicDuplicateDoc }
	if t.s.Kind != "" && m.Confidence != faq.Sure && isDocs(m.Topic) && (len(m.Also) == 0 || isDocs(m.Also[0])) {
		m.Confidence, m.Also = faq.Sure, nil
	}
	return m
}

// chat answers small talk: a word back, a person or the language question
// when that is what was asked for. A greeting, or a person asked for, is
// followed by the step's question; after thanks, a laugh or an "ok" the
// step's last message, buttons and all, still stands.
func (t *turn) chat(kind string) {
	t.out = append(t.out, Reply{Event: EventSmallTalk})
	switch kind {
	case "human":
		t.escalate(WhyAsked)
		t.ask()
	case "language":
		t.askLanguage("language_prompt")
	case "complaint":
		if t.f.staff {
			t.say("chat_complaint_staff", nil)
			t.send(t.button("btn_human", nil, actHuman))
		} else {
			t.say("chat_complaint_no_staff", nil)
			t.send()
		}
	case "greeting":
		t.say("chat_greeting", nil)
		t.send()
		t.ask()
	default:
		t.say("chat_"+kind, nil)
		t.send()
	}
}

// answer gives a matched topic's answer when the match is sure, the choice
// between two close topics, or, when unsure, says so and offers the three
// likeliest topics and a person.
func (t *turn) answer(m faq.Match) {
	switch m.Confidence {
	case faq.Sure:
		t.out = append(t.out, Reply{Event: EventFAQMatched})
		var next [][]ButtonSpec
		if tp, ok := t.f.kb.Topic(m.Next); ok {
			// A second question in the same message: offered, not answered,
			// so each message stays short.
			next = append(next, t.button("btn_faq_next", map[string]any{"Title": tp.Text[t.s.Language()].Title}, actFAQ, m.Next))
		}
		t.faqAnswer(m.Topic, next...)
		return
	case faq.Close:
		t.out = append(t.out, Reply{Event: EventFAQMatched})
		t.say("faq_pick", nil)
	default:
		t.out = append(t.out, Reply{Event: EventFAQUnsure})
		if t.f.staff {
			t.say("faq_unsure_staff", nil)
		} else {
			t.say("faq_unsure", nil)
		}
	}
	var rows [][]ButtonSpec
	for _, id := range append([]string{m.Topic}, m.Also...) {
		if tp, ok := t.f.kb.Topic(id); ok {
			rows = append(rows, []ButtonSpec{t.btn(tp.Text[t.s.Language()].Title, actFAQ, id)})
		}
	}
	if m.Confidence == faq.Unsure && t.f.staff {
		rows = append(rows, t.button("btn_human", nil, actHuman))
	}
	t.send(rows...)
}

// faqAnswer writes a topic's answer with its sources, and says so when it is
// practical guidance rather than an official rule. What the conversation
// knows (the card's expiry, the request) is added for this applicant.
func (t *turn) faqAnswer(id string, rows ...[]ButtonSpec) bool {
	tp, ok := t.f.kb.Topic(id)
	if !ok {
		return false
	}
	lang := t.s.Language()
	if alt, ok := t.ownDocuments(id); ok {
		tp, _ = t.f.kb.Topic(alt)
	}
	answer := tp.Text[lang].Answer
	if alt := tp.Text[lang].AnswerNoStaff; alt != "" && !t.f.staff {
		answer = alt
	}
	t.text = append(t.text, answer)
	t.forYou(tp.ID)
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
	t.send(rows...)
	if (tp.ID == topicDataDocs || tp.ID == topicDuplicateDoc) && t.s.Reason != "" {
		// The applicant's own checklist, in a message of its own: with
		// the answer it would not fit a phone's screen.
		t.checklist()
		t.send()
	}
	return true
}

// Topics whose answer depends on the applicant's request or dates.
const (
	topicNinetyDays   = "ninety_day_rule"
	topicRenewal      = "renewal_instead"
	topicExpired      = "expired_card_validity"
	topicPortal       = "renewal_portal_scope"
	topicDataDocs     = "data_change_docs"
	topicDuplicateDoc = "duplicate_docs"
	topicFees         = "fees"
)

// ownDocuments answers "which documents?" for the applicant's own request:
// the documents topic of the other request is swapped for theirs, unless the
// question names the other request.
func (t *turn) ownDocuments(id string) (string, bool) {
	if id != topicDataDocs && id != topicDuplicateDoc || t.s.Kind == "" {
		return "", false
	}
	if k := understand(t.in.Text, t.today).kind; k != "" && k != t.s.Kind {
		return "", false
	}
	own := topicDataDocs
	if t.s.Kind == rules.Duplicate {
		own = topicDuplicateDoc
	}
	return own, own != id
}

// forYou adds to a topic's answer what it means for this applicant on
// today's date: their own last day, how long an expired card still counts,
// whether the Portal takes their card, whether the fees are likely to have
// changed since the table known. (The documents their request still needs
// follow the answer: see faqAnswer.)
func (t *turn) forYou(id string) {
	exp := t.s.Expiry
	switch id {
	case topicNinetyDays, topicRenewal:
		if exp.IsZero() {
			return
		}
		e := rules.CheckEligibility(exp, t.today)
		d := map[string]any{"Expiry": t.cat.DateShort(t.s.Language(), exp), "Last": t.cat.DateShort(t.s.Language(), e.LastDay), "Days": t.today.DaysUntil(e.LastDay)}
		switch {
		case e.Verdict != rules.Eligible:
			t.say("faq_for_you_too_late", d)
		case e.LastDay == t.today:
			t.say("faq_for_you_last_day_today", d)
		default:
			t.say("faq_for_you_last_day", d)
		}
	case topicExpired:
		if exp.IsZero() || !exp.Before(t.today) {
			return
		}
		until := rules.ResidenceAfterExpiry(exp)
		d := map[string]any{"Expiry": t.cat.DateShort(t.s.Language(), exp), "Until": t.cat.DateShort(t.s.Language(), until)}
		if until.Before(t.today) {
			t.say("faq_for_you_expired_over", d)
		} else {
			t.say("faq_for_you_expired", d)
		}
	case topicPortal:
		if exp.IsZero() {
			return
		}
		if rules.CheckPortal(exp).Covered {
			t.say("faq_for_you_portal_in", map[string]any{"Expiry": t.cat.DateShort(t.s.Language(), exp)})
		} else {
			t.say("faq_for_you_portal_out", map[string]any{"Expiry": t.cat.DateShort(t.s.Language(), exp)})
		}
	case topicFees:
		if rules.FeesMayHaveChanged(t.today) {
			t.say("faq_for_you_fees_old", map[string]any{"Year": rules.FeeTableYear})
		}
	}
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
