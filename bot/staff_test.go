package bot

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/go-telegram/bot/models"

	"github.com/aimabot/aimabot/bot/fakeapi"
	"github.com/aimabot/aimabot/flows"
	"github.com/aimabot/aimabot/flows/officehours"
	"github.com/aimabot/aimabot/rules"
	"github.com/aimabot/aimabot/store"
)

const (
	staffChat = int64(-1_009_000_000_001)
	ana       = int64(7001)
	bruno     = int64(7002)
	stranger  = int64(7099) // a member of the staff group who is not staff
)

// staffHarness runs a bot with a staff group whose staff are Ana and Bruno.
func staffHarness(t *testing.T, st store.Store, tweak ...func(*Config)) *harness {
	t.Helper()
	h := newHarness(t, st, fakeapi.Options{})
	h.srv.NewForum(staffChat, "Support")
	h.srv.SetUserName(ana, "Ana")
	h.srv.SetUserName(bruno, "Bruno")
	h.srv.SetUserName(stranger, "Sam")
	h.start(false, append([]func(*Config){func(c *Config) {
		c.StaffChat, c.StaffUsers, c.QueueEvery = staffChat, []int64{ana, bruno}, time.Hour
	}}, tweak...)...)
	return h
}

// askForPerson starts a conversation as name, in lang (whose first question
// reads prompt), asks for a person in words, and returns the case's topic.
func (h *harness) askForPerson(chat int64, name, lang, ask, prompt string) fakeapi.Topic {
	h.t.Helper()
	h.srv.SetUserName(chat, name)
	h.srv.SetUserLang(chat, lang)
	h.do(chat, func() { h.srv.UserText(chat, "/start") }, prompt)
	h.do(chat, func() { h.srv.UserText(chat, ask) }, prompt)
	return h.topicOfCase(name)
}

// topicOfCase waits for the case's topic, with its card, and returns it.
func (h *harness) topicOfCase(name string) fakeapi.Topic {
	h.t.Helper()
	ctx, cancel := wait(h.t)
	defer cancel()
	var found fakeapi.Topic
	err := h.srv.WaitFor(ctx, func() bool {
		for _, tp := range h.srv.Topics(staffChat) {
			if strings.HasPrefix(tp.Name, name) && !tp.Deleted && hasCard(h.srv.TopicMessages(staffChat, tp.ThreadID)) {
				found = tp
				return true
			}
		}
		return false
	})
	if err != nil {
		h.t.Fatalf("no topic named %q…; topics: %+v", name, h.srv.Topics(staffChat))
	}
	return found
}

// hasCard says a case's card is among a topic's messages: a staff member
// acts on a case once its card is there.
func hasCard(msgs []fakeapi.Message) bool {
	return slices.ContainsFunc(msgs, func(m fakeapi.Message) bool { return strings.HasPrefix(m.Text, "📋") })
}

// inTopic waits until a bot message in the topic (or General, 0) contains want.
func (h *harness) inTopic(thread int, want string) fakeapi.Message {
	h.t.Helper()
	ctx, cancel := wait(h.t)
	defer cancel()
	var got fakeapi.Message
	err := h.srv.WaitFor(ctx, func() bool {
		for _, m := range h.srv.TopicMessages(staffChat, thread) {
			if strings.Contains(m.Text, want) || strings.Contains(m.Caption, want) {
				got = m
				return true
			}
		}
		return false
	})
	if err != nil {
		var all []string
		for _, m := range h.srv.TopicMessages(staffChat, thread) {
			all = append(all, m.Text+m.Caption)
		}
		h.t.Fatalf("topic %d: no message containing %q; messages: %q", thread, want, all)
	}
	return got
}

// card waits until the topic's card (its first bot message) contains want.
func (h *harness) card(thread int, want string) fakeapi.Message {
	h.t.Helper()
	ctx, cancel := wait(h.t)
	defer cancel()
	var card fakeapi.Message
	err := h.srv.WaitFor(ctx, func() bool {
		for _, m := range h.srv.TopicMessages(staffChat, thread) {
			if strings.HasPrefix(m.Text, "📋") {
				card = m
				return strings.Contains(m.Text, want)
			}
		}
		return false
	})
	if err != nil {
		h.t.Fatalf("topic %d: card = %q; want it to contain %q", thread, card.Text, want)
	}
	return card
}

func (h *harness) session(chat int64) flows.Session {
	h.t.Helper()
	raw, _, err := h.st.Get(context.Background(), chat)
	if err != nil {
		h.t.Fatal(err)
	}
	s, err := flows.Unmarshal(raw)
	if err != nil {
		h.t.Fatal(err)
	}
	return s
}

// toExpiry brings an applicant to the expiry date question of a lost card.
func (h *harness) toExpiry(chat int64) {
	h.t.Helper()
	h.srv.UserText(chat, "/start")
	h.expect(chat, "Which language")
	h.press(chat, "English")
	h.expect(chat, "What happened?")
	h.press(chat, "My card was lost, stolen or damaged")
	h.expect(chat, "What happened to your card?")
	h.press(chat, "I lost it")
	h.expect(chat, "AIMA's emails")
}

// The whole life of a case: escalation in words, the card and the queue,
// takeover from the card, messages both ways (text, an album, a long
// caption), internal notes, release back to the same step, close.
func TestStaffTakeover(t *testing.T) {
	h := staffHarness(t, openRedis(t))
	chat := int64(5001)
	h.srv.SetUserName(chat, "Maria")
	h.toExpiry(chat)

	h.do(chat, func() { h.srv.UserText(chat, "can I talk to a person please?") }, "AIMA's emails")
	if !strings.Contains(h.dump(chat), "I've noted that you'd like help from a person") {
		t.Errorf("the applicant was not told a person will come:%s", h.dump(chat))
	}
	tp := h.topicOfCase("Maria · 2nd copy · waiting")
	card := h.card(tp.ThreadID, "Status: waiting for a person")
	for _, want := range []string{"Request: Second copy of the residence card — card lost", "Language: English",
		"Where they are: the card's expiry date", "can I talk to a person please?", "⬜ Police report"} {
		if !strings.Contains(card.Text, want) {
			t.Errorf("card lacks %q:\n%s", want, card.Text)
		}
	}
	if len(card.Buttons) == 0 || card.Buttons[0][0].Label != "✋ Take over" {
		t.Errorf("card buttons = %v; want Take over first", card.Buttons)
	}
	h.inTopic(0, "1 case waiting for a person")

	// Ana takes over from the card.
	before := len(h.srv.Messages(chat))
	if _, err := h.srv.GroupPressLabel(staffChat, ana, "✋ Take over"); err != nil {
		t.Fatal(err)
	}
	h.expect(chat, "Ana from our support team has joined")
	h.card(tp.ThreadID, "Status: with Ana since")
	h.topicOfCase("Maria · 2nd copy · with a person")
	h.inTopic(0, "No case is waiting")

	// Messages pass both ways; the assistant stays quiet.
	h.srv.UserText(chat, "Is a photo of the police report fine?")
	h.inTopic(tp.ThreadID, "Is a photo of the police report fine?")
	h.srv.UserTopicText(staffChat, tp.ThreadID, ana, "!checked: yes")
	h.srv.UserTopicText(staffChat, tp.ThreadID, ana, "/note nothing for the applicant")
	h.do(chat, func() { h.srv.UserTopicText(staffChat, tp.ThreadID, ana, "Yes, a sharp photo is fine.") }, "Yes, a sharp photo is fine.")
	h.srv.TopicAlbum(staffChat, tp.ThreadID, ana, [][]byte{jpegBytes(t, 30, 20), jpegBytes(t, 40, 20)}, "Like these")
	ctx, cancel := wait(t)
	defer cancel()
	if err := h.srv.WaitFor(ctx, func() bool {
		msgs := h.srv.Messages(chat)
		n := len(msgs)
		return n >= 2 && msgs[n-1].MediaGroupID != "" && msgs[n-1].MediaGroupID == msgs[n-2].MediaGroupID
	}); err != nil {
		t.Fatalf("the staff album did not reach the applicant as an album:%s", h.dump(chat))
	}
	long := strings.Repeat("word ", 300) // 1,500 characters: more than a bot may send as a caption
	h.srv.UserPhoto(chat, jpegBytes(t, 50, 50), long)
	cut := h.inTopic(tp.ThreadID, "word word")
	if n := len(utf16.Encode([]rune(cut.Caption))); cut.Kind != fakeapi.KindCopy || n == 0 || n > maxCaption {
		t.Errorf("the long caption's photo reached the topic as %s with a caption of %d units; want a copy cut to at most %d",
			cut.Kind, n, maxCaption)
	}
	if err := h.srv.WaitFor(ctx, func() bool {
		rest := 0
		for _, m := range h.srv.TopicMessages(staffChat, tp.ThreadID) {
			if m.Kind == fakeapi.KindText && strings.HasPrefix(m.Text, "word") {
				rest += len(m.Text)
			}
		}
		return len(cut.Caption)+rest >= len(strings.TrimSpace(long))-2
	}); err != nil {
		t.Errorf("the rest of the long caption did not follow in the topic")
	}
	for _, m := range h.srv.Messages(chat)[before:] {
		if strings.Contains(m.Text, "checked") || strings.Contains(m.Text, "nothing for the applicant") {
			t.Errorf("an internal note reached the applicant: %q", m.Text)
		}
		if m.Kind == fakeapi.KindText && !strings.Contains(m.Text, "has joined") {
			t.Errorf("the assistant spoke during the takeover: %q", m.Text)
		}
	}

	// Release: back to the same step.
	h.do(chat, func() { h.srv.UserTopicText(staffChat, tp.ThreadID, ana, "/release") }, "AIMA's emails")
	if !strings.Contains(h.dump(chat), "handed you back to me") {
		t.Errorf("the applicant was not told they are back with the assistant:%s", h.dump(chat))
	}
	h.do(chat, func() { h.srv.UserText(chat, "26/07/2030") }, "your last day to submit is")

	// Close.
	h.do(chat, func() { h.srv.UserTopicText(staffChat, tp.ThreadID, bruno, "/close") }, "is closed")
	final := h.card(tp.ThreadID, "Status: closed")
	for _, want := range []string{"taken over by Ana", "released by Ana", "closed by Bruno"} {
		if !strings.Contains(final.Text, want) {
			t.Errorf("card history lacks %q:\n%s", want, final.Text)
		}
	}
	h.topicOfCase("Maria · 2nd copy · closed")
	if n := len(h.srv.Topics(staffChat)); n != 1 {
		t.Errorf("topics = %d; want 1", n)
	}
	if strings.Contains(h.logs.String(), "Yes, a sharp photo") || strings.Contains(h.logs.String(), "Maria") {
		t.Errorf("logs contain message text or a name:\n%s", h.logs)
	}
}

// Neither an applicant nor a member of the group who is not staff can act
// as staff; two requests at once open one topic.
func TestStaffSafety(t *testing.T) {
	h := staffHarness(t, openRedis(t))
	chat := int64(5002)
	h.srv.UserText(chat, "/start")
	h.expect(chat, "Which language")
	h.press(chat, "English")
	h.expect(chat, "What happened?")
	h.srv.UserText(chat, "/human")
	h.srv.UserText(chat, "I want to talk to a human")
	h.srv.UserText(chat, "/human")
	h.expect(chat, "What happened?")
	tp := h.topicOfCase("User5002")
	h.card(tp.ThreadID, "Status: waiting")

	// The applicant forges staff commands and button data.
	h.do(chat, func() { h.srv.UserText(chat, "/takeover") }, "What happened?")
	last, _ := h.srv.LastMessage(chat)
	h.srv.UserPress(chat, last.ID, "case:take")
	h.srv.UserPress(chat, last.ID, "0:case:take")
	h.do(chat, func() { h.srv.UserText(chat, "/status") }, "What happened?")

	// A member of the group who is not staff writes and presses.
	h.srv.UserTopicText(staffChat, tp.ThreadID, stranger, "hello, I am not staff")
	if _, err := h.srv.GroupPressLabel(staffChat, stranger, "✋ Take over"); err != nil {
		t.Fatal(err)
	}
	// Another group the bot is in.
	h.srv.GroupText(-4242, ana, "/takeover", "group")
	ctx, cancel := wait(t)
	defer cancel()
	if err := h.srv.WaitFor(ctx, func() bool {
		for _, a := range h.srv.CallbackAnswers() {
			if a.Chat == staffChat && strings.Contains(a.Text, "Only the support team") {
				return true
			}
		}
		return false
	}); err != nil {
		t.Errorf("the stranger's press was not answered with a refusal: %+v", h.srv.CallbackAnswers())
	}
	// Ana's message is the last thing to arrive: everything before it was
	// applied by then (one chat's updates apply in order).
	h.do(chat, func() { h.srv.UserTopicText(staffChat, tp.ThreadID, ana, "Hello, I'm Ana.") }, "Hello, I'm Ana.")
	for _, m := range h.srv.Messages(chat) {
		if strings.Contains(m.Text, "not staff") {
			t.Errorf("a non-staff member's message reached the applicant")
		}
	}
	var history []string
	for _, e := range h.session(chat).Human.History {
		history = append(history, e.What+" "+e.By)
	}
	if got, want := strings.Join(history, ", "), "escalate , take Ana"; got != want {
		t.Errorf("case history = %q; want %q (one opening, one takeover, by Ana)", got, want)
	}
	if n := len(h.srv.Topics(staffChat)); n != 1 {
		t.Errorf("topics = %d; want 1 for three requests", n)
	}
	for _, c := range h.srv.Calls("answerCallbackQuery") {
		if c.Status != http.StatusOK {
			t.Errorf("answerCallbackQuery answered %d", c.Status)
		}
	}
}

// A deleted topic is opened again with the card, the documents and a word
// about it; an applicant who blocked the bot is reported in the topic.
func TestStaffTopicDeletedAndBlocked(t *testing.T) {
	h := staffHarness(t, openBolt(t))
	chat := int64(5003)
	h.toSecondDocument(chat)
	h.do(chat, func() { h.srv.UserText(chat, "/human") }, "Document 2 of 3")
	first := h.topicOfCase("User5003")
	h.inTopic(first.ThreadID, "Passport copy") // the document, by file id

	h.srv.DeleteTopic(staffChat, first.ThreadID)
	h.srv.UserPhoto(chat, jpegBytes(t, 64, 48), "") // a change of the case: the card must follow
	h.expect(chat, "Now the back of the card")
	ctx, cancel := wait(t)
	defer cancel()
	var second fakeapi.Topic
	if err := h.srv.WaitFor(ctx, func() bool {
		for _, tp := range h.srv.Topics(staffChat) {
			if !tp.Deleted && tp.ThreadID != first.ThreadID {
				second = tp
				return true
			}
		}
		return false
	}); err != nil {
		t.Fatalf("the deleted topic was not opened again: %+v", h.srv.Topics(staffChat))
	}
	h.card(second.ThreadID, "✅ Residence card copy")
	h.inTopic(second.ThreadID, "earlier topic of this case was deleted")
	h.inTopic(second.ThreadID, "Passport copy")
	if _, ok, err := h.st.GetRecord(ctx, postedSpace, topicRecKey(staffChat, first.ThreadID)); ok || err != nil {
		t.Errorf("the deleted topic's list of messages is still kept (err %v)", err)
	}
	if _, ok, err := h.st.GetRecord(ctx, postedSpace, topicRecKey(staffChat, second.ThreadID)); !ok || err != nil {
		t.Errorf("the new topic's messages are not recorded (err %v)", err)
	}

	// Bruno takes over; the applicant has blocked the bot meanwhile.
	h.do(chat, func() { h.srv.UserTopicText(staffChat, second.ThreadID, bruno, "/takeover") }, "Bruno from our support team")
	h.srv.BlockChat(chat)
	h.srv.UserTopicText(staffChat, second.ThreadID, bruno, "Are you still there?")
	h.inTopic(second.ThreadID, "blocked the bot")
	h.card(second.ThreadID, "The applicant blocked the bot")
}

// A staff group given as a basic group that later became a supergroup is
// followed to its new id.
func TestStaffGroupMigrated(t *testing.T) {
	old, moved := int64(-5551), int64(-1_005_551_000_000)
	h := newHarness(t, openRedis(t), fakeapi.Options{})
	h.srv.GroupText(old, ana, "hello", "group")
	h.srv.MigrateGroup(old, moved)
	h.start(false, func(c *Config) { c.StaffChat, c.QueueEvery = old, time.Hour })
	chat := int64(5004)
	h.srv.UserText(chat, "/start")
	h.expect(chat, "Which language")
	h.do(chat, func() { h.srv.UserText(chat, "/human") }, "Which language")
	ctx, cancel := wait(t)
	defer cancel()
	var thread int
	if err := h.srv.WaitFor(ctx, func() bool {
		tps := h.srv.Topics(moved)
		if len(tps) == 1 && hasCard(h.srv.TopicMessages(moved, tps[0].ThreadID)) {
			thread = tps[0].ThreadID
		}
		return thread != 0
	}); err != nil {
		t.Fatalf("no topic in the supergroup the staff group became: %+v", h.srv.Topics(moved))
	}
	h.srv.SetUserName(ana, "Ana")
	h.do(chat, func() { h.srv.UserTopicText(moved, thread, ana, "Olá!") }, "Olá!")
}

// A staff reply and an applicant's message that could not be passed on
// before a stop are kept in the outbox and passed on once by the next start.
func TestStaffRepliesSurviveRestart(t *testing.T) {
	h := staffHarness(t, openRedis(t))
	chat := int64(5005)
	h.srv.UserText(chat, "/start")
	h.expect(chat, "Which language")
	h.do(chat, func() { h.srv.UserText(chat, "/human") }, "Which language")
	tp := h.topicOfCase("User5005")
	h.do(chat, func() { h.srv.UserTopicText(staffChat, tp.ThreadID, ana, "/takeover") }, "has joined")

	h.srv.Inject(fakeapi.Fault{Method: "copyMessage", Status: http.StatusBadGateway, Times: 1000})
	h.srv.UserTopicText(staffChat, tp.ThreadID, ana, "Do you have the police report?")
	h.srv.UserText(chat, "not yet")
	ctx, cancel := wait(t)
	defer cancel()
	if err := h.srv.WaitFor(ctx, func() bool { return h.srv.Pending() == 0 && len(h.srv.Calls("copyMessage")) > 0 }); err != nil {
		t.Fatal(err)
	}
	h.stop(h.bots[0])
	// The staff reply and the applicant's message are kept (with the card's
	// refreshes as the turn changed, which the sender may have merged).
	out, _ := h.st.Outbox(ctx, chat, 10)
	var kept []string
	for _, m := range out {
		var o op
		if err := json.Unmarshal(m.Data, &o); err != nil {
			t.Fatal(err)
		}
		if o.Kind == "copy" {
			kept = append(kept, fmt.Sprintf("copy staff=%v", o.Staff))
		}
	}
	slices.Sort(kept)
	if want := []string{"copy staff=false", "copy staff=true"}; !slices.Equal(kept, want) {
		t.Fatalf("outbox after the stop holds %v; want the staff reply and the applicant's message kept", kept)
	}
	h.srv.ClearFaults()
	h.start(false, func(c *Config) {
		c.Owner, c.StaffChat, c.StaffUsers, c.QueueEvery = "replica-0", staffChat, []int64{ana}, time.Hour
	})
	h.expect(chat, "Do you have the police report?")
	h.inTopic(tp.ThreadID, "not yet")
	copies := 0
	for _, m := range h.srv.Messages(chat) {
		if m.Kind == fakeapi.KindCopy {
			copies++
		}
	}
	if copies != 1 {
		t.Errorf("copies in the applicant's chat = %d; want the staff reply once", copies)
	}
}

// A desk record written before topics had entries of their own named every
// case, closed ones too, and was kept among the sessions under the staff
// chat's id, as were the topics' entries: at start the record moves to the
// records, each topic gets its entry there, and the closed cases leave the
// record, which keeps only the open ones; an entry of an older version is
// moved when first read.
func TestStaffDeskRecordMigrated(t *testing.T) {
	st := openRedis(t)
	legacy := `{"chat":` + strconv.FormatInt(staffChat, 10) + `,"cases":{` +
		`"5101":{"topic":41,"title":"Ana · 2nd copy · closed","status":"closed","since":"2026-11-20T10:00:00Z"},` +
		`"5102":{"topic":42,"title":"Rui · change · waiting","status":"waiting","since":"2026-11-20T11:00:00Z"}}}`
	for key, v := range map[int64]string{staffChat: legacy, topicKey(43): "5103"} {
		if err := st.Update(t.Context(), key, func([]byte) ([]byte, error) { return []byte(v), nil }); err != nil {
			t.Fatal(err)
		}
	}
	h := staffHarness(t, st)
	ctx, cancel := wait(t)
	defer cancel()
	rec := strconv.FormatInt(staffChat, 10)
	if err := eventually(ctx, func() bool {
		raw, _, _ := st.GetRecord(ctx, deskSpace, rec)
		return !strings.Contains(string(raw), `"5101"`) && strings.Contains(string(raw), `"5102"`)
	}); err != nil {
		raw, _, _ := st.GetRecord(ctx, deskSpace, rec)
		t.Fatalf("desk record after start = %s; want the waiting case only", raw)
	}
	if raw, ok, err := st.Get(ctx, staffChat); err != nil || ok {
		t.Errorf("Get(%d) after the move = %s, %v, %v; want the old record gone", staffChat, raw, ok, err)
	}
	d := h.bots[0].bot.desk
	d.mu.Lock()
	clear(d.topics) // as on another replica
	d.mu.Unlock()
	for topic, want := range map[int]int64{41: 5101, 42: 5102, 43: 5103} {
		if chat, ok, err := d.caseOf(ctx, topic); err != nil || !ok || chat != want {
			t.Errorf("caseOf(%d) = %d, %v, %v; want %d", topic, chat, ok, err, want)
		}
		key := rec + ":" + strconv.Itoa(topic)
		if raw, ok, err := st.GetRecord(ctx, topicSpace, key); err != nil || string(raw) != strconv.FormatInt(want, 10) {
			t.Errorf("GetRecord(%s, %s) = %s, %v, %v; want %d", topicSpace, key, raw, ok, err, want)
		}
		if raw, ok, err := st.Get(ctx, topicKey(topic)); err != nil || ok {
			t.Errorf("Get(topicKey(%d)) after the move = %s, %v, %v; want it gone", topic, raw, ok, err)
		}
	}
}

// The desk's record and the topics' entries are apart from the sessions:
// an update stored as the session of a chat with the staff group's id, or
// under the number where topics' entries used to be, changes neither.
func TestStaffDeskApartFromSessions(t *testing.T) {
	for _, backend := range []string{"redis", "embedded"} {
		t.Run(backend, func(t *testing.T) {
			st := map[string]func(testing.TB) store.Store{"redis": openRedis, "embedded": openBolt}[backend](t)
			h := staffHarness(t, st)
			const chat = int64(5201)
			h.srv.UserText(chat, "/start")
			h.expect(chat, "Which language")
			h.do(chat, func() { h.srv.UserText(chat, "/human") }, "Which language")
			tp := h.topicOfCase("User5201")
			d := h.bots[0].bot.desk
			ctx, cancel := wait(t)
			defer cancel()
			if err := eventually(ctx, func() bool {
				r, err := d.load(ctx)
				return err == nil && r.Cases[chat].Topic == tp.ThreadID
			}); err != nil {
				t.Fatalf("the desk's record never listed the case of chat %d", chat)
			}
			forged := `{"chat":-42,"cases":{}}`
			if _, err := st.Apply(ctx, staffChat, 900001, "intruder", time.Minute, func([]byte) (store.Change, error) {
				return store.Change{Session: []byte(forged)}, nil
			}); err != nil {
				t.Fatal(err)
			}
			// A desk record names its chat: a later write of the record
			// (the desk may still be writing) would keep the forged one.
			if err := st.Update(ctx, topicKey(tp.ThreadID), func([]byte) ([]byte, error) { return []byte("666"), nil }); err != nil {
				t.Fatal(err)
			}
			d.mu.Lock()
			clear(d.topics) // as on another replica
			d.chat, d.lastRaw = 0, nil
			d.mu.Unlock()
			r, err := d.load(ctx)
			if err != nil || r.Chat != staffChat || r.Cases[chat].Topic != tp.ThreadID {
				t.Errorf("desk record after a session was stored under the staff chat's id = %+v, %v; want chat %d with the case of %d", r, err, staffChat, chat)
			}
			if got, ok, err := d.caseOf(ctx, tp.ThreadID); err != nil || !ok || got != chat {
				t.Errorf("caseOf(%d) after a session was stored under its old key = %d, %v, %v; want %d", tp.ThreadID, got, ok, err, chat)
			}
			h.do(chat, func() { h.srv.UserTopicText(staffChat, tp.ThreadID, ana, "/takeover") }, "has joined")
		})
	}
}

// A slow staff group does not hold back the applicant's reply: it goes
// before the case's topic and card are brought up to date.
func TestStaffGroupSlowApplicantFirst(t *testing.T) {
	h := staffHarness(t, openRedis(t))
	h.srv.Inject(fakeapi.Fault{Method: "createForumTopic", Delay: 3 * time.Second})
	chat := int64(5006)
	h.srv.UserText(chat, "/start")
	h.expect(chat, "Which language")
	h.do(chat, func() { h.srv.UserText(chat, "/human") }, "Which language")
	if tps := h.srv.Topics(staffChat); len(tps) != 0 {
		t.Errorf("the reply to /human came after the case's topic %+v was opened; want it first", tps)
	}
	h.topicOfCase("User5006")
}

// A staff photo, document or album captioned as a note stays in the topic.
func TestStaffNoteCaptions(t *testing.T) {
	h := staffHarness(t, openRedis(t))
	chat := int64(5010)
	h.toExpiry(chat)
	h.do(chat, func() { h.srv.UserText(chat, "/human") }, "AIMA's emails")
	tp := h.topicOfCase("User5010")
	h.do(chat, func() { h.srv.UserTopicText(staffChat, tp.ThreadID, ana, "Hello, I'm Ana.") }, "Hello, I'm Ana.")
	before := len(h.srv.Messages(chat))
	h.srv.TopicPhoto(staffChat, tp.ThreadID, ana, jpegBytes(t, 30, 20), "!the photo looks edited")
	h.srv.TopicDocument(staffChat, tp.ThreadID, ana, "scan.pdf", "application/pdf", []byte("%PDF-1.4 x"), "/note the scan, for us")
	h.srv.TopicAlbum(staffChat, tp.ThreadID, ana, [][]byte{jpegBytes(t, 30, 20), jpegBytes(t, 40, 20)}, "! both internal")
	h.do(chat, func() { h.srv.UserTopicText(staffChat, tp.ThreadID, ana, "That is all.") }, "That is all.")
	for _, m := range h.srv.Messages(chat)[before:] {
		if m.Kind != fakeapi.KindCopy || m.Text != "That is all." {
			t.Errorf("the applicant got %s %q %q; want only the text after the notes", m.Kind, m.Text, m.Caption)
		}
	}
}

// The bot checks its rights in the staff group at start and whenever they
// change, and says in the General topic and the log which it lacks.
func TestStaffRightsWarning(t *testing.T) {
	h := newHarness(t, openRedis(t), fakeapi.Options{})
	h.srv.NewForum(staffChat, "Support")
	h.srv.InitBotRights(staffChat, fakeapi.Rights{Status: "member"})
	h.start(false, func(c *Config) { c.StaffChat, c.StaffUsers, c.QueueEvery = staffChat, []int64{ana}, time.Hour })
	h.inTopic(0, "be an administrator")
	ctx, cancel := wait(t)
	defer cancel()
	if err := eventually(ctx, func() bool { return strings.Contains(h.logs.String(), "missing=admin") }); err != nil {
		t.Errorf("the missing rights were not logged:\n%s", h.logs)
	}

	h.srv.SetBotRights(staffChat, fakeapi.AllRights())
	if err := eventually(ctx, func() bool {
		return strings.Contains(h.logs.String(), "the bot has the rights it needs in the staff group")
	}); err != nil {
		t.Errorf("the rights given were not noticed:\n%s", h.logs)
	}
	h.srv.SetBotRights(staffChat, fakeapi.Rights{Status: "administrator", CanDeleteMessages: true})
	h.inTopic(0, "manage topics: without it")
	warnings := 0
	for _, m := range h.srv.TopicMessages(staffChat, 0) {
		if strings.HasPrefix(m.Text, "⚠️ I lack rights") {
			warnings++
			if strings.Contains(m.Text, "manage topics") && strings.Contains(m.Text, "delete messages") {
				t.Errorf("warning %q names a right the bot has", m.Text)
			}
		}
	}
	if warnings != 2 {
		t.Errorf("warnings in the General topic = %d; want 2 (at start, and when a right was taken)", warnings)
	}
}

// A command addressed to another bot in the staff group is not the bot's:
// it is neither acted on nor passed to the applicant.
func TestStaffCommandForAnotherBot(t *testing.T) {
	h := staffHarness(t, openRedis(t))
	chat := int64(5011)
	h.toExpiry(chat)
	h.do(chat, func() { h.srv.UserText(chat, "/human") }, "AIMA's emails")
	tp := h.topicOfCase("User5011")
	h.srv.UserTopicText(staffChat, tp.ThreadID, ana, "/close@OtherBot")
	h.srv.UserTopicText(staffChat, tp.ThreadID, ana, "/takeover@otherbot now")
	h.do(chat, func() { h.srv.UserTopicText(staffChat, tp.ThreadID, ana, "/takeover@"+fakeapi.DefaultBotUsername) }, "has joined")
	for _, m := range h.srv.Messages(chat) {
		if strings.Contains(m.Text, "closed") || strings.Contains(m.Text, "@") {
			t.Errorf("a command for another bot reached the applicant or acted: %q", m.Text)
		}
	}
	var history []string
	for _, e := range h.session(chat).Human.History {
		history = append(history, e.What+" "+e.By)
	}
	if got, want := strings.Join(history, ", "), "escalate , take Ana"; got != want {
		t.Errorf("case history = %q; want %q (the commands for another bot ignored)", got, want)
	}
}

// Saved replies, end to end on both stores, and whose turn a case is: the
// topic's name starts with when the team's answer is due. Ana saves a reply
// in the three languages from the General topic, /replies lists it with the shipped
// ones, and /reply in a case's topic sends the applicant the text in their
// language (Portuguese here), taking the case over; a shipped reply works
// the same way, and a reply missing a language is refused with the reason.
func TestSavedReplies(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(testing.TB) store.Store) {
		h := staffHarness(t, open(t))
		chat := int64(5301)
		tp := h.askForPerson(chat, "Joana", "pt", "quero falar com uma pessoa", "O que aconteceu?")
		if !strings.Contains(tp.Name, " · ⏳") {
			t.Errorf("topic name = %q; want the team's answer's due time in it", tp.Name)
		}
		h.card(tp.ThreadID, "Waiting for the team's first reply since")

		h.srv.UserTopicText(staffChat, 0, ana, "/savereply docs\nen: Please send your passport.\npt: Envie o passaporte, por favor.")
		h.inTopic(0, "no text in fr")
		h.srv.UserTopicText(staffChat, 0, ana, "/savereply docs\nen: Please send your passport.\npt: Envie o passaporte, por favor.\nfr: Envoyez votre passeport, s'il vous plaît.")
		h.inTopic(0, "Saved reply «docs» saved")
		h.srv.UserTopicText(staffChat, 0, ana, "/replies")
		list := h.inTopic(0, "• docs: Please send your passport.")
		if !strings.Contains(list.Text, "• wait_for_aima: ") {
			t.Errorf("/replies = %q; want the shipped replies too", list.Text)
		}

		h.do(chat, func() { h.srv.UserTopicText(staffChat, tp.ThreadID, ana, "/reply docs") }, "Envie o passaporte, por favor.")
		h.inTopic(tp.ThreadID, "Saved reply «docs» sent in Português")
		h.card(tp.ThreadID, "Waiting for the applicant since")
		h.topicOfCase("Joana · request not chosen yet · with a person")
		h.inTopic(0, "No case is waiting") // the desk's record has the case as Ana's
		h.srv.UserTopicText(staffChat, 0, ana, "/mine")
		if mine := h.inTopic(0, "Ana, your cases (1)"); !strings.Contains(mine.Text, topicLink(staffChat, tp.ThreadID)) ||
			strings.Contains(mine.Text, "Joana") {
			t.Errorf("/mine = %q; want Joana's case by its link, without her name (it outlives her case)", mine.Text)
		}
		h.srv.UserTopicText(staffChat, 0, bruno, "/mine")
		h.inTopic(0, "Bruno, you have no case taken over")
		// The applicant answering is Ana's turn: she is mentioned,
		// until she turns mentions off.
		h.srv.UserText(chat, "ok, vou enviar")
		mention := func(m fakeapi.Message) bool {
			for _, e := range m.Entities {
				if e.Type == models.MessageEntityTypeTextLink && e.URL == fmt.Sprintf("tg://user?id=%d", ana) {
					return true
				}
			}
			return false
		}
		if m := h.inTopic(tp.ThreadID, "🔔 Ana, the applicant answered"); !mention(m) {
			t.Errorf("your-turn notice %q has entities %+v; want Ana mentioned", m.Text, m.Entities)
		}
		h.srv.UserTopicText(staffChat, 0, ana, "/mute")
		h.inTopic(0, "Ana, you will not be mentioned any more")
		h.do(chat, func() { h.srv.UserTopicText(staffChat, tp.ThreadID, ana, "/reply wait_for_aima") }, "O seu pedido está agora com a AIMA")
		h.srv.UserText(chat, "obrigada")
		notices := func() []fakeapi.Message {
			var out []fakeapi.Message
			for _, m := range h.srv.TopicMessages(staffChat, tp.ThreadID) {
				if strings.HasPrefix(m.Text, "🔔 Ana, the applicant answered") {
					out = append(out, m)
				}
			}
			return out
		}
		ctx, cancel := wait(t)
		defer cancel()
		if err := h.srv.WaitFor(ctx, func() bool { return len(notices()) == 2 }); err != nil {
			t.Fatalf("your-turn notices = %d; want a second one after the applicant answered again", len(notices()))
		}
		if n := notices(); mention(n[1]) {
			t.Errorf("your-turn notice after /mute mentions Ana: %+v", n[1].Entities)
		}
		h.srv.UserTopicText(staffChat, tp.ThreadID, ana, "/reply nope")
		h.inTopic(tp.ThreadID, "There is no saved reply «nope»")

		// From the card: its button lists the saved replies, the team's
		// too, and one tap sends one.
		if _, err := h.srv.GroupPressLabel(staffChat, ana, "✉️ Saved replies"); err != nil {
			t.Fatal(err)
		}
		pick := h.inTopic(tp.ThreadID, "Tap a saved reply to send it")
		var labels []string
		for _, row := range pick.Buttons {
			labels = append(labels, row[0].Label)
		}
		if !slices.Contains(labels, "✉️ docs") || !slices.Contains(labels, "✉️ police_report") {
			t.Fatalf("saved replies offered = %v; want the team's and the shipped ones", labels)
		}
		before := strings.Count(h.dump(chat), "Envie o passaporte, por favor.")
		if _, err := h.srv.GroupPressLabel(staffChat, ana, "✉️ docs"); err != nil {
			t.Fatal(err)
		}
		if err := h.srv.WaitFor(ctx, func() bool { return strings.Count(h.dump(chat), "Envie o passaporte, por favor.") == before+1 }); err != nil {
			t.Fatalf("the saved reply pressed did not reach the applicant:%s", h.dump(chat))
		}
	})
}

// After a case, end to end on both stores: a case waiting for the team is
// flagged in the General topic near its target; the applicant leaves Ana's
// answer unanswered, so the case closes by itself 72 hours later, telling
// both sides; the applicant rates the help and comments, and the topic and
// the card show both; /stats counts the case without anything of the
// applicant's.
func TestCaseClosesAndIsRated(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(testing.TB) store.Store) {
		clk := newClock(time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC))
		h := staffHarness(t, open(t), func(c *Config) { c.Now, c.WakeEvery = clk.Now, 20*time.Millisecond })
		chat := int64(5401)
		tp := h.askForPerson(chat, "Li", "en", "I want to talk to a person", "What happened?")
		clk.Advance(91 * time.Minute) // three quarters of the first answer's 2 hours
		if flag := h.inTopic(0, "⚠️ Near its target: a case"); !strings.Contains(flag.Text, topicLink(staffChat, tp.ThreadID)) {
			t.Errorf("flag = %q; want a link to the case's topic", flag.Text)
		}
		h.do(chat, func() { h.srv.UserTopicText(staffChat, tp.ThreadID, ana, "Hi Li, which request is it?") }, "which request is it?")
		h.card(tp.ThreadID, "Waiting for the applicant since")

		h.doAll(chat, func() { clk.Advance(72*time.Hour + time.Minute) }, "As we have not heard from you", "Did you get what you needed")
		h.inTopic(tp.ThreadID, "Closed by itself")
		h.do(chat, func() { h.press(chat, "👍 Yes") }, "add a comment")
		h.inTopic(tp.ThreadID, "The applicant rated the help: 👍")
		h.do(chat, func() { h.press(chat, "✍️ Add a comment") }, "Write your comment")
		h.doAll(chat, func() { h.srv.UserText(chat, "Quick and kind, thanks") }, "your comment reached our team")
		h.inTopic(tp.ThreadID, "«Quick and kind, thanks»")
		h.card(tp.ThreadID, "⭐ Rating: 👍 got what they needed")

		// The team's figures count it, without anything of the
		// applicant's. The fact is written just after the card, so
		// /stats is asked again until it has it.
		ctx, cancel := wait(t)
		defer cancel()
		statsIn := func() []string {
			var out []string
			for _, m := range h.srv.TopicMessages(staffChat, 0) {
				if strings.HasPrefix(m.Text, "📊") {
					out = append(out, m.Text)
				}
			}
			return out
		}
		var stats string
		for !strings.Contains(stats, "👍1 ") {
			n := len(statsIn())
			h.srv.UserTopicText(staffChat, 0, bruno, "/stats")
			if err := h.srv.WaitFor(ctx, func() bool { return len(statsIn()) > n }); err != nil {
				t.Fatalf("/stats = %q; want the rated case counted", stats)
			}
			all := statsIn()
			stats = all[len(all)-1]
		}
		for _, want := range []string{"Cases opened: 1 · 1", "Closed: 1 · 1", "• Ana: 1 case", "First reply: 1h31 / 1h31", "First-reply target met: 100%"} {
			if !strings.Contains(stats, want) {
				t.Errorf("/stats lacks %q:\n%s", want, stats)
			}
		}
		if strings.Contains(stats, "Li") || strings.Contains(stats, "Quick and kind") {
			t.Errorf("/stats shows the applicant's name or words:\n%s", stats)
		}
		// And /metrics, the same figures.
		b := h.bots[0].bot
		for series, want := range map[string]string{
			`aimabot_desk_cases_opened{period="30d"}`:                      "1",
			`aimabot_desk_ratings{period="7d",rating="yes"}`:               "1",
			`aimabot_desk_first_reply_seconds{period="7d",quantile="0.5"}`: "5460",
			`aimabot_desk_first_reply_target_met_ratio{period="30d"}`:      "1",
		} {
			if got := metric(b, series); got != want {
				t.Errorf("%s = %q; want %s", series, got, want)
			}
		}
	})
}

// The queue in the General topic has a button per waiting case: one tap
// takes the case over for whoever pressed it; /assign hands it to another
// member, who is mentioned.
func TestClaimFromQueue(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(testing.TB) store.Store) {
		h := staffHarness(t, open(t))
		chat := int64(5501)
		tp := h.askForPerson(chat, "Olga", "en", "/human", "What happened?")
		queue := h.inTopic(0, "1 case waiting for a person")
		if len(queue.Buttons) != 1 || !strings.HasPrefix(queue.Buttons[0][0].Label, "✋ Olga · ") {
			t.Fatalf("queue = %q %v; want one button to claim Olga's case", queue.Text, queue.Buttons)
		}
		if _, err := h.srv.GroupPressLabel(staffChat, bruno, queue.Buttons[0][0].Label); err != nil {
			t.Fatal(err)
		}
		h.expect(chat, "Bruno from our support team has joined")
		h.card(tp.ThreadID, "Status: with Bruno since")
		h.inTopic(0, "No case is waiting")

		// Bruno hands it to Ana, whom the desk knows from her writing in the
		// group; she is mentioned.
		h.srv.UserTopicText(staffChat, tp.ThreadID, ana, "!I can take Olga's case")
		h.srv.UserTopicText(staffChat, tp.ThreadID, bruno, "/assign Zed")
		h.inTopic(tp.ThreadID, "To whom? /assign NAME hands the case over. The team as I know it: Ana, Bruno.")
		h.do(chat, func() { h.srv.UserTopicText(staffChat, tp.ThreadID, bruno, "/assign ana") }, "Ana from our support team has joined")
		h.card(tp.ThreadID, "Status: with Ana since")
		note := h.inTopic(tp.ThreadID, "🔔 Ana, Bruno assigned this case to you.")
		if len(note.Entities) != 1 || note.Entities[0].URL != fmt.Sprintf("tg://user?id=%d", ana) {
			t.Errorf("assignment notice entities = %+v; want Ana mentioned", note.Entities)
		}
	})
}

// A case's entry in the desk's record reads back equal to itself, due time
// included (one in Lisbon's zone did not, and every change of the case
// wrote the record again as if its place in the queue had moved).
func TestDeskEntryReadsBackEqual(t *testing.T) {
	hours, err := officehours.Parse("mon-fri 09:00-18:00", rules.Lisbon())
	if err != nil {
		t.Fatal(err)
	}
	flow, err := flows.New(flows.WithStaff("en"), flows.WithOfficeHours(hours, flows.DefaultTargets()))
	if err != nil {
		t.Fatal(err)
	}
	d := &desk{flow: flow}
	at := time.Date(2026, 12, 11, 16, 30, 0, 0, time.UTC)
	s := flows.Session{Human: &flows.Case{Status: flows.CaseWaiting, At: at, Turn: flows.TurnTeam, TurnSince: at}}
	e := d.deskEntry(s, 7, "Maria · 2nd copy · waiting")
	raw, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	var back deskCase
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatal(err)
	}
	if e.Due.IsZero() || back != e {
		t.Errorf("deskEntry = %+v, read back %+v; want a due time, equal once stored", e, back)
	}
}

// The applicant's documents in the staff group are protected
// (protect_content): they cannot be forwarded out of the group or saved.
func TestStaffCopiesProtected(t *testing.T) {
	h := staffHarness(t, openRedis(t))
	chat := int64(6090)
	h.toSecondDocument(chat)
	h.do(chat, func() { h.srv.UserText(chat, "/human") }, "Document 2 of 3")
	tp := h.topicOfCase("User6090")
	ctx, cancel := wait(t)
	defer cancel()
	if err := h.srv.WaitFor(ctx, func() bool {
		for _, m := range h.srv.TopicMessages(staffChat, tp.ThreadID) {
			if m.FileID != "" {
				return true
			}
		}
		return false
	}); err != nil {
		t.Fatalf("the passport was not posted in the case's topic")
	}
	media := 0
	for _, m := range h.srv.TopicMessages(staffChat, tp.ThreadID) {
		switch m.Kind {
		case fakeapi.KindPhoto, fakeapi.KindDocument, fakeapi.KindMediaItem, fakeapi.KindCopy:
			media++
			if !m.Protected {
				t.Errorf("the applicant's %s in the topic (%q) is not protected", m.Kind, m.Text+m.Caption)
			}
		}
	}
	if media == 0 {
		t.Errorf("no document of the applicant in the topic; want the passport")
	}
}

// Through Telegram's my_chat_member updates: a block is known at once,
// before any message fails (the case's topic and card say so, and nothing
// is sent to the blocked chat); an unblock is greeted with where the
// applicant left off, and the team told.
func TestBlockKnownAtOnce(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(testing.TB) store.Store) {
		h := staffHarness(t, open(t))
		chat := int64(6091)
		h.toSecondDocument(chat)
		h.do(chat, func() { h.srv.UserText(chat, "/human") }, "Document 2 of 3")
		tp := h.topicOfCase("User6091")
		h.srv.UserBlocksBot(chat)
		h.inTopic(tp.ThreadID, "blocked the bot")
		h.card(tp.ThreadID, "The applicant blocked the bot")
		for _, c := range h.srv.Calls("sendMessage") {
			if c.Status == http.StatusForbidden {
				t.Errorf("a message was sent to the blocked chat (403): the block was not known at once")
			}
		}
		h.do(chat, func() { h.srv.UserUnblocksBot(chat) }, "Document 2 of 3")
		if d := h.dump(chat); !strings.Contains(d, "Welcome back! Here is where you left off.") {
			t.Errorf("the unblock was not greeted:%s", d)
		}
		h.inTopic(tp.ThreadID, "unblocked the bot")
		if s := h.session(chat); s.Blocked != nil {
			t.Errorf("Blocked = %v after the unblock; want cleared", s.Blocked)
		}
	})
}
