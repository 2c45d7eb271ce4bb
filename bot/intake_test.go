package bot

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

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

// pollPause never lets the poller call getUpdates again at once after a
// failure or an empty answer that was not a long poll, and grows while the
// trouble lasts; a batch or a long poll that ran its course goes on at once.
func TestPollPause(t *testing.T) {
	const timeout = 25 * time.Second
	tests := []struct {
		name string
		prev time.Duration
		r    pollResult
		want time.Duration
	}{
		{"a batch", 0, pollResult{updates: 3, took: time.Millisecond}, 0},
		{"a batch after errors", 8 * time.Second, pollResult{updates: 1}, 0},
		{"a long poll that ran its course", 0, pollResult{took: timeout}, 0},
		{"nothing, answered at once", 0, pollResult{took: time.Millisecond}, 100 * time.Millisecond},
		{"nothing at once again", 100 * time.Millisecond, pollResult{took: time.Millisecond}, 200 * time.Millisecond},
		{"nothing at once, for long", 30 * time.Second, pollResult{}, 30 * time.Second},
		{"an error", 0, pollResult{err: true}, 100 * time.Millisecond},
		{"errors again", 400 * time.Millisecond, pollResult{err: true}, 800 * time.Millisecond},
		{"errors for long", 16 * time.Second, pollResult{err: true}, 30 * time.Second},
		{"a batch that could not be applied", 0, pollResult{updates: 2, failed: true}, time.Second},
		{"another replica polls", 0, pollResult{standby: true}, 2 * time.Second},
	}
	for _, tt := range tests {
		if got := pollPause(tt.prev, tt.r, timeout); got != tt.want {
			t.Errorf("%s: pollPause(%v, %+v) = %v; want %v", tt.name, tt.prev, tt.r, got, tt.want)
		}
	}
}

// instantAPI is a Bot API server that answers every call at once: getMe and
// the other methods with success, getUpdates with answer. It records when
// getUpdates was called.
type instantAPI struct {
	mu    sync.Mutex
	calls []time.Time
	more  chan struct{}
}

func newInstantAPI(t *testing.T, status int, answer string) (*instantAPI, string) {
	a := &instantAPI{more: make(chan struct{}, 1)}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch {
		case strings.HasSuffix(r.URL.Path, "/getUpdates"):
			a.mu.Lock()
			a.calls = append(a.calls, time.Now())
			a.mu.Unlock()
			select {
			case a.more <- struct{}{}:
			default:
			}
			w.WriteHeader(status)
			io.WriteString(w, answer)
		case strings.HasSuffix(r.URL.Path, "/getMe"):
			io.WriteString(w, `{"ok":true,"result":{"id":1,"is_bot":true,"first_name":"aimabot","username":"aimabot"}}`)
		default:
			io.WriteString(w, `{"ok":true,"result":true}`)
		}
	}))
	t.Cleanup(srv.Close)
	return a, srv.URL
}

func (a *instantAPI) waitCalls(ctx context.Context, n int) ([]time.Time, error) {
	for {
		a.mu.Lock()
		got := slices.Clone(a.calls)
		a.mu.Unlock()
		if len(got) >= n {
			return got, nil
		}
		select {
		case <-ctx.Done():
			return got, ctx.Err()
		case <-a.more:
		}
	}
}

// Against a server that answers getUpdates at once, with an error or with
// nothing, the poller waits longer and longer between calls instead of
// spinning: the gaps between calls are at least the pauses pollPause gives.
func TestPollNeverSpins(t *testing.T) {
	for _, tt := range []struct {
		name   string
		status int
		answer string
	}{
		{"nothing at once", http.StatusOK, `{"ok":true,"result":[]}`},
		{"a 502 at once", http.StatusBadGateway, `{"ok":false,"error_code":502,"description":"Bad Gateway"}`},
		{"not JSON at once", http.StatusOK, `<html>proxy error</html>`},
		{"another poller at once", http.StatusConflict, `{"ok":false,"error_code":409,"description":"Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			api, url := newInstantAPI(t, tt.status, tt.answer)
			flow, _ := flows.New()
			logs := &syncBuffer{}
			b, err := New(slog.New(slog.NewTextHandler(logs, nil)), Config{Token: "1:abc", APIURL: url, PollTimeout: 25 * time.Second,
				ShutdownTimeout: 5 * time.Second}, openBolt(t), flow)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- b.Run(ctx) }()
			defer func() {
				cancel()
				if err := <-done; err != nil {
					t.Errorf("Run() = %v; want nil after a stop", err)
				}
			}()
			wctx, wcancel := wait(t)
			defer wcancel()
			calls, err := api.waitCalls(wctx, 5)
			if err != nil {
				t.Fatalf("getUpdates calls = %d; want 5", len(calls))
			}
			var pause time.Duration
			for i := 1; i < 5; i++ {
				pause = nextBackoff(pause)
				if gap := calls[i].Sub(calls[i-1]); gap < pause {
					t.Errorf("gap before getUpdates call %d = %v; want at least %v", i+1, gap, pause)
				}
			}
		})
	}
}

// A refused token stops the bot at once with ErrTokenRefused, in both
// modes; a webhook left set stops polling with ErrWebhookSet, which says
// how to remove it, unless DeleteWebhook asks to remove it.
func TestPollStops(t *testing.T) {
	srv := fakeapi.New(fakeapi.Options{})
	t.Cleanup(srv.Close)
	run := func(cfg Config) (*syncBuffer, error) {
		t.Helper()
		flow, _ := flows.New()
		logs := &syncBuffer{}
		cfg.APIURL, cfg.PollTimeout, cfg.ShutdownTimeout = srv.URL(), time.Second, 5*time.Second
		b, err := New(slog.New(slog.NewTextHandler(logs, nil)), cfg, openBolt(t), flow)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := wait(t)
		defer cancel()
		return logs, b.Run(ctx)
	}
	if logs, err := run(Config{Token: "1:wrong"}); !errors.Is(err, ErrTokenRefused) {
		t.Errorf("Run with a wrong token = %v; want ErrTokenRefused\n%s", err, logs)
	}
	if _, err := run(Config{Token: "1:wrong", WebhookURL: "http://127.0.0.1:1/hook", WebhookSecret: "0123456789abcdef", ListenAddr: freeAddr(t)}); !errors.Is(err, ErrTokenRefused) {
		t.Errorf("Run in webhook mode with a wrong token = %v; want ErrTokenRefused", err)
	}
	for _, c := range srv.Calls("getUpdates") {
		t.Errorf("getUpdates was called with a refused token (status %d)", c.Status)
	}
	// The token revoked while the bot runs.
	srv.Inject(fakeapi.Fault{Method: "getUpdates", Status: http.StatusUnauthorized})
	if _, err := run(Config{Token: srv.Token()}); !errors.Is(err, ErrTokenRefused) {
		t.Errorf("Run when getUpdates answers 401 = %v; want ErrTokenRefused", err)
	}
	setHook := func() {
		t.Helper()
		resp, err := http.Post(srv.URL()+"/bot"+srv.Token()+"/setWebhook", "application/json",
			strings.NewReader(`{"url":"http://127.0.0.1:1/hook"}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	setHook()
	_, err := run(Config{Token: srv.Token()})
	if !errors.Is(err, ErrWebhookSet) || !strings.Contains(err.Error(), "--delete-webhook") {
		t.Errorf("Run polling with a webhook set = %v; want ErrWebhookSet, saying how to remove it", err)
	}
	if n := len(srv.Calls("getUpdates")); n != 2 {
		t.Errorf("getUpdates calls with a webhook set = %d; want 1", n-1)
	}

	h := newHarness(t, openBolt(t), fakeapi.Options{})
	resp, err := http.Post(h.srv.URL()+"/bot"+h.srv.Token()+"/setWebhook", "application/json",
		strings.NewReader(`{"url":"http://127.0.0.1:1/hook"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	h.start(false, func(c *Config) { c.DeleteWebhook = true })
	h.do(5601, func() { h.srv.UserText(5601, "/start") }, "Which language")
	if n := len(h.srv.Calls("deleteWebhook")); n != 1 {
		t.Errorf("deleteWebhook calls = %d; want 1", n)
	}
}

// Pauses are jittered: a pause of d sleeps between d and 1.5 d, and pauses
// of the same d differ, so replicas that failed together do not retry
// together.
func TestBackoffJitter(t *testing.T) {
	for _, d := range []time.Duration{100 * time.Millisecond, time.Second, 30 * time.Second} {
		seen := map[time.Duration]bool{}
		for range 50 {
			got := jittered(d)
			if got < d || got > d+d/2 {
				t.Fatalf("jittered(%v) = %v; want between %v and %v", d, got, d, d+d/2)
			}
			seen[got] = true
		}
		if len(seen) < 10 {
			t.Errorf("jittered(%v) gave %d different pauses in 50; want them spread", d, len(seen))
		}
	}
	if got := jittered(0); got != 0 {
		t.Errorf("jittered(0) = %v; want no pause", got)
	}
}
