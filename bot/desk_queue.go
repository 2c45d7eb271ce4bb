package bot

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"

	tg "github.com/go-telegram/bot"
	"github.com/go-telegram/bot/models"

	"github.com/aimabot/aimabot/flows"
)

// The queue: one message in the staff group's General topic listing the
// cases waiting for a person, kept up to date by one replica at a time;
// and the helpers that show cases there.

// poke asks for the queue to be refreshed soon.
func (d *desk) poke() {
	select {
	case d.kick <- struct{}{}:
	default:
	}
}

// start checks the bot's rights in the staff group, then keeps the queue
// message up to date: at every change of a case, and every QueueEvery for
// the waiting times. One replica does it at a time.
func (d *desk) start(ctx context.Context) {
	d.setCommands(ctx)
	if err := d.migrate(ctx); err != nil {
		d.logger.Warn("bot: updating the staff desk's record", "err", err)
	}
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		d.checkRights(ctx)
		t := time.NewTicker(d.queueEvery)
		defer t.Stop()
		for {
			d.refreshQueue(ctx)
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			case <-d.kick:
				// Changes come in bursts (a card, then its documents):
				// one refresh after a short pause covers them.
				if !sleep(ctx, time.Second) {
					return
				}
			}
		}
	}()
}

func (d *desk) wait() { d.wg.Wait() }

func (d *desk) refreshQueue(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, 2*apiTimeout)
	defer cancel()
	lead, err := d.st.Lease(ctx, "staff-queue", d.owner, 2*d.queueEvery+leaseTTL)
	if err != nil || !lead {
		if err != nil && ctx.Err() == nil {
			d.logger.Warn("bot: staff queue lease", "err", err)
		}
		return
	}
	if err := d.queue(ctx); err != nil && ctx.Err() == nil {
		d.logger.Warn("bot: refreshing the staff queue", "err", err)
	}
}

func (d *desk) queue(ctx context.Context) error {
	rec, err := d.load(ctx)
	if err != nil {
		return err
	}
	var waiting []flows.Waiting
	for _, c := range rec.Cases {
		if c.Status == flows.CaseWaiting {
			waiting = append(waiting, flows.Waiting{Title: c.Title, Since: c.Since, Due: c.Due, Link: topicLink(rec.Chat, c.Topic),
				Topic: c.Topic})
		}
	}
	text := clipText(d.flow.Queue(waiting, d.now()))
	buttons := d.flow.QueueButtons(waiting)
	// The text stands for the buttons too: each line is a case, each
	// button the same case.
	if text == rec.QueueText && rec.Queue != 0 {
		return nil
	}
	id := rec.Queue
	if id != 0 {
		p := &tg.EditMessageTextParams{ChatID: rec.Chat, MessageID: id, Text: text}
		if k := keyboardOf(buttonsOf(buttons)); k != nil {
			p.ReplyMarkup = k
		}
		_, err := do(ctx, d.tg, "editMessageText", d.tg.api.EditMessageText, p)
		switch {
		case err == nil, isNotModified(err):
		case errors.Is(err, tg.ErrorBadRequest):
			id = 0 // deleted by hand, or too old to edit: post a new one
		default:
			return fmt.Errorf("bot: edit the staff queue: %w", err)
		}
	}
	if id == 0 {
		if id, err = d.sendText(ctx, rec.Chat, 0, text, buttons); err != nil {
			return err
		}
	}
	return d.save(ctx, func(r *deskRecord) {
		if r.Chat == rec.Chat {
			r.Queue, r.QueueText = id, text
		}
	})
}

// setCommands shows the staff commands in the staff group's command menu.
func (d *desk) setCommands(ctx context.Context) {
	staff, err := d.current(ctx)
	if err != nil {
		d.logger.Warn("bot: staff commands", "err", err)
		return
	}
	cat := d.flow.Catalog()
	var cmds []models.BotCommand
	for _, c := range []string{"takeover", "release", "close", "note", "card", "reply", "assign", "mine", "stats", "mute", "replies", "savereply", "queue"} {
		cmds = append(cmds, models.BotCommand{Command: c, Description: cat.Text(d.lang, "cmd_staff_"+c, nil)})
	}
	_, err = do(ctx, d.tg, "setMyCommands", d.tg.api.SetMyCommands, &tg.SetMyCommandsParams{Commands: cmds, Scope: &models.BotCommandScopeChat{ChatID: staff}})
	if err != nil {
		d.logger.Warn("bot: setMyCommands for the staff group failed", "err", err)
	}
}

// topicLink links to a topic of a supergroup (t.me/c/<id>/<topic>).
func topicLink(chat int64, topic int) string {
	const prefix = -1_000_000_000_000
	if chat > prefix || topic == 0 {
		return ""
	}
	return "https://t.me/c/" + strconv.FormatInt(prefix-chat, 10) + "/" + strconv.Itoa(topic)
}

func digestOf(c flows.Card) string {
	h := sha256.New()
	h.Write([]byte(c.Title))
	h.Write([]byte{0})
	h.Write([]byte(c.Text))
	for _, row := range c.Buttons {
		for _, b := range row {
			h.Write([]byte{0})
			h.Write([]byte(b.Data))
		}
	}
	return hex.EncodeToString(h.Sum(nil)[:8])
}

// clipText keeps a text within one message.
func clipText(s string) string {
	if utf16Len(s) <= maxText {
		return s
	}
	return split(s, maxText-1)[0] + "…"
}
