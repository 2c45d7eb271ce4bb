package bot

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	tg "github.com/go-telegram/bot"
	"github.com/go-telegram/bot/models"

	"github.com/aimabot/aimabot/flows"
	"github.com/aimabot/aimabot/rules"
	"github.com/aimabot/aimabot/store"
)

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
func (b *Bot) answerNow(ctx context.Context, q *models.CallbackQuery, text string) {
	if q == nil {
		return
	}
	actx, cancel := context.WithTimeout(ctx, apiTimeout)
	defer cancel()
	if _, err := b.api.AnswerCallbackQuery(actx, &tg.AnswerCallbackQueryParams{CallbackQueryID: q.ID, Text: text}); err != nil {
		b.logger.Debug("bot: answering a press that is not applied", "err", redact(err, b.cfg.Token))
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

// Handle applies one update: it turns it into the conversation's input,
// runs the conversation, and commits the new session with the replies in the
// chat's outbox, in one atomic step that skips an update already applied.
// It returns only after that commit (or with an error, and then nothing was
// committed, so the update can be delivered again).
func (b *Bot) Handle(ctx context.Context, upd *models.Update) error {
	start := time.Now()
	kind := kindOf(upd)
	in, chat, p, ok, err := b.input(ctx, upd)
	var refused refusal
	if errors.As(err, &refused) {
		// Applying it would trust what it claims; delivering it again would
		// change nothing, so it is confirmed like one applied.
		b.logger.Warn("bot: update refused", "update", upd.ID, "kind", kind, "reason", string(refused))
		b.metrics.updates.WithLabelValues(kind, outcomeRefused).Inc()
		b.answerNow(ctx, upd.CallbackQuery, "")
		return nil
	}
	if err != nil || !ok {
		outcome := outcomeIgnored
		if err != nil {
			outcome = outcomeFailed
		}
		b.metrics.updates.WithLabelValues(kind, outcome).Inc()
		if err == nil {
			// A press is always answered, or its button spins on the
			// presser's screen.
			notice := ""
			if p != nil {
				notice = p.notice
			}
			b.answerNow(ctx, upd.CallbackQuery, notice)
		}
		return err
	}
	if in.From != nil {
		kind = "staff"
	}
	unlock := b.lockChat(chat)
	defer unlock()
	at := b.cfg.Now()
	res, err := b.apply(ctx, chat, upd.ID, in, p)
	if err != nil {
		b.metrics.updates.WithLabelValues(kind, outcomeFailed).Inc()
		return err
	}
	outcome := outcomeApplied
	if res.Duplicate {
		outcome = outcomeDuplicate
	}
	b.metrics.updates.WithLabelValues(kind, outcome).Inc()
	b.metrics.latency.Observe(time.Since(start).Seconds())
	if in.Album != "" {
		b.albums.touch(chat, in.Album)
	}
	b.deliver(chat, res, at)
	return nil
}

// deliver starts sending what an apply that started at at committed: the
// new messages as they are when nothing older waits, else whatever the
// outbox holds.
func (b *Bot) deliver(chat int64, res store.Applied, at time.Time) {
	var leased time.Time
	if res.Lease {
		leased = at
	}
	switch {
	case res.Took && !res.Backlog && !res.Duplicate:
		b.send.kick(chat, leased, res.Outbox)
	case res.Lease || res.Duplicate:
		b.send.kick(chat, leased, nil)
	}
}

func (b *Bot) apply(ctx context.Context, chat, updateID int64, in flows.Input, p *press) (store.Applied, error) {
	now := b.cfg.Now()
	start := now
	var problem error // logged once: the function may run again after a lost race
	var replies []flows.Reply
	res, err := b.st.Apply(ctx, chat, updateID, b.cfg.Owner, b.cfg.SendLease, func(cur []byte) (store.Change, error) {
		c, r, prob, err := b.converse(cur, in, p, now)
		problem, replies = prob, r
		return c, err
	})
	if err != nil {
		b.down.failed(start, err)
		return res, storeError{fmt.Errorf("bot: apply update: %w", err)}
	}
	b.down.ok()
	if problem != nil {
		b.logger.Error("bot: the conversation failed; the session was kept and the applicant told", "err", problem, b.chatAttr(chat))
	}
	if !res.Duplicate {
		b.metrics.countEvents(replies)
	}
	return res, nil
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

// converse runs the conversation on a stored session. A session that cannot
// be read, or a failure inside the flow, keeps the session as it was and
// answers with an apology, so one bad update never blocks the chat; that
// failure is returned as problem, for the caller to log.
func (b *Bot) converse(cur []byte, in flows.Input, p *press, now time.Time) (c store.Change, replies []flows.Reply, problem, err error) {
	var ops []op
	s, problem := flows.Unmarshal(cur)
	var next flows.Session
	if problem != nil {
		replies = b.flow.Apology(flows.Session{})
	} else {
		switch {
		case p != nil && p.staff:
			ops = append(ops, op{Kind: opAnswer, QueryID: p.queryID})
		case p != nil:
			ops = append(ops, b.pressOps(s, in.Data, p)...)
		}
		next, replies, problem = b.flow.Step(s, in, now)
	}
	if next.State == "" && problem != nil {
		// Keep the session as it was; only the apology goes out.
		out, err := encodeOps(append(ops, render(replies)...), now)
		return store.Change{Session: cur, Outbox: out}, replies, problem, err
	}
	c, err = b.change(next, replies, ops, now)
	return c, replies, problem, err
}

// pressOps answers a button press and shows the choice under the question,
// or removes the buttons of a question that is no longer current.
func (b *Bot) pressOps(s flows.Session, data string, p *press) []op {
	lang := s.Language()
	toast, stale := b.flow.Toast(s, data)
	switch {
	case stale && p.messageID == 0:
		return []op{{Kind: opAnswer, QueryID: p.queryID, Text: toast}}
	case stale:
		return []op{{Kind: opAnswer, QueryID: p.queryID, Text: toast}, {Kind: opUnbutton, MessageID: p.messageID}}
	case toast != "":
		return []op{{Kind: opAnswer, QueryID: p.queryID, Text: toast}}
	}
	ops := []op{{Kind: opAnswer, QueryID: p.queryID}}
	if p.messageID == 0 {
		return ops
	}
	chosen := b.flow.Catalog().Text(lang, "toast_chosen", map[string]any{"Label": p.label})
	if p.label != "" && p.text != "" && utf16Len(p.text)+utf16Len(chosen)+2 <= maxText {
		return append(ops, op{Kind: opEdit, MessageID: p.messageID, Text: p.text + "\n\n" + chosen})
	}
	return append(ops, op{Kind: opUnbutton, MessageID: p.messageID})
}

// input turns an update into the conversation's input. ok is false for
// updates the bot ignores (groups, channels, kinds it does not serve); an
// error means the update could not be read now (a download failed) and
// should come again.
func (b *Bot) input(ctx context.Context, upd *models.Update) (in flows.Input, chat int64, p *press, ok bool, err error) {
	if upd.ID <= 0 {
		// Internal inputs (an album's end, a wake-up) are applied under id 0,
		// which the store does not deduplicate: an update must not pass as one.
		return in, 0, nil, false, refusal("update id is not positive")
	}
	switch {
	case upd.CallbackQuery != nil:
		return b.pressInput(ctx, upd)
	case upd.Message != nil:
		if upd.Message.Chat.Type != models.ChatTypePrivate {
			return b.staffInput(ctx, upd)
		}
		if err := privateClaim(upd.Message.Chat.ID, upd.Message.From); err != nil {
			return in, 0, nil, false, err
		}
		return b.message(ctx, upd.Message)
	case upd.MyChatMember != nil:
		return b.rightsChanged(ctx, upd.MyChatMember)
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
		return b.message(ctx, m)
	}
	return in, 0, nil, false, nil
}

// pressInput reads a button press. In a private chat it is the presser's
// own conversation, whatever chat the message names; on a message too old
// for Telegram to show (InaccessibleMessage) it is still the presser's press,
// with no message to edit.
func (b *Bot) pressInput(ctx context.Context, upd *models.Update) (in flows.Input, chat int64, p *press, ok bool, err error) {
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
			return in, 0, &press{notice: b.flow.Catalog().Text(b.cfg.StaffLang, "toast_out_of_date", nil)}, false, nil
		}
		return b.staffInput(ctx, upd)
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

func (b *Bot) message(ctx context.Context, m *models.Message) (flows.Input, int64, *press, bool, error) {
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
		f, err := b.document(ctx, m.Document)
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
func (b *Bot) document(ctx context.Context, d *models.Document) (flows.File, error) {
	f := flows.File{Ref: d.FileID, Size: d.FileSize}
	want, ok := acceptedMIME[strings.ToLower(d.MimeType)]
	if !ok || d.FileSize > rules.MaxFileBytes {
		if ok {
			f.Type = want // too large: the size is what the applicant hears about
		}
		return f, nil
	}
	head, size, err := b.download(ctx, d.FileID)
	if errors.Is(err, errTooBig) {
		f.Type, f.Size = want, rules.MaxFileBytes+1
		return f, nil
	}
	if errors.Is(err, errUnreadable) {
		// Retrying would hold the chat's later messages behind this one
		// for good: the applicant is asked to send it again instead.
		b.logger.Warn("bot: a document could not be fetched; the applicant is asked to send it again", "err", err)
		f.Unreadable = true
		return f, nil
	}
	if err != nil {
		return f, err
	}
	if got, ok := rules.SniffFileType(head); ok && got == want {
		f.Type = got
	}
	if f.Size == 0 {
		f.Size = size
	}
	return f, nil
}

var (
	errTooBig = errors.New("bot: file is too big to download")
	// errUnreadable is a file Telegram answered a permanent error for (a
	// 4xx other than 401, 408 and 429): asking again will not help.
	errUnreadable = errors.New("bot: the file cannot be fetched")
)

// permanentAPIError says whether a Bot API error will be the same on every
// retry. Network errors, 5xx, 429 and 401 (the token, not the file) are not.
func permanentAPIError(err error) bool {
	return errors.Is(err, tg.ErrorBadRequest) || errors.Is(err, tg.ErrorForbidden) || errors.Is(err, tg.ErrorNotFound)
}

// permanentStatus is permanentAPIError for a plain HTTP answer.
func permanentStatus(code int) bool {
	switch code {
	case http.StatusUnauthorized, http.StatusRequestTimeout, http.StatusTooManyRequests:
		return false
	}
	return code >= 400 && code < 500
}

// download fetches a file's first bytes, to check what it really is. The file
// is read into memory only as far as needed and never written to disk.
func (b *Bot) download(ctx context.Context, fileID string) (head []byte, size int64, err error) {
	ctx, cancel := context.WithTimeout(ctx, downloadTimeout)
	defer cancel()
	file, err := b.api.GetFile(ctx, &tg.GetFileParams{FileID: fileID})
	if err != nil {
		if errors.Is(err, tg.ErrorBadRequest) && strings.Contains(err.Error(), "too big") {
			return nil, 0, errTooBig
		}
		if permanentAPIError(err) {
			return nil, 0, fmt.Errorf("%w: getFile: %w", errUnreadable, redact(err, b.cfg.Token))
		}
		return nil, 0, fmt.Errorf("bot: getFile: %w", redact(err, b.cfg.Token))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, b.api.FileDownloadLink(file), nil)
	if err != nil {
		return nil, 0, fmt.Errorf("bot: download request: %w", redact(err, b.cfg.Token))
	}
	resp, err := b.http.Do(req)
	if err != nil {
		return nil, 0, fmt.Errorf("bot: download: %w", redact(stripURL(err), b.cfg.Token))
	}
	defer resp.Body.Close()
	if permanentStatus(resp.StatusCode) {
		return nil, 0, fmt.Errorf("%w: download: HTTP %d", errUnreadable, resp.StatusCode)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, 0, fmt.Errorf("bot: download: HTTP %d", resp.StatusCode)
	}
	head = make([]byte, 512)
	n, err := io.ReadFull(resp.Body, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return nil, 0, fmt.Errorf("bot: download: %w", redact(err, b.cfg.Token))
	}
	return head[:n], file.FileSize, nil
}

// stripURL drops the request URL (which holds the token) from a client error.
func stripURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s: %w", ue.Op, ue.Err)
	}
	return err
}

// --- long polling ---

// poll reads updates with getUpdates. The offset that confirms updates to
// Telegram advances only past updates whose effects are committed, so a
// crash at any moment loses nothing: unconfirmed updates come again and
// those already applied are skipped. It returns ErrTokenRefused or
// ErrWebhookSet when polling cannot go on; every other failure is waited
// out (see pollPause).
func (b *Bot) poll(ctx context.Context) error {
	if b.cfg.DeleteWebhook {
		cctx, cancel := context.WithTimeout(ctx, apiTimeout)
		_, err := b.api.DeleteWebhook(cctx, &tg.DeleteWebhookParams{})
		cancel()
		if errors.Is(err, tg.ErrorUnauthorized) {
			return ErrTokenRefused
		}
		if err != nil {
			b.logger.Warn("bot: deleteWebhook failed", "err", redact(err, b.cfg.Token))
		}
	}
	var offset int64
	var pause time.Duration
	for ctx.Err() == nil {
		if pause > 0 && !sleep(ctx, pause) {
			break
		}
		var r pollResult
		// The lease outlives one long poll and the batch it brings, so two
		// replicas never poll at once (Telegram would answer 409).
		start := b.cfg.Now()
		leader, err := b.st.Lease(ctx, "poller", b.cfg.Owner, 2*b.cfg.PollTimeout+leaseTTL)
		if ctx.Err() == nil {
			b.down.note(start, err)
		}
		switch {
		case err != nil || !leader:
			r.standby = true
		default:
			began := time.Now()
			var updates []*models.Update
			updates, err = b.getUpdates(ctx, offset)
			r.took, r.updates = time.Since(began), len(updates)
			switch {
			case ctx.Err() != nil:
				return nil
			case errors.Is(err, ErrTokenRefused), errors.Is(err, ErrWebhookSet):
				return err
			case err != nil:
				b.logger.Warn("bot: getUpdates failed", "err", err)
				r.err = true
			case len(updates) > 0:
				var next int64
				next, r.failed = b.applyBatch(updates)
				offset = max(offset, next)
			}
		}
		pause = pollPause(pause, r, b.cfg.PollTimeout)
	}
	return nil
}

// pollResult is how one turn of the polling loop ended.
type pollResult struct {
	standby bool          // another replica polls, or the store did not answer
	err     bool          // getUpdates failed
	updates int           // updates it brought
	failed  bool          // one of them could not be applied
	took    time.Duration // how long getUpdates took
}

// pollPause is how long the poller waits before its next turn: nothing
// after a batch (more may be waiting) or a long poll that ran its course,
// and otherwise long enough that getUpdates never runs in a tight loop,
// growing while the trouble lasts, even against a server that answers at
// once with an error or with nothing.
func pollPause(prev time.Duration, r pollResult, timeout time.Duration) time.Duration {
	switch {
	case r.standby:
		return 2 * time.Second
	case r.err:
		return nextBackoff(prev)
	case r.failed:
		return time.Second // the store is likely down: retry the rest soon
	case r.updates > 0:
		return 0
	case r.took < timeout/2:
		return nextBackoff(prev) // "nothing" at once: not a long poll
	}
	return 0
}

// applyBatch applies a batch of updates, one chat's in order and different
// chats concurrently, and returns the offset that confirms every update up
// to the first one that failed.
func (b *Bot) applyBatch(updates []*models.Update) (offset int64, failed bool) {
	sort.Slice(updates, func(i, j int) bool { return updates[i].ID < updates[j].ID })
	byChat := map[int64][]*models.Update{}
	var order []int64
	for _, u := range updates {
		c := chatOf(u)
		if _, seen := byChat[c]; !seen {
			order = append(order, c)
		}
		byChat[c] = append(byChat[c], u)
	}
	errs := make(map[int64]error, len(updates))
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, 64)
	for _, c := range order {
		wg.Add(1)
		sem <- struct{}{}
		go func(list []*models.Update) {
			defer wg.Done()
			defer func() { <-sem }()
			for _, u := range list {
				ctx, cancel := context.WithTimeout(b.procCtx, 30*time.Second)
				err := b.Handle(ctx, u)
				cancel()
				if err != nil {
					b.logFailed(u, err, "bot: update not applied; it will come again")
					mu.Lock()
					errs[u.ID] = err
					mu.Unlock()
					return // keep this chat's later updates for the retry, in order
				}
			}
		}(byChat[c])
	}
	wg.Wait()
	offset = updates[len(updates)-1].ID + 1
	for _, u := range updates {
		if _, bad := errs[u.ID]; bad {
			return u.ID, true
		}
	}
	return offset, false
}

// logFailed logs an update that could not be applied: a store outage once
// for the whole outage (the outage log), anything else each time.
func (b *Bot) logFailed(u *models.Update, err error, msg string) {
	var se storeError
	if errors.As(err, &se) {
		b.logger.Debug(msg, "update", u.ID, "err", err)
		return
	}
	b.logger.Warn(msg, "update", u.ID, "err", err)
}

// chatOf groups updates by the chat they belong to; updates the bot ignores
// go together under 0.
func chatOf(u *models.Update) int64 {
	switch {
	case u.Message != nil:
		return u.Message.Chat.ID
	case u.EditedMessage != nil:
		return u.EditedMessage.Chat.ID
	case u.CallbackQuery != nil && u.CallbackQuery.Message.Message != nil:
		return u.CallbackQuery.Message.Message.Chat.ID
	case u.CallbackQuery != nil && u.CallbackQuery.Message.InaccessibleMessage != nil:
		return u.CallbackQuery.Message.InaccessibleMessage.Chat.ID
	}
	return 0
}

func (b *Bot) getUpdates(ctx context.Context, offset int64) ([]*models.Update, error) {
	body, _ := json.Marshal(map[string]any{
		"offset": offset, "timeout": int(b.cfg.PollTimeout / time.Second), "allowed_updates": allowedUpdates,
	})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, b.cfg.APIURL+"/bot"+b.cfg.Token+"/getUpdates", bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("bot: getUpdates request: %w", redact(err, b.cfg.Token))
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := b.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("bot: getUpdates: %w", redact(stripURL(err), b.cfg.Token))
	}
	defer resp.Body.Close()
	var r struct {
		OK          bool              `json:"ok"`
		Result      []json.RawMessage `json:"result"`
		ErrorCode   int               `json:"error_code"`
		Description string            `json:"description"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<20)).Decode(&r); err != nil {
		return nil, fmt.Errorf("bot: getUpdates: decode: %w", err)
	}
	if !r.OK {
		switch {
		case r.ErrorCode == http.StatusUnauthorized:
			return nil, ErrTokenRefused
		case r.ErrorCode == http.StatusConflict && strings.Contains(strings.ToLower(r.Description), "webhook"):
			return nil, ErrWebhookSet
		}
		return nil, fmt.Errorf("bot: getUpdates: %d %s", r.ErrorCode, r.Description)
	}
	updates := make([]*models.Update, 0, len(r.Result))
	for _, raw := range r.Result {
		u := &models.Update{}
		if err := json.Unmarshal(raw, u); err != nil {
			// An update the client library cannot read: keep its id, so it
			// is confirmed and skipped rather than blocking every later one.
			var id struct {
				ID int64 `json:"update_id"`
			}
			if json.Unmarshal(raw, &id) != nil {
				continue
			}
			u = &models.Update{ID: id.ID}
		}
		updates = append(updates, u)
	}
	return updates, nil
}

// --- webhook ---

// maxWebhookBody bounds an update's size; Telegram's are far smaller.
const maxWebhookBody = 1 << 20

// WebhookHandler answers Telegram's webhook calls: 401 for a wrong secret,
// 200 only after the update is committed, 500 when it could not be, so that
// Telegram delivers it again.
func (b *Bot) WebhookHandler() http.Handler {
	secret := []byte(b.cfg.WebhookSecret)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		got := []byte(r.Header.Get("X-Telegram-Bot-Api-Secret-Token"))
		if subtle.ConstantTimeCompare(got, secret) != 1 {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		if r.ContentLength > maxWebhookBody {
			http.Error(w, "update too large", http.StatusRequestEntityTooLarge)
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxWebhookBody))
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			http.Error(w, "update too large", http.StatusRequestEntityTooLarge)
			return
		}
		if err != nil {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		u := &models.Update{}
		if err := json.Unmarshal(body, u); err != nil {
			// Not an update this client can read: nothing to retry.
			b.logger.Warn("bot: unreadable webhook update dropped", "err", err)
			w.WriteHeader(http.StatusOK)
			return
		}
		// The update is finished even if Telegram hangs up meanwhile.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), webhookCommit)
		defer cancel()
		if err := b.Handle(ctx, u); err != nil {
			b.logFailed(u, err, "bot: webhook update not applied; Telegram will deliver it again")
			http.Error(w, "try again", http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
}

// serveWebhook registers the webhook and serves it until ctx ends, then
// waits for the requests in flight.
func (b *Bot) serveWebhook(ctx context.Context) error {
	u, err := url.Parse(b.cfg.WebhookURL)
	if err != nil {
		return fmt.Errorf("bot: WEBHOOK_URL: %w", err)
	}
	path := u.Path
	if path == "" {
		path = "/"
	}
	mux := http.NewServeMux()
	b.opsHandler(mux)
	switch path {
	case "/metrics", "/healthz", "/readyz":
		return fmt.Errorf("bot: WEBHOOK_URL's path %s is taken by the operator's endpoints: choose another", path)
	}
	mux.Handle(path, b.WebhookHandler())
	ln, err := b.listen()
	if err != nil {
		return fmt.Errorf("bot: listen on %s: %w", b.cfg.ListenAddr, err)
	}
	b.listener.Store(ln)
	srv := b.httpServer(mux)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	cctx, cancel := context.WithTimeout(ctx, apiTimeout)
	_, err = b.api.SetWebhook(cctx, &tg.SetWebhookParams{URL: b.cfg.WebhookURL, SecretToken: b.cfg.WebhookSecret,
		AllowedUpdates: allowedUpdates, MaxConnections: 40})
	cancel()
	if err != nil {
		_ = srv.Close()
		return fmt.Errorf("bot: setWebhook: %w", redact(err, b.cfg.Token))
	}
	b.logger.Info("bot: webhook mode", "listen", ln.Addr().String())
	select {
	case <-ctx.Done():
	case err := <-errc:
		return fmt.Errorf("bot: webhook server: %w", err)
	}
	sctx, scancel := context.WithTimeout(context.Background(), b.cfg.ShutdownTimeout)
	defer scancel()
	if err := srv.Shutdown(sctx); err != nil {
		// Connections opened but never used count as busy for a while.
		// Closing them is safe: a handler still running finishes its
		// commit, and Telegram, cut off before the 200, delivers that
		// update again, to be recognised and skipped.
		b.logger.Warn("bot: webhook connections still open at shutdown; closing them", "err", err)
		_ = srv.Close()
	}
	return nil
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

func nextBackoff(d time.Duration) time.Duration {
	switch {
	case d == 0:
		return 100 * time.Millisecond
	case d >= 15*time.Second:
		return 30 * time.Second
	}
	return d * 2
}
