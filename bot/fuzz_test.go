package bot

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/go-telegram/bot/models"

	"github.com/aimabot/aimabot/flows"
	"github.com/aimabot/aimabot/store"
)

// Fuzz targets for what Telegram sends: update JSON turned into the
// conversation's input, and the texts cut to Telegram's limit. Run one
// longer with, for example:
//
//	go test ./bot -run '^$' -fuzz '^FuzzInput$' -fuzztime 5m

// fuzzBot is a bot without a staff group whose API server is unreachable;
// New makes no network call, and FuzzInput gives it nothing that would.
func fuzzBot(f *testing.F) *Bot {
	f.Helper()
	st, err := store.OpenBolt(nil, f.TempDir(), store.BoltOptions{SweepInterval: -1})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { st.Close() })
	flow, err := flows.New()
	if err != nil {
		f.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	b, err := New(logger, Config{Token: "1:x", APIURL: "http://127.0.0.1:1", Owner: "fuzz"}, st, flow)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(b.procCancel)
	return b
}

func updateJSON(f *testing.F, v any) []byte {
	f.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		f.Fatal(err)
	}
	return b
}

// FuzzInput unmarshals arbitrary bytes as an update, as the webhook and the
// poller do, and turns it into the conversation's input (documents removed:
// checking one downloads it). Invariants: no panic and no error; an input
// comes only from a private chat, under that chat's id; a button press is a
// Button input with the press's data and query; a message keeps its text
// as ParseText reads it, and is passed on as that very message; nothing is
// ever a staff input, as this bot has no staff group. An input it accepts,
// applied to a new session, commits a readable session and an outbox of
// sends within Telegram's limits.
func FuzzInput(f *testing.F) {
	b := fuzzBot(f)
	private := map[string]any{"id": 6001, "type": "private", "first_name": "Ana"}
	from := map[string]any{"id": 6001, "is_bot": false, "first_name": "Ana", "language_code": "pt-BR"}
	long := strings.Repeat("\u200b\u200fمرحبا \u202eAIMA\u202c card ", 400)[:10000]
	for _, u := range []map[string]any{
		{"update_id": 1, "message": map[string]any{"message_id": 1, "date": 1, "chat": private, "from": from, "text": "/start"}},
		{"update_id": 2, "message": map[string]any{"message_id": 2, "date": 1, "chat": private, "from": from, "text": "26/07/2027"}},
		{"update_id": 3, "message": map[string]any{"message_id": 3, "date": 1, "chat": private, "from": from,
			"photo": []any{map[string]any{"file_id": "small", "file_unique_id": "s", "width": 90, "height": 90, "file_size": 1000},
				map[string]any{"file_id": "big", "file_unique_id": "b", "width": 1280, "height": 1280, "file_size": 150000}},
			"media_group_id": "g1", "caption": "my passport"}},
		{"update_id": 4, "callback_query": map[string]any{"id": "q1", "from": from, "chat_instance": "c", "data": "0:lang:pt",
			"message": map[string]any{"message_id": 5, "date": 1, "chat": private, "text": "Which language?",
				"reply_markup": map[string]any{"inline_keyboard": []any{[]any{
					map[string]any{"text": "English", "callback_data": "0:lang:en"},
					map[string]any{"text": "Português", "callback_data": "0:lang:pt"}}}}}}},
		{"update_id": 5, "callback_query": map[string]any{"id": "q2", "from": from, "data": "3:continue",
			"message": map[string]any{"message_id": 9, "date": 0, "chat": private}}},
		{"update_id": 6, "edited_message": map[string]any{"message_id": 2, "date": 1, "edit_date": 2, "chat": private, "from": from, "text": "27/07/2027"}},
		{"update_id": 7, "edited_message": map[string]any{"message_id": 3, "date": 1, "edit_date": 2, "chat": private, "from": from, "caption": "x"}},
		{"update_id": 8, "message": map[string]any{"message_id": 1, "date": 1, "chat": map[string]any{"id": -100123, "type": "supergroup", "is_forum": true},
			"from": from, "text": "/takeover", "message_thread_id": 5, "is_topic_message": true}},
		{"update_id": 9, "channel_post": map[string]any{"message_id": 1, "date": 1, "chat": map[string]any{"id": -100999, "type": "channel"}, "text": "news"}},
		{"update_id": 10, "some_future_update": map[string]any{"x": 1}},
		{"update_id": 11, "poll_answer": map[string]any{"poll_id": "1", "option_ids": []int{0}}},
		{"update_id": 12, "message": map[string]any{"message_id": 12, "date": 1, "chat": private, "from": from, "text": long}},
		{"update_id": 13, "message": map[string]any{"message_id": 13, "date": 1, "chat": private, "from": from,
			"document": map[string]any{"file_id": "doc", "file_unique_id": "d", "mime_type": "application/pdf", "file_size": 30000}}},
		{"update_id": 14, "message": map[string]any{"message_id": 14, "date": 1, "chat": private, "from": from,
			"sticker": map[string]any{"file_id": "st", "file_unique_id": "st", "type": "regular", "width": 1, "height": 1, "is_animated": false, "is_video": false}}},
		{"update_id": 15, "message": map[string]any{"message_id": 15, "date": 1, "chat": private, "from": from,
			"video": map[string]any{"file_id": "v", "file_unique_id": "v", "width": 1, "height": 1, "duration": 1}, "caption": strings.Repeat("c", 1100)}},
		{"update_id": 16, "callback_query": map[string]any{"id": "q3", "from": from, "inline_message_id": "im", "data": "1:x"}},
	} {
		f.Add(updateJSON(f, u))
	}
	f.Add([]byte(`{"update_id":1,"message":{"chat":{"type":"private"},"text":"hi"}}`))
	f.Add([]byte(`{"message":null,"callback_query":{"message":{"date":1,"chat":{"id":1,"type":"private"}}}}`))
	f.Add([]byte(`{"update_id":1,"message":{"message_id":1,"date":1,"chat":{"id":1,"type":"private"},"text":"\ud800\udfff\u0000"}}`))
	f.Add([]byte(`[]`))

	f.Fuzz(func(t *testing.T, data []byte) {
		var upd models.Update
		if err := json.Unmarshal(data, &upd); err != nil {
			return // the webhook and the poller skip an update they cannot read
		}
		for _, m := range []*models.Message{upd.Message, upd.EditedMessage} {
			if m != nil {
				m.Document = nil // reading a document downloads it
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		in, chat, p, ok, err := b.intake.input(ctx, &upd)
		var refused refusal
		if errors.As(err, &refused) {
			if ok || chat != 0 {
				t.Fatalf("input(%s) refused (%v), yet ok %v, chat %d", data, err, ok, chat)
			}
			return
		}
		if err != nil {
			t.Fatalf("input(%s) error: %v", data, err)
		}
		if !ok {
			if chat != 0 || (p != nil && (p.queryID != "" || p.messageID != 0)) {
				t.Fatalf("input(%s) ignored, yet chat %d, press %+v", data, chat, p)
			}
			return
		}
		if upd.ID <= 0 {
			t.Fatalf("input(%s) took an update with id %d, which the store would not deduplicate", data, upd.ID)
		}
		if in.From != nil {
			t.Fatalf("input(%s) = a staff input from %+v, and there is no staff group", data, in.From)
		}
		var m *models.Message
		var msgChat models.Chat
		var sender int64
		switch {
		case upd.CallbackQuery != nil:
			q := upd.CallbackQuery
			m, sender = q.Message.Message, q.From.ID
			wantMsg := 0
			switch {
			case m != nil:
				msgChat, wantMsg = m.Chat, m.ID
			case q.Message.InaccessibleMessage != nil:
				msgChat = q.Message.InaccessibleMessage.Chat
			default:
				t.Fatalf("input(%s): a press with no message was taken", data)
			}
			if in.Kind != flows.Button || in.Data != q.Data {
				t.Fatalf("input(%s) = kind %d, data %q; want a Button with data %q", data, in.Kind, in.Data, q.Data)
			}
			if p == nil || p.queryID != q.ID || p.messageID != wantMsg || p.staff {
				t.Fatalf("input(%s) press = %+v; want query %q on message %d", data, p, q.ID, wantMsg)
			}
			if in.Label != p.label || (p.label != "" && (m == nil || !hasButton(m, p.label, q.Data))) {
				t.Fatalf("input(%s) label %q is not a button of the message with the data pressed", data, in.Label)
			}
		case upd.Message != nil:
			m = upd.Message
		case upd.EditedMessage != nil:
			m = upd.EditedMessage
			if m.Text == "" {
				t.Fatalf("input(%s): an edit without text was taken", data)
			}
			if flows.ParseText(m.Text, "").Kind == flows.Command {
				t.Fatalf("input(%s): an edit was taken as the command %q", data, in.Command)
			}
		default:
			t.Fatalf("input(%s) = %+v from an update with no message and no press", data, in)
		}
		if upd.CallbackQuery == nil {
			msgChat = m.Chat
			if m.From == nil {
				t.Fatalf("input(%s): a private message without a sender was taken", data)
			}
			sender = m.From.ID
		}
		if msgChat.Type != models.ChatTypePrivate {
			t.Fatalf("input(%s) took a %q chat's update, and there is no staff group", data, msgChat.Type)
		}
		if chat != msgChat.ID || chat != sender || chat <= 0 || chat != chatOf(&upd) {
			t.Fatalf("input(%s) chat = %d; the update is chat %d from %d", data, chat, msgChat.ID, sender)
		}
		if upd.CallbackQuery == nil {
			if p != nil {
				t.Fatalf("input(%s): a message with a press %+v", data, p)
			}
			if len(in.Msgs) != 1 || in.Msgs[0].Chat != chat || in.Msgs[0].ID != m.ID {
				t.Fatalf("input(%s) messages = %+v; want message %d of chat %d", data, in.Msgs, m.ID, chat)
			}
			switch {
			case m.Text != "":
				want := flows.ParseText(m.Text, in.ClientLang)
				if in.Kind != want.Kind || in.Text != want.Text || in.Command != want.Command {
					t.Fatalf("input(%s) = %d %q %q; ParseText gives %d %q %q", data, in.Kind, in.Text, in.Command, want.Kind, want.Text, want.Command)
				}
			case len(m.Photo) > 0:
				if in.Kind != flows.Files || len(in.Files) != 1 || !in.Files[0].Photo || in.Files[0].Ref != m.Photo[len(m.Photo)-1].FileID {
					t.Fatalf("input(%s) = %+v; want the largest photo as one file", data, in)
				}
			default:
				if in.Kind != flows.Unsupported {
					t.Fatalf("input(%s) kind = %d; want Unsupported", data, in.Kind)
				}
			}
		}
		b.checkConverse(t, string(data), in, p)
	})
}

func hasButton(m *models.Message, label, data string) bool {
	if m.ReplyMarkup == nil {
		return false
	}
	for _, row := range m.ReplyMarkup.InlineKeyboard {
		for _, k := range row {
			if k.Text == label && k.CallbackData == data {
				return true
			}
		}
	}
	return false
}

// checkConverse applies the input to a new session, as the store would,
// and checks what would be committed.
func (b *Bot) checkConverse(t *testing.T, what string, in flows.Input, p *press) {
	t.Helper()
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	c, _, replies, problem, err := b.commit.converse(0, nil, in, p, now)
	if err != nil || problem != nil {
		t.Fatalf("converse(%s) = %v, problem %v", what, err, problem)
	}
	s, err := flows.Unmarshal(c.Session)
	if err != nil || s.State == "" {
		t.Fatalf("converse(%s) commits session %q (%v); want a conversation", what, c.Session, err)
	}
	if len(replies) == 0 || len(c.Outbox) == 0 {
		t.Fatalf("converse(%s): %d replies, %d messages; a new session is always greeted", what, len(replies), len(c.Outbox))
	}
	for _, raw := range c.Outbox {
		var o op
		if err := json.Unmarshal(raw, &o); err != nil {
			t.Fatalf("converse(%s): outbox message %s: %v", what, raw, err)
		}
		if o.Staff || o.toStaff() {
			t.Fatalf("converse(%s): a staff message %s, and there is no staff group", what, raw)
		}
		if o.Kind == opSend && (o.Text == "" || utf16Len(o.Text) > maxText) {
			t.Fatalf("converse(%s): a send of %d UTF-16 units; want 1..%d", what, utf16Len(o.Text), maxText)
		}
		for _, row := range o.Buttons {
			for _, k := range row {
				if k.Data == "" || len(k.Data) > 64 || k.Label == "" {
					t.Fatalf("converse(%s): button %+v", what, k)
				}
			}
		}
	}
}

// FuzzSplit cuts arbitrary text to a limit, as every long reply and caption
// is. Every part is non-empty, trimmed and within the limit, and the parts
// hold the text's words in order.
func FuzzSplit(f *testing.F) {
	for _, s := range []string{"", " ", "one two", strings.Repeat("\xff", 5000), strings.Repeat("word ", 1000), strings.Repeat("😀", 3000),
		strings.Repeat("a", 5000) + "\n\n" + strings.Repeat("b", 10), "x\n\ny\nz w"} {
		f.Add(s, 4096)
		f.Add(s, 7)
	}
	f.Fuzz(func(t *testing.T, text string, limit int) {
		text = strings.ToValidUTF8(text, "\uFFFD") // what split reads invalid bytes as
		if limit < 16 || limit > 5000 {
			return // Telegram's limits are 1024 and 4096 UTF-16 units
		}
		parts := split(text, limit)
		var words []string
		for _, p := range parts {
			if p == "" || p != strings.TrimSpace(p) || utf16Len(p) > limit {
				t.Fatalf("split(%.40q, %d) part %.40q: empty, untrimmed or over the limit (%d)", text, limit, p, utf16Len(p))
			}
			words = append(words, strings.Fields(p)...)
		}
		if got, want := strings.Join(words, ""), strings.Join(strings.Fields(text), ""); got != want {
			t.Fatalf("split(%.40q, %d) parts %q lose or reorder text", text, limit, parts)
		}
	})
}
