package bot

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aimabot/aimabot/bot/fakeapi"
	"github.com/aimabot/aimabot/store"
)

// clock is a test clock the bot reads as its Now.
type clock struct{ ns atomic.Int64 }

func newClock(t time.Time) *clock {
	c := &clock{}
	c.ns.Store(t.UnixNano())
	return c
}

func (c *clock) Now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *clock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// /forget erases everything the store holds about the applicant, deletes
// their staff topic and tells them what was erased.
func TestForget(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(testing.TB) store.Store) {
		h := staffHarness(t, open(t))
		chat := int64(6001)
		h.toSecondDocument(chat)
		h.do(chat, func() { h.srv.UserText(chat, "/human") }, "Document 2 of 3")
		tp := h.topicOfCase("User6001")
		h.inTopic(tp.ThreadID, "Passport copy")

		h.do(chat, func() { h.srv.UserText(chat, "/mydata") }, "Document 2 of 3")
		if !strings.Contains(h.dump(chat), "Passport copy: a photo of") {
			t.Errorf("/mydata does not list the document:%s", h.dump(chat))
		}
		h.do(chat, func() { h.srv.UserText(chat, "/forget") }, "This cannot be undone")
		h.press(chat, "Yes, erase everything")
		h.expect(chat, "the reference to 1 document")

		ctx, cancel := wait(t)
		defer cancel()
		if err := h.srv.WaitFor(ctx, func() bool { return h.topicDeleted(tp.ThreadID) }); err != nil {
			t.Errorf("the case's topic was not deleted: %+v", h.srv.Topics(staffChat))
		}
		if err := eventually(ctx, func() bool {
			out, err := h.st.Outbox(ctx, chat, 10)
			return err == nil && len(out) == 0
		}); err != nil {
			t.Errorf("the outbox was not emptied")
		}
		if _, ok, _ := h.st.Get(ctx, chat); ok {
			t.Errorf("the session survived /forget")
		}
		// Only the ids of the updates applied remain, under the chat's
		// keyed hash, once the confirmation is delivered and its send
		// lease given up: no key names the chat id.
		var keys []string
		if err := eventually(ctx, func() bool {
			keys, _ = h.st.(store.Inspector).Keys(ctx, chat)
			for _, k := range keys {
				if strings.Contains(k, strconv.FormatInt(chat, 10)) || !strings.Contains(k, "forgotten") {
					return false
				}
			}
			return len(keys) > 0
		}); err != nil {
			t.Errorf("keys of the chat after /forget: %q; want only the applied update ids, under the chat's keyed hash", keys)
		}
		raw, _, _ := h.st.GetRecord(ctx, deskSpace, strconv.FormatInt(staffChat, 10))
		if strings.Contains(string(raw), fmt.Sprint(chat)) {
			t.Errorf("the staff desk still names the chat: %s", raw)
		}
		// A new conversation starts from nothing.
		h.do(chat, func() { h.srv.UserText(chat, "hello") }, "Hello! I'm aimabot.")
	})
}

// Reminders are kept in the store: one reminder when documents stop coming
// (once, even with two replicas and a restart), the notice before the
// erasure, the erasure with the staff topic.
func TestReminders(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(testing.TB) store.Store) {
		clk := newClock(time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC))
		fast := func(c *Config) { c.Now, c.WakeEvery = clk.Now, 20*time.Millisecond }
		h := staffHarness(t, open(t), fast)
		chat := int64(6002)
		h.toExpiry(chat)
		h.srv.UserText(chat, "26/07/2030")
		h.expect(chat, "your last day to submit")
		h.press(chat, "Continue")
		h.expect(chat, "Document 1 of 3")
		h.do(chat, func() { h.srv.UserText(chat, "/human") }, "Document 1 of 3")
		tp := h.topicOfCase("User6002")

		// A second replica: the reminder is in the store, and one of
		// them sends it.
		staff := func(c *Config) {
			c.StaffChat, c.StaffUsers, c.QueueEvery = staffChat, []int64{ana, bruno}, time.Hour
		}
		h.start(false, fast, staff)
		// The reminder, then the document asked for again: two
		// messages, which may both be in before the first look.
		h.doAll(chat, func() { clk.Advance(25 * time.Hour) }, "You were collecting the documents", "Document 1 of 3")
		// The first replica restarts (under its name, so it polls again
		// at once): nothing due is lost or repeated. (It stops once the
		// reminder is acknowledged: a stop between a send and its
		// acknowledgement is the documented repeat window.)
		octx, ocancel := wait(t)
		defer ocancel()
		if err := eventually(octx, func() bool {
			out, err := h.st.Outbox(octx, chat, 1)
			return err == nil && len(out) == 0
		}); err != nil {
			t.Fatal("the reminder was never acknowledged")
		}
		h.stop(h.bots[0])
		h.start(false, fast, staff, func(c *Config) { c.Owner = "replica-0" })
		clk.Advance(2 * time.Hour)
		h.do(chat, func() { h.srv.UserText(chat, "/status") }, "Document 1 of 3")
		clk.Advance(25 * time.Hour)
		ctx, cancel := wait(t)
		defer cancel()
		if err := h.srv.WaitFor(ctx, func() bool { return strings.Count(h.dump(chat), "You were collecting") == 2 }); err != nil {
			t.Fatalf("no second reminder after the applicant came back and stopped again:%s", h.dump(chat))
		}
		h.expect(chat, "Document 1 of 3")
		clk.Advance(24 * time.Hour)
		h.do(chat, func() { h.srv.UserText(chat, "/help") }, "Document 1 of 3")
		if n := strings.Count(h.dump(chat), "You were collecting"); n != 2 {
			t.Errorf("reminders = %d; want 2 (one per time documents stopped coming)", n)
		}

		clk.Advance(27*24*time.Hour + time.Hour)
		h.expect(chat, "I'll erase your conversation")
		clk.Advance(3 * 24 * time.Hour)
		if err := eventually(ctx, func() bool {
			_, ok, err := h.st.Get(ctx, chat)
			return err == nil && !ok
		}); err != nil {
			t.Fatalf("the idle conversation was not erased")
		}
		if err := h.srv.WaitFor(ctx, func() bool { return h.topicDeleted(tp.ThreadID) }); err != nil {
			t.Errorf("the erased case's topic was not deleted")
		}
	})
}

// With Redis stopped under load, the bot keeps running, confirms nothing,
// reports not ready, logs the outage once, and catches up when Redis is
// back: every conversation ends with exactly the replies it should have.
func TestStoreOutage(t *testing.T) {
	rp, h := redisProcessHarness(t)
	addr := freeAddr(t)
	h.start(false, func(c *Config) { c.ListenAddr = addr })

	ref := int64(6100)
	h.lostCard(ref)
	want := texts(h.srv.Messages(ref))

	const n = 16
	var wg sync.WaitGroup
	for i := range n {
		chat := int64(6200 + i)
		wg.Add(1)
		go func() {
			defer wg.Done()
			h.lostCard(chat)
		}()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := h.srv.WaitFor(ctx, func() bool { return len(h.srv.Messages(6200)) >= 4 }); err != nil {
		t.Fatal(err)
	}
	rp.Stop(t)
	if err := eventually(ctx, func() bool {
		code, _ := get(t, "http://"+addr+"/readyz")
		return code == http.StatusServiceUnavailable
	}); err != nil {
		t.Errorf("/readyz did not report the store down")
	}
	before := len(h.srv.Calls("sendMessage"))
	// The applicants keep writing meanwhile: their updates wait at
	// Telegram, unconfirmed. The outage lasts a second and a half.
	if err := h.srv.WaitFor(ctx, func() bool { return h.srv.Pending() > 0 }); err != nil {
		t.Fatalf("no update waited during the outage")
	}
	time.Sleep(1500 * time.Millisecond)
	rp.Start(t)
	wg.Wait()
	if got := len(h.srv.Calls("sendMessage")); got <= before {
		t.Errorf("no message sent after Redis came back")
	}
	for i := range n {
		chat := int64(6200 + i)
		if got := texts(h.srv.Messages(chat)); strings.Join(got, "\n---\n") != strings.Join(want, "\n---\n") {
			t.Errorf("chat %d: %d messages; want %d, the same as without an outage:%s", chat, len(got), len(want), h.dump(chat))
		}
	}
	logs := h.logs.String()
	if c := strings.Count(logs, "the store is unreachable"); c != 1 {
		t.Errorf("the outage was logged %d times; want once", c)
	}
	if c := strings.Count(logs, "the store is reachable again"); c != 1 {
		t.Errorf("the end of the outage was logged %d times; want once", c)
	}
	if code, _ := get(t, "http://"+addr+"/readyz"); code != http.StatusOK {
		t.Errorf("/readyz = %d after the outage; want 200", code)
	}
}

func texts(msgs []fakeapi.Message) []string {
	out := make([]string, 0, len(msgs))
	for _, m := range msgs {
		out = append(out, m.Text)
	}
	return out
}

// topicDeleted says whether the staff group's topic was deleted.
func (h *harness) topicDeleted(thread int) bool {
	for _, x := range h.srv.Topics(staffChat) {
		if x.ThreadID == thread {
			return x.Deleted
		}
	}
	return false
}

// Without the right to delete messages, /forget cannot delete the staff
// topic: it deletes every message the bot posted or copied there, closes
// and renames the topic, and tells the applicant and the staff how many
// messages stayed (the staff's own, and the bot's older than 48 hours).
func TestForgetWithoutDeleteRight(t *testing.T) {
	for _, tt := range []struct {
		name  string
		aged  bool // the bot's messages are older than 48 hours at the erasure
		flaky bool // the word to the applicant after the drop fails once (502)
	}{
		{"staff messages stay", false, false},
		{"old messages stay too", true, false},
		{"a failed word to the applicant is tried again, the staff told once", false, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := staffHarness(t, openRedis(t))
			chat := int64(6010)
			h.srv.SetUserName(chat, "Maria")
			h.toSecondDocument(chat)
			h.do(chat, func() { h.srv.UserText(chat, "/human") }, "Document 2 of 3")
			tp := h.topicOfCase("Maria")
			h.inTopic(tp.ThreadID, "Passport copy")
			h.do(chat, func() { h.srv.UserTopicText(staffChat, tp.ThreadID, ana, "Hello Maria, I'm Ana.") }, "I'm Ana")
			h.srv.UserTopicText(staffChat, tp.ThreadID, ana, "!her passport expires soon")
			h.srv.UserText(chat, "My address is Rua Augusta 1\nLisboa")
			h.inTopic(tp.ThreadID, "Rua Augusta")

			h.srv.SetBotRights(staffChat, fakeapi.Rights{Status: "administrator", CanManageTopics: true})
			h.inTopic(0, "delete messages: without it")
			ctx, cancel := wait(t)
			defer cancel()
			if err := eventually(ctx, func() bool { return strings.Contains(h.logs.String(), "missing=delete_messages") }); err != nil {
				t.Errorf("the missing right was not logged:\n%s", h.logs)
			}

			// The card, the document, the notice of the takeover, the copy
			// of the applicant's message; Ana's two messages.
			var posted, staffLeft int
			if err := h.srv.WaitFor(ctx, func() bool {
				posted, staffLeft = h.srv.TopicLeft(staffChat, tp.ThreadID)
				return posted >= 4 && staffLeft == 2
			}); err != nil {
				t.Fatalf("before /forget, TopicLeft = %d, %d; want at least 4 of the bot's, and Ana's 2", posted, staffLeft)
			}
			// Telegram's notices of the topic's creation and renamings show
			// its names and cannot be deleted: they count as staying.
			notices := 1
			for _, c := range h.srv.Calls("editForumTopic") {
				if c.Status == http.StatusOK && c.Params["message_thread_id"] == fmt.Sprint(tp.ThreadID) {
					notices++
				}
			}
			if notices < 2 {
				t.Errorf("the topic was renamed %d times before /forget; want at least once (taken over)", notices-1)
			}
			want := staffLeft + notices
			if tt.aged {
				h.srv.Advance(49 * time.Hour)
				want += posted
			}
			h.do(chat, func() { h.srv.UserText(chat, "/forget") }, "This cannot be undone")
			if tt.flaky {
				// The confirmation goes through; the word after the drop
				// fails once.
				h.srv.Inject(fakeapi.Fault{Method: "sendMessage", Chat: chat, Delay: time.Nanosecond})
				h.srv.Inject(fakeapi.Fault{Method: "sendMessage", Chat: chat, Status: http.StatusBadGateway})
			}
			h.doAll(chat, func() { h.press(chat, "Yes, erase everything") },
				"being removed now", fmt.Sprintf("but %d messages in the support team's group could not be removed", want))

			var topic fakeapi.Topic
			if err := h.srv.WaitFor(ctx, func() bool {
				for _, x := range h.srv.Topics(staffChat) {
					if x.ThreadID == tp.ThreadID {
						topic = x
					}
				}
				return topic.Closed && topic.Name == "erased case"
			}); err != nil {
				t.Errorf("topic = %+v; want it closed and named \"erased case\"", topic)
			}
			bot, others := h.srv.TopicLeft(staffChat, tp.ThreadID)
			if bot+others+notices != want || others != 2 {
				t.Errorf("after /forget, TopicLeft = %d bot's, %d others'; want %d in all with the %d notices, Ana's 2",
					bot, others, want, notices)
			}
			if !tt.aged && len(h.srv.TopicMessages(staffChat, tp.ThreadID)) != 0 {
				t.Errorf("the bot's messages left in the topic: %+v", h.srv.TopicMessages(staffChat, tp.ThreadID))
			}
			h.inTopic(0, fmt.Sprintf("%d messages stay in it", want))
			notes, words := 0, 0
			for _, m := range h.srv.TopicMessages(staffChat, 0) {
				if strings.Contains(m.Text, "messages stay in it") {
					notes++
				}
			}
			for _, m := range h.srv.Messages(chat) {
				if strings.Contains(m.Text, "could not be removed") {
					words++
				}
			}
			if notes != 1 || words != 1 {
				t.Errorf("the staff were told %d times, the applicant %d times; want once each", notes, words)
			}
			for _, m := range h.srv.TopicMessages(staffChat, 0) {
				if strings.Contains(m.Text, "Maria") || strings.Contains(m.Text, "Rua Augusta") {
					t.Errorf("the General topic names the erased applicant: %q", m.Text)
				}
			}
			if err := eventually(ctx, func() bool {
				out, err := h.st.Outbox(ctx, chat, 10)
				return err == nil && len(out) == 0
			}); err != nil {
				t.Errorf("the outbox was not emptied")
			}
			if _, ok, _ := h.st.GetRecord(ctx, postedSpace, topicRecKey(staffChat, tp.ThreadID)); ok {
				t.Errorf("the list of the topic's messages survived the erasure")
			}
			if strings.Contains(h.logs.String(), "Rua Augusta") || strings.Contains(h.logs.String(), "Maria") {
				t.Errorf("logs contain message text or a name:\n%s", h.logs)
			}
		})
	}
}

// When the record of what the bot posted in an undeletable topic is gone
// (expired with the case's other keys), nobody is told a number the bot
// cannot know.
func TestForgetWithoutRecord(t *testing.T) {
	h := staffHarness(t, openBolt(t))
	chat := int64(6011)
	h.toExpiry(chat)
	h.do(chat, func() { h.srv.UserText(chat, "/human") }, "AIMA's emails")
	tp := h.topicOfCase("User6011")
	h.srv.SetBotRights(staffChat, fakeapi.Rights{Status: "administrator", CanManageTopics: true})
	h.inTopic(0, "delete messages: without it")
	ctx, cancel := wait(t)
	defer cancel()
	// Everything for the topic is posted (the outbox is empty) before its
	// record goes.
	if err := eventually(ctx, func() bool {
		out, err := h.st.Outbox(ctx, chat, 1)
		return err == nil && len(out) == 0
	}); err != nil {
		t.Fatal("the case's outbox was never delivered")
	}
	if err := h.st.DeleteRecord(ctx, postedSpace, topicRecKey(staffChat, tp.ThreadID)); err != nil {
		t.Fatal(err)
	}
	h.do(chat, func() { h.srv.UserText(chat, "/forget") }, "This cannot be undone")
	h.press(chat, "Yes, erase everything")
	h.expect(chat, "but some messages in the support team's group could not be removed")
	h.inTopic(0, "my list of its messages had expired")
}
