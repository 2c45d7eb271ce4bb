package bot

import (
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/go-telegram/bot/models"

	"github.com/aimabot/aimabot/bot/fakeapi"
	"github.com/aimabot/aimabot/flows"
	"github.com/aimabot/aimabot/rules"
)

// Through Telegram: a card too close to expiry is told whether the Portal
// is known to take it; a date typed at the verdict corrects it; /start in
// the middle asks before erasing, and Continue keeps everything.
func TestConversationEdges(t *testing.T) {
	h := newHarness(t, openRedis(t), fakeapi.Options{})
	h.start(false)
	const chat = int64(8101)
	h.toExpiry(chat)

	today := rules.Today(time.Now())
	soon := today.AddDays(30)
	flow, err := flows.New()
	if err != nil {
		t.Fatal(err)
	}
	cat := flow.Catalog()
	key := "portal_unknown"
	c := rules.CheckPortal(soon)
	if c.Covered {
		key = "portal_covered"
	}
	want := cat.Text("en", key, map[string]any{"Expiry": cat.DateShort("en", soon), "From": cat.DateShort("en", c.Window.From),
		"To": cat.DateShort("en", c.Window.To), "Confirmed": cat.DateShort("en", c.Window.Confirmed)})
	typed := fmt.Sprintf("%02d/%02d/%d", soon.Day, int(soon.Month), soon.Year)
	verdict := h.do(chat, func() { h.srv.UserText(chat, typed) }, "Renew your card instead")
	if !strings.Contains(verdict.Text, want) {
		t.Errorf("verdict for a card expiring %v:\n%s\nwant %q", soon, verdict.Text, want)
	}

	later := today.AddDays(400)
	typed = fmt.Sprintf("%d/%d/%d", later.Day, int(later.Month), later.Year)
	h.do(chat, func() { h.srv.UserText(chat, typed) }, "You can use AIMA's online form")

	h.do(chat, func() { h.srv.UserText(chat, "/start") }, "start again from the beginning?")
	h.do(chat, func() { h.press(chat, "Continue") }, "You can use AIMA's online form")
	if s := h.session(chat); s.Expiry != later || s.Reason != rules.Lost {
		t.Errorf("after /start and Continue: expiry %v, reason %q; want %v, lost (nothing erased)", s.Expiry, s.Reason, later)
	}
}

// Through Telegram: the first message is read. Portuguese typed in an app
// set to English gets Portuguese and one confirmation, and the steps it
// answered are skipped; a message in no clear language from an app in
// German asks the language and is read once it is chosen.
func TestOpeningMessage(t *testing.T) {
	h := newHarness(t, openRedis(t), fakeapi.Options{})
	h.start(false)

	const bride = int64(8201)
	h.srv.SetUserLang(bride, "en")
	m := h.do(bride, func() { h.srv.UserText(bride, "Casei-me e mudei de apelido") }, "Se percebi bem: o seu nome mudou. É isso?")
	if strings.Contains(m.Text, "Which language") {
		t.Errorf("a Portuguese first message was asked its language: %q", m.Text)
	}
	h.do(bride, func() { h.press(bride, "Sim, é isso") }, "Qual é a data de validade")
	if s := h.session(bride); s.Lang != "pt" || s.Kind != rules.DataChange || s.Reason != rules.Name {
		t.Errorf("after the confirmation: lang %q, %q/%q; want pt, a change of name", s.Lang, s.Kind, s.Reason)
	}

	const unclear = int64(8202)
	h.srv.SetUserLang(unclear, "de")
	expiry := rules.Today(time.Now()).AddDays(400)
	typed := fmt.Sprintf("roubo %02d/%02d/%d", expiry.Day, int(expiry.Month), expiry.Year)
	h.do(unclear, func() { h.srv.UserText(unclear, typed) }, "Which language do you prefer?")
	h.do(unclear, func() { h.press(unclear, "Português") }, "Pode usar o formulário online da AIMA")
	if s := h.session(unclear); s.Reason != rules.Stolen || s.Expiry != expiry || s.State != flows.StateVerdict {
		t.Errorf("after choosing the language: %q, expiry %v, state %s; want stolen, %v, the verdict", s.Reason, s.Expiry, s.State, expiry)
	}
}

// Through Telegram: a knowledge-base answer names its sources in one short
// line, each with its address behind it as a text link, and shows no link
// preview.
func TestAnswerSourcesAreLinks(t *testing.T) {
	const chat = int64(8301)
	h := startedInEnglish(t, chat)
	h.do(chat, func() { h.srv.UserText(chat, "where do I report a stolen card to the police?") }, "What happened?")
	var answer fakeapi.Message
	for _, m := range h.srv.Messages(chat) {
		if strings.Contains(m.Text, "Sources: ") {
			answer = m
		}
	}
	if answer.Text == "" || strings.Contains(answer.Text, "https://") {
		t.Fatalf("answer = %q; want a sources line without raw addresses\n%s", answer.Text, h.dump(chat))
	}
	units := utf16.Encode([]rune(answer.Text))
	links := 0
	for _, e := range answer.Entities {
		if e.Type != models.MessageEntityTypeTextLink {
			continue
		}
		links++
		shown := string(utf16.Decode(units[e.Offset : e.Offset+e.Length]))
		if !strings.HasPrefix(e.URL, "https://") || !strings.Contains(e.URL, strings.Fields(shown)[0]) {
			t.Errorf("text link %q -> %q; want the site's name over its address", shown, e.URL)
		}
	}
	if links == 0 {
		t.Errorf("answer entities = %+v; want text links behind the sources", answer.Entities)
	}
	// No preview of AIMA's site under the answer; none asked for under a
	// text without links.
	for _, c := range h.srv.Calls("sendMessage") {
		text, preview := c.Params["text"], c.Params["link_preview_options"]
		switch {
		case strings.Contains(text, "Sources: ") && !strings.Contains(preview, `"is_disabled":true`):
			t.Errorf("the answer with links was sent with link_preview_options %q; want the preview off", preview)
		case strings.HasPrefix(text, "What happened?") && preview != "":
			t.Errorf("a text without links was sent with link_preview_options %q; want none", preview)
		}
	}
}

// Through Telegram, typed as a hurried applicant types: words of a button
// and a typo choose it, /back in the documents goes one document back and
// keeps what was sent, and "skip" skips an optional document.
func TestTypedAnswersAndBack(t *testing.T) {
	const chat = int64(8401)
	h := startedInEnglish(t, chat)
	h.do(chat, func() { h.srv.UserText(chat, "lost or stolen") }, "What happened to your card?")
	h.do(chat, func() { h.srv.UserText(chat, "stollen") }, "What is the expiry date")
	expiry := rules.Today(time.Now()).AddDays(400)
	h.do(chat, func() { h.srv.UserText(chat, fmt.Sprintf("%d/%d/%d", expiry.Day, int(expiry.Month), expiry.Year)) }, "You can use AIMA's online form")
	h.press(chat, "Continue")
	h.expect(chat, "Document 1 of 3")
	h.do(chat, func() { h.srv.UserPhoto(chat, jpegBytes(t, 40, 30), "") }, "Document 2 of 3")
	h.do(chat, func() { h.srv.UserText(chat, "/back") }, "Send the new Passport copy")
	h.do(chat, func() { h.press(chat, "Keep the one I sent") }, "Document 2 of 3")
	h.do(chat, func() { h.srv.UserText(chat, "skip") }, "Document 3 of 3")
	if s := h.session(chat); s.Reason != rules.Stolen || len(s.Docs) != 1 || len(s.Skipped) != 1 {
		t.Errorf("after the walk: reason %q, %d documents, %d skipped; want stolen, the passport kept, the card skipped", s.Reason, len(s.Docs), len(s.Skipped))
	}
}

// startedInEnglish is a bot on the embedded store and an applicant whose
// app is in English, who has just sent /start.
func startedInEnglish(t *testing.T, chat int64) *harness {
	t.Helper()
	h := newHarness(t, openBolt(t), fakeapi.Options{})
	h.start(false)
	h.srv.SetUserLang(chat, "en")
	h.do(chat, func() { h.srv.UserText(chat, "/start") }, "What happened?")
	return h
}

// Through Telegram, with a support team: a question the bot is unsure of
// offers the likeliest topics and a person, and a topic pressed is
// answered; small talk gets a word back, not a procedure; a message with
// two questions gets the first answered and a button for the other.
func TestUnsureAndSmallTalk(t *testing.T) {
	const chat = int64(8501)
	h := staffHarness(t, openBolt(t))
	h.srv.SetUserLang(chat, "en")
	h.do(chat, func() { h.srv.UserText(chat, "/start") }, "What happened?")

	h.do(chat, func() { h.srv.UserText(chat, "what now with the card") }, "What happened?")
	var unsure fakeapi.Message
	for _, m := range h.srv.Messages(chat) {
		if strings.Contains(m.Text, "I'm not sure I understood") {
			unsure = m
		}
	}
	if len(unsure.Buttons) != 4 || unsure.Buttons[3][0].Label != "Talk to a person" {
		t.Fatalf("unsure answer = %q %v; want three topics and a person\n%s", unsure.Text, unsure.Buttons, h.dump(chat))
	}
	topic := unsure.Buttons[0][0].Label
	h.doAll(chat, func() { h.press(chat, topic) }, "Sources: ", "What happened?")

	before := len(h.srv.Messages(chat))
	h.do(chat, func() { h.srv.UserText(chat, "thanks a lot!") }, "You're welcome")
	h.do(chat, func() { h.srv.UserText(chat, "haha ok") }, "")
	for _, m := range h.srv.Messages(chat)[before:] {
		if strings.Contains(m.Text, "Sources: ") || strings.Contains(m.Text, "What happened?") {
			t.Errorf("small talk answered with %q; want a word back and nothing else", m.Text)
		}
	}

	h.doAll(chat, func() {
		h.srv.UserText(chat, "ma carte est volée, combien ça coûte et où faire la déclaration de police ?")
	},
		"Sources: ", "What happened?")
	var next string
	for _, m := range h.srv.Messages(chat) {
		for _, row := range m.Buttons {
			if strings.HasPrefix(row[0].Label, "Also: ") {
				next = row[0].Label
			}
		}
	}
	if next != "Also: Where to get the police report" {
		t.Fatalf("second question's button = %q; want the police report offered\n%s", next, h.dump(chat))
	}
	h.doAll(chat, func() { h.press(chat, next) }, "police", "What happened?")
}

// Through Telegram: a deep link (t.me/<bot>?start=address-fr, as a web page
// or a poster would send people in) starts in its language at the step it
// names, whatever the app's language.
func TestDeepLinkStartsAtItsStep(t *testing.T) {
	h := newHarness(t, openRedis(t), fakeapi.Options{})
	h.start(false)
	const chat = int64(8401)
	h.srv.SetUserLang(chat, "en")
	h.do(chat, func() { h.srv.UserText(chat, "/start address-fr") }, "date d'expiration")
	if !strings.Contains(h.dump(chat), "C'est noté : votre adresse") {
		t.Errorf("the link's request was not acknowledged:%s", h.dump(chat))
	}
	if s := h.session(chat); s.Lang != "fr" || s.Reason != rules.Address || s.State != flows.StateExpiry {
		t.Errorf("after /start address-fr: lang %q, reason %q, state %s; want fr, address, the expiry date", s.Lang, s.Reason, s.State)
	}
}
