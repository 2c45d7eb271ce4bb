package bot

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/aimabot/aimabot/store"
)

// humanFields are the keys of the stored session's case.
func humanFields(t *testing.T, st store.Store, chat int64) map[string]json.RawMessage {
	t.Helper()
	raw, ok, err := st.Get(context.Background(), chat)
	if err != nil || !ok {
		t.Fatalf("Get(%d) = %v, %v; want the session", chat, ok, err)
	}
	var s struct {
		Human map[string]json.RawMessage `json:"human"`
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatal(err)
	}
	return s.Human
}

// Where a case is shown in the staff group (its topic, its card, what was
// posted there) is the desk's record, not the applicant's session: the
// conversation knows the case only.
func TestCaseShownOutsideSession(t *testing.T) {
	st := openRedis(t)
	h := staffHarness(t, st)
	chat := int64(6101)
	h.srv.SetUserName(chat, "Rita")
	h.toSecondDocument(chat)
	h.do(chat, func() { h.srv.UserText(chat, "/human") }, "Document 2 of 3")
	tp := h.topicOfCase("Rita")
	h.inTopic(tp.ThreadID, "Passport copy")
	h.do(chat, func() { h.srv.UserTopicText(staffChat, tp.ThreadID, ana, "Hello Rita") }, "Hello Rita")

	for _, k := range []string{"topic", "card", "shown", "posted"} {
		if v, ok := humanFields(t, st, chat)[k]; ok {
			t.Errorf("the session's case holds %q = %s; want the staff group's bookkeeping kept apart", k, v)
		}
	}
	raw, ok, err := st.GetRecord(context.Background(), caseSpace, h.bots[0].bot.desk.caseKey(chat))
	var r caseRec
	if err != nil || !ok || json.Unmarshal(raw, &r) != nil {
		t.Fatalf("GetRecord(case) = %s, %v, %v; want the case's record", raw, ok, err)
	}
	if r.Topic != tp.ThreadID || r.Card == 0 || r.Shown == "" || len(r.Posted) != 1 {
		t.Errorf("case record = %+v; want topic %d, its card, and the one document posted", r, tp.ThreadID)
	}
}

// A case an older version showed kept its topic and card in the session:
// the desk takes them from there (no second topic, no second card), and an
// erasure deletes that topic even when the desk has no record of it.
func TestCaseShownByOlderVersion(t *testing.T) {
	st := openRedis(t)
	h := staffHarness(t, st)
	chat := int64(6102)
	h.srv.SetUserName(chat, "Rui")
	h.toSecondDocument(chat)
	h.do(chat, func() { h.srv.UserText(chat, "/human") }, "Document 2 of 3")
	tp := h.topicOfCase("Rui")
	h.inTopic(tp.ThreadID, "Passport copy")
	ctx, cancel := wait(t)
	defer cancel()
	d := h.bots[0].bot.desk
	var r caseRec
	if err := eventually(ctx, func() bool {
		raw, _, err := st.GetRecord(ctx, caseSpace, d.caseKey(chat))
		return err == nil && json.Unmarshal(raw, &r) == nil && r.Card != 0 && len(r.Posted) == 1
	}); err != nil {
		t.Fatalf("case record = %+v; want the card and the document recorded", r)
	}

	// As the older version left it: the bookkeeping in the session, no
	// record of the desk's.
	legacy := func() {
		t.Helper()
		// The desk's work for the chat is done once its outbox is empty.
		if err := eventually(ctx, func() bool {
			out, err := st.Outbox(ctx, chat, 1)
			return err == nil && len(out) == 0
		}); err != nil {
			t.Fatal("the chat's outbox never emptied")
		}
		if err := st.DeleteRecord(ctx, caseSpace, d.caseKey(chat)); err != nil {
			t.Fatal(err)
		}
		if err := st.Update(ctx, chat, func(cur []byte) ([]byte, error) {
			var s map[string]any
			if err := json.Unmarshal(cur, &s); err != nil {
				return nil, err
			}
			hm := s["human"].(map[string]any)
			hm["topic"], hm["card"], hm["shown"], hm["posted"] = r.Topic, r.Card, r.Shown, r.Posted
			return json.Marshal(s)
		}); err != nil {
			t.Fatal(err)
		}
	}
	legacy()
	h.do(chat, func() { h.srv.UserText(chat, "Is my passport photo fine?") }, "Document 2 of 3")
	h.card(tp.ThreadID, "Is my passport photo fine?")
	if n := len(h.srv.Topics(staffChat)); n != 1 {
		t.Errorf("topics = %d after the upgrade; want the case's one", n)
	}
	cards, docs := 0, 0
	for _, m := range h.srv.TopicMessages(staffChat, tp.ThreadID) {
		if strings.HasPrefix(m.Text, "📋") {
			cards++
		}
		if strings.Contains(m.Caption, "Passport copy") {
			docs++
		}
	}
	if cards != 1 || docs != 1 {
		t.Errorf("topic holds %d cards and %d copies of the passport; want the one of each the older version posted", cards, docs)
	}

	// Erased before the desk saw the case again: only the erased session
	// knew the topic, and the drop carries it.
	h.do(chat, func() { h.srv.UserText(chat, "/forget") }, "This cannot be undone")
	legacy()
	h.press(chat, "Yes, erase everything")
	if err := h.srv.WaitFor(ctx, func() bool { return h.topicDeleted(tp.ThreadID) }); err != nil {
		t.Fatalf("topics after /forget = %+v; want the older version's topic deleted", h.srv.Topics(staffChat))
	}
}
