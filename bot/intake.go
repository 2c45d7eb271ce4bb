package bot

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
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
var allowedUpdates = []string{models.AllowedUpdateMessage, models.AllowedUpdateEditedMessage, models.AllowedUpdateCallbackQuery}

// press is a button press being applied.
type press struct {
	queryID   string
	messageID int
	text      string // the pressed message's text, to show the choice under it
	label     string // the pressed button's label, when it can be found
	staff     bool   // a case card's button, in the staff group
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
	if err != nil || !ok {
		outcome := outcomeIgnored
		if err != nil {
			outcome = outcomeFailed
		}
		b.metrics.updates.WithLabelValues(kind, outcome).Inc()
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
	switch {
	case upd.CallbackQuery != nil:
		q := upd.CallbackQuery
		m := q.Message.Message
		if m == nil {
			return in, 0, nil, false, nil
		}
		if m.Chat.Type != models.ChatTypePrivate {
			return b.staffInput(ctx, upd)
		}
		p = &press{queryID: q.ID, messageID: m.ID, text: m.Text}
		if m.ReplyMarkup != nil {
			for _, row := range m.ReplyMarkup.InlineKeyboard {
				for _, k := range row {
					if k.CallbackData == q.Data {
						p.label = k.Text
					}
				}
			}
		}
		return flows.Input{Kind: flows.Button, Data: q.Data, Label: p.label, ClientLang: q.From.LanguageCode,
			Name: q.From.FirstName}, m.Chat.ID, p, true, nil
	case upd.Message != nil:
		if upd.Message.Chat.Type != models.ChatTypePrivate {
			return b.staffInput(ctx, upd)
		}
		return b.message(ctx, upd.Message)
	case upd.EditedMessage != nil:
		// A corrected message is read as a new answer (a date typed again).
		if upd.EditedMessage.Text == "" {
			return in, 0, nil, false, nil
		}
		return b.message(ctx, upd.EditedMessage)
	}
	return in, 0, nil, false, nil
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

var errTooBig = errors.New("bot: file is too big to download")

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
// those already applied are skipped.
func (b *Bot) poll(ctx context.Context) error {
	var offset int64
	backoff := time.Duration(0)
	for ctx.Err() == nil {
		if backoff > 0 && !sleep(ctx, backoff) {
			break
		}
		// The lease outlives one long poll and the batch it brings, so two
		// replicas never poll at once (Telegram would answer 409).
		start := b.cfg.Now()
		leader, err := b.st.Lease(ctx, "poller", b.cfg.Owner, 2*b.cfg.PollTimeout+leaseTTL)
		if ctx.Err() == nil {
			b.down.note(start, err)
		}
		if err != nil || !leader {
			backoff = 2 * time.Second // another replica polls; stand by
			continue
		}
		updates, err := b.getUpdates(ctx, offset)
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			b.logger.Warn("bot: getUpdates failed", "err", err)
			backoff = nextBackoff(backoff)
			continue
		}
		backoff = 0
		if len(updates) == 0 {
			continue
		}
		next, failed := b.applyBatch(updates)
		if next > offset {
			offset = next
		}
		if failed {
			backoff = time.Second // the store is likely down: retry the rest soon
		}
	}
	return nil
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
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxWebhookBody))
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
		ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 30*time.Second)
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
	ln, err := net.Listen("tcp", b.cfg.ListenAddr)
	if err != nil {
		return fmt.Errorf("bot: listen on %s: %w", b.cfg.ListenAddr, err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
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
