package bot

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/jpeg"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aimabot/aimabot/bot/fakeapi"
	"github.com/aimabot/aimabot/flows"
	"github.com/aimabot/aimabot/rules"
	"github.com/aimabot/aimabot/store"
	"github.com/aimabot/aimabot/store/storetest"
)

// harness runs a bot against a fake Bot API server and a real store.
type harness struct {
	t    *testing.T
	srv  *fakeapi.Server
	st   store.Store
	logs *syncBuffer
	bots []*running
	// flowOpts are added to the conversation of every replica started.
	flowOpts []flows.Option
}

type running struct {
	bot    *Bot
	cancel context.CancelFunc
	done   chan error
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func openRedis(t testing.TB) store.Store {
	t.Helper()
	url := storetest.StartRedis(t)
	st, err := store.OpenRedis(nil, url, store.RedisOptions{Prefix: storetest.RedisPrefix(t, url)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// forEachStore runs a test on Redis and on the embedded store, each in a
// subtest; open opens a fresh store of that kind.
func forEachStore(t *testing.T, test func(t *testing.T, open func(testing.TB) store.Store)) {
	for _, b := range []struct {
		name string
		open func(testing.TB) store.Store
	}{{"redis", openRedis}, {"bolt", openBolt}} {
		t.Run(b.name, func(t *testing.T) { test(t, b.open) })
	}
}

func openBolt(t testing.TB) store.Store {
	t.Helper()
	st, err := store.OpenBolt(nil, t.TempDir(), store.BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func newHarness(t *testing.T, st store.Store, opts fakeapi.Options) *harness {
	t.Helper()
	srv := fakeapi.New(opts)
	t.Cleanup(srv.Close)
	return &harness{t: t, srv: srv, st: st, logs: &syncBuffer{}}
}

// start runs one bot replica; webhook mode when webhook is true.
func (h *harness) start(webhook bool, tweak ...func(*Config)) *Bot {
	h.t.Helper()
	// The scripted applicants answer instantly, so Telegram's per-chat pace
	// is lifted here; TestSendLimits checks it against the fake's limits.
	cfg := Config{Token: h.srv.Token(), APIURL: h.srv.URL(), PollTimeout: time.Second, AlbumWait: 200 * time.Millisecond,
		ShutdownTimeout: 5 * time.Second, Owner: fmt.Sprintf("replica-%d", len(h.bots)), Unlimited: true}
	if webhook {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			h.t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		cfg.ListenAddr = addr
		cfg.WebhookURL = "http://" + addr + "/hook"
		cfg.WebhookSecret = "s3cret-" + strings.Repeat("x", 20)
	}
	for _, f := range tweak {
		f(&cfg)
	}
	opts := h.flowOpts
	if cfg.StaffChat != 0 {
		opts = append(opts, flows.WithStaff(cfg.StaffLang))
	}
	flow, err := flows.New(opts...)
	if err != nil {
		h.t.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	b, err := New(logger, cfg, h.st, flow)
	if err != nil {
		h.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{bot: b, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- b.Run(ctx) }()
	h.bots = append(h.bots, r)
	h.t.Cleanup(func() { h.stop(r) })
	return b
}

func (h *harness) stop(r *running) {
	r.cancel()
	select {
	case err := <-r.done:
		if err != nil {
			h.t.Errorf("Run() = %v; want nil after a stop\nlogs:\n%s", err, h.logs)
		}
		r.done <- nil
	case <-time.After(15 * time.Second):
		h.t.Errorf("Run did not return within 15 s of the stop")
	}
}

func wait(t *testing.T) (context.Context, context.CancelFunc) {
	t.Helper()
	return context.WithTimeout(context.Background(), 20*time.Second)
}

// expect waits until the chat's last message contains want.
func (h *harness) expect(chat int64, want string) fakeapi.Message {
	h.t.Helper()
	ctx, cancel := wait(h.t)
	defer cancel()
	var last fakeapi.Message
	err := h.srv.WaitFor(ctx, func() bool {
		m, ok := h.srv.LastMessage(chat)
		last = m
		return ok && strings.Contains(m.Text, want)
	})
	if err != nil {
		h.t.Fatalf("chat %d: last message = %q; want it to contain %q\nall: %s", chat, last.Text, want, h.dump(chat))
	}
	return last
}

// do performs an applicant's action and waits for a new message that
// contains want.
func (h *harness) do(chat int64, action func(), want string) fakeapi.Message {
	h.t.Helper()
	before := len(h.srv.Messages(chat))
	action()
	ctx, cancel := wait(h.t)
	defer cancel()
	var last fakeapi.Message
	err := h.srv.WaitFor(ctx, func() bool {
		msgs := h.srv.Messages(chat)
		if len(msgs) <= before {
			return false
		}
		last = msgs[len(msgs)-1]
		return strings.Contains(last.Text, want)
	})
	if err != nil {
		h.t.Fatalf("chat %d: last message = %q; want a new one containing %q%s", chat, last.Text, want, h.dump(chat))
	}
	return last
}

// doAll is do for an action answered with several messages: it waits
// until the messages after it contain each of wants, in order.
func (h *harness) doAll(chat int64, action func(), wants ...string) {
	h.t.Helper()
	before := len(h.srv.Messages(chat))
	action()
	ctx, cancel := wait(h.t)
	defer cancel()
	err := h.srv.WaitFor(ctx, func() bool {
		next := 0
		for _, m := range h.srv.Messages(chat)[before:] {
			if next < len(wants) && strings.Contains(m.Text, wants[next]) {
				next++
			}
		}
		return next == len(wants)
	})
	if err != nil {
		h.t.Fatalf("chat %d: want new messages containing %q, in order%s", chat, wants, h.dump(chat))
	}
}

func (h *harness) press(chat int64, label string) {
	h.t.Helper()
	if _, err := h.srv.UserPressLabel(chat, label); err != nil {
		h.t.Fatalf("chat %d: press %q: %v\n%s", chat, label, err, h.dump(chat))
	}
}

func (h *harness) dump(chat int64) string {
	var b strings.Builder
	for _, m := range h.srv.Messages(chat) {
		fmt.Fprintf(&b, "\n--- #%d %q %v", m.ID, m.Text, m.Buttons)
	}
	return b.String()
}

func jpegBytes(t testing.TB, w, h int) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, image.NewRGBA(image.Rect(0, 0, w, h)), nil); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

var realPDF = []byte("%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n")

// toAddressChange brings an applicant to the expiry date question of a
// change of address.
func (h *harness) toAddressChange(chat int64) {
	h.t.Helper()
	h.srv.UserText(chat, "/start")
	h.expect(chat, "Which language")
	h.press(chat, "English")
	h.expect(chat, "What happened?")
	h.press(chat, "My personal data changed")
	h.expect(chat, "Which of your data changed?")
	h.press(chat, "My address")
	h.expect(chat, "What is the expiry date")
}

// toSecondDocument brings an applicant with a lost card to the second
// document, the passport sent.
func (h *harness) toSecondDocument(chat int64) {
	h.t.Helper()
	h.toExpiry(chat)
	h.srv.UserText(chat, "26/07/2030")
	h.expect(chat, "your last day to submit")
	h.press(chat, "Continue")
	h.expect(chat, "Document 1 of 3")
	h.srv.UserPhoto(chat, jpegBytes(h.t, 64, 48), "")
	h.expect(chat, "Document 2 of 3")
}

// lostCard runs the whole conversation: language, second copy of a
// lost card, expiry date, passport and police report as photos, review, next
// steps.
func (h *harness) lostCard(chat int64) {
	h.t.Helper()
	h.toExpiry(chat)
	h.srv.UserText(chat, "26/07/2030")
	h.expect(chat, "your last day to submit is")
	h.press(chat, "Continue")
	h.expect(chat, "Document 1 of 3: Passport copy")
	h.srv.UserPhoto(chat, jpegBytes(h.t, 64, 48), "")
	h.expect(chat, "Document 2 of 3")
	h.press(chat, "Skip (I don't have it)")
	h.expect(chat, "Document 3 of 3: Police report")
	h.srv.UserPhoto(chat, jpegBytes(h.t, 80, 60), "")
	h.expect(chat, "Please check everything")
	h.press(chat, "Everything is correct")
	h.expect(chat, "https://contactenos.aima.gov.pt/contact-form")
}

func TestConversation(t *testing.T) {
	for _, mode := range []struct {
		name    string
		webhook bool
		open    func(testing.TB) store.Store
	}{
		{"polling/redis", false, openRedis},
		{"webhook/redis", true, openRedis},
		{"polling/embedded", false, openBolt},
	} {
		t.Run(mode.name, func(t *testing.T) {
			h := newHarness(t, mode.open(t), fakeapi.Options{})
			h.start(mode.webhook)
			chat := int64(1001)
			h.lostCard(chat)

			msgs := h.srv.Messages(chat)
			presses := 0
			for _, c := range h.srv.Calls("answerCallbackQuery") {
				if c.Status == http.StatusOK {
					presses++
				}
			}
			if presses != 6 {
				t.Errorf("answered button presses = %d; want 6 (every press answered once)", presses)
			}
			var edited int
			for _, m := range msgs {
				if m.Edits > 0 {
					edited++
					if len(m.Buttons) != 0 || !strings.Contains(m.Text, "✓ ") {
						t.Errorf("pressed message %q keeps buttons %v; want them replaced by the choice", m.Text, m.Buttons)
					}
				}
			}
			if edited != 6 {
				t.Errorf("messages edited to show the choice = %d; want 6", edited)
			}
			if cmds := h.srv.Commands(); len(cmds[""]) == 0 || len(cmds["pt"]) == 0 || len(cmds["fr"]) == 0 {
				t.Errorf("command menus = %v; want default, pt and fr", cmds)
			}
			if strings.Contains(h.logs.String(), h.srv.Token()) {
				t.Errorf("logs contain the token")
			}
		})
	}
}

// noRepeats fails when the chat shows the same message twice in a row: a
// reply sent twice.
func (h *harness) noRepeats(chat int64) {
	h.t.Helper()
	msgs := h.srv.Messages(chat)
	for i := 1; i < len(msgs); i++ {
		if msgs[i].Text == msgs[i-1].Text && msgs[i].Kind == msgs[i-1].Kind {
			h.t.Errorf("chat %d: message %q sent twice in a row", chat, msgs[i].Text)
		}
	}
}

// A storm of 429s: every reply still arrives, once, in order, after the
// waits Telegram asked for.
func TestTooManyRequestsStorm(t *testing.T) {
	h := newHarness(t, openRedis(t), fakeapi.Options{})
	h.srv.Inject(fakeapi.Fault{Method: "sendMessage", Status: http.StatusTooManyRequests, RetryAfter: 1, Times: 3})
	h.srv.Inject(fakeapi.Fault{Method: "sendMessage", Status: http.StatusBadGateway, Times: 2})
	h.srv.Inject(fakeapi.Fault{Method: "sendMessage", Drop: true, Times: 1})
	h.start(false)
	h.lostCard(2001)
	h.noRepeats(2001)
	if got := h.srv.PendingFaults(); got != 0 {
		t.Errorf("faults left = %d; want every fault to have been hit", got)
	}
	ok := 0
	for _, c := range h.srv.Calls("sendMessage") {
		if c.Status == http.StatusOK {
			ok++
		}
	}
	if n := len(h.srv.Messages(2001)); ok != n {
		t.Errorf("successful sendMessage calls = %d; messages shown = %d; want them equal (no reply twice)", ok, n)
	}
}

// The sender stays under Telegram's limits: against a fake that answers 429
// past them, several applicants in a hurry never hit one.
func TestSendLimits(t *testing.T) {
	h := newHarness(t, openBolt(t), fakeapi.Options{Limits: true})
	h.start(false, func(c *Config) { c.Unlimited = false })
	var wg sync.WaitGroup
	for chat := int64(3001); chat <= 3004; chat++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h.srv.UserText(chat, "/start")
			h.expect(chat, "Which language")
			h.press(chat, "English")
			h.expect(chat, "What happened?")
			for range 3 {
				h.srv.UserText(chat, "/help")
			}
			ctx, cancel := wait(t)
			defer cancel()
			if _, err := h.srv.WaitMessages(ctx, chat, 5); err != nil {
				t.Errorf("chat %d: %v", chat, err)
			}
		}()
	}
	wg.Wait()
	if n := h.srv.TooManyRequests(); n != 0 {
		t.Errorf("429 answers = %d; want 0 (the sender keeps to the limits)", n)
	}
}

// The same button pressed twice quickly acts once; the second press is
// answered as out of date, on the button only: the next question is asked
// once.
func TestDoublePress(t *testing.T) {
	h := newHarness(t, openRedis(t), fakeapi.Options{})
	chat := int64(4001)
	h.srv.UserText(chat, "/start")
	h.start(false)
	m := h.expect(chat, "Which language")
	data := m.Buttons[0][0].Data
	h.srv.UserPress(chat, m.ID, data)
	h.srv.UserPress(chat, m.ID, data)
	h.expect(chat, "What happened?")
	ctx, cancel := wait(t)
	defer cancel()
	if err := h.srv.WaitFor(ctx, func() bool { return len(h.srv.CallbackAnswers()) == 2 }); err != nil {
		t.Fatalf("callback answers = %+v; want 2", h.srv.CallbackAnswers())
	}
	answers := h.srv.CallbackAnswers()
	if answers[0].Text != "" || answers[1].Text != "This button is out of date." {
		t.Errorf("answers = %+v; want a plain answer, then \"This button is out of date.\"", answers)
	}
	// Once the chat's outbox is empty, every reply has been sent.
	if err := eventually(ctx, func() bool {
		out, err := h.st.Outbox(ctx, chat, 10)
		return err == nil && len(out) == 0
	}); err != nil {
		t.Fatalf("the chat's outbox did not empty: %v", err)
	}
	var sit int
	for _, m := range h.srv.Messages(chat) {
		if strings.Contains(m.Text, "What happened?") {
			sit++
		}
	}
	if sit != 1 {
		t.Errorf("the next question was asked %d times; want once:%s", sit, h.dump(chat))
	}
}

// Documents are checked by declared type and by content; a file over the
// download limit is refused without downloading it; an album gets one reply.
func TestDocuments(t *testing.T) {
	h := newHarness(t, openRedis(t), fakeapi.Options{})
	h.start(true)
	chat := int64(5001)
	h.toAddressChange(chat)
	h.srv.UserText(chat, "my card expires on 26 July 2030")
	h.expect(chat, "Friday, 26 July 2030")
	h.press(chat, "Continue")
	h.expect(chat, "Document 1 of 5")

	wrongType := "I can only take photos (JPEG or PNG) and PDF files"
	h.do(chat, func() { h.srv.UserDocument(chat, "passport.zip", "application/zip", []byte("PK\x03\x04zip")) }, wrongType)
	// A file sent as a PDF or a JPEG whose first bytes say otherwise is
	// explained, not just refused.
	h.do(chat, func() {
		h.srv.UserDocument(chat, "passport.pdf", "application/pdf", []byte("PK\x03\x04 a zip named pdf"))
	}, "This file is marked as a PDF, but what is inside is not a PDF")
	h.do(chat, func() {
		h.srv.UserDocument(chat, "passport.jpg", "image/jpeg", []byte("PK\x03\x04 a zip named jpg"))
	}, "This file is marked as a .jpg image, but what is inside is not one")
	getFiles := len(h.srv.Calls("getFile"))
	h.do(chat, func() { h.srv.UserBigDocument(chat, "scan.pdf", "application/pdf", 30<<20) }, "That file is 30.0 MB, and the limit is 20 MB")
	if n := len(h.srv.Calls("getFile")); n != getFiles {
		t.Errorf("getFile calls for a 30 MB document = %d; want none", n-getFiles)
	}
	h.srv.UserDocument(chat, "passport.pdf", "application/pdf", realPDF)
	h.expect(chat, "Document 2 of 5")

	before := len(h.srv.Messages(chat))
	// The card's front and back, then the declaration: each receipt says
	// what the photo was filed as.
	h.srv.UserAlbum(chat, [][]byte{jpegBytes(t, 10, 10), jpegBytes(t, 20, 20), jpegBytes(t, 30, 30)})
	h.expect(chat, "Document 4 of 5: Proof of housing")
	msgs := h.srv.Messages(chat)
	if got := len(msgs) - before; got != 1 {
		t.Errorf("replies to an album of 3 = %d; want 1:%s", got, h.dump(chat))
	}
	if !strings.Contains(msgs[len(msgs)-1].Text, "Received: Residence card copy, front ✅\nReceived: Residence card copy, back ✅\nReceived: Declaration on your honour ✅") {
		t.Errorf("album reply = %q; want the card's two sides, then the declaration", msgs[len(msgs)-1].Text)
	}
	// The last photo was the proof of housing: one tap files it there.
	h.do(chat, func() { h.press(chat, "That's not the Declaration on your honour") }, "What is the file you just sent?")
	h.do(chat, func() { h.press(chat, "Proof of housing") }, "Moved: that file is now filed as Proof of housing.")
	var housing, declaration int
	for _, d := range h.session(chat).Docs {
		switch d.ID {
		case rules.DocHousingProof:
			housing++
		case rules.DocHonourDeclaration:
			declaration++
		}
	}
	if housing != 1 || declaration != 0 {
		t.Errorf("after \"That's not it\": %d proofs of housing, %d declarations; want 1, 0", housing, declaration)
	}
}

// Updates the bot does not serve are confirmed and ignored; stickers and
// the like get a hint and the question again.
func TestOddUpdates(t *testing.T) {
	h := newHarness(t, openBolt(t), fakeapi.Options{})
	h.start(false)
	h.srv.GroupText(-100123, 7, "/start", "supergroup")
	h.srv.GroupText(-456, 7, "hello", "group")
	h.srv.ChannelPost(-100999, "news")
	h.srv.RawUpdate([]byte(`{"poll_answer":{"poll_id":"1","option_ids":[0]}}`))
	h.srv.RawUpdate([]byte(`{"some_future_update":{"x":1}}`))
	chat := int64(6001)
	h.srv.UserText(chat, "/start")
	h.expect(chat, "Which language")
	h.srv.UserSticker(chat)
	ctx, cancel := wait(t)
	defer cancel()
	msgs, err := h.srv.WaitMessages(ctx, chat, 3)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(msgs[1].Text, "I can't read stickers") || !strings.Contains(msgs[2].Text, "Which language") {
		t.Errorf("answer to a sticker = %q, %q; want the hint, then the question again", msgs[1].Text, msgs[2].Text)
	}
	if err := h.srv.WaitFor(ctx, func() bool { return h.srv.Pending() == 0 }); err != nil {
		t.Fatalf("pending updates = %d; want all confirmed", h.srv.Pending())
	}
	for _, c := range []int64{-100123, -456, -100999} {
		if n := len(h.srv.Messages(c)); n != 0 {
			t.Errorf("chat %d got %d messages; want none (groups and channels are ignored)", c, n)
		}
	}
}

// The webhook refuses a wrong secret and answers 500 when the update cannot
// be committed, so that Telegram sends it again.
func TestWebhookHandler(t *testing.T) {
	st := openRedis(t)
	h := newHarness(t, st, fakeapi.Options{})
	flow, _ := flows.New()
	b, err := New(slog.New(slog.NewTextHandler(h.logs, nil)), Config{Token: h.srv.Token(), APIURL: h.srv.URL(),
		WebhookSecret: "right-secret"}, st, flow)
	if err != nil {
		t.Fatal(err)
	}
	handler := b.WebhookHandler()
	update := `{"update_id":9,"message":{"message_id":1,"date":1,"chat":{"id":77,"type":"private"},"from":{"id":77,"is_bot":false,"first_name":"A"},"text":"/start"}}`
	post := func(secret, body string) int {
		req, _ := http.NewRequest(http.MethodPost, "/hook", strings.NewReader(body))
		req.Header.Set("X-Telegram-Bot-Api-Secret-Token", secret)
		rec := &statusRecorder{header: http.Header{}}
		handler.ServeHTTP(rec, req)
		return rec.status
	}
	for _, tt := range []struct {
		name, secret string
		want         int
	}{
		{"no secret", "", http.StatusUnauthorized},
		{"wrong secret", "wrong-secret", http.StatusUnauthorized},
		{"a prefix of the secret", "right", http.StatusUnauthorized},
		{"right secret", "right-secret", http.StatusOK},
		{"the same update again", "right-secret", http.StatusOK},
	} {
		if got := post(tt.secret, update); got != tt.want {
			t.Errorf("%s: status = %d; want %d", tt.name, got, tt.want)
		}
	}
	ctx, cancel := wait(t)
	defer cancel()
	// The last step (the outbox ack) happens in the store, not the fake, so
	// this polls.
	err = eventually(ctx, func() bool {
		out, err := st.Outbox(ctx, 77, 10)
		return err == nil && len(out) == 0 && len(h.srv.Messages(77)) > 0
	})
	if n := len(h.srv.Messages(77)); err != nil || n != 1 {
		t.Errorf("messages after the update came twice = %d (%v); want 1 (applied once)", n, err)
	}
	b.send.stop()
	st.Close()
	if got := post("right-secret", strings.Replace(update, `"update_id":9`, `"update_id":10`, 1)); got != http.StatusInternalServerError {
		t.Errorf("status with the store down = %d; want 500", got)
	}
}

// eventually polls cond until it holds or ctx ends.
func eventually(ctx context.Context, cond func() bool) error {
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
	return nil
}

type statusRecorder struct {
	header http.Header
	status int
}

func (r *statusRecorder) Header() http.Header { return r.header }
func (r *statusRecorder) Write(p []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return len(p), nil
}
func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
}

// Replies that could not be sent before a stop are kept and sent once by the
// next start.
func TestOutboxSurvivesRestart(t *testing.T) {
	h := newHarness(t, openRedis(t), fakeapi.Options{})
	h.srv.Inject(fakeapi.Fault{Method: "sendMessage", Status: http.StatusBadGateway, Times: 1000})
	chat := int64(7001)
	h.srv.UserText(chat, "/start")
	h.start(false)
	ctx, cancel := wait(t)
	defer cancel()
	if err := h.srv.WaitFor(ctx, func() bool { return h.srv.Pending() == 0 && len(h.srv.Calls("sendMessage")) > 0 }); err != nil {
		t.Fatal(err)
	}
	h.stop(h.bots[0])
	if out, _ := h.st.Outbox(ctx, chat, 10); len(out) != 1 {
		t.Fatalf("outbox after the stop = %d messages; want the greeting kept", len(out))
	}
	h.srv.ClearFaults()
	h.start(false, func(c *Config) { c.Owner = "replica-0" })
	h.expect(chat, "Which language")
	if n := len(h.srv.Messages(chat)); n != 1 {
		t.Errorf("messages after the restart = %d; want 1", n)
	}
}

// Two replicas on one Redis behind a round-robin proxy, each receiving half
// of the webhook calls: every conversation completes, every reply once.
func TestTwoReplicas(t *testing.T) {
	h := newHarness(t, openRedis(t), fakeapi.Options{})
	var backends []string
	var next atomic.Int64
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		target := backends[next.Add(1)%int64(len(backends))]
		req, _ := http.NewRequestWithContext(r.Context(), r.Method, "http://"+target+r.URL.Path, r.Body)
		req.Header = r.Header.Clone()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		w.WriteHeader(resp.StatusCode)
		io.Copy(w, resp.Body)
	}))
	t.Cleanup(proxy.Close)
	for range 2 {
		h.start(true, func(c *Config) {
			backends = append(backends, c.ListenAddr)
			c.WebhookURL = proxy.URL + "/hook"
		})
	}
	var wg sync.WaitGroup
	for chat := int64(8001); chat <= 8010; chat++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h.lostCard(chat)
		}()
	}
	wg.Wait()
	for chat := int64(8001); chat <= 8010; chat++ {
		h.noRepeats(chat)
		if n := len(h.srv.Messages(chat)); n != 10 {
			t.Errorf("chat %d: %d messages; want 10:%s", chat, n, h.dump(chat))
		}
	}
}

// Commands addressed to the bot by name and deep links start the
// conversation; a corrected message is read as a new answer.
func TestDeepLinkAndEdits(t *testing.T) {
	h := newHarness(t, openBolt(t), fakeapi.Options{})
	h.start(false)
	chat := int64(9001)
	h.srv.SetUserLang(chat, "fr-FR")
	// The app's language is ours: no language question, and a way to change it.
	m := h.do(chat, func() { h.srv.UserText(chat, "/start@aimabot flyer-lisboa") }, "Que s'est-il passé ?")
	if !strings.Contains(m.Text, "Touchez /language") || strings.Contains(m.Text, "Quelle langue") {
		t.Errorf("first reply to a French app = %q; want French, with /language offered and no language question", m.Text)
	}
	h.press(chat, "Mes données personnelles ont changé")
	h.expect(chat, "Quelles données")
	h.press(chat, "Mon adresse")
	h.expect(chat, "date d'expiration")
	// Message ids count both sides of a chat: the applicant's message is
	// the one right after the bot's last.
	last, _ := h.srv.LastMessage(chat)
	mine := last.ID + 1
	h.do(chat, func() { h.srv.UserText(chat, "32/13/2030") }, "date d'expiration")
	h.do(chat, func() { h.srv.UserEdit(chat, mine, "26/07/2030") }, "vendredi 26 juillet 2030")
}

// A 403 (the applicant blocked the bot) is recorded, not retried; their
// next message clears it.
func TestBlockedChat(t *testing.T) {
	st := openRedis(t)
	h := newHarness(t, st, fakeapi.Options{})
	h.start(false)
	chat := int64(9101)
	h.srv.UserText(chat, "/start")
	h.expect(chat, "Which language")
	h.srv.BlockChat(chat)
	h.srv.UserText(chat, "/help")
	ctx, cancel := wait(t)
	defer cancel()
	err := eventually(ctx, func() bool {
		cur, ok, err := st.Get(ctx, chat)
		if err != nil || !ok {
			return false
		}
		s, err := flows.Unmarshal(cur)
		return err == nil && s.Blocked != nil
	})
	if err != nil {
		t.Fatalf("the block was not recorded in the session: %v", err)
	}
	// Every reply is dealt with (/help is two messages): the first refused,
	// the rest dropped without asking Telegram again.
	if err := eventually(ctx, func() bool {
		msgs, err := st.Outbox(ctx, chat, 16)
		return err == nil && len(msgs) == 0
	}); err != nil {
		t.Fatalf("the outbox was not emptied: %v", err)
	}
	forbidden := 0
	for _, c := range h.srv.Calls("sendMessage") {
		if c.Status == http.StatusForbidden {
			forbidden++
		}
	}
	if forbidden != 1 {
		t.Errorf("sendMessage answered 403 %d times; want 1 (the first reply, not retried, the rest not sent)", forbidden)
	}
	h.srv.UnblockChat(chat)
	h.do(chat, func() { h.srv.UserText(chat, "/status") }, "Which language")
	cur, _, _ := st.Get(ctx, chat)
	if s, _ := flows.Unmarshal(cur); s.Blocked != nil {
		t.Errorf("Blocked = %v after the applicant wrote again; want cleared", s.Blocked)
	}
}

// The applicants' command menu offers /human only when a support team is
// configured: without one, personal help is not available; the bot's
// descriptions, set in the three languages at start, promise a person
// only then too.
func TestCommandMenuHuman(t *testing.T) {
	hasHuman := func(cmds []fakeapi.BotCommand) bool {
		for _, c := range cmds {
			if c.Command == "human" {
				return true
			}
		}
		return false
	}
	for _, staff := range []bool{false, true} {
		var h *harness
		if staff {
			h = staffHarness(t, openBolt(t))
		} else {
			h = newHarness(t, openBolt(t), fakeapi.Options{})
			h.start(false)
		}
		chat := int64(7001)
		h.do(chat, func() { h.srv.UserText(chat, "/start") }, "Which language do you prefer?")
		ctx, cancel := wait(t)
		// The staff group's own menu may be the last one set for the
		// default language, so only pt and fr are checked with a team.
		langs := []string{"pt", "fr"}
		if !staff {
			langs = append(langs, "")
		}
		err := eventually(ctx, func() bool {
			cmds := h.srv.Commands()
			for _, l := range langs {
				if len(cmds[l]) == 0 {
					return false
				}
			}
			return true
		})
		cancel()
		if err != nil {
			t.Fatalf("staff %v: command menus = %v; want %q", staff, h.srv.Commands(), langs)
		}
		for _, l := range langs {
			if got := hasHuman(h.srv.Commands()[l]); got != staff {
				t.Errorf("staff %v: menu %q offers /human: %v; want %v", staff, l, got, staff)
			}
		}
		// The descriptions, in every language, promise a person only
		// when there is a team.
		long, short := h.srv.Descriptions()
		person := map[string]string{"": "support team", "pt": "equipa de apoio", "fr": "équipe d'assistance"}
		for _, l := range []string{"", "pt", "fr"} {
			if long[l] == "" || short[l] == "" {
				t.Errorf("staff %v: description %q = %q, short %q; want both set", staff, l, long[l], short[l])
			}
			if got := strings.Contains(long[l], person[l]); got != staff {
				t.Errorf("staff %v: description %q promises a person: %v; want %v", staff, l, got, staff)
			}
		}
	}
}
