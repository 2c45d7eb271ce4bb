package flows

import (
	"strings"
	"testing"
	"time"

	"github.com/aimabot/aimabot/rules"
)

// What a typed message tells: the language it is written in, the request
// and its reason, and a date given as the card's expiry.
func TestUnderstand(t *testing.T) {
	today := rules.Today(time.Date(2025, 4, 1, 10, 0, 0, 0, time.UTC))
	date := func(y, m, d int) rules.Date { return rules.Date{Year: y, Month: time.Month(m), Day: d} }
	tests := []struct {
		text   string
		lang   string
		kind   rules.Kind
		reason rules.Reason
		expiry rules.Date
	}{
		{"My husband and I need to change our address. Our permits expire July 26, 2025. Obrigada", "en", rules.DataChange, rules.Address, date(2025, 7, 26)},
		{"Casei-me e mudei de apelido", "pt", rules.DataChange, rules.Name, rules.Date{}},
		{"i lost my card, so i need an appointment in AIMA for a duplicate resident card", "en", rules.Duplicate, rules.Lost, rules.Date{}},
		{"On m'a volé ma carte de séjour, elle est valable jusqu'au 30/09/2027", "fr", rules.Duplicate, rules.Stolen, date(2027, 9, 30)},
		{"roubaram-me o cartão", "pt", rules.Duplicate, rules.Stolen, rules.Date{}},
		{"my name is Ana", "en", "", "", rules.Date{}},                          // a name, not a change of name
		{"I changed my name", "en", rules.DataChange, rules.Name, rules.Date{}}, // and this is one
		{"I lost my card and moved house", "en", "", "", rules.Date{}},          // two requests: nothing assumed
		{"my card was stolen and it is damaged", "en", rules.Duplicate, "", rules.Date{}},
		{"I got married and took my husband's surname", "en", rules.DataChange, rules.Name, rules.Date{}},
		{"my appointment is on 12/05/2025", "en", "", "", rules.Date{}}, // a date, not the expiry
		{"hello", "en", "", "", rules.Date{}},
		{"ok", "", "", "", rules.Date{}},
	}
	for _, tt := range tests {
		u := understand(tt.text, today)
		if u.lang != tt.lang || u.kind != tt.kind || u.reason != tt.reason || u.expiry != tt.expiry {
			t.Errorf("understand(%q) = lang %q, %q/%q, expiry %v; want lang %q, %q/%q, expiry %v",
				tt.text, u.lang, u.kind, u.reason, u.expiry, tt.lang, tt.kind, tt.reason, tt.expiry)
		}
	}
}

// The first message chooses the language when it is clearly written in one
// of ours, or names one; else the app's language does; only when neither
// is ours is the language asked.
func TestOpeningLanguage(t *testing.T) {
	f := newFlow(t)
	now := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name, text, client string
		lang, state        string
	}{
		{"/start, an English app", "/start", "en-GB", "en", StateSituation},
		{"/start, a Brazilian app", "/start", "pt-BR", "pt", StateSituation},
		{"/start, a German app", "/start", "de", "en", StateLanguage},
		{"/start, no app language", "/start", "", "en", StateLanguage},
		{"Portuguese in an English app", "Olá, bom dia, preciso de ajuda com o meu cartão", "en", "pt", StateSituation},
		{"French in a German app", "Bonjour, j'ai une question sur ma carte de séjour", "de", "fr", StateSituation},
		{"a language named", "english please", "de", "en", StateSituation},
		{"unclear text in a German app", "AIMA?", "de", "en", StateLanguage},
	}
	for _, tt := range tests {
		s, replies, err := f.Step(Session{}, ParseText(tt.text, tt.client), now)
		if err != nil {
			t.Fatal(err)
		}
		asked := strings.Contains(texts(replies), "Which language do you prefer?")
		if s.Lang != tt.lang || s.State != tt.state || asked != (tt.state == StateLanguage) {
			t.Errorf("%s: Step(%q, client %q) = lang %q, state %s, language asked %v; want %q, %s",
				tt.name, tt.text, tt.client, s.Lang, s.State, asked, tt.lang, tt.state)
		}
	}
}

// What the first message told is confirmed before it is relied on; "no"
// asks the first question with nothing assumed, and a reply that tells
// more joins what was understood.
func TestOpeningConfirmation(t *testing.T) {
	f := newFlow(t)
	now := time.Date(2025, 4, 1, 10, 0, 0, 0, time.UTC)
	story := "Hello. My husband and I need to change our address. Our permits expire July 26, 2025."
	tests := []struct {
		name   string
		inputs []string
		state  string
		kind   rules.Kind
		reason rules.Reason
		say    string
	}{
		{"confirmed by the button", []string{story, "[Yes, that's right]"}, StateVerdict, rules.DataChange, rules.Address, "Apply now"},
		{"confirmed by typing", []string{story, "yes correct"}, StateVerdict, rules.DataChange, rules.Address, "Apply now"},
		{"refused", []string{story, "[No]"}, StateSituation, "", "", "Let's go step by step"},
		{"refused by typing", []string{story, "no"}, StateSituation, "", "", "What happened?"},
		{"corrected in words", []string{story, "no, my card was stolen"}, StateSituation, "", "", "your card was stolen, and your card expires on Saturday, 26 July 2025. Is that right?"},
		{"corrected, then confirmed", []string{story, "no, my card was stolen", "yes"}, StateVerdict, rules.Duplicate, rules.Stolen, "Apply now"},
		{"a short answer taken at once", []string{"/start", "stolen"}, StateExpiry, rules.Duplicate, rules.Stolen, "Noted: your card was stolen."},
		{"a sentence at the first question", []string{"/start", "I have married and my civil status changed"}, StateSituation, "", "", "your civil status changed. Is that right?"},
		{"the kind alone, then its reason", []string{"/start", "I need a second copy of my card, it expires 26/07/2027", "[Yes, that's right]", "[I lost it]"}, StateVerdict, rules.Duplicate, rules.Lost, "You can use AIMA's online form"},
	}
	for _, tt := range tests {
		s, replies := playFrom(t, f, now, "en", tt.inputs...)
		if s.State != tt.state || s.Kind != tt.kind || s.Reason != tt.reason || !strings.Contains(texts(replies), tt.say) {
			t.Errorf("%s: state %s, %q/%q, saying %q; want %s, %q/%q, saying %q",
				tt.name, s.State, s.Kind, s.Reason, texts(replies), tt.state, tt.kind, tt.reason, tt.say)
		}
		if s.State != StateSituation && s.Guess != nil {
			t.Errorf("%s: the guess stays in the session after it was answered: %+v", tt.name, s.Guess)
		}
	}
}

// A short message naming a language changes it at any step, and asks the
// step's question again in it.
func TestNamedLanguageAnyStep(t *testing.T) {
	f := newFlow(t)
	s, replies := playFrom(t, f, tourNow, "en", "/start", "[My card was lost, stolen or damaged]", "em português por favor")
	if s.Lang != "pt" || s.State != StateReason || !strings.Contains(texts(replies), "O que aconteceu ao seu cartão?") {
		t.Errorf("\"em português por favor\" at the reason: lang %q, state %s, saying %q; want pt, the reason asked in Portuguese", s.Lang, s.State, texts(replies))
	}
}

// A first question in no clear language, from an app in another language,
// is kept while the language is asked, then answered in the one chosen.
func TestOpeningQuestionKept(t *testing.T) {
	f := newFlow(t)
	s, replies := playFrom(t, f, tourNow, "de", "quanto tempo demora a resposta?")
	if s.State != StateLanguage || s.Opening == "" {
		t.Fatalf("first question in no clear language: state %s, kept %q; want the language asked, the question kept", s.State, s.Opening)
	}
	in, _ := parseInput(t, "[Português]", "de", replies, new(int))
	s, replies, err := f.Step(s, in, tourNow)
	if err != nil {
		t.Fatal(err)
	}
	if s.Opening != "" || !strings.Contains(texts(replies), "Fontes:") || s.State != StateSituation {
		t.Errorf("after choosing Portuguese: kept %q, state %s, saying %q; want the question answered from the knowledge base, then the first question", s.Opening, s.State, texts(replies))
	}
}

func TestParseDeepLink(t *testing.T) {
	tests := []struct {
		payload string
		want    DeepLink
	}{
		{"lost", DeepLink{Kind: rules.Duplicate, Reason: rules.Lost}},
		{"lost-pt", DeepLink{Lang: "pt", Kind: rules.Duplicate, Reason: rules.Lost}},
		{"FR-address", DeepLink{Lang: "fr", Kind: rules.DataChange, Reason: rules.Address}},
		{"civil_status", DeepLink{Kind: rules.DataChange, Reason: rules.CivilStatus}},
		{"duplicate-en", DeepLink{Lang: "en", Kind: rules.Duplicate}},
		{"data_change-stolen", DeepLink{Kind: rules.DataChange}}, // a reason of the other request
		{"pt", DeepLink{Lang: "pt"}},
		{"flyer-lisboa", DeepLink{}},
		{"", DeepLink{}},
		{"de-lost", DeepLink{Kind: rules.Duplicate, Reason: rules.Lost}},
	}
	for _, tt := range tests {
		if got := ParseDeepLink(tt.payload); got != tt.want {
			t.Errorf("ParseDeepLink(%q) = %+v; want %+v", tt.payload, got, tt.want)
		}
	}
}
