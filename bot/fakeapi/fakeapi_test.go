package fakeapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"image"
	"image/jpeg"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	tgbot "github.com/go-telegram/bot"
	"github.com/go-telegram/bot/models"
)

const (
	alice    = int64(4242)
	forumID  = int64(-1001234567890)
	deadline = 10 * time.Second
)

func newServer(t *testing.T, opts Options) *Server {
	t.Helper()
	opts.Logf = t.Logf
	srv := New(opts)
	t.Cleanup(func() {
		if n := srv.Panics(); n != 0 {
			t.Errorf("server panicked %d times", n)
		}
		srv.Close()
	})
	return srv
}

func newBot(t *testing.T, srv *Server, opts ...tgbot.Option) *tgbot.Bot {
	t.Helper()
	opts = append([]tgbot.Option{
		tgbot.WithServerURL(srv.URL()),
		tgbot.WithSkipGetMe(),
		tgbot.WithErrorsHandler(func(err error) { t.Logf("bot: %v", err) }),
	}, opts...)
	b, err := tgbot.New(srv.Token(), opts...)
	if err != nil {
		t.Fatalf("tgbot.New: %v", err)
	}
	return b
}

func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	t.Cleanup(cancel)
	return ctx
}

type apiResp struct {
	OK          bool            `json:"ok"`
	Result      json.RawMessage `json:"result"`
	ErrorCode   int             `json:"error_code"`
	Description string          `json:"description"`
	Parameters  struct {
		RetryAfter      int   `json:"retry_after"`
		MigrateToChatID int64 `json:"migrate_to_chat_id"`
	} `json:"parameters"`
	// Raw is the whole answer as sent.
	Raw json.RawMessage `json:"-"`
}

// call makes a raw urlencoded request.
func call(t *testing.T, srv *Server, method string, params url.Values) (int, apiResp) {
	t.Helper()
	return callCtx(t, testCtx(t), srv, method, params)
}

func callCtx(t *testing.T, ctx context.Context, srv *Server, method string, params url.Values) (int, apiResp) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL()+"/bot"+srv.Token()+"/"+method, strings.NewReader(params.Encode()))
	if err != nil {
		t.Errorf("request: %v", err)
		return 0, apiResp{}
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Errorf("%s: %v", method, err)
		return 0, apiResp{}
	}
	defer resp.Body.Close()
	var r apiResp
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Errorf("%s: reading answer: %v", method, err)
	}
	if err := json.Unmarshal(body, &r); err != nil {
		t.Errorf("%s: decoding answer: %v", method, err)
	}
	r.Raw = body
	if r.ErrorCode != 0 && r.ErrorCode != resp.StatusCode {
		t.Errorf("%s: error_code %d but HTTP status %d", method, r.ErrorCode, resp.StatusCode)
	}
	return resp.StatusCode, r
}

func getUpdates(t *testing.T, srv *Server, offset int64) []models.Update {
	t.Helper()
	status, r := call(t, srv, "getUpdates", url.Values{"offset": {strconv.FormatInt(offset, 10)}})
	if status != http.StatusOK {
		t.Fatalf("getUpdates: %d %s", status, r.Description)
	}
	var ups []models.Update
	if err := json.Unmarshal(r.Result, &ups); err != nil {
		t.Fatalf("getUpdates result: %v", err)
	}
	return ups
}

func testJPEG(t *testing.T, w, h int) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, image.NewRGBA(image.Rect(0, 0, w, h)), nil); err != nil {
		t.Fatalf("jpeg: %v", err)
	}
	return buf.Bytes()
}

func wantBadRequest(t *testing.T, err error, desc string) {
	t.Helper()
	if err == nil {
		t.Fatalf("want error %q, got none", desc)
	}
	if !errors.Is(err, tgbot.ErrorBadRequest) || !strings.Contains(err.Error(), desc) {
		t.Fatalf("want bad request %q, got %v", desc, err)
	}
}

// Keyboards built from a plain struct have only text and callback_data.
type plainButton struct {
	Text         string `json:"text"`
	CallbackData string `json:"callback_data"`
}

type plainKeyboard struct {
	InlineKeyboard [][]plainButton `json:"inline_keyboard"`
}

func buttons(labels ...string) plainKeyboard {
	var row []plainButton
	for _, l := range labels {
		row = append(row, plainButton{Text: l, CallbackData: "cb:" + strings.ToLower(l)})
	}
	return plainKeyboard{InlineKeyboard: [][]plainButton{row}}
}

func TestInlineKeyboards(t *testing.T) {
	srv := newServer(t, Options{})
	b := newBot(t, srv)
	ctx := testCtx(t)

	msg, err := b.SendMessage(ctx, &tgbot.SendMessageParams{ChatID: alice, Text: "Pick one", ReplyMarkup: buttons("Yes", "No")})
	if err != nil {
		t.Fatalf("plain keyboard rejected: %v", err)
	}
	if msg.ReplyMarkup == nil || len(msg.ReplyMarkup.InlineKeyboard[0]) != 2 {
		t.Fatalf("result lacks the keyboard: %+v", msg.ReplyMarkup)
	}
	msgs := srv.Messages(alice)
	if len(msgs) != 1 || msgs[0].Text != "Pick one" || msgs[0].Kind != KindText {
		t.Fatalf("messages: %+v", msgs)
	}
	if got := msgs[0].Buttons; len(got) != 1 || got[0][0] != (Button{Label: "Yes", Data: "cb:yes"}) {
		t.Fatalf("buttons: %+v", got)
	}

	_, err = b.SendMessage(ctx, &tgbot.SendMessageParams{ChatID: alice, Text: "Pick", ReplyMarkup: models.InlineKeyboardMarkup{
		InlineKeyboard: [][]models.InlineKeyboardButton{{{Text: "Yes", CallbackData: "yes"}}},
	}})
	wantBadRequest(t, err, "BUTTON_COPY_TEXT_INVALID")

	long := strings.Repeat("x", 65)
	_, err = b.SendMessage(ctx, &tgbot.SendMessageParams{ChatID: alice, Text: "Pick", ReplyMarkup: plainKeyboard{
		InlineKeyboard: [][]plainButton{{{Text: "Long", CallbackData: long}}},
	}})
	wantBadRequest(t, err, "BUTTON_DATA_INVALID")
	_, err = b.SendMessage(ctx, &tgbot.SendMessageParams{ChatID: alice, Text: "Pick", ReplyMarkup: plainKeyboard{
		InlineKeyboard: [][]plainButton{{{Text: "Max", CallbackData: long[:64]}}},
	}})
	if err != nil {
		t.Fatalf("64-byte callback data rejected: %v", err)
	}

	for _, bad := range []string{
		`{"inline_keyboard":[[{"text":"Only text"}]]}`,
		`{"inline_keyboard":[[{"text":"","callback_data":"x"}]]}`,
		`{"inline_keyboard":[[{"text":"Empty","callback_data":""}]]}`,
		`{"inline_keyboard":[[{"text":"Copy","copy_text":{}}]]}`,
		`{"inline_keyboard":[[{"text":"Link","url":"not a url"}]]}`,
		`{"inline_keyboard":{}}`,
		`{"inline_keyboard":[[{"text":"x","callback_data":"y"}]`,
		`[]`,
	} {
		status, r := call(t, srv, "sendMessage", url.Values{"chat_id": {"4242"}, "text": {"hi"}, "reply_markup": {bad}})
		if status != http.StatusBadRequest || r.OK {
			t.Errorf("markup %s: got %d %s, want 400", bad, status, r.Description)
		}
	}
	if n := len(srv.Messages(alice)); n != 2 {
		t.Fatalf("want 2 messages after the rejections, got %d", n)
	}
}

func TestTextValidation(t *testing.T) {
	srv := newServer(t, Options{})
	b := newBot(t, srv)
	ctx := testCtx(t)

	_, err := b.SendMessage(ctx, &tgbot.SendMessageParams{ChatID: alice, Text: ""})
	wantBadRequest(t, err, "message text is empty")
	_, err = b.SendMessage(ctx, &tgbot.SendMessageParams{ChatID: alice, Text: " \n\t "})
	wantBadRequest(t, err, "message text is empty")
	_, err = b.SendMessage(ctx, &tgbot.SendMessageParams{ChatID: alice, Text: strings.Repeat("a", 4097)})
	wantBadRequest(t, err, "message is too long")
	// Telegram counts UTF-16 code units: 2049 emoji are 4098 units.
	_, err = b.SendMessage(ctx, &tgbot.SendMessageParams{ChatID: alice, Text: strings.Repeat("😀", 2049)})
	wantBadRequest(t, err, "message is too long")
	if _, err = b.SendMessage(ctx, &tgbot.SendMessageParams{ChatID: alice, Text: strings.Repeat("a", 4096)}); err != nil {
		t.Fatalf("4096 characters rejected: %v", err)
	}
	_, err = b.SendMessage(ctx, &tgbot.SendMessageParams{Text: "no chat"})
	wantBadRequest(t, err, "chat not found")

	status, r := call(t, srv, "sendPhoto", url.Values{"chat_id": {"4242"}, "photo": {"x"}, "caption": {strings.Repeat("c", 1025)}})
	if status != http.StatusBadRequest || !strings.Contains(r.Description, "message caption is too long") {
		t.Fatalf("long caption: %d %s", status, r.Description)
	}

	// Plain text is trimmed as Telegram trims it, entities shifted along.
	m, err := b.SendMessage(ctx, &tgbot.SendMessageParams{ChatID: alice, Text: "  Bold and plain\n",
		Entities: []models.MessageEntity{{Type: models.MessageEntityTypeBold, Offset: 2, Length: 4}}})
	if err != nil {
		t.Fatalf("plain text with entities: %v", err)
	}
	if m.Text != "Bold and plain" || len(m.Entities) != 1 || m.Entities[0].Offset != 0 || m.Entities[0].Length != 4 {
		t.Fatalf("plain text result: %q %+v", m.Text, m.Entities)
	}
}

// The fake emulates parse_mode HTML as Telegram reads it, and refuses the
// Markdown modes with a 400 that says so, texts, captions and edits alike.
func TestParseMode(t *testing.T) {
	srv := newServer(t, Options{})
	b := newBot(t, srv)
	ctx := testCtx(t)
	srv.UserText(alice, "hi")
	sent, err := b.SendMessage(ctx, &tgbot.SendMessageParams{ChatID: alice, Text: "plain"})
	if err != nil {
		t.Fatal(err)
	}
	before := len(srv.Messages(alice))
	for _, mode := range []models.ParseMode{models.ParseModeMarkdown, models.ParseModeMarkdownV1} {
		t.Run(string(mode), func(t *testing.T) {
			_, err := b.SendMessage(ctx, &tgbot.SendMessageParams{ChatID: alice, Text: "<b>Bold</b>", ParseMode: mode})
			wantBadRequest(t, err, "not emulated")
			_, err = b.EditMessageText(ctx, &tgbot.EditMessageTextParams{ChatID: alice, MessageID: sent.ID, Text: "*x*", ParseMode: mode})
			wantBadRequest(t, err, "not emulated")
			status, r := call(t, srv, "sendPhoto", url.Values{"chat_id": {"4242"}, "photo": {"x"}, "caption": {"_c_"}, "parse_mode": {string(mode)}})
			if status != http.StatusBadRequest || !strings.Contains(r.Description, "not emulated") {
				t.Errorf("sendPhoto with parse_mode %s = %d %q; want 400 saying it is not emulated", mode, status, r.Description)
			}
		})
	}
	if n := len(srv.Messages(alice)); n != before {
		t.Errorf("%d messages after the refused requests; want %d", n, before)
	}
	tests := []struct {
		name, html, text string
		ents             []models.MessageEntity // nil: refused
	}{
		{"bold", "<b>Last day</b>: 2 May", "Last day: 2 May", []models.MessageEntity{{Type: models.MessageEntityTypeBold, Offset: 0, Length: 8}}},
		{"escaped", "1 &lt; 2 &amp;&amp; <b>a&quot;b</b> &#233;", `1 < 2 && a"b é`, []models.MessageEntity{{Type: models.MessageEntityTypeBold, Offset: 9, Length: 3}}},
		{"link", `see <a href="https://aima.gov.pt/?a=1&amp;b=2">AIMA</a>`, "see AIMA", []models.MessageEntity{{Type: models.MessageEntityTypeTextLink, Offset: 4, Length: 4, URL: "https://aima.gov.pt/?a=1&b=2"}}},
		{"nested", "<b>x <i>y</i></b>", "x y", []models.MessageEntity{{Type: models.MessageEntityTypeItalic, Offset: 2, Length: 1}, {Type: models.MessageEntityTypeBold, Offset: 0, Length: 3}}},
		{"bare <", "1 < 2", "", nil},
		{"bare &", "Tom & Ana", "", nil},
		{"unknown tag", "<script>x</script>", "", nil},
		{"unclosed", "<b>x", "", nil},
		{"crossed", "<b><i>x</b></i>", "", nil},
	}
	for _, tt := range tests {
		m, err := b.SendMessage(ctx, &tgbot.SendMessageParams{ChatID: alice, Text: tt.html, ParseMode: models.ParseModeHTML})
		if tt.ents == nil {
			if err == nil {
				t.Errorf("%s: sendMessage(%q, HTML) = ok; want can't parse entities", tt.name, tt.html)
			} else {
				wantBadRequest(t, err, "can't parse entities")
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: sendMessage(%q, HTML): %v", tt.name, tt.html, err)
			continue
		}
		if m.Text != tt.text || !reflect.DeepEqual(m.Entities, tt.ents) {
			t.Errorf("%s: sendMessage(%q, HTML) = %q %+v; want %q %+v", tt.name, tt.html, m.Text, m.Entities, tt.text, tt.ents)
		}
	}
}

func TestGetUpdatesOffsets(t *testing.T) {
	srv := newServer(t, Options{})
	srv.SetUserLang(alice, "pt-BR")
	srv.SetUserName(alice, "Ana")
	id1 := srv.UserText(alice, "/start@aimabot payload")
	id2 := srv.UserText(alice, "hello")
	if id2 != id1+1 {
		t.Fatalf("update ids %d, %d", id1, id2)
	}

	ups := getUpdates(t, srv, 0)
	if len(ups) != 2 || ups[0].ID != id1 || ups[1].ID != id2 {
		t.Fatalf("first call: %+v", ups)
	}
	m := ups[0].Message
	if m.From.LanguageCode != "pt-BR" || m.From.FirstName != "Ana" || m.Chat.ID != alice || m.Chat.Type != models.ChatTypePrivate {
		t.Fatalf("message: %+v from %+v", m, m.From)
	}
	if len(m.Entities) != 1 || m.Entities[0].Type != models.MessageEntityTypeBotCommand || m.Entities[0].Offset != 0 || m.Entities[0].Length != len("/start@aimabot") {
		t.Fatalf("entities: %+v", m.Entities)
	}
	if ups[1].Message.ID != m.ID+1 {
		t.Fatalf("message ids %d, %d", m.ID, ups[1].Message.ID)
	}

	// Unconfirmed updates come again.
	if again := getUpdates(t, srv, 0); len(again) != 2 {
		t.Fatalf("unconfirmed updates not repeated: %d", len(again))
	}
	// An offset confirms everything below it, forever.
	if ups := getUpdates(t, srv, id2); len(ups) != 1 || ups[0].ID != id2 {
		t.Fatalf("offset %d: %+v", id2, ups)
	}
	if srv.Confirmed() != id1 || srv.Pending() != 1 {
		t.Fatalf("confirmed %d pending %d", srv.Confirmed(), srv.Pending())
	}
	if ups := getUpdates(t, srv, 0); len(ups) != 1 || ups[0].ID != id2 {
		t.Fatalf("confirmed update came back: %+v", ups)
	}
	if ups := getUpdates(t, srv, id2+1); len(ups) != 0 {
		t.Fatalf("after confirming all: %+v", ups)
	}
	if srv.Pending() != 0 || srv.Confirmed() != id2 {
		t.Fatalf("confirmed %d pending %d", srv.Confirmed(), srv.Pending())
	}

	// limit
	for range 5 {
		srv.UserText(alice, "x")
	}
	_, r := call(t, srv, "getUpdates", url.Values{"limit": {"2"}})
	var two []json.RawMessage
	if err := json.Unmarshal(r.Result, &two); err != nil || len(two) != 2 {
		t.Fatalf("limit 2: %v %d", err, len(two))
	}
}

func TestLongPoll(t *testing.T) {
	srv := newServer(t, Options{})
	ctx := testCtx(t)

	type result struct {
		status int
		r      apiResp
	}
	done := make(chan result, 1)
	go func() {
		status, r := callCtx(t, ctx, srv, "getUpdates", url.Values{"timeout": {"30"}})
		done <- result{status, r}
	}()
	if err := srv.WaitFor(ctx, func() bool { return srv.Polls() == 1 }); err != nil {
		t.Fatalf("poll did not start: %v", err)
	}
	id := srv.UserText(alice, "wake up")
	select {
	case res := <-done:
		var ups []models.Update
		if err := json.Unmarshal(res.r.Result, &ups); err != nil || res.status != 200 || len(ups) != 1 || ups[0].ID != id {
			t.Fatalf("long poll: %d %v %+v", res.status, err, ups)
		}
	case <-ctx.Done():
		t.Fatal("long poll did not return when the update arrived")
	}

	// A client that goes away ends its poll.
	pctx, cancel := context.WithCancel(ctx)
	go func() {
		req, _ := http.NewRequestWithContext(pctx, http.MethodGet, srv.URL()+"/bot"+srv.Token()+"/getUpdates?timeout=30&offset="+strconv.FormatInt(id+1, 10), nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	if err := srv.WaitFor(ctx, func() bool { return srv.Polls() == 1 }); err != nil {
		t.Fatalf("second poll did not start: %v", err)
	}
	cancel()
	if err := srv.WaitFor(ctx, func() bool { return srv.Polls() == 0 }); err != nil {
		t.Fatalf("poll did not end with its client: %v", err)
	}
}

func TestBotPollingEndToEnd(t *testing.T) {
	srv := newServer(t, Options{})
	ctx, cancel := context.WithCancel(testCtx(t))
	b := newBot(t, srv, tgbot.WithNotAsyncHandlers(), tgbot.WithDefaultHandler(func(ctx context.Context, b *tgbot.Bot, u *models.Update) {
		switch {
		case u.Message != nil:
			_, err := b.SendMessage(ctx, &tgbot.SendMessageParams{ChatID: u.Message.Chat.ID, Text: "echo " + u.Message.Text, ReplyMarkup: buttons("Again")})
			if err != nil && ctx.Err() == nil {
				t.Errorf("send: %v", err)
			}
		case u.CallbackQuery != nil:
			if _, err := b.AnswerCallbackQuery(ctx, &tgbot.AnswerCallbackQueryParams{CallbackQueryID: u.CallbackQuery.ID, Text: "ok"}); err != nil && ctx.Err() == nil {
				t.Errorf("answer: %v", err)
			}
			m := u.CallbackQuery.Message.Message
			if m == nil || m.ReplyMarkup == nil || m.ReplyMarkup.InlineKeyboard[0][0].Text != "Again" {
				t.Errorf("callback message lacks its keyboard: %+v", m)
				return
			}
			_, err := b.EditMessageText(ctx, &tgbot.EditMessageTextParams{ChatID: m.Chat.ID, MessageID: m.ID, Text: "pressed " + u.CallbackQuery.Data})
			if err != nil && ctx.Err() == nil {
				t.Errorf("edit: %v", err)
			}
		}
	}))
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		b.Start(ctx)
	}()
	defer func() {
		cancel()
		wg.Wait()
	}()

	srv.UserText(alice, "hi")
	msgs, err := srv.WaitMessages(ctx, alice, 1)
	if err != nil {
		t.Fatal(err)
	}
	if msgs[0].Text != "echo hi" {
		t.Fatalf("reply: %+v", msgs[0])
	}
	if _, err := srv.UserPressLabel(alice, "Again"); err != nil {
		t.Fatal(err)
	}
	err = srv.WaitFor(ctx, func() bool {
		m, _ := srv.LastMessage(alice)
		return m.Edits == 1 && len(srv.CallbackAnswers()) == 1
	})
	if err != nil {
		t.Fatal(err)
	}
	m, _ := srv.LastMessage(alice)
	if m.Text != "pressed cb:again" || m.Buttons != nil {
		t.Fatalf("edited message: %+v", m)
	}
	if a := srv.CallbackAnswers()[0]; a.Text != "ok" || a.Chat != alice {
		t.Fatalf("answer: %+v", a)
	}
	if err := srv.WaitFor(ctx, func() bool { return srv.Pending() == 0 }); err != nil {
		t.Fatalf("updates not confirmed: %v", err)
	}
}

func TestUserPressLabelAndCallbacks(t *testing.T) {
	srv := newServer(t, Options{})
	b := newBot(t, srv)
	ctx := testCtx(t)

	if _, err := srv.UserPressLabel(alice, "Yes"); err == nil {
		t.Fatal("pressing in an empty chat worked")
	}
	old, err := b.SendMessage(ctx, &tgbot.SendMessageParams{ChatID: alice, Text: "Old", ReplyMarkup: buttons("Yes")})
	if err != nil {
		t.Fatal(err)
	}
	cur, err := b.SendMessage(ctx, &tgbot.SendMessageParams{ChatID: alice, Text: "Sure?", ReplyMarkup: buttons("Yes", "No")})
	if err != nil {
		t.Fatal(err)
	}
	id, err := srv.UserPressLabel(alice, "Yes")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := srv.UserPressLabel(alice, "Maybe"); err == nil {
		t.Fatal("pressing a missing label worked")
	}
	ups := getUpdates(t, srv, id)
	if len(ups) != 1 || ups[0].CallbackQuery == nil {
		t.Fatalf("updates: %+v", ups)
	}
	q := ups[0].CallbackQuery
	if q.Data != "cb:yes" || q.From.ID != alice || q.Message.Message == nil || q.Message.Message.ID != cur.ID || q.Message.Message.ID == old.ID {
		t.Fatalf("callback query: %+v", q)
	}
	if q.Message.Message.Text != "Sure?" || len(q.Message.Message.ReplyMarkup.InlineKeyboard[0]) != 2 {
		t.Fatalf("callback message: %+v", q.Message.Message)
	}

	if _, err := b.AnswerCallbackQuery(ctx, &tgbot.AnswerCallbackQueryParams{CallbackQueryID: q.ID, Text: "Done"}); err != nil {
		t.Fatal(err)
	}
	_, err = b.AnswerCallbackQuery(ctx, &tgbot.AnswerCallbackQueryParams{CallbackQueryID: q.ID})
	wantBadRequest(t, err, "query is too old and response timeout expired or query ID is invalid")
	_, err = b.AnswerCallbackQuery(ctx, &tgbot.AnswerCallbackQueryParams{CallbackQueryID: "nope"})
	wantBadRequest(t, err, "query ID is invalid")
	if a := srv.CallbackAnswers(); len(a) != 1 || a[0].QueryID != q.ID || a[0].Text != "Done" {
		t.Fatalf("answers: %+v", a)
	}

	// Pressing a deleted message gives an inaccessible message.
	if _, err := b.DeleteMessage(ctx, &tgbot.DeleteMessageParams{ChatID: alice, MessageID: old.ID}); err != nil {
		t.Fatal(err)
	}
	id = srv.UserPress(alice, old.ID, "cb:yes")
	ups = getUpdates(t, srv, id)
	if ups[0].CallbackQuery.Message.Type != models.MaybeInaccessibleMessageTypeInaccessibleMessage {
		t.Fatalf("deleted message is accessible: %+v", ups[0].CallbackQuery.Message)
	}
	if n := len(srv.Messages(alice)); n != 1 {
		t.Fatalf("deleted message still listed: %d", n)
	}
}

func TestEdits(t *testing.T) {
	srv := newServer(t, Options{})
	b := newBot(t, srv)
	ctx := testCtx(t)

	m, err := b.SendMessage(ctx, &tgbot.SendMessageParams{ChatID: alice, Text: "Step 1", ReplyMarkup: buttons("Next")})
	if err != nil {
		t.Fatal(err)
	}
	_, err = b.EditMessageText(ctx, &tgbot.EditMessageTextParams{ChatID: alice, MessageID: m.ID + 100, Text: "x"})
	wantBadRequest(t, err, "message to edit not found")
	_, err = b.EditMessageText(ctx, &tgbot.EditMessageTextParams{ChatID: alice, MessageID: m.ID, Text: "Step 1", ReplyMarkup: buttons("Next")})
	wantBadRequest(t, err, "message is not modified: specified new message content and reply markup are exactly the same")
	_, err = b.EditMessageReplyMarkup(ctx, &tgbot.EditMessageReplyMarkupParams{ChatID: alice, MessageID: m.ID, ReplyMarkup: buttons("Next")})
	wantBadRequest(t, err, "message is not modified")
	_, err = b.EditMessageText(ctx, &tgbot.EditMessageTextParams{ChatID: alice, MessageID: m.ID, Text: ""})
	wantBadRequest(t, err, "message text is empty")

	// Same text without reply_markup removes the keyboard: a change.
	if _, err = b.EditMessageText(ctx, &tgbot.EditMessageTextParams{ChatID: alice, MessageID: m.ID, Text: "Step 1"}); err != nil {
		t.Fatal(err)
	}
	if _, err = b.EditMessageReplyMarkup(ctx, &tgbot.EditMessageReplyMarkupParams{ChatID: alice, MessageID: m.ID, ReplyMarkup: buttons("Back")}); err != nil {
		t.Fatal(err)
	}
	got := srv.Messages(alice)[0]
	if got.Edits != 2 || got.Buttons[0][0].Label != "Back" {
		t.Fatalf("after edits: %+v", got)
	}

	// A alice's message can't be edited by the bot.
	srv.UserText(alice, "mine")
	_, err = b.EditMessageText(ctx, &tgbot.EditMessageTextParams{ChatID: alice, MessageID: m.ID + 1, Text: "x"})
	wantBadRequest(t, err, "message can't be edited")
}

func TestFaults(t *testing.T) {
	srv := newServer(t, Options{})
	b := newBot(t, srv)
	ctx := testCtx(t)

	srv.Inject(Fault{Method: "sendMessage", Chat: alice, Status: http.StatusTooManyRequests, RetryAfter: 7})
	_, err := b.SendMessage(ctx, &tgbot.SendMessageParams{ChatID: alice + 1, Text: "other chat"})
	if err != nil {
		t.Fatalf("fault hit another chat: %v", err)
	}
	_, err = b.SendMessage(ctx, &tgbot.SendMessageParams{ChatID: alice, Text: "hi"})
	var tooMany *tgbot.TooManyRequestsError
	if !errors.As(err, &tooMany) || tooMany.RetryAfter != 7 {
		t.Fatalf("want 429 retry after 7, got %v", err)
	}
	if srv.TooManyRequests() != 1 {
		t.Fatalf("429s counted: %d", srv.TooManyRequests())
	}
	if _, err = b.SendMessage(ctx, &tgbot.SendMessageParams{ChatID: alice, Text: "hi"}); err != nil {
		t.Fatalf("fault not consumed: %v", err)
	}

	srv.Inject(Fault{Status: http.StatusInternalServerError, Times: 2})
	for range 2 {
		if _, err = b.SendMessage(ctx, &tgbot.SendMessageParams{ChatID: alice, Text: "hi"}); err == nil || !strings.Contains(err.Error(), "500") {
			t.Fatalf("want 500, got %v", err)
		}
	}
	srv.Inject(Fault{Method: "sendMessage", Drop: true})
	if _, err = b.SendMessage(ctx, &tgbot.SendMessageParams{ChatID: alice, Text: "dropped"}); err == nil {
		t.Fatal("dropped request answered")
	}
	srv.Inject(Fault{Method: "sendMessage", Lost: true})
	if _, err = b.SendMessage(ctx, &tgbot.SendMessageParams{ChatID: alice, Text: "lost"}); err == nil {
		t.Fatal("lost answer arrived")
	}
	srv.Inject(Fault{Method: "sendMessage", Delay: 20 * time.Millisecond})
	if _, err = b.SendMessage(ctx, &tgbot.SendMessageParams{ChatID: alice, Text: "slow"}); err != nil {
		t.Fatalf("slow answer: %v", err)
	}
	var texts []string
	for _, m := range srv.Messages(alice) {
		texts = append(texts, m.Text)
	}
	if strings.Join(texts, ",") != "hi,lost,slow" {
		t.Fatalf("messages: %v", texts)
	}

	srv.Inject(Fault{Method: "getMe", Status: 502})
	srv.ClearFaults()
	if _, err := b.GetMe(ctx); err != nil || srv.PendingFaults() != 0 {
		t.Fatalf("faults not cleared: %v", err)
	}
}

func TestBlockedChat(t *testing.T) {
	srv := newServer(t, Options{})
	b := newBot(t, srv)
	ctx := testCtx(t)

	srv.BlockChat(alice)
	_, err := b.SendMessage(ctx, &tgbot.SendMessageParams{ChatID: alice, Text: "hi"})
	if !errors.Is(err, tgbot.ErrorForbidden) || !strings.Contains(err.Error(), "bot was blocked by the user") {
		t.Fatalf("want forbidden, got %v", err)
	}
	srv.UnblockChat(alice)
	if _, err := b.SendMessage(ctx, &tgbot.SendMessageParams{ChatID: alice, Text: "hi"}); err != nil {
		t.Fatal(err)
	}
}

func TestFiles(t *testing.T) {
	srv := newServer(t, Options{})
	b := newBot(t, srv)
	ctx := testCtx(t)

	img := testJPEG(t, 64, 48)
	id := srv.UserPhoto(alice, img, "my card")
	ups := getUpdates(t, srv, id)
	photo := ups[0].Message.Photo
	if len(photo) != 3 || ups[0].Message.Caption != "my card" {
		t.Fatalf("photo message: %+v", ups[0].Message)
	}
	largest := photo[2]
	if largest.FileSize != len(img) || largest.Width != 64 || largest.Height != 48 || photo[0].Width >= largest.Width {
		t.Fatalf("photo sizes: %+v", photo)
	}
	f, err := b.GetFile(ctx, &tgbot.GetFileParams{FileID: largest.FileID})
	if err != nil {
		t.Fatal(err)
	}
	if f.FileSize != int64(len(img)) || f.FilePath == "" {
		t.Fatalf("file: %+v", f)
	}
	resp, err := http.Get(b.FileDownloadLink(f))
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 || !bytes.Equal(got, img) {
		t.Fatalf("download: %d %v, %d bytes", resp.StatusCode, err, len(got))
	}

	id = srv.UserBigDocument(alice, "scan.pdf", "application/pdf", 21<<20)
	ups = getUpdates(t, srv, id)
	doc := ups[0].Message.Document
	if doc == nil || doc.FileSize != 21<<20 || doc.FileName != "scan.pdf" {
		t.Fatalf("document: %+v", doc)
	}
	_, err = b.GetFile(ctx, &tgbot.GetFileParams{FileID: doc.FileID})
	wantBadRequest(t, err, "file is too big")
	_, err = b.GetFile(ctx, &tgbot.GetFileParams{FileID: "bogus"})
	wantBadRequest(t, err, "invalid file_id")

	id = srv.UserDocument(alice, "a.pdf", "application/pdf", []byte("%PDF-1.4"))
	ups = getUpdates(t, srv, id)
	if d := ups[0].Message.Document; d.MimeType != "application/pdf" || d.FileSize != 8 {
		t.Fatalf("document: %+v", d)
	}

	// The bot uploads and re-sends files.
	sent, err := b.SendPhoto(ctx, &tgbot.SendPhotoParams{ChatID: alice, Photo: &models.InputFileUpload{Filename: "p.jpg", Data: bytes.NewReader(img)}, Caption: "yours"})
	if err != nil {
		t.Fatal(err)
	}
	if len(sent.Photo) == 0 || sent.Caption != "yours" {
		t.Fatalf("sent photo: %+v", sent)
	}
	_, err = b.SendPhoto(ctx, &tgbot.SendPhotoParams{ChatID: alice, Photo: &models.InputFileUpload{Filename: "p.jpg", Data: strings.NewReader("not an image")}})
	wantBadRequest(t, err, "IMAGE_PROCESS_FAILED")
	_, err = b.SendPhoto(ctx, &tgbot.SendPhotoParams{ChatID: alice, Photo: &models.InputFileString{Data: doc.FileID}})
	wantBadRequest(t, err, "type of file mismatch")
	sentDoc, err := b.SendDocument(ctx, &tgbot.SendDocumentParams{ChatID: alice, Document: &models.InputFileString{Data: doc.FileID}})
	if err != nil || sentDoc.Document.FileID != doc.FileID {
		t.Fatalf("re-sent document: %v %+v", err, sentDoc)
	}
	album, err := b.SendMediaGroup(ctx, &tgbot.SendMediaGroupParams{ChatID: alice, Media: []models.InputMedia{
		&models.InputMediaPhoto{Media: "attach://one.jpg", MediaAttachment: bytes.NewReader(img), Caption: "1"},
		&models.InputMediaPhoto{Media: largest.FileID},
	}})
	if err != nil || len(album) != 2 || album[0].MediaGroupID == "" || album[0].MediaGroupID != album[1].MediaGroupID {
		t.Fatalf("media group: %v %+v", err, album)
	}
	_, err = b.SendMediaGroup(ctx, &tgbot.SendMediaGroupParams{ChatID: alice, Media: []models.InputMedia{&models.InputMediaPhoto{Media: largest.FileID}}})
	wantBadRequest(t, err, "2-10 items")
	var kinds []string
	for _, m := range srv.Messages(alice) {
		kinds = append(kinds, m.Kind)
	}
	if strings.Join(kinds, ",") != "photo,document,media_group_item,media_group_item" {
		t.Fatalf("kinds: %v", kinds)
	}

	ids := srv.UserAlbum(alice, [][]byte{img, img, img})
	ups = getUpdates(t, srv, ids[0])
	if len(ids) != 3 || ids[2] != ids[0]+2 || len(ups) != 3 || ups[0].Message.MediaGroupID == "" || ups[2].Message.MediaGroupID != ups[0].Message.MediaGroupID {
		t.Fatalf("album: %v %+v", ids, ups)
	}
}

func TestCopyMessage(t *testing.T) {
	srv := newServer(t, Options{})
	b := newBot(t, srv)
	ctx := testCtx(t)

	img := testJPEG(t, 10, 10)
	id := srv.UserPhoto(alice, img, "front")
	msg := getUpdates(t, srv, id)[0].Message
	res, err := b.CopyMessage(ctx, &tgbot.CopyMessageParams{ChatID: forumID, FromChatID: alice, MessageID: msg.ID})
	if err != nil {
		t.Fatal(err)
	}
	got := srv.Messages(forumID)
	if len(got) != 1 || got[0].ID != res.ID || got[0].Kind != KindCopy || got[0].Caption != "front" || got[0].FileID != msg.Photo[2].FileID {
		t.Fatalf("copy: %+v", got)
	}
	_, err = b.CopyMessage(ctx, &tgbot.CopyMessageParams{ChatID: forumID, FromChatID: alice, MessageID: 999})
	wantBadRequest(t, err, "message to copy not found")
}

func TestWebhook(t *testing.T) {
	srv := newServer(t, Options{})
	b := newBot(t, srv)
	ctx := testCtx(t)

	type delivery struct {
		id     int64
		secret string
		ctype  string
	}
	var (
		mu       sync.Mutex
		got      []delivery
		failures = 1
	)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var u models.Update
		body, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(body, &u); err != nil {
			t.Errorf("webhook body: %v", err)
		}
		mu.Lock()
		defer mu.Unlock()
		got = append(got, delivery{u.ID, r.Header.Get("X-Telegram-Bot-Api-Secret-Token"), r.Header.Get("Content-Type")})
		if failures > 0 {
			failures--
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer hook.Close()

	if _, err := b.SetWebhook(ctx, &tgbot.SetWebhookParams{URL: hook.URL + "/hook", SecretToken: "s3cret"}); err != nil {
		t.Fatal(err)
	}
	_, err := b.SetWebhook(ctx, &tgbot.SetWebhookParams{URL: hook.URL, SecretToken: "bad secret!"})
	wantBadRequest(t, err, "secret token")

	id1 := srv.UserText(alice, "one")
	id2 := srv.UserText(alice, "two")
	if err := srv.WaitFor(ctx, func() bool { return srv.Pending() == 0 }); err != nil {
		t.Fatalf("not delivered: %v", err)
	}
	mu.Lock()
	want := []int64{id1, id1, id2}
	if len(got) != len(want) {
		t.Fatalf("deliveries: %+v", got)
	}
	for i, d := range got {
		if d.id != want[i] || d.secret != "s3cret" || d.ctype != "application/json" {
			t.Fatalf("delivery %d: %+v, want update %d", i, d, want[i])
		}
	}
	mu.Unlock()
	if srv.Confirmed() != id2 {
		t.Fatalf("confirmed %d", srv.Confirmed())
	}

	// getUpdates conflicts with a webhook.
	status, r := call(t, srv, "getUpdates", nil)
	if status != http.StatusConflict || !strings.HasPrefix(r.Description, "Conflict: can't use getUpdates method while webhook is active") {
		t.Fatalf("getUpdates with a webhook: %d %s", status, r.Description)
	}
	info, err := b.GetWebhookInfo(ctx)
	if err != nil || info.URL != hook.URL+"/hook" || info.PendingUpdateCount != 0 || info.LastErrorMessage == "" {
		t.Fatalf("webhook info: %v %+v", err, info)
	}

	// After deleteWebhook, updates go to getUpdates again.
	if _, err := b.DeleteWebhook(ctx, &tgbot.DeleteWebhookParams{}); err != nil {
		t.Fatal(err)
	}
	id3 := srv.UserText(alice, "three")
	if ups := getUpdates(t, srv, 0); len(ups) != 1 || ups[0].ID != id3 {
		t.Fatalf("after deleteWebhook: %+v", ups)
	}
}

func TestWebhookEndToEnd(t *testing.T) {
	srv := newServer(t, Options{})
	ctx, cancel := context.WithCancel(testCtx(t))
	b := newBot(t, srv, tgbot.WithNotAsyncHandlers(), tgbot.WithWebhookSecretToken("tok"), tgbot.WithDefaultHandler(func(ctx context.Context, b *tgbot.Bot, u *models.Update) {
		if u.Message == nil {
			return
		}
		_, err := b.SendMessage(ctx, &tgbot.SendMessageParams{ChatID: u.Message.Chat.ID, Text: "got " + u.Message.Text})
		if err != nil && ctx.Err() == nil { // the test may end while the answer is on its way
			t.Errorf("send: %v", err)
		}
	}))
	hook := httptest.NewServer(b.WebhookHandler())
	defer hook.Close()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		b.StartWebhook(ctx)
	}()
	defer func() {
		cancel()
		wg.Wait()
	}()
	if _, err := b.SetWebhook(ctx, &tgbot.SetWebhookParams{URL: hook.URL, SecretToken: "tok"}); err != nil {
		t.Fatal(err)
	}
	srv.UserText(alice, "a")
	srv.UserText(alice+1, "b")
	if _, err := srv.WaitMessages(ctx, alice, 1); err != nil {
		t.Fatal(err)
	}
	msgs, err := srv.WaitMessages(ctx, alice+1, 1)
	if err != nil {
		t.Fatal(err)
	}
	if msgs[0].Text != "got b" {
		t.Fatalf("reply: %+v", msgs[0])
	}
}

func TestForumTopics(t *testing.T) {
	srv := newServer(t, Options{})
	b := newBot(t, srv)
	ctx := testCtx(t)

	topic, err := b.CreateForumTopic(ctx, &tgbot.CreateForumTopicParams{ChatID: forumID, Name: "Ana #4242"})
	if err != nil {
		t.Fatal(err)
	}
	if topic.MessageThreadID == 0 || topic.Name != "Ana #4242" || topic.IconColor == 0 {
		t.Fatalf("topic: %+v", topic)
	}
	m, err := b.SendMessage(ctx, &tgbot.SendMessageParams{ChatID: forumID, MessageThreadID: topic.MessageThreadID, Text: "case opened"})
	if err != nil {
		t.Fatal(err)
	}
	if m.MessageThreadID != topic.MessageThreadID || !m.IsTopicMessage {
		t.Fatalf("topic message: %+v", m)
	}
	if got := srv.Messages(forumID); len(got) != 1 || got[0].ThreadID != topic.MessageThreadID {
		t.Fatalf("messages: %+v", got)
	}
	if _, err := b.DeleteForumTopic(ctx, &tgbot.DeleteForumTopicParams{ChatID: forumID, MessageThreadID: topic.MessageThreadID}); err != nil {
		t.Fatal(err)
	}
	_, err = b.SendMessage(ctx, &tgbot.SendMessageParams{ChatID: forumID, MessageThreadID: topic.MessageThreadID, Text: "again"})
	wantBadRequest(t, err, "message thread not found")
	if ts := srv.Topics(forumID); len(ts) != 1 || !ts[0].Deleted {
		t.Fatalf("topics: %+v", ts)
	}

	// A topic the staff deleted by hand.
	id := srv.UserTopicText(forumID, 777, 99, "hello from staff")
	ups := getUpdates(t, srv, id)
	if msg := ups[0].Message; msg.MessageThreadID != 777 || !msg.IsTopicMessage || !msg.Chat.IsForum || msg.Chat.Type != models.ChatTypeSupergroup {
		t.Fatalf("topic message: %+v", msg)
	}
	srv.DeleteTopic(forumID, 777)
	_, err = b.SendMessage(ctx, &tgbot.SendMessageParams{ChatID: forumID, MessageThreadID: 777, Text: "x"})
	wantBadRequest(t, err, "message thread not found")

	_, err = b.CreateForumTopic(ctx, &tgbot.CreateForumTopicParams{ChatID: alice, Name: "x"})
	wantBadRequest(t, err, "the chat is not a forum")
}

func TestLimits(t *testing.T) {
	srv := newServer(t, Options{Limits: true})
	b := newBot(t, srv)
	ctx := testCtx(t)

	tooMany := 0
	for i := range 10 {
		_, err := b.SendMessage(ctx, &tgbot.SendMessageParams{ChatID: alice, Text: "burst " + strconv.Itoa(i)})
		var e *tgbot.TooManyRequestsError
		switch {
		case errors.As(err, &e):
			if e.RetryAfter < 1 {
				t.Fatalf("retry_after %d", e.RetryAfter)
			}
			tooMany++
		case err != nil:
			t.Fatal(err)
		}
	}
	if tooMany == 0 || tooMany > 7 {
		t.Fatalf("%d of 10 got 429", tooMany)
	}
	if srv.TooManyRequests() != tooMany || len(srv.Messages(alice)) != 10-tooMany {
		t.Fatalf("counted %d 429s, %d messages", srv.TooManyRequests(), len(srv.Messages(alice)))
	}
	// Another chat has its own bucket.
	if _, err := b.SendMessage(ctx, &tgbot.SendMessageParams{ChatID: alice + 1, Text: "fine"}); err != nil {
		t.Fatal(err)
	}
}

func TestProtocol(t *testing.T) {
	srv := newServer(t, Options{})
	ctx := testCtx(t)

	post := func(path, ctype, body string) (int, apiResp) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL()+path, strings.NewReader(body))
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var r apiResp
		_ = json.NewDecoder(resp.Body).Decode(&r)
		return resp.StatusCode, r
	}
	if status, r := post("/bot1:wrong/getMe", "", ""); status != 401 || r.Description != "Unauthorized" || r.OK {
		t.Fatalf("wrong token: %d %+v", status, r)
	}
	if status, r := post("/bot"+srv.Token()+"/noSuchMethod", "", ""); status != 404 || r.Description != "Not Found: method not found" {
		t.Fatalf("unknown method: %d %+v", status, r)
	}
	status, r := post("/bot"+srv.Token()+"/sendMessage", "application/json", `{"chat_id":4242,"text":"json body","reply_markup":{"inline_keyboard":[[{"text":"A","callback_data":"a"}]]}}`)
	if status != 200 || !r.OK {
		t.Fatalf("json body: %d %+v", status, r)
	}
	status, _ = post("/bot"+srv.Token()+"/SENDMESSAGE?chat_id=4242&text=query", "", "")
	if status != 200 {
		t.Fatalf("query parameters: %d", status)
	}
	var me models.User
	_, r = post("/bot"+srv.Token()+"/getMe", "", "")
	if err := json.Unmarshal(r.Result, &me); err != nil || !me.IsBot || me.Username != "aimabot" || me.ID != 123456 {
		t.Fatalf("getMe: %v %+v", err, me)
	}
	if calls := srv.Calls("sendMessage"); len(calls) != 2 || calls[0].Params["text"] != "json body" || calls[1].Status != 200 {
		t.Fatalf("calls: %+v", calls)
	}

	b := newBot(t, srv)
	cmds := []models.BotCommand{{Command: "start", Description: "Começar"}}
	if _, err := b.SetMyCommands(ctx, &tgbot.SetMyCommandsParams{Commands: cmds, LanguageCode: "pt"}); err != nil {
		t.Fatal(err)
	}
	_, err := b.SetMyCommands(ctx, &tgbot.SetMyCommandsParams{Commands: []models.BotCommand{{Command: "Start", Description: "x"}}})
	wantBadRequest(t, err, "BOT_COMMAND_INVALID")
	if got := srv.Commands(); len(got) != 1 || got["pt"][0] != (BotCommand{"start", "Começar"}) {
		t.Fatalf("commands: %+v", got)
	}
	if _, err := b.SendChatAction(ctx, &tgbot.SendChatActionParams{ChatID: alice, Action: models.ChatActionTyping}); err != nil {
		t.Fatal(err)
	}
}

func TestOtherUpdates(t *testing.T) {
	srv := newServer(t, Options{})
	srv.UserSticker(alice)
	srv.UserVoice(alice)
	srv.UserLocation(alice)
	srv.UserContact(alice)
	edit := srv.UserEdit(alice, 100, "edited")
	srv.GroupText(-555, 7, "/help", "group")
	srv.ChannelPost(-1009, "news")
	raw := srv.RawUpdate([]byte(`{"update_id":1,"future_thing":{"chat":{"id":4242},"x":1}}`))
	if srv.RawUpdate([]byte(`not json`)) != 0 {
		t.Fatal("invalid raw update queued")
	}
	ups := getUpdates(t, srv, 0)
	if len(ups) != 8 {
		t.Fatalf("%d updates", len(ups))
	}
	m := ups
	if m[0].Message.Sticker == nil || m[1].Message.Voice == nil || m[2].Message.Location == nil || m[3].Message.Contact == nil {
		t.Fatalf("media updates: %+v", ups[:4])
	}
	if m[4].ID != edit || m[4].EditedMessage == nil || m[4].EditedMessage.Text != "edited" || m[4].EditedMessage.ID != 100 {
		t.Fatalf("edited message: %+v", m[4].EditedMessage)
	}
	if g := m[5].Message; g.Chat.Type != models.ChatTypeGroup || g.From.ID != 7 || len(g.Entities) != 1 {
		t.Fatalf("group message: %+v", g)
	}
	if m[6].ChannelPost == nil || m[6].ChannelPost.SenderChat == nil {
		t.Fatalf("channel post: %+v", m[6])
	}
	if m[7].ID != raw {
		t.Fatalf("raw update id %d, want %d", m[7].ID, raw)
	}

	// The fake clock dates updates.
	at := time.Date(2027, 1, 31, 10, 0, 0, 0, time.UTC)
	srv.SetNow(at)
	id := srv.UserText(alice, "later")
	ups = getUpdates(t, srv, id)
	if int64(ups[0].Message.Date) != at.Unix() {
		t.Fatalf("date %d, want %d", ups[0].Message.Date, at.Unix())
	}
}

// TestGarbage sends malformed parameters to every method: the server must
// answer each with JSON and never panic (newServer checks Panics).
func TestGarbage(t *testing.T) {
	srv := newServer(t, Options{})
	ctx := testCtx(t)
	srv.UserText(alice, "hi")
	values := []string{"", "0", "-1", "4242", "99999999999999999999999", "abc", "null", "[]", "{}", "[1,2]", `{"a":`, "true", "\xff\xfe", "attach://x", strings.Repeat("x", 5000), `[{"type":"photo","media":"attach://nope"},{"type":"photo","media":"x"}]`, `[{}]`, `{"inline_keyboard":[[null]]}`, `{"keyboard":[[{"text":""}]]}`, `{"type":"chat"}`, "<b>", `\`, "1.5"}
	fields := []string{"chat_id", "text", "reply_markup", "message_id", "from_chat_id", "message_ids", "media", "photo", "document", "file_id", "offset", "limit", "timeout", "url", "commands", "scope", "callback_query_id", "message_thread_id", "name", "icon_color", "parse_mode", "reply_parameters", "caption", "action", "allowed_updates", "language_code", "entities"}
	for name, spec := range srv.methods {
		if spec.name == "getUpdates" || spec.name == "setWebhook" {
			continue
		}
		for i, v := range values {
			params := url.Values{}
			for j, f := range fields {
				params.Set(f, values[(i+j)%len(values)])
			}
			params.Set("chat_id", v)
			status, r := callCtx(t, ctx, srv, name, params)
			if status == 0 || (r.OK != (status == 200)) {
				t.Fatalf("%s with %q: %d %+v", name, v, status, r)
			}
			if status >= 500 {
				t.Fatalf("%s with %q: %d %s", name, v, status, r.Description)
			}
		}
	}
	for _, body := range []string{"", "{", `{"chat_id":[1]}`, "--x\r\n", `[]`} {
		for _, ctype := range []string{"application/json", "multipart/form-data; boundary=x", "multipart/form-data", "application/x-www-form-urlencoded", "text/plain"} {
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL()+"/bot"+srv.Token()+"/sendMessage", strings.NewReader(body))
			req.Header.Set("Content-Type", ctype)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode >= 500 {
				t.Fatalf("body %q as %s: %d", body, ctype, resp.StatusCode)
			}
		}
	}
}

// FuzzRequest feeds arbitrary bodies to every method (but those that wait or
// call out) straight into the handler: nothing may panic.
func FuzzRequest(f *testing.F) {
	f.Add(0, "application/json", `{"chat_id":4242,"text":"hi","reply_markup":{"inline_keyboard":[[{"text":"a","callback_data":"b"}]]}}`)
	f.Add(1, "application/x-www-form-urlencoded", "chat_id=4242&message_id=1&text=x")
	f.Add(2, "multipart/form-data; boundary=b", "--b\r\nContent-Disposition: form-data; name=\"chat_id\"\r\n\r\n4242\r\n--b\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"p.jpg\"\r\n\r\nxx\r\n--b--\r\n")
	f.Add(3, "application/json", `{"chat_id":-1001,"media":[{"type":"photo","media":"attach://a"},{"type":"document","media":"x"}]}`)
	srv := New(Options{})
	f.Cleanup(srv.Close)
	var names []string
	for name, spec := range srv.methods {
		if spec.name != "setWebhook" {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	f.Fuzz(func(t *testing.T, which int, ctype, body string) {
		if which < 0 {
			which = -which
		}
		name := names[which%len(names)]
		ctx, cancel := context.WithCancel(context.Background())
		cancel() // a long poll returns at once
		req := httptest.NewRequestWithContext(ctx, http.MethodPost, "/bot"+srv.Token()+"/"+name, strings.NewReader(body))
		req.Header.Set("Content-Type", ctype)
		rec := httptest.NewRecorder()
		srv.serveHTTP(rec, req)
		if srv.Panics() != 0 {
			t.Fatalf("%s panicked on %q", name, body)
		}
		if rec.Code >= 500 {
			t.Fatalf("%s answered %d to %q", name, rec.Code, body)
		}
	})
}

func BenchmarkSendMessage(b *testing.B) {
	srv := New(Options{})
	defer srv.Close()
	bot, err := tgbot.New(srv.Token(), tgbot.WithServerURL(srv.URL()), tgbot.WithSkipGetMe())
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	params := &tgbot.SendMessageParams{ChatID: alice, Text: "Hello", ReplyMarkup: buttons("Yes", "No")}
	b.ResetTimer()
	for range b.N {
		if _, err := bot.SendMessage(ctx, params); err != nil {
			b.Fatal(err)
		}
	}
}

// staff is a member of the support staff group.
const staff = int64(77)

// newTopic creates a forum topic with the real client and returns its id.
func newTopic(t *testing.T, b *tgbot.Bot, chat int64, name string) int {
	t.Helper()
	topic, err := b.CreateForumTopic(testCtx(t), &tgbot.CreateForumTopicParams{ChatID: chat, Name: name})
	if err != nil {
		t.Fatalf("createForumTopic(%d, %q): %v", chat, name, err)
	}
	return topic.MessageThreadID
}

// wantAnswer checks the status and exact description of a raw answer.
func wantAnswer(t *testing.T, what string, status int, r apiResp, wantStatus int, wantDesc string) {
	t.Helper()
	if status != wantStatus || r.Description != wantDesc {
		t.Errorf("%s = %d %q; want %d %q", what, status, r.Description, wantStatus, wantDesc)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("json.Marshal(%v): %v", v, err)
	}
	return string(b)
}

// panicked reports what f panicked with, or nil.
func panicked(f func()) (p any) {
	defer func() { p = recover() }()
	f()
	return nil
}

func TestNewForum(t *testing.T) {
	srv := newServer(t, Options{})
	b := newBot(t, srv)
	ctx := testCtx(t)
	const basic = int64(-555)

	srv.NewForum(basic, "Staff")
	if n := srv.Pending(); n != 0 {
		t.Errorf("Pending() after NewForum = %d; want 0", n)
	}
	if n := len(srv.Calls("")); n != 0 {
		t.Errorf("len(Calls) after NewForum = %d; want 0", n)
	}
	status, r := call(t, srv, "getChat", url.Values{"chat_id": {strconv.FormatInt(basic, 10)}})
	var info struct {
		Type    string `json:"type"`
		Title   string `json:"title"`
		IsForum bool   `json:"is_forum"`
	}
	if err := json.Unmarshal(r.Result, &info); err != nil || status != http.StatusOK {
		t.Fatalf("getChat = %d %v; want 200", status, err)
	}
	if info.Type != "supergroup" || info.Title != "Staff" || !info.IsForum {
		t.Errorf("getChat = %+v; want a supergroup forum titled Staff", info)
	}
	thread := newTopic(t, b, basic, "Ana")
	m, err := b.SendMessage(ctx, &tgbot.SendMessageParams{ChatID: basic, MessageThreadID: thread, Text: "case"})
	if err != nil {
		t.Fatal(err)
	}
	if !m.IsTopicMessage || m.MessageThreadID != thread || !m.Chat.IsForum || m.Chat.Title != "Staff" {
		t.Errorf("sendMessage in the new forum = %+v; want a topic message of forum Staff", m)
	}
	if srv.Messages(basic)[0].Text != "case" || len(srv.Messages(basic)) != 1 {
		t.Errorf("Messages(%d) = %+v; want the one case message", basic, srv.Messages(basic))
	}
	for _, id := range []int64{0, alice} {
		if p := panicked(func() { srv.NewForum(id, "x") }); p == nil {
			t.Errorf("NewForum(%d) did not panic; want a panic", id)
		}
	}
}

func TestTopicStaffMessages(t *testing.T) {
	srv := newServer(t, Options{})
	b := newBot(t, srv)
	srv.NewForum(forumID, "Staff")
	botTopic := newTopic(t, b, forumID, "Ana #4242")
	const handTopic = 555 // created by a staff member, unknown to the fake so far
	img := testJPEG(t, 32, 24)

	kinds := []struct {
		name  string
		send  func(thread int) int64
		check func(m *models.Message) bool
	}{
		{"text", func(th int) int64 { return srv.UserTopicText(forumID, th, staff, "hello") },
			func(m *models.Message) bool { return m.Text == "hello" }},
		{"photo", func(th int) int64 { return srv.TopicPhoto(forumID, th, staff, img, "card") },
			func(m *models.Message) bool {
				return len(m.Photo) == 3 && m.Photo[2].Width == 32 && m.Caption == "card"
			}},
		{"document", func(th int) int64 {
			return srv.TopicDocument(forumID, th, staff, "a.pdf", "application/pdf", []byte("%PDF-1.4"), "invoice")
		}, func(m *models.Message) bool {
			return m.Document != nil && m.Document.FileName == "a.pdf" && m.Document.MimeType == "application/pdf" && m.Document.FileSize == 8 && m.Caption == "invoice"
		}},
		{"sticker", func(th int) int64 { return srv.TopicSticker(forumID, th, staff) },
			func(m *models.Message) bool { return m.Sticker != nil && m.Sticker.FileID != "" }},
	}
	threads := []struct {
		name   string
		thread int
		root   int64 // who created the topic: its root message's sender
	}{
		{"General", 0, 0},
		{"bot topic", botTopic, srv.botID},
		{"hand topic", handTopic, staff},
	}
	for _, th := range threads {
		for _, k := range kinds {
			t.Run(th.name+"/"+k.name, func(t *testing.T) {
				id := k.send(th.thread)
				ups := getUpdates(t, srv, id)
				if len(ups) != 1 || ups[0].ID != id || ups[0].Message == nil {
					t.Fatalf("getUpdates(%d) = %+v; want one message update %d", id, ups, id)
				}
				m := ups[0].Message
				if !k.check(m) {
					t.Errorf("message = %+v; want a %s", m, k.name)
				}
				if m.From == nil || m.From.ID != staff || m.Chat.ID != forumID || m.Chat.Type != models.ChatTypeSupergroup || !m.Chat.IsForum {
					t.Errorf("from %+v in %+v; want user %d in forum %d", m.From, m.Chat, staff, forumID)
				}
				if m.MessageThreadID != th.thread || m.IsTopicMessage != (th.thread != 0) {
					t.Errorf("message_thread_id, is_topic_message = %d, %v; want %d, %v", m.MessageThreadID, m.IsTopicMessage, th.thread, th.thread != 0)
				}
				switch r := m.ReplyToMessage; {
				case th.thread == 0 && r != nil:
					t.Errorf("reply_to_message in General = %+v; want none", r)
				case th.thread != 0 && (r == nil || r.ID != th.thread || r.ForumTopicCreated == nil || r.From == nil || r.From.ID != th.root):
					t.Errorf("reply_to_message = %+v; want the forum_topic_created message %d from %d", r, th.thread, th.root)
				}
				if got := srv.LastUserMessageID(forumID); got != m.ID {
					t.Errorf("LastUserMessageID(%d) = %d; want %d", forumID, got, m.ID)
				}
			})
		}
	}
	if ts := srv.Topics(forumID); len(ts) != 2 || ts[1].ThreadID != handTopic || ts[1].Name != "Topic 555" {
		t.Errorf("Topics(%d) = %+v; want the bot's topic and Topic 555", forumID, ts)
	}

	// Albums: one update per photo, a shared media_group_id, the caption on
	// the first.
	albums := []struct {
		name   string
		send   func() []int64
		chat   int64
		thread int
	}{
		{"topic", func() []int64 { return srv.TopicAlbum(forumID, botTopic, staff, [][]byte{img, img, img}, "three") }, forumID, botTopic},
		{"General", func() []int64 { return srv.TopicAlbum(forumID, 0, staff, [][]byte{img, img}, "two") }, forumID, 0},
		{"private", func() []int64 { return srv.UserAlbumCaption(alice, [][]byte{img, img, img}, "mine") }, alice, 0},
	}
	seen := map[string]bool{}
	for _, a := range albums {
		ids := a.send()
		ups := getUpdates(t, srv, ids[0])
		if len(ups) != len(ids) {
			t.Fatalf("%s album: %d updates; want %d", a.name, len(ups), len(ids))
		}
		group := ups[0].Message.MediaGroupID
		if group == "" || seen[group] {
			t.Errorf("%s album: media_group_id %q; want a new one", a.name, group)
		}
		seen[group] = true
		for i, u := range ups {
			m := u.Message
			wantCaption := ""
			if i == 0 {
				wantCaption = map[string]string{"topic": "three", "General": "two", "private": "mine"}[a.name]
			}
			if u.ID != ids[i] || m.MediaGroupID != group || m.Caption != wantCaption || len(m.Photo) != 3 || m.Chat.ID != a.chat || m.MessageThreadID != a.thread {
				t.Errorf("%s album item %d = update %d %+v; want update %d of group %s, caption %q, thread %d", a.name, i, u.ID, m, ids[i], group, wantCaption, a.thread)
			}
		}
		if got, want := srv.LastUserMessageID(a.chat), ups[len(ups)-1].Message.ID; got != want {
			t.Errorf("LastUserMessageID(%d) after the %s album = %d; want %d", a.chat, a.name, got, want)
		}
	}

	// The bot's own messages do not count.
	last := srv.LastUserMessageID(forumID)
	if _, err := b.SendMessage(testCtx(t), &tgbot.SendMessageParams{ChatID: forumID, Text: "bot"}); err != nil {
		t.Fatal(err)
	}
	if got := srv.LastUserMessageID(forumID); got != last {
		t.Errorf("LastUserMessageID(%d) after a bot message = %d; want %d", forumID, got, last)
	}
	if got := srv.LastUserMessageID(-42); got != 0 {
		t.Errorf("LastUserMessageID(unknown chat) = %d; want 0", got)
	}
}

func TestGroupPress(t *testing.T) {
	srv := newServer(t, Options{})
	b := newBot(t, srv)
	ctx := testCtx(t)
	const basic = int64(-555)
	srv.NewForum(forumID, "Staff")
	thread := newTopic(t, b, forumID, "Ana")
	inTopic, err := b.SendMessage(ctx, &tgbot.SendMessageParams{ChatID: forumID, MessageThreadID: thread, Text: "New case", ReplyMarkup: buttons("Take", "Close")})
	if err != nil {
		t.Fatal(err)
	}
	inGeneral, err := b.SendMessage(ctx, &tgbot.SendMessageParams{ChatID: forumID, Text: "Queue", ReplyMarkup: buttons("Next")})
	if err != nil {
		t.Fatal(err)
	}
	inGroup, err := b.SendMessage(ctx, &tgbot.SendMessageParams{ChatID: basic, Text: "Vote", ReplyMarkup: buttons("Take")})
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name   string
		press  func() (int64, error)
		user   int64
		chat   int64
		msg    int
		thread int
		data   string
	}{
		{"label in a topic", func() (int64, error) { return srv.GroupPressLabel(forumID, staff, "Close") },
			staff, forumID, inTopic.ID, thread, "cb:close"},
		{"id in a topic", func() (int64, error) { return srv.GroupPress(forumID, staff+1, inTopic.ID, "cb:take"), nil },
			staff + 1, forumID, inTopic.ID, thread, "cb:take"},
		{"label in General", func() (int64, error) { return srv.GroupPressLabel(forumID, staff, "Next") },
			staff, forumID, inGeneral.ID, 0, "cb:next"},
		{"label in a basic group", func() (int64, error) { return srv.GroupPressLabel(basic, 9, "Take") },
			9, basic, inGroup.ID, 0, "cb:take"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := tt.press()
			if err != nil {
				t.Fatal(err)
			}
			ups := getUpdates(t, srv, id)
			if len(ups) != 1 || ups[0].CallbackQuery == nil {
				t.Fatalf("getUpdates(%d) = %+v; want one callback_query", id, ups)
			}
			q := ups[0].CallbackQuery
			m := q.Message.Message
			if q.From.ID != tt.user || q.Data != tt.data || m == nil {
				t.Fatalf("query = from %d data %q message %+v; want from %d data %q with a message", q.From.ID, q.Data, m, tt.user, tt.data)
			}
			if m.ID != tt.msg || m.Chat.ID != tt.chat || m.MessageThreadID != tt.thread || m.IsTopicMessage != (tt.thread != 0) || m.ReplyMarkup == nil {
				t.Errorf("query message = %d in %d thread %d topic %v; want %d in %d thread %d topic %v, with its keyboard",
					m.ID, m.Chat.ID, m.MessageThreadID, m.IsTopicMessage, tt.msg, tt.chat, tt.thread, tt.thread != 0)
			}
			if _, err := b.AnswerCallbackQuery(ctx, &tgbot.AnswerCallbackQueryParams{CallbackQueryID: q.ID, Text: "taken"}); err != nil {
				t.Fatalf("answerCallbackQuery: %v", err)
			}
			answers := srv.CallbackAnswers()
			if a := answers[len(answers)-1]; a.QueryID != q.ID || a.Chat != tt.chat || a.MessageID != tt.msg || a.Text != "taken" {
				t.Errorf("last CallbackAnswer = %+v; want query %s in chat %d message %d", a, q.ID, tt.chat, tt.msg)
			}
		})
	}
	for _, tt := range []struct {
		chat  int64
		label string
	}{{forumID, "Nope"}, {-999, "Take"}} {
		if _, err := srv.GroupPressLabel(tt.chat, staff, tt.label); err == nil {
			t.Errorf("GroupPressLabel(%d, %q) = nil error; want one", tt.chat, tt.label)
		}
	}
}

// groupPattern writes the media groups of messages as letters in order of
// appearance ("-" for none): "AAB-".
func groupPattern(msgs []Message) string {
	letters := map[string]byte{}
	var out []byte
	for _, m := range msgs {
		if m.MediaGroupID == "" {
			out = append(out, '-')
			continue
		}
		if _, ok := letters[m.MediaGroupID]; !ok {
			letters[m.MediaGroupID] = byte('A' + len(letters))
		}
		out = append(out, letters[m.MediaGroupID])
	}
	return string(out)
}

func TestCopyKeepsAlbums(t *testing.T) {
	srv := newServer(t, Options{})
	b := newBot(t, srv)
	ctx := testCtx(t)
	srv.NewForum(forumID, "Staff")
	thread := newTopic(t, b, forumID, "Ana")
	img := testJPEG(t, 10, 10)

	first := srv.UserAlbumCaption(alice, [][]byte{img, img, img}, "three")
	srv.UserAlbum(alice, [][]byte{img, img})
	srv.UserPhoto(alice, img, "one")
	ups := getUpdates(t, srv, first[0])
	src := map[string]bool{}
	var ids []int
	for _, u := range ups {
		ids = append(ids, u.Message.ID)
		src[u.Message.MediaGroupID] = true
	}
	if len(ids) != 6 {
		t.Fatalf("%d user messages; want 6", len(ids))
	}

	copies := func(msgIDs ...int) func() error {
		return func() error {
			_, err := b.CopyMessages(ctx, &tgbot.CopyMessagesParams{ChatID: forumID, MessageThreadID: thread, FromChatID: alice, MessageIDs: msgIDs})
			return err
		}
	}
	tests := []struct {
		name string
		copy func() error
		want string
	}{
		{"two albums and a photo", copies(ids...), "AAABB-"},
		{"one item of an album", copies(ids[0]), "-"},
		{"one item of each album", copies(ids[1], ids[3]), "--"},
		{"two items of an album and a photo", copies(ids[0], ids[2], ids[5]), "AA-"},
		{"copyMessage", func() error {
			_, err := b.CopyMessage(ctx, &tgbot.CopyMessageParams{ChatID: forumID, MessageThreadID: thread, FromChatID: alice, MessageID: ids[1]})
			return err
		}, "-"},
	}
	groups := map[string]string{}
	for _, tt := range tests {
		before := len(srv.TopicMessages(forumID, thread))
		if err := tt.copy(); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		got := srv.TopicMessages(forumID, thread)[before:]
		if p := groupPattern(got); p != tt.want {
			t.Errorf("%s: media groups of the copies = %q; want %q", tt.name, p, tt.want)
		}
		for _, m := range got {
			if m.Kind != KindCopy || m.ThreadID != thread {
				t.Errorf("%s: copy %+v; want a copy in thread %d", tt.name, m, thread)
			}
			if g := m.MediaGroupID; g != "" {
				if src[g] {
					t.Errorf("%s: copy %d keeps the source's media_group_id %s; want a new one", tt.name, m.ID, g)
				}
				if prev, ok := groups[g]; ok && prev != tt.name {
					t.Errorf("%s: copy %d reuses media_group_id %s of %q", tt.name, m.ID, g, prev)
				}
				groups[g] = tt.name
			}
		}
		if tt.name == "two albums and a photo" && (got[0].Caption != "three" || got[1].Caption != "" || got[5].Caption != "one") {
			t.Errorf("captions of the copies = %q, %q, %q; want three, \"\", one", got[0].Caption, got[1].Caption, got[5].Caption)
		}
	}
}

func TestCaptionLimits(t *testing.T) {
	srv := newServer(t, Options{})
	b := newBot(t, srv)
	ctx := testCtx(t)
	img := testJPEG(t, 10, 10)
	const tooLong = "Bad Request: message caption is too long"

	// Users (with Telegram Premium) send captions of up to 4096 characters.
	captions := []string{
		strings.Repeat("m", 1024), // the most a bot may send
		strings.Repeat("l", 1025), // one more
		strings.Repeat("😀", 513),  // 1026 UTF-16 code units
		strings.Repeat("p", 4096), // a premium caption
		strings.Repeat("é", 1024), // 1024 units in 2048 bytes
	}
	msg := make([]int, len(captions))
	for i, c := range captions {
		id := srv.UserPhoto(alice, img, c)
		ups := getUpdates(t, srv, id)
		if got := ups[0].Message.Caption; got != c {
			t.Fatalf("caption %d delivered with %d bytes; want %d", i, len(got), len(c))
		}
		msg[i] = ups[0].Message.ID
	}
	doc := srv.UserDocument(alice, "a.pdf", "application/pdf", []byte("%PDF-1.4"))
	docID := getUpdates(t, srv, doc)[0].Message.Document.FileID
	photoID := getUpdates(t, srv, srv.UserPhoto(alice, img, ""))[0].Message.Photo[2].FileID
	chat := strconv.FormatInt(forumID, 10)
	from := strconv.FormatInt(alice, 10)
	mid := func(i int) string { return strconv.Itoa(msg[i]) }
	long := strings.Repeat("c", 1025)
	media := func(caption string) string {
		return mustJSON(t, []map[string]string{{"type": "photo", "media": photoID, "caption": caption}, {"type": "photo", "media": photoID}})
	}

	tests := []struct {
		name   string
		method string
		params url.Values
		ok     bool
	}{
		{"copyMessage 1024", "copyMessage", url.Values{"message_id": {mid(0)}}, true},
		{"copyMessage 1025", "copyMessage", url.Values{"message_id": {mid(1)}}, false},
		{"copyMessage emoji", "copyMessage", url.Values{"message_id": {mid(2)}}, false},
		{"copyMessage premium", "copyMessage", url.Values{"message_id": {mid(3)}}, false},
		{"copyMessage two-byte letters", "copyMessage", url.Values{"message_id": {mid(4)}}, true},
		{"copyMessage caption override", "copyMessage", url.Values{"message_id": {mid(3)}, "caption": {"short"}}, true},
		{"copyMessage empty caption override", "copyMessage", url.Values{"message_id": {mid(3)}, "caption": {""}}, true},
		{"copyMessage remove_caption", "copyMessage", url.Values{"message_id": {mid(3)}, "remove_caption": {"true"}}, true},
		{"copyMessage long override", "copyMessage", url.Values{"message_id": {mid(0)}, "caption": {long}}, false},
		{"copyMessages within the limit", "copyMessages", url.Values{"message_ids": {"[" + mid(0) + "," + mid(4) + "]"}}, true},
		{"copyMessages one too long", "copyMessages", url.Values{"message_ids": {"[" + mid(0) + "," + mid(1) + "]"}}, false},
		{"copyMessages remove_caption", "copyMessages", url.Values{"message_ids": {"[" + mid(1) + "," + mid(3) + "]"}, "remove_caption": {"true"}}, true},
		{"sendPhoto 1024", "sendPhoto", url.Values{"photo": {photoID}, "caption": {long[:1024]}}, true},
		{"sendPhoto 1025", "sendPhoto", url.Values{"photo": {photoID}, "caption": {long}}, false},
		{"sendDocument 1025", "sendDocument", url.Values{"document": {docID}, "caption": {long}}, false},
		{"sendMediaGroup 1024", "sendMediaGroup", url.Values{"media": {media(long[:1024])}}, true},
		{"sendMediaGroup 1025", "sendMediaGroup", url.Values{"media": {media(long)}}, false},
	}
	for _, tt := range tests {
		tt.params.Set("chat_id", chat)
		if strings.HasPrefix(tt.method, "copy") {
			tt.params.Set("from_chat_id", from)
		}
		before := len(srv.Messages(forumID))
		status, r := call(t, srv, tt.method, tt.params)
		after := len(srv.Messages(forumID))
		if tt.ok {
			if status != http.StatusOK {
				t.Errorf("%s = %d %q; want 200", tt.name, status, r.Description)
			}
			continue
		}
		wantAnswer(t, tt.name, status, r, http.StatusBadRequest, tooLong)
		if after != before {
			t.Errorf("%s: %d messages after the failure; want %d", tt.name, after, before)
		}
	}
	// The same through the real client.
	_, err := b.CopyMessage(ctx, &tgbot.CopyMessageParams{ChatID: forumID, FromChatID: alice, MessageID: msg[1]})
	wantBadRequest(t, err, "message caption is too long")
	copied, err := b.CopyMessage(ctx, &tgbot.CopyMessageParams{ChatID: forumID, FromChatID: alice, MessageID: msg[1], Caption: "see below"})
	if err != nil {
		t.Fatal(err)
	}
	if m, _ := srv.LastMessage(forumID); m.ID != copied.ID || m.Caption != "see below" {
		t.Errorf("LastMessage(%d) = %+v; want copy %d captioned \"see below\"", forumID, m, copied.ID)
	}
}

func TestMigrateGroup(t *testing.T) {
	const (
		oldGroup = int64(-4_567_890_123)
		newGroup = int64(-1_004_567_890_123)
	)
	srv := newServer(t, Options{})
	b := newBot(t, srv)
	ctx := testCtx(t)
	img := testJPEG(t, 10, 10)

	srv.GroupText(oldGroup, 7, "hi all", "group")
	before, err := b.SendMessage(ctx, &tgbot.SendMessageParams{ChatID: oldGroup, Text: "Before", ReplyMarkup: buttons("Ok")})
	if err != nil {
		t.Fatal(err)
	}
	photoUpdate := srv.UserPhoto(alice, img, "")
	photo := getUpdates(t, srv, photoUpdate)[0].Message
	getUpdates(t, srv, photoUpdate+1)

	srv.MigrateGroup(oldGroup, newGroup)
	ups := getUpdates(t, srv, 0)
	if len(ups) != 2 {
		t.Fatalf("updates after MigrateGroup: %d; want 2", len(ups))
	}
	to, fromMsg := ups[0].Message, ups[1].Message
	if to.Chat.ID != oldGroup || to.Chat.Type != models.ChatTypeGroup || to.MigrateToChatID != newGroup || to.From == nil || to.From.ID != 7 {
		t.Errorf("first service message = %+v; want migrate_to_chat_id %d in group %d from user 7", to, newGroup, oldGroup)
	}
	if fromMsg.Chat.ID != newGroup || fromMsg.Chat.Type != models.ChatTypeSupergroup || !fromMsg.Chat.IsForum || fromMsg.MigrateFromChatID != oldGroup ||
		fromMsg.SenderChat == nil || fromMsg.SenderChat.ID != newGroup || fromMsg.From == nil || fromMsg.From.Username != "GroupAnonymousBot" || fromMsg.ID != 1 {
		t.Errorf("second service message = %+v; want message 1, migrate_from_chat_id %d in forum %d sent as the chat", fromMsg, oldGroup, newGroup)
	}
	if id := srv.LastUserMessageID(oldGroup); id == to.ID {
		t.Errorf("LastUserMessageID(%d) = %d, the service message; want the user's message", oldGroup, id)
	}

	// Every write to the old chat answers with the new chat's id.
	msgID := strconv.Itoa(before.ID)
	album := mustJSON(t, []map[string]string{{"type": "photo", "media": photo.Photo[2].FileID}, {"type": "photo", "media": photo.Photo[2].FileID}})
	writes := []struct {
		method string
		params url.Values
	}{
		{"sendMessage", url.Values{"text": {"x"}}},
		{"sendPhoto", url.Values{"photo": {photo.Photo[2].FileID}}},
		{"sendDocument", url.Values{"document": {"https://example.com/a.pdf"}}},
		{"sendMediaGroup", url.Values{"media": {album}}},
		{"sendChatAction", url.Values{"action": {"typing"}}},
		{"copyMessage", url.Values{"from_chat_id": {strconv.FormatInt(alice, 10)}, "message_id": {strconv.Itoa(photo.ID)}}},
		{"copyMessages", url.Values{"from_chat_id": {strconv.FormatInt(alice, 10)}, "message_ids": {"[" + strconv.Itoa(photo.ID) + "]"}}},
		{"editMessageText", url.Values{"message_id": {msgID}, "text": {"After"}}},
		{"editMessageReplyMarkup", url.Values{"message_id": {msgID}}},
		{"deleteMessage", url.Values{"message_id": {msgID}}},
		{"deleteMessages", url.Values{"message_ids": {"[" + msgID + "]"}}},
		{"createForumTopic", url.Values{"name": {"x"}}},
		{"closeForumTopic", url.Values{"message_thread_id": {"2"}}},
	}
	want := `{"ok":false,"error_code":400,"description":"Bad Request: group chat was upgraded to a supergroup chat","parameters":{"migrate_to_chat_id":-1004567890123}}`
	for _, w := range writes {
		w.params.Set("chat_id", strconv.FormatInt(oldGroup, 10))
		status, r := call(t, srv, w.method, w.params)
		if status != http.StatusBadRequest || string(r.Raw) != want {
			t.Errorf("%s to the old group = %d %s; want 400 %s", w.method, status, r.Raw, want)
		}
	}
	if m := srv.Messages(oldGroup); len(m) != 1 || m[0].Text != "Before" || m[0].Edits != 0 {
		t.Errorf("Messages(%d) = %+v; want Before, untouched", oldGroup, m)
	}

	// go-telegram/bot turns the answer into a *MigrateError.
	_, err = b.SendMessage(ctx, &tgbot.SendMessageParams{ChatID: oldGroup, Text: "hello"})
	var me *tgbot.MigrateError
	if !errors.As(err, &me) || int64(me.MigrateToChatID) != newGroup {
		t.Errorf("SendMessage to the old group: err = %v; want *bot.MigrateError with MigrateToChatID %d", err, newGroup)
	}
	_, err = b.EditMessageText(ctx, &tgbot.EditMessageTextParams{ChatID: oldGroup, MessageID: before.ID, Text: "After"})
	if !errors.As(err, &me) || int64(me.MigrateToChatID) != newGroup {
		t.Errorf("EditMessageText in the old group: err = %v; want *bot.MigrateError with MigrateToChatID %d", err, newGroup)
	}

	// Reading the old chat still works; the new chat is a forum.
	if _, err := b.CopyMessage(ctx, &tgbot.CopyMessageParams{ChatID: newGroup, FromChatID: oldGroup, MessageID: before.ID}); err != nil {
		t.Errorf("copying from the old group: %v", err)
	}
	thread := newTopic(t, b, newGroup, "Ana")
	if _, err := b.SendMessage(ctx, &tgbot.SendMessageParams{ChatID: newGroup, MessageThreadID: thread, Text: "moved"}); err != nil {
		t.Errorf("sending to the new forum: %v", err)
	}

	for _, ids := range [][2]int64{{0, newGroup}, {5, newGroup}, {-1_000_000_000_000, newGroup - 1}, {oldGroup, -5}, {oldGroup, -999_999_999_999}} {
		if p := panicked(func() { srv.MigrateGroup(ids[0], ids[1]) }); p == nil {
			t.Errorf("MigrateGroup(%d, %d) did not panic; want a panic", ids[0], ids[1])
		}
	}
}

func TestTopicErrors(t *testing.T) {
	srv := newServer(t, Options{})
	b := newBot(t, srv)
	ctx := testCtx(t)
	srv.NewForum(forumID, "Staff")
	img := testJPEG(t, 10, 10)
	id := srv.UserPhoto(alice, img, "card")
	photo := getUpdates(t, srv, id)[0].Message
	chat := strconv.FormatInt(forumID, 10)

	// An edit that changes nothing.
	thread := newTopic(t, b, forumID, "Live")
	m, err := b.SendMessage(ctx, &tgbot.SendMessageParams{ChatID: forumID, MessageThreadID: thread, Text: "Case", ReplyMarkup: buttons("Take")})
	if err != nil {
		t.Fatal(err)
	}
	status, r := call(t, srv, "editMessageText", url.Values{"chat_id": {chat}, "message_id": {strconv.Itoa(m.ID)}, "text": {"Case"}, "reply_markup": {mustJSON(t, buttons("Take"))}})
	wantAnswer(t, "editMessageText with the same text and markup", status, r, http.StatusBadRequest,
		"Bad Request: message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message")

	deletions := []struct {
		name string
		del  func(thread int)
	}{
		{"by the bot", func(th int) {
			if _, err := b.DeleteForumTopic(ctx, &tgbot.DeleteForumTopicParams{ChatID: forumID, MessageThreadID: th}); err != nil {
				t.Fatal(err)
			}
		}},
		{"by hand", func(th int) { srv.DeleteTopic(forumID, th) }},
	}
	for _, d := range deletions {
		t.Run(d.name, func(t *testing.T) {
			thread := newTopic(t, b, forumID, "Doomed")
			m, err := b.SendMessage(ctx, &tgbot.SendMessageParams{ChatID: forumID, MessageThreadID: thread, Text: "Case", ReplyMarkup: buttons("Take")})
			if err != nil {
				t.Fatal(err)
			}
			d.del(thread)
			if got := srv.TopicMessages(forumID, thread); len(got) != 0 {
				t.Errorf("TopicMessages(%d, %d) after deletion = %+v; want none", forumID, thread, got)
			}
			th := strconv.Itoa(thread)
			from := strconv.FormatInt(alice, 10)
			album := mustJSON(t, []map[string]string{{"type": "photo", "media": photo.Photo[2].FileID}, {"type": "photo", "media": photo.Photo[2].FileID}})
			sends := []struct {
				method string
				params url.Values
			}{
				{"sendMessage", url.Values{"text": {"x"}}},
				{"sendPhoto", url.Values{"photo": {photo.Photo[2].FileID}}},
				{"copyMessage", url.Values{"from_chat_id": {from}, "message_id": {strconv.Itoa(photo.ID)}}},
				{"copyMessages", url.Values{"from_chat_id": {from}, "message_ids": {"[" + strconv.Itoa(photo.ID) + "]"}}},
				{"sendMediaGroup", url.Values{"media": {album}}},
			}
			for _, s := range sends {
				s.params.Set("chat_id", chat)
				s.params.Set("message_thread_id", th)
				status, r := call(t, srv, s.method, s.params)
				wantAnswer(t, s.method+" to a deleted topic", status, r, http.StatusBadRequest, "Bad Request: message thread not found")
			}
			status, r := call(t, srv, "editMessageText", url.Values{"chat_id": {chat}, "message_id": {strconv.Itoa(m.ID)}, "text": {"Closed"}})
			wantAnswer(t, "editMessageText in a deleted topic", status, r, http.StatusBadRequest, "Bad Request: message to edit not found")
		})
	}
}

func TestSendMediaGroupByFileID(t *testing.T) {
	srv := newServer(t, Options{})
	b := newBot(t, srv)
	ctx := testCtx(t)
	srv.NewForum(forumID, "Staff")
	thread := newTopic(t, b, forumID, "Ana")
	img := testJPEG(t, 20, 10)

	first := srv.UserPhoto(alice, img, "")
	srv.TopicPhoto(forumID, 0, staff, img, "")
	srv.UserDocument(alice, "a.pdf", "application/pdf", []byte("%PDF-1.4"))
	srv.TopicDocument(forumID, thread, staff, "b.txt", "text/plain", []byte("notes"), "")
	ups := getUpdates(t, srv, first)
	photos := []string{ups[0].Message.Photo[2].FileID, ups[1].Message.Photo[2].FileID}
	docs := []string{ups[2].Message.Document.FileID, ups[3].Message.Document.FileID}

	tests := []struct {
		name   string
		media  []models.InputMedia
		files  []string
		thread int
	}{
		{"photos in a topic", []models.InputMedia{&models.InputMediaPhoto{Media: photos[0], Caption: "front"}, &models.InputMediaPhoto{Media: photos[1]}}, photos, thread},
		{"documents in a topic", []models.InputMedia{&models.InputMediaDocument{Media: docs[0], Caption: "contract"}, &models.InputMediaDocument{Media: docs[1]}}, docs, thread},
		{"photos in General", []models.InputMedia{&models.InputMediaPhoto{Media: photos[1], Caption: "front"}, &models.InputMediaPhoto{Media: photos[0]}}, []string{photos[1], photos[0]}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sent, err := b.SendMediaGroup(ctx, &tgbot.SendMediaGroupParams{ChatID: forumID, MessageThreadID: tt.thread, Media: tt.media})
			if err != nil {
				t.Fatal(err)
			}
			if len(sent) != 2 || sent[0].MediaGroupID == "" || sent[1].MediaGroupID != sent[0].MediaGroupID {
				t.Fatalf("sendMediaGroup = %+v; want 2 messages of one group", sent)
			}
			all := srv.Messages(forumID)
			got := all[len(all)-2:]
			for i, m := range got {
				wantCaption := ""
				if i == 0 {
					wantCaption = map[bool]string{true: "contract", false: "front"}[strings.HasPrefix(tt.name, "documents")]
				}
				if m.ID != sent[i].ID || m.ThreadID != tt.thread || m.FileID != tt.files[i] || m.Caption != wantCaption || m.MediaGroupID != sent[0].MediaGroupID || m.Kind != KindMediaItem {
					t.Errorf("Messages item %d = %+v; want message %d in thread %d, file %s, caption %q, group %s",
						i, m, sent[i].ID, tt.thread, tt.files[i], wantCaption, sent[0].MediaGroupID)
				}
			}
			if tm := srv.TopicMessages(forumID, tt.thread); len(tm) < 2 || tm[len(tm)-1].ID != sent[1].ID {
				t.Errorf("TopicMessages(%d, %d) does not end with the album", forumID, tt.thread)
			}
		})
	}

	item := func(typ, media string) map[string]string { return map[string]string{"type": typ, "media": media} }
	var ten []map[string]string
	for range 10 {
		ten = append(ten, item("photo", photos[0]))
	}
	bad := []struct {
		name  string
		items []map[string]string
		ok    bool
		desc  string
	}{
		{"photo then document", []map[string]string{item("photo", photos[0]), item("document", docs[0])}, false, "Bad Request: document can't be mixed with other media types"},
		{"document then photo", []map[string]string{item("document", docs[0]), item("photo", photos[0])}, false, "Bad Request: document can't be mixed with other media types"},
		{"photo then audio", []map[string]string{item("photo", photos[0]), item("audio", "https://example.com/a.mp3")}, false, "Bad Request: audio can't be mixed with other media types"},
		{"photo and video", []map[string]string{item("photo", photos[0]), item("video", "https://example.com/v.mp4")}, true, ""},
		{"one item", []map[string]string{item("photo", photos[0])}, false, "Bad Request: media group must contain 2-10 items"},
		{"ten items", ten, true, ""},
		{"eleven items", append(ten[:10:10], item("photo", photos[0])), false, "Bad Request: media group must contain 2-10 items"},
	}
	for _, tt := range bad {
		before := len(srv.Messages(forumID))
		status, r := call(t, srv, "sendMediaGroup", url.Values{"chat_id": {strconv.FormatInt(forumID, 10)}, "media": {mustJSON(t, tt.items)}})
		if tt.ok {
			if status != http.StatusOK {
				t.Errorf("sendMediaGroup %s = %d %q; want 200", tt.name, status, r.Description)
			}
			continue
		}
		wantAnswer(t, "sendMediaGroup "+tt.name, status, r, http.StatusBadRequest, tt.desc)
		if after := len(srv.Messages(forumID)); after != before {
			t.Errorf("sendMediaGroup %s: %d messages after the failure; want %d", tt.name, after, before)
		}
	}
}

func TestTopicMessages(t *testing.T) {
	srv := newServer(t, Options{})
	b := newBot(t, srv)
	ctx := testCtx(t)
	srv.NewForum(forumID, "Staff")
	one, two := newTopic(t, b, forumID, "One"), newTopic(t, b, forumID, "Two")
	for _, s := range []struct {
		thread int
		text   string
	}{{0, "g1"}, {one, "a1"}, {two, "b1"}, {one, "a2"}, {0, "g2"}} {
		if _, err := b.SendMessage(ctx, &tgbot.SendMessageParams{ChatID: forumID, MessageThreadID: s.thread, Text: s.text}); err != nil {
			t.Fatal(err)
		}
	}
	srv.UserTopicText(forumID, one, staff, "not the bot's")
	texts := func(msgs []Message) string {
		var out []string
		for _, m := range msgs {
			out = append(out, m.Text)
		}
		return strings.Join(out, ",")
	}
	tests := []struct {
		thread int
		want   string
	}{{0, "g1,g2"}, {one, "a1,a2"}, {two, "b1"}, {999, ""}}
	for _, tt := range tests {
		if got := texts(srv.TopicMessages(forumID, tt.thread)); got != tt.want {
			t.Errorf("TopicMessages(%d, %d) = %q; want %q", forumID, tt.thread, got, tt.want)
		}
	}
	if _, err := b.DeleteForumTopic(ctx, &tgbot.DeleteForumTopicParams{ChatID: forumID, MessageThreadID: one}); err != nil {
		t.Fatal(err)
	}
	if got := texts(srv.TopicMessages(forumID, one)); got != "" {
		t.Errorf("TopicMessages(%d, %d) after deleting the topic = %q; want \"\"", forumID, one, got)
	}
	if got := texts(srv.Messages(forumID)); got != "g1,b1,g2" {
		t.Errorf("Messages(%d) = %q; want \"g1,b1,g2\"", forumID, got)
	}
	if got := srv.TopicMessages(-42, 0); got != nil {
		t.Errorf("TopicMessages(unknown chat) = %+v; want nil", got)
	}
}
