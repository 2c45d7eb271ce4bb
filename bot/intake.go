package bot

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"time"

	tg "github.com/go-telegram/bot"
	"github.com/go-telegram/bot/models"

	"github.com/aimabot/aimabot/flows"
	"github.com/aimabot/aimabot/rules"
	"github.com/aimabot/aimabot/store"
)

// intake turns Telegram's updates into the conversation's inputs and
// commits each through the pipeline; it answers Telegram (the webhook's 200,
// the poller's offset) only once the update's effects are committed. A
// staff member's message or press in a case's topic is read with the desk
// (which topic is whose case) and applied under the applicant's chat.
type intake struct {
	logger  *slog.Logger
	cfg     Config
	flow    *flows.Flow
	tg      *telegram
	desk    *desk // nil without a staff group
	pipe    *pipeline
	albums  *albums
	metrics *metrics
	leases  store.Leases // the poller's lease
	down    *outage
	// procCtx outlives a stop, so that an update being applied when a stop
	// is asked for is finished.
	procCtx context.Context
}

// allowedUpdates are the update kinds the bot asks Telegram for.
var allowedUpdates = []string{models.AllowedUpdateMessage, models.AllowedUpdateEditedMessage, models.AllowedUpdateCallbackQuery,
	models.AllowedUpdateMyChatMember}

// press is a button press being applied.
type press struct {
	queryID   string
	messageID int
	text      string // the pressed message's text, to show the choice under it
	label     string // the pressed button's label, when it can be found
	staff     bool   // a case card's button, in the staff group
	// notice answers a press that is not applied (ok false from input).
	notice string
}

// refusal is an update whose claims do not hold together (a private chat
// that is not its sender's, an update id that cannot be told from an
// internal input): it is refused, logged and counted, never applied.
type refusal string

func (r refusal) Error() string { return string(r) }

// answerNow answers a press that no chat's outbox will: one ignored or
// refused. Nothing about it is stored, so there is no outbox to go through.
func (it *intake) answerNow(ctx context.Context, q *models.CallbackQuery, text string) {
	if q == nil {
		return
	}
	if _, err := do(ctx, it.tg, "answerCallbackQuery", it.tg.api.AnswerCallbackQuery,
		&tg.AnswerCallbackQueryParams{CallbackQueryID: q.ID, Text: text}); err != nil {
		it.logger.Debug("bot: answering a press that is not applied", "err", err)
	}
}

// privateClaim checks what a private chat's update says of itself: a
// private chat is the conversation with one user, so its id is its
// sender's, and positive (groups, the staff group among them, are negative).
func privateClaim(chat int64, from *models.User) error {
	switch {
	case from == nil:
		return refusal("a private chat's update without a sender")
	case chat <= 0:
		return refusal("a private chat with a group's id")
	case chat != from.ID:
		return refusal("a private chat that is not its sender's")
	}
	return nil
}

// handle applies one update: it turns it into the conversation's input,
// runs the conversation, and commits the new session with the replies in the
// chat's outbox, in one atomic step that skips an update already applied.
// It returns only after that commit (or with an error, and then nothing was
// committed, so the update can be delivered again).
func (it *intake) handle(ctx context.Context, upd *models.Update) error {
	start := time.Now()
	kind := kindOf(upd)
	in, chat, p, ok, err := it.input(ctx, upd)
	var refused refusal
	if errors.As(err, &refused) {
		// Applying it would trust what it claims; delivering it again would
		// change nothing, so it is confirmed like one applied.
		it.logger.Warn("bot: update refused", "update", upd.ID, "kind", kind, "reason", string(refused))
		it.metrics.updates.WithLabelValues(kind, outcomeRefused).Inc()
		it.answerNow(ctx, upd.CallbackQuery, "")
		return nil
	}
	if err != nil || !ok {
		outcome := outcomeIgnored
		if err != nil {
			outcome = outcomeFailed
		}
		it.metrics.updates.WithLabelValues(kind, outcome).Inc()
		if err == nil {
			// A press is always answered, or its button spins on the
			// presser's screen.
			notice := ""
			if p != nil {
				notice = p.notice
			}
			it.answerNow(ctx, upd.CallbackQuery, notice)
		}
		return err
	}
	if in.From != nil {
		kind = "staff"
	}
	res, err := it.pipe.run(ctx, chat, upd.ID, in, p)
	if err != nil {
		it.metrics.updates.WithLabelValues(kind, outcomeFailed).Inc()
		return err
	}
	outcome := outcomeApplied
	if res.Duplicate {
		outcome = outcomeDuplicate
	}
	it.metrics.updates.WithLabelValues(kind, outcome).Inc()
	it.metrics.latency.Observe(time.Since(start).Seconds())
	if in.Album != "" {
		it.albums.touch(chat)
	}
	return nil
}

// kindOf names an update's kind for the metrics.
func kindOf(u *models.Update) string {
	switch {
	case u.Message != nil:
		return "message"
	case u.EditedMessage != nil:
		return "edited"
	case u.CallbackQuery != nil:
		return "button"
	}
	return "other"
}

// input turns an update into the conversation's input. ok is false for
// updates the bot ignores (groups, channels, kinds it does not serve); an
// error means the update could not be read now (a download failed) and
// should come again.
func (it *intake) input(ctx context.Context, upd *models.Update) (in flows.Input, chat int64, p *press, ok bool, err error) {
	if upd.ID <= 0 {
		// Internal inputs (an album's end, a wake-up) are applied under id 0,
		// which the store does not deduplicate: an update must not pass as one.
		return in, 0, nil, false, refusal("update id is not positive")
	}
	switch {
	case upd.CallbackQuery != nil:
		return it.pressInput(ctx, upd)
	case upd.Message != nil:
		if upd.Message.Chat.Type != models.ChatTypePrivate {
			return it.staffInput(ctx, upd)
		}
		if err := privateClaim(upd.Message.Chat.ID, upd.Message.From); err != nil {
			return in, 0, nil, false, err
		}
		return it.message(ctx, upd.Message)
	case upd.MyChatMember != nil:
		return it.rightsChanged(ctx, upd.MyChatMember)
	case upd.EditedMessage != nil:
		m := upd.EditedMessage
		// A corrected message is read as a new answer (a date typed again).
		if m.Text == "" || m.Chat.Type != models.ChatTypePrivate {
			return in, 0, nil, false, nil
		}
		if err := privateClaim(m.Chat.ID, m.From); err != nil {
			return in, 0, nil, false, err
		}
		if flows.ParseText(m.Text, "").Kind == flows.Command {
			// Editing an old message is not sending a command: "/restart"
			// typed into last week's message must not erase the answers.
			return in, 0, nil, false, nil
		}
		return it.message(ctx, m)
	}
	return in, 0, nil, false, nil
}

// pressInput reads a button press. In a private chat it is the presser's
// own conversation, whatever chat the message names; on a message too old
// for Telegram to show (InaccessibleMessage) it is still the presser's press,
// with no message to edit.
func (it *intake) pressInput(ctx context.Context, upd *models.Update) (in flows.Input, chat int64, p *press, ok bool, err error) {
	q := upd.CallbackQuery
	var msgChat models.Chat
	switch {
	case q.Message.Message != nil:
		msgChat = q.Message.Message.Chat
	case q.Message.InaccessibleMessage != nil:
		msgChat = q.Message.InaccessibleMessage.Chat
	default:
		return in, 0, nil, false, nil // an inline message's button: not one of the bot's
	}
	if msgChat.Type != models.ChatTypePrivate {
		if q.Message.Message == nil {
			// An old card's button: which case it was for is unknown.
			return in, 0, &press{notice: it.flow.Catalog().Text(it.cfg.StaffLang, "toast_out_of_date", nil)}, false, nil
		}
		return it.staffInput(ctx, upd)
	}
	if err := privateClaim(msgChat.ID, &q.From); err != nil {
		return in, 0, nil, false, err
	}
	p = &press{queryID: q.ID}
	if m := q.Message.Message; m != nil {
		p.messageID, p.text = m.ID, m.Text
		if m.ReplyMarkup != nil {
			for _, row := range m.ReplyMarkup.InlineKeyboard {
				for _, k := range row {
					if k.CallbackData == q.Data {
						p.label = k.Text
					}
				}
			}
		}
	}
	return flows.Input{Kind: flows.Button, Data: q.Data, Label: p.label, ClientLang: q.From.LanguageCode,
		Name: q.From.FirstName}, q.From.ID, p, true, nil
}

func (it *intake) message(ctx context.Context, m *models.Message) (flows.Input, int64, *press, bool, error) {
	if m.Chat.Type != models.ChatTypePrivate {
		return flows.Input{}, 0, nil, false, nil // groups and channels go to staffInput
	}
	in := flows.Input{Kind: flows.Unsupported, Album: m.MediaGroupID, Msgs: []flows.Message{msgOf(m)}}
	if m.From != nil {
		in.ClientLang, in.Name = m.From.LanguageCode, m.From.FirstName
	}
	chat := m.Chat.ID
	switch {
	case m.Text != "":
		t := flows.ParseText(m.Text, in.ClientLang)
		in.Kind, in.Text, in.Command = t.Kind, t.Text, t.Command
	case len(m.Photo) > 0:
		// Telegram sends every size; the largest is last. Photos are JPEG.
		ph := m.Photo[len(m.Photo)-1]
		in.Kind = flows.Files
		in.Files = []flows.File{{Ref: ph.FileID, Type: rules.JPEG, Size: int64(ph.FileSize), Photo: true}}
	case m.Document != nil:
		f, err := it.document(ctx, m.Document)
		if err != nil {
			return flows.Input{}, 0, nil, false, err
		}
		in.Kind, in.Files = flows.Files, []flows.File{f}
	}
	// Anything else (stickers, voice, locations, contacts, videos…) stays
	// Unsupported: a hint, then the question again; or passed on to the
	// person who has the conversation.
	return in, chat, nil, true, nil
}

// acceptedMIME are the document types the bot takes, as the sender's app
// declares them; the first bytes must agree after download.
var acceptedMIME = map[string]rules.FileType{"application/pdf": rules.PDF, "image/jpeg": rules.JPEG, "image/png": rules.PNG}

// document checks a document by its declared type, its size and its first
// bytes. A file over the Bot API's download limit is refused without a
// download; a type that is not accepted is refused without one too.
func (it *intake) document(ctx context.Context, d *models.Document) (flows.File, error) {
	f := flows.File{Ref: d.FileID, Size: d.FileSize}
	want, ok := acceptedMIME[strings.ToLower(d.MimeType)]
	if !ok || d.FileSize > rules.MaxFileBytes {
		if ok {
			f.Type = want // too large: the size is what the applicant hears about
		}
		return f, nil
	}
	head, size, err := it.tg.download(ctx, d.FileID)
	if errors.Is(err, errTooBig) {
		f.Type, f.Size = want, rules.MaxFileBytes+1
		return f, nil
	}
	if errors.Is(err, errUnreadable) {
		// Retrying would hold the chat's later messages behind this one
		// for good: the applicant is asked to send it again instead.
		it.logger.Warn("bot: a document could not be fetched; the applicant is asked to send it again", "err", err)
		f.Unreadable = true
		return f, nil
	}
	if err != nil {
		return f, err
	}
	if got, ok := rules.SniffFileType(head); ok && got == want {
		f.Type = got
	} else {
		f.Claimed = want // the applicant hears what it was sent as and what it is not
	}
	if f.Size == 0 {
		f.Size = size
	}
	return f, nil
}
