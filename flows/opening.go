package flows

import (
	"cmp"
	"slices"
	"strings"

	"github.com/aimabot/aimabot/flows/faq"
	"github.com/aimabot/aimabot/rules"
)

// The first message and the answers typed at the first question: what they
// tell (understand.go) moves the conversation on, so nobody types twice what
// they already said. A long message is confirmed in one question; a short
// answer ("stolen") is taken as it is and acknowledged.

// Guess is what a message told, waiting for the applicant to confirm it.
type Guess struct {
	Kind   rules.Kind   `json:"kind,omitempty"`
	Reason rules.Reason `json:"reason,omitempty"`
	Expiry rules.Date   `json:"expiry,omitzero"`
	Renew  bool         `json:"renew,omitempty"`
}

const confirmOpening = "opening" // Session.Confirming: the Guess is asked about

// open greets a new conversation. The language is the one the message asks
// for or is written in, else the app's; only when none of these is one of
// ours is it asked, and the message is kept to be read once it is chosen.
func (t *turn) open() error {
	var u understanding
	if t.in.Kind == Text {
		u = understand(t.in.Text, t.today)
	}
	link := DeepLink{}
	if t.in.Kind == Command && t.in.Command == "start" {
		link = ParseDeepLink(t.in.Text)
	}
	lang := cmp.Or(link.Lang, u.askLang, u.lang, ourLanguage(t.in.ClientLang))
	if lang != "" {
		t.s.Lang = lang
	}
	t.say("greeting", nil)
	if lang == "" {
		if t.in.Kind == Text && (u.any() || isQuestion(t.in.Text)) {
			t.s.Opening = t.in.Text
		}
		t.ask()
		return nil
	}
	if err := t.fire(evChoseLanguage); err != nil {
		return err
	}
	t.say("language_guessed", nil)
	if link.Kind != "" {
		// A link on a web page or a poster said what the request is.
		g := Guess{Kind: link.Kind, Reason: link.Reason}
		t.say("opening_ack", map[string]any{"What": t.guessWords(g)})
		t.s.Guess = &g
		return t.acceptGuess()
	}
	return t.readFirst(u)
}

// DeepLink is what a t.me/<bot>?start=<payload> link says: the payload's
// words, separated by "-", each a language (en, pt, fr), a request
// (duplicate, data_change) or a reason (lost, stolen, damaged, address,
// name, civil_status, nationality, other), in any order, e.g.
// "lost-pt". Words it does not know (a campaign's name) are ignored.
type DeepLink struct {
	Lang   string
	Kind   rules.Kind
	Reason rules.Reason
}

// ParseDeepLink reads a /start payload.
func ParseDeepLink(payload string) DeepLink {
	var d DeepLink
	for _, w := range strings.FieldsFunc(strings.ToLower(payload), func(r rune) bool { return r == '-' || r == ' ' }) {
		switch {
		case validLang(w):
			d.Lang = w
		case slices.Contains(rules.Kinds(), rules.Kind(w)):
			d.Kind = rules.Kind(w)
		case rules.KindOf(rules.Reason(w)) != "":
			d.Reason = rules.Reason(w)
		}
	}
	if d.Reason != "" {
		if k := rules.KindOf(d.Reason); d.Kind == "" || d.Kind == k {
			d.Kind = k
		} else {
			d.Reason = "" // a reason of the other request: the request alone
		}
	}
	return d
}

// onLanguage reads text typed at the language question: a message in one
// of the three languages (or naming one) chooses it and is read as the
// first message; anything else gets the hint.
func (t *turn) onLanguage() error {
	if t.in.Kind != Text {
		t.miss("hint_buttons")
		return nil
	}
	u := understand(t.in.Text, t.today)
	lang := cmp.Or(u.askLang, u.lang)
	if lang == "" {
		t.miss("hint_buttons")
		return nil
	}
	t.s.Lang = lang
	t.say("language_set", nil)
	return t.chosenLanguage(u)
}

// namedLanguage answers a short message that names a language ("english
// pls", "em português"; u is its reading), at any step: the language
// changes and the step's question is asked again in it. It reports whether
// it answered.
func (t *turn) namedLanguage(u understanding) bool {
	if t.s.State == StateLanguage || t.s.State == StateQuestion {
		return false // read by onLanguage; a question for the team is kept as typed
	}
	if u.askLang == "" || u.any() {
		return false
	}
	t.s.Lang = u.askLang
	t.s.Step++
	t.say("language_set", nil)
	t.ask()
	return true
}

// chosenLanguage moves past the language question, reading the first
// message kept while it was asked, or u (what the answer itself told).
func (t *turn) chosenLanguage(u understanding) error {
	if err := t.fire(evChoseLanguage); err != nil {
		return err
	}
	if t.s.Opening != "" {
		t.in = Input{Kind: Text, Text: t.s.Opening, ClientLang: t.in.ClientLang}
		t.s.Opening = ""
		u = understand(t.in.Text, t.today)
	}
	return t.readFirst(u)
}

// readFirst answers what the first message told: the request confirmed or
// acknowledged, a question answered, or else the first question.
func (t *turn) readFirst(u understanding) error {
	if t.in.Kind == Text && (u.any() || isQuestion(t.in.Text)) {
		t.send() // the greeting apart: each message short enough for a phone
	}
	if t.in.Kind == Text {
		if isQuestion(t.in.Text) && t.answerQuestion() {
			return nil
		}
		if ok, err := t.readOpening(u); ok || err != nil {
			return err
		}
	}
	t.ask()
	return nil
}

// ourLanguage is the app's language ("pt-BR": pt) when it is one of
// ours, else "".
func ourLanguage(client string) string {
	base, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(client)), "-")
	base, _, _ = strings.Cut(base, "_")
	if validLang(base) {
		return base
	}
	return ""
}

// readTyped reads text typed at the first question (what happened) that
// is no button's label (u is its reading): a reason or a date moves on at
// once, and so does a request told in a sentence. It reports whether it
// answered.
func (t *turn) readTyped(u understanding) (bool, error) {
	if t.s.State != StateSituation || t.in.Kind != Text {
		return false, nil
	}
	if isQuestion(t.in.Text) || u.reason == "" && u.expiry.IsZero() && u.words <= maxLooseWords {
		return false, nil // a question for the knowledge base, or a button's words
	}
	if g := t.s.Guess; g != nil && t.s.Confirming == confirmOpening {
		// An answer to "is that right?" that tells more: what it adds
		// joins what was understood, and the whole is confirmed again.
		if u.kind == "" && !u.renew {
			u.kind, u.reason, u.renew = g.Kind, g.Reason, g.Renew
		}
		if u.expiry.IsZero() {
			u.expiry = g.Expiry
		}
		u.words = max(u.words, maxLooseWords+1)
	}
	return t.readOpening(u)
}

// readOpening confirms what a message told in a sentence, or takes a short
// answer at once and says how it was read. It reports whether it answered.
func (t *turn) readOpening(u understanding) (bool, error) {
	if !u.any() {
		return false, nil
	}
	g := &Guess{Kind: u.kind, Reason: u.reason, Expiry: u.expiry, Renew: u.renew}
	t.s.Guess, t.s.Confirming = g, ""
	if u.words <= maxLooseWords {
		t.say("opening_ack", map[string]any{"What": t.guessWords(*g)})
		return true, t.acceptGuess()
	}
	t.s.Confirming = confirmOpening
	t.say("opening_confirm", map[string]any{"What": t.guessWords(*g)})
	t.send(t.confirmButtons()...)
	return true, nil
}

// guessWords says a guess as a clause: "you lost your card, and your
// card's expiry date is …".
func (t *turn) guessWords(g Guess) string {
	var parts []string
	switch {
	case g.Reason != "":
		parts = append(parts, t.tr("opening_reason_"+string(g.Reason), nil))
	case g.Kind != "":
		parts = append(parts, t.tr("opening_kind_"+string(g.Kind), nil))
	case g.Renew:
		parts = append(parts, t.tr("opening_renew", nil))
	}
	if !g.Expiry.IsZero() {
		parts = append(parts, t.tr("opening_expiry", map[string]any{"Date": t.words(g.Expiry)}))
		t.dateSaid = true
	}
	if len(parts) == 2 {
		return t.tr("opening_and", map[string]any{"A": parts[0], "B": parts[1]})
	}
	return parts[0]
}

// acceptGuess takes what was understood and moves past every step it
// answers, then asks the first one it does not.
func (t *turn) acceptGuess() error {
	g := t.s.Guess
	t.s.Guess = nil
	if g == nil {
		t.ask()
		return nil
	}
	if !g.Expiry.IsZero() {
		t.s.Expiry, t.s.ExpiryGiven = g.Expiry, true
	}
	switch {
	case g.Kind != "":
		t.s.Kind, t.s.Reason = g.Kind, ""
		if err := t.fire(evChoseKind); err != nil {
			return err
		}
		if g.Reason == "" || !slices.Contains(rules.Reasons(g.Kind), g.Reason) {
			break
		}
		t.s.Reason = g.Reason
		t.pruneDocs()
		if err := t.fire(evChoseReason); err != nil {
			return err
		}
		return t.skipExpiry()
	case g.Renew:
		t.s.Kind, t.s.Reason = "", ""
		if err := t.fire(evChoseExpiring); err != nil {
			return err
		}
		return t.skipExpiry()
	}
	t.ask()
	return nil
}

// skipExpiry moves past the expiry question when the date was given with
// the first message, else asks it.
func (t *turn) skipExpiry() error {
	if t.s.State == StateExpiry && t.s.ExpiryGiven && !t.s.Expiry.IsZero() {
		t.s.ExpiryGiven = false
		return t.move(evGaveExpiry)
	}
	t.ask()
	return nil
}

// onOpening answers the confirmation of a guess: yes takes it, no (or a
// typed "no") asks the first question with nothing assumed.
func (t *turn) onOpening(yes bool) error {
	if yes {
		return t.acceptGuess()
	}
	t.s.Guess = nil
	t.say("opening_rejected", nil)
	t.ask()
	return nil
}

// yesNo reads a typed yes or no, in the three languages.
func yesNo(text string) (yes, ok bool) {
	words := faq.Words(text)
	switch {
	case len(words) == 0 || len(words) > 4:
		return false, false
	case slices.ContainsFunc(words, func(w string) bool { return slices.Contains(noWords, w) }):
		return false, true
	case slices.ContainsFunc(words, func(w string) bool { return slices.Contains(yesWords, w) }):
		return true, true
	}
	return false, false
}

var (
	yesWords = []string{"yes", "yeah", "yep", "right", "correct", "exactly", "ok", "okay", "sim", "certo",
		"isso", "exato", "exacto", "correto", "oui", "exact", "exactement", "voila", "ouais", "d", "accord"}
	noWords = []string{"no", "nope", "not", "wrong", "nao", "errado", "non", "faux", "pas"}
)
