package bot

import (
	"bytes"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aimabot/aimabot/bot/fakeapi"
	"github.com/aimabot/aimabot/flows"
)

// metric reads one line of /metrics, e.g.
// `aimabot_updates_total{kind="message",outcome="refused"}`; "" when absent.
func metric(b *Bot, series string) string {
	rec := httptest.NewRecorder()
	b.OpsHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	for _, line := range strings.Split(rec.Body.String(), "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			return v
		}
	}
	return ""
}

// An update's claims are checked before anything is applied: a private chat
// is its sender's, never a group's (the staff group's least of all), and a
// press belongs to the presser's chat. What does not hold is refused,
// counted and confirmed, and nothing is stored or sent for it.
func TestClaimsRefused(t *testing.T) {
	h := staffHarness(t, openRedis(t))
	b := h.bots[0].bot
	applicant := int64(5201)
	h.toExpiry(applicant)
	h.srv.UserText(applicant, "/human")
	h.topicOfCase("User5201")
	ctx, cancel := wait(t)
	defer cancel()
	desk, _, err := h.st.Get(ctx, staffChat)
	if err != nil {
		t.Fatal(err)
	}
	before := h.session(applicant)

	msg := func(chat, from int64, text string) []byte {
		f := ""
		if from != 0 {
			f = fmt.Sprintf(`,"from":{"id":%d,"is_bot":false,"first_name":"Eve"}`, from)
		}
		return fmt.Appendf(nil, `{"message":{"message_id":900,"date":1,"chat":{"id":%d,"type":"private"}%s,"text":%q}}`, chat, f, text)
	}
	tests := []struct {
		name   string
		update []byte
		chats  []int64 // chats that must not have been touched
	}{
		{"a private chat with the staff group's id", msg(staffChat, 5202, "/start"), []int64{staffChat, 5202}},
		{"a private chat with the staff group's id, sent by it", msg(staffChat, staffChat, "/start"), []int64{staffChat}},
		{"someone else's private chat", msg(applicant, 5203, "/restart"), []int64{applicant, 5203}},
		{"a private message without a sender", msg(5204, 0, "/start"), []int64{5204}},
		{"an edit in someone else's chat", fmt.Appendf(nil,
			`{"edited_message":{"message_id":900,"date":1,"edit_date":2,"chat":{"id":%d,"type":"private"},"from":{"id":5205,"is_bot":false,"first_name":"Eve"},"text":"26/07/2030"}}`,
			applicant), []int64{applicant, 5205}},
		{"a press on a message of someone else's chat", fmt.Appendf(nil,
			`{"callback_query":{"id":"forged-1","from":{"id":5206,"is_bot":false,"first_name":"Eve"},"chat_instance":"x","data":"0:lang:pt","message":{"message_id":1,"date":1,"chat":{"id":%d,"type":"private"},"text":"Which language?"}}}`,
			applicant), []int64{applicant, 5206}},
	}
	for _, tt := range tests {
		if h.srv.RawUpdate(tt.update) == 0 {
			t.Fatalf("%s: the fake did not take the update", tt.name)
		}
	}
	if err := h.srv.WaitFor(ctx, func() bool { return h.srv.Pending() == 0 }); err != nil {
		t.Fatalf("pending updates = %d; want the refused ones confirmed", h.srv.Pending())
	}
	// The applicant's own next message is applied after all of them.
	h.do(applicant, func() { h.srv.UserText(applicant, "/status") }, "AIMA's emails")
	for _, tt := range tests {
		for _, c := range tt.chats {
			if c == applicant {
				continue
			}
			raw, ok, err := h.st.Get(ctx, c)
			switch {
			case err != nil:
				t.Fatal(err)
			case c == staffChat && !bytes.Equal(raw, desk):
				t.Errorf("%s: the staff desk record changed:\n%s\nwas\n%s", tt.name, raw, desk)
			case c != staffChat && ok:
				t.Errorf("%s: a session was stored for chat %d: %s", tt.name, c, raw)
			}
			if n := len(h.srv.Messages(c)); c != staffChat && n != 0 {
				t.Errorf("%s: chat %d got %d messages; want none", tt.name, c, n)
			}
		}
	}
	after := h.session(applicant)
	if after.State != before.State || after.Kind != before.Kind || after.Reason != before.Reason || after.Lang != before.Lang {
		t.Errorf("applicant's session = %s/%s/%s/%s; want %s/%s/%s/%s as before the forged updates",
			after.State, after.Kind, after.Reason, after.Lang, before.State, before.Kind, before.Reason, before.Lang)
	}
	for series, want := range map[string]string{
		`aimabot_updates_total{kind="message",outcome="refused"}`: "4",
		`aimabot_updates_total{kind="edited",outcome="refused"}`:  "1",
		`aimabot_updates_total{kind="button",outcome="refused"}`:  "1",
	} {
		if got := metric(b, series); got != want {
			t.Errorf("%s = %q; want %s", series, got, want)
		}
	}
	answered := false
	for _, c := range h.srv.Calls("answerCallbackQuery") {
		answered = answered || c.Params["callback_query_id"] == "forged-1"
	}
	if !answered {
		t.Errorf("the refused press was not answered; its button would spin")
	}
	if !strings.Contains(h.logs.String(), "update refused") {
		t.Errorf("no log line for the refused updates")
	}
}

// Update ids of 0 or less are refused: the store does not deduplicate id 0
// (its internal inputs use it), so such an update would apply every time it
// came. The webhook answers 200, so Telegram does not send it again.
func TestWebhookRefusesUpdateIDs(t *testing.T) {
	st := openRedis(t)
	h := newHarness(t, st, fakeapi.Options{})
	flow, _ := flows.New()
	b, err := New(slog.New(slog.NewTextHandler(h.logs, nil)), Config{Token: h.srv.Token(), APIURL: h.srv.URL(),
		WebhookSecret: "right-secret-0123456789"}, st, flow)
	if err != nil {
		t.Fatal(err)
	}
	defer b.send.stop()
	handler := b.WebhookHandler()
	for _, id := range []int{0, 0, -5, -5} {
		body := fmt.Sprintf(`{"update_id":%d,"message":{"message_id":1,"date":1,"chat":{"id":78,"type":"private"},"from":{"id":78,"is_bot":false,"first_name":"A"},"text":"/start"}}`, id)
		req := httptest.NewRequest(http.MethodPost, "/hook", strings.NewReader(body))
		req.Header.Set("X-Telegram-Bot-Api-Secret-Token", "right-secret-0123456789")
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			t.Errorf("update_id %d: status = %d; want 200 (refused, not to be sent again)", id, rec.Code)
		}
	}
	ctx, cancel := wait(t)
	defer cancel()
	if _, ok, err := st.Get(ctx, 78); err != nil || ok {
		t.Errorf("a session was stored for updates with ids 0 and -5 (%v)", err)
	}
	if out, _ := st.Outbox(ctx, 78, 10); len(out) != 0 {
		t.Errorf("outbox = %d messages; want none", len(out))
	}
	if got := metric(b, `aimabot_updates_total{kind="message",outcome="refused"}`); got != "4" {
		t.Errorf("refused updates = %q; want 4", got)
	}
}

// Every press is answered, also one on a message Telegram no longer shows
// the bot (InaccessibleMessage, as for old messages): in a private chat it
// is still the presser's press, applied when its button is current and
// answered as out of date otherwise; in the staff group and other groups
// it is answered as well.
func TestPressOnInaccessibleMessage(t *testing.T) {
	h := staffHarness(t, openRedis(t))
	chat := int64(5301)
	h.srv.UserText(chat, "/start")
	h.expect(chat, "Which language")
	h.press(chat, "English")
	q := h.expect(chat, "What happened?")
	data := ""
	for _, row := range q.Buttons {
		for _, k := range row {
			if k.Label == "My card was lost, stolen or damaged" {
				data = k.Data
			}
		}
	}
	if data == "" {
		t.Fatalf("no lost-card button in %+v", q.Buttons)
	}
	const gone = 990 // no such message: the fake sends an InaccessibleMessage
	h.do(chat, func() { h.srv.UserPress(chat, gone, data) }, "What happened to your card?")
	h.srv.UserPress(chat, gone+1, data) // the same button again: out of date now
	h.srv.GroupPress(staffChat, ana, gone, "0:case:take")
	h.srv.GroupPress(-4343, ana, gone, "1:x")
	h.srv.GroupText(-4343, ana, "hello", "group")
	ctx, cancel := wait(t)
	defer cancel()
	want := []struct {
		name string
		chat int64
		msg  int
		text string
	}{
		{"the current button", chat, gone, ""},
		{"a button already pressed", chat, gone + 1, "This button is out of date."},
		{"an old card's button", staffChat, gone, "This button is out of date."},
		{"a button in another group", -4343, gone, "This button is out of date."},
	}
	err := h.srv.WaitFor(ctx, func() bool {
		n := 0
		for _, w := range want {
			for _, a := range h.srv.CallbackAnswers() {
				if a.Chat == w.chat && a.MessageID == w.msg && a.Text == w.text {
					n++
					break
				}
			}
		}
		return n == len(want)
	})
	if err != nil {
		t.Errorf("answers = %+v; want one for each of %+v", h.srv.CallbackAnswers(), want)
	}
	if s := h.session(chat); s.State != flows.StateReason {
		t.Errorf("state after the press on an inaccessible message = %q; want %q", s.State, flows.StateReason)
	}
	for _, c := range h.srv.Calls("") {
		if c.Method != "getUpdates" && c.Status != http.StatusOK && c.Params["message_id"] != "" {
			t.Errorf("%s on message %s answered %d; a message the bot cannot see is not edited", c.Method, c.Params["message_id"], c.Status)
		}
	}
}

// Edits are never commands: "/restart" typed into an old message leaves
// the conversation and its answers as they are, while an edited answer is
// still read as a correction.
func TestEditIsNotACommand(t *testing.T) {
	h := newHarness(t, openBolt(t), fakeapi.Options{})
	h.start(false)
	chat := int64(5401)
	h.toAddressChange(chat)
	mine := h.srv.LastUserMessageID(chat)
	for _, cmd := range []string{"/restart", "/start", "/forget"} {
		h.srv.UserEdit(chat, mine, cmd)
	}
	h.do(chat, func() { h.srv.UserText(chat, "/status") }, "What is the expiry date")
	if s := h.session(chat); s.State != flows.StateExpiry || s.Kind == "" || s.Reason == "" {
		t.Errorf("after editing a message to commands: state %q, kind %q, reason %q; want still at the expiry date with the answers kept",
			s.State, s.Kind, s.Reason)
	}
	h.do(chat, func() { h.srv.UserText(chat, "32/13/2030") }, "What is the expiry date")
	h.do(chat, func() { h.srv.UserEdit(chat, h.srv.LastUserMessageID(chat), "26/07/2030") }, "Friday, 26 July 2030")
}

// A file Telegram will not hand over (a 4xx from getFile or from the file
// download) ends the update with a kind word and the question again, so the
// chat's later messages do not wait behind it; a 5xx is retried.
func TestUnreadableFile(t *testing.T) {
	h := newHarness(t, openRedis(t), fakeapi.Options{})
	h.start(false)
	chat := int64(5501)
	h.toAddressChange(chat)
	h.srv.UserText(chat, "26/07/2030")
	h.expect(chat, "Friday, 26 July 2030")
	h.press(chat, "Continue")
	h.expect(chat, "Document 1 of 5")
	step := h.session(chat).Step
	for _, tt := range []struct {
		name  string
		fault fakeapi.Fault
	}{
		{"getFile answers 400", fakeapi.Fault{Method: "getFile", Status: http.StatusBadRequest,
			Description: "Bad Request: file is temporarily unavailable"}},
		{"getFile answers 404", fakeapi.Fault{Method: "getFile", Status: http.StatusNotFound}},
		{"the download answers 404", fakeapi.Fault{Method: "file", Status: http.StatusNotFound}},
		{"the download answers 403", fakeapi.Fault{Method: "file", Status: http.StatusForbidden}},
	} {
		tt.fault.Times = 1000 // for good: retrying would never end
		h.srv.Inject(tt.fault)
		before := len(h.srv.Messages(chat))
		h.do(chat, func() { h.srv.UserDocument(chat, "passport.pdf", "application/pdf", realPDF) }, "Document 1 of 5")
		h.srv.ClearFaults()
		said := ""
		for _, m := range h.srv.Messages(chat)[before:] {
			said += m.Text + "\n"
		}
		if !strings.Contains(said, "I could not read that file; please send it again.") {
			t.Errorf("%s: answer = %q; want the kind word about the file", tt.name, said)
		}
		if s := h.session(chat); s.State != flows.StateDocuments || s.Step != step || len(s.Docs) != 0 || s.Misses != 0 {
			t.Errorf("%s: session at %q step %d with %d documents, %d misses; want the first document still asked for, no miss",
				tt.name, s.State, s.Step, len(s.Docs), s.Misses)
		}
	}
	h.srv.Inject(fakeapi.Fault{Method: "getFile", Status: http.StatusBadGateway})
	h.srv.Inject(fakeapi.Fault{Method: "file", Status: http.StatusServiceUnavailable})
	h.do(chat, func() { h.srv.UserDocument(chat, "passport.pdf", "application/pdf", realPDF) }, "Document 2 of 5")
	if n := len(h.srv.Calls("getFile")); n != 4+3 {
		t.Errorf("getFile calls = %d; want 7 (one per unreadable file, three for the file whose errors were temporary)", n)
	}
	ctx, cancel := wait(t)
	defer cancel()
	if err := h.srv.WaitFor(ctx, func() bool { return h.srv.Pending() == 0 }); err != nil {
		t.Errorf("pending updates = %d; want every update confirmed", h.srv.Pending())
	}
}
