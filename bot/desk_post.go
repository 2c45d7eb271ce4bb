package bot

import (
	"context"
	"fmt"
	"slices"

	tg "github.com/go-telegram/bot"
	"github.com/go-telegram/bot/models"

	"github.com/aimabot/aimabot/flows"
)

// Posting in the staff group: notices, the documents, and the messages
// passed between an applicant and their case's topic. Every message the
// bot puts in a topic is recorded (notePosted) as it is posted.

// sendMedia posts one media item, or an album of several: an applicant's
// documents, protected (protect_content) so that they cannot be forwarded
// out of the staff group or saved.
func (d *desk) sendMedia(ctx context.Context, staff int64, thread int, items []models.InputMedia) error {
	if err := d.pace.chat(staff); err != nil {
		return err
	}
	var err error
	var sent []*models.Message
	one := func(m *models.Message, e error) { sent, err = []*models.Message{m}, e }
	switch m := items[0].(type) {
	case *models.InputMediaPhoto:
		if len(items) == 1 {
			one(do(ctx, d.tg, "sendPhoto", d.tg.api.SendPhoto, &tg.SendPhotoParams{ChatID: staff, MessageThreadID: thread,
				Photo: &models.InputFileString{Data: m.Media}, Caption: m.Caption, ProtectContent: true}))
		}
	case *models.InputMediaDocument:
		if len(items) == 1 {
			one(do(ctx, d.tg, "sendDocument", d.tg.api.SendDocument, &tg.SendDocumentParams{ChatID: staff, MessageThreadID: thread,
				Document: &models.InputFileString{Data: m.Media}, Caption: m.Caption, ProtectContent: true}))
		}
	}
	if sent == nil {
		sent, err = do(ctx, d.tg, "sendMediaGroup", d.tg.api.SendMediaGroup,
			&tg.SendMediaGroupParams{ChatID: staff, MessageThreadID: thread, Media: items, ProtectContent: true})
	}
	if err != nil {
		return fmt.Errorf("bot: post documents to a case's topic: %w", err)
	}
	return d.notePosted(ctx, thread, idsOf(sent)...)
}

func (d *desk) sendText(ctx context.Context, staff int64, thread int, text string, buttons [][]flows.ButtonSpec, links ...flows.Link) (int, error) {
	if err := d.pace.chat(staff); err != nil {
		return 0, err
	}
	p := &tg.SendMessageParams{ChatID: staff, MessageThreadID: thread, Text: text, Entities: entities(text, d.unmuted(ctx, links)),
		LinkPreviewOptions: previewOff(text, links)}
	if k := keyboardOf(buttonsOf(buttons)); k != nil {
		p.ReplyMarkup = k
	}
	m, err := do(ctx, d.tg, "sendMessage", d.tg.api.SendMessage, p)
	if err != nil {
		return 0, fmt.Errorf("bot: write in the staff group: %w", err)
	}
	if staff < 0 { // a group's topic, not the rest of a caption sent to an applicant
		if err := d.notePosted(ctx, thread, m.ID); err != nil {
			return 0, err
		}
	}
	return m.ID, nil
}

// send posts a notice in the case's topic.
func (d *desk) send(ctx context.Context, chat int64, o op) error {
	staff, thread := int64(0), o.Thread
	var err error
	if thread == 0 {
		staff, thread, err = d.topic(ctx, chat)
	} else {
		staff, err = d.current(ctx)
	}
	if err != nil {
		return err
	}
	if o.General {
		text := o.Text
		if link := topicLink(staff, thread); link != "" {
			text += "\n" + link
		}
		_, err = d.sendText(ctx, staff, 0, text, nil, o.Links...)
		return err
	}
	var buttons [][]flows.ButtonSpec
	for _, row := range o.Buttons {
		var r []flows.ButtonSpec
		for _, b := range row {
			r = append(r, flows.ButtonSpec{Label: b.Label, Data: b.Data})
		}
		buttons = append(buttons, r)
	}
	_, err = d.sendText(ctx, staff, thread, o.Text, buttons, o.Links...)
	return err
}

// copy passes messages on as they are: the applicant's into their topic,
// or a staff member's to the applicant. An album stays an album; a caption
// longer than a bot may send is cut, and the rest follows as text.
func (d *desk) copy(ctx context.Context, chat int64, o op) error {
	to, thread := chat, 0
	if o.Staff {
		var err error
		if to, thread, err = d.topic(ctx, chat); err != nil {
			return err
		}
	}
	if err := d.pace.chat(to); err != nil {
		return err
	}
	long := slices.ContainsFunc(o.Msgs, func(m flows.Message) bool { return m.Caption != "" })
	posted, rest, err := d.pass(ctx, to, thread, o.Msgs, long)
	if err != nil {
		return fmt.Errorf("bot: copy messages: %w", err)
	}
	if o.Staff {
		if err := d.notePosted(ctx, thread, posted...); err != nil {
			return err
		}
	}
	for _, text := range rest {
		if _, err := d.sendText(ctx, to, thread, text, nil); err != nil {
			return err
		}
	}
	return nil
}

// pass copies msgs to the topic thread of chat to (0: a private chat), one
// by one or as an album; long says a caption is too long to copy and must
// be cut, its rest returned to send as text.
func (d *desk) pass(ctx context.Context, to int64, thread int, msgs []flows.Message, long bool) (posted []int, rest []string, err error) {
	from := msgs[0].Chat
	// What an applicant sends is protected in the staff group: it cannot
	// be forwarded out of it or saved.
	protect := to < 0
	switch {
	case len(msgs) == 1:
		p := &tg.CopyMessageParams{ChatID: to, MessageThreadID: thread, FromChatID: from, MessageID: msgs[0].ID, ProtectContent: protect}
		if long {
			parts := split(msgs[0].Caption, maxCaption)
			p.Caption, rest = parts[0], parts[1:]
		}
		id, err := do(ctx, d.tg, "copyMessage", d.tg.api.CopyMessage, p)
		if err != nil {
			return nil, nil, err
		}
		return []int{id.ID}, rest, nil
	case long:
		var items []models.InputMedia
		items, rest = mediaOf(msgs)
		sent, err := do(ctx, d.tg, "sendMediaGroup", d.tg.api.SendMediaGroup,
			&tg.SendMediaGroupParams{ChatID: to, MessageThreadID: thread, Media: items, ProtectContent: protect})
		return idsOf(sent), rest, err
	}
	ids := make([]int, 0, len(msgs))
	for _, m := range msgs {
		ids = append(ids, m.ID)
	}
	slices.Sort(ids)
	copies, err := do(ctx, d.tg, "copyMessages", d.tg.api.CopyMessages,
		&tg.CopyMessagesParams{ChatID: to, MessageThreadID: thread, FromChatID: from, MessageIDs: ids, ProtectContent: protect})
	for _, c := range copies {
		posted = append(posted, c.ID)
	}
	return posted, nil, err
}

// mediaOf rebuilds an album from its messages' files, each caption cut to
// what a bot may send; the cut-off rest of the captions is returned as text.
func mediaOf(msgs []flows.Message) (items []models.InputMedia, rest []string) {
	for _, m := range msgs {
		caption := ""
		if m.Caption != "" {
			parts := split(m.Caption, maxCaption)
			caption, rest = parts[0], append(rest, parts[1:]...)
		}
		switch m.Media {
		case "document":
			items = append(items, &models.InputMediaDocument{Media: m.File, Caption: caption})
		case "video":
			items = append(items, &models.InputMediaVideo{Media: m.File, Caption: caption})
		case "audio":
			items = append(items, &models.InputMediaAudio{Media: m.File, Caption: caption})
		default:
			items = append(items, &models.InputMediaPhoto{Media: m.File, Caption: caption})
		}
	}
	return items, rest
}
