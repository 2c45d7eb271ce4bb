package bot

import (
	"context"
	"slices"
	"strconv"
	"strings"

	"github.com/go-telegram/bot/models"

	"github.com/aimabot/aimabot/flows"
)

// maxCaption is Telegram's limit on a caption a bot sends, in UTF-16 code
// units; people with Telegram Premium may write longer ones.
const maxCaption = 1024

// staffInput reads an update from a group: a staff member's message or
// button press in a case's topic becomes an input of that applicant's
// conversation, applied under the applicant's chat like the applicant's own
// messages (so one order, one dedupe, one outbox). Anything else from a
// group is ignored: other groups, other members, the General topic, service
// messages.
func (it *intake) staffInput(ctx context.Context, upd *models.Update) (in flows.Input, chat int64, p *press, ok bool, err error) {
	d := it.desk
	if d == nil {
		return in, 0, nil, false, nil
	}
	if q := upd.CallbackQuery; q != nil {
		return it.staffPress(ctx, q)
	}
	m := upd.Message
	if m == nil {
		return in, 0, nil, false, nil // edits of staff messages are not passed on: the copy is already sent
	}
	if m.MigrateFromChatID != 0 {
		if staff, err := d.isStaffChat(ctx, m.MigrateFromChatID); err != nil || staff {
			if err == nil {
				err = d.migrated(ctx, m.Chat.ID)
			}
			return in, 0, nil, false, err
		}
	}
	staff, err := d.isStaffChat(ctx, m.Chat.ID)
	if err != nil || !staff {
		return in, 0, nil, false, err
	}
	if m.MigrateToChatID != 0 {
		return in, 0, nil, false, d.migrated(ctx, m.MigrateToChatID)
	}
	agent, member := it.staffMember(m.From)
	if !member || !relayable(m) {
		return in, 0, nil, false, nil
	}
	if err := d.noteMember(ctx, agent); err != nil {
		return in, 0, nil, false, err
	}
	thread := topicOf(m)
	if thread == 0 {
		// The General topic: the desk's own commands, nothing else.
		if m.Text != "" && !d.addressedElsewhere(ctx, m.Text) {
			if _, err := d.generalCommand(ctx, m.Text, agent); err != nil {
				return in, 0, nil, false, err
			}
		}
		return in, 0, nil, false, nil
	}
	if t := flows.ParseText(m.Text, ""); t.Kind == flows.Command && !d.addressedElsewhere(ctx, m.Text) {
		// A member's own cases and mentions, wherever they ask.
		switch t.Command {
		case "mine":
			return in, 0, nil, false, d.mine(ctx, agent, thread)
		case "mute":
			return in, 0, nil, false, d.toggleMute(ctx, agent)
		}
	}
	chat, known, err := d.caseOf(ctx, thread)
	if err != nil || !known {
		return in, 0, nil, false, err
	}
	in = flows.Input{Kind: flows.Unsupported, From: agent, Album: m.MediaGroupID, Msgs: []flows.Message{msgOf(m)},
		Caption: m.Caption}
	switch {
	case m.Text != "" && d.addressedElsewhere(ctx, m.Text):
		return in, 0, nil, false, nil
	case m.Text != "":
		t := flows.ParseText(m.Text, "")
		in.Kind, in.Text, in.Command = t.Kind, t.Text, t.Command
		if t.Kind == flows.Command && t.Command == "assign" {
			if in.Team, err = d.team(ctx); err != nil {
				return in, 0, nil, false, err
			}
		}
		if t.Kind == flows.Command && t.Command == "reply" {
			// The team's own saved reply of that key, if any; the
			// conversation falls back on the shipped one.
			if in.Reply, err = d.savedReply(ctx, t.Text); err != nil {
				return in, 0, nil, false, err
			}
		}
	case len(m.Photo) > 0 || m.Document != nil:
		in.Kind = flows.Files
	}
	return in, chat, nil, true, nil
}

// staffPress reads a press of a case card's button.
func (it *intake) staffPress(ctx context.Context, q *models.CallbackQuery) (in flows.Input, chat int64, p *press, ok bool, err error) {
	m := q.Message.Message
	if m == nil {
		return in, 0, nil, false, nil
	}
	staff, err := it.desk.isStaffChat(ctx, m.Chat.ID)
	if err != nil || !staff {
		return in, 0, nil, false, err
	}
	agent, member := it.staffMember(&q.From)
	thread := topicOf(m)
	if topic, ok := strings.CutPrefix(q.Data, flows.ClaimPrefix); ok && member && thread == 0 {
		// A tap on the queue claims that case: a take-over by whoever
		// pressed, in the case's own conversation.
		if n, err := strconv.Atoi(topic); err == nil {
			chat, known, err := it.desk.caseOf(ctx, n)
			if err != nil {
				return in, 0, nil, false, err
			}
			if known {
				in = flows.Input{Kind: flows.Button, Data: flows.StaffTakeData, From: agent}
				return in, chat, &press{queryID: q.ID, staff: true}, true, nil
			}
		}
	}
	known := false
	if member && thread != 0 {
		if chat, known, err = it.desk.caseOf(ctx, thread); err != nil {
			return in, 0, nil, false, err
		}
	}
	if !member || !known {
		// Not an action anyone may take: say so on the button, act on nothing.
		text := it.flow.Catalog().Text(it.cfg.StaffLang, "toast_not_staff", nil)
		if member {
			text = it.flow.Catalog().Text(it.cfg.StaffLang, "staff_bad_button", nil)
		}
		return in, 0, &press{notice: text}, false, nil
	}
	in = flows.Input{Kind: flows.Button, Data: q.Data, From: agent}
	switch {
	case q.Data == flows.StaffRepliesData:
		if in.ReplyKeys, err = it.desk.replyKeys(ctx); err != nil {
			return in, 0, nil, false, err
		}
	case strings.HasPrefix(q.Data, flows.StaffReplyData):
		if in.Reply, err = it.desk.savedReply(ctx, strings.TrimPrefix(q.Data, flows.StaffReplyData)); err != nil {
			return in, 0, nil, false, err
		}
	}
	return in, chat, &press{queryID: q.ID, staff: true}, true, nil
}

// staffMember says whether a message's sender counts as staff: a person
// (not a bot, nor an anonymous administrator, whom Telegram shows as a bot)
// and, when STAFF_USER_IDS is set, one of them.
func (it *intake) staffMember(u *models.User) (*flows.Agent, bool) {
	if u == nil || u.IsBot {
		return nil, false
	}
	if len(it.cfg.StaffUsers) > 0 && !slices.Contains(it.cfg.StaffUsers, u.ID) {
		return nil, false
	}
	name := strings.TrimSpace(u.FirstName)
	if name == "" {
		name = u.Username
	}
	return &flows.Agent{ID: u.ID, Name: name}, true
}

// topicOf is the forum topic a message is in; 0 for the General topic.
func topicOf(m *models.Message) int {
	if !m.IsTopicMessage {
		return 0
	}
	return m.MessageThreadID
}

// relayable tells a message a person wrote from a service message (a topic
// created or renamed, a member joining…), which cannot be copied.
func relayable(m *models.Message) bool {
	return m.Text != "" || len(m.Photo) > 0 || m.Document != nil || m.Video != nil || m.Audio != nil ||
		m.Voice != nil || m.Sticker != nil || m.Animation != nil || m.VideoNote != nil || m.Location != nil ||
		m.Contact != nil || m.Venue != nil
}

// msgOf describes a message for passing it on. The media's file id is kept
// so that an album with a caption too long to copy can be sent again with
// the caption cut; the caption itself only when it is that long.
func msgOf(m *models.Message) flows.Message {
	fm := flows.Message{Chat: m.Chat.ID, ID: m.ID}
	switch {
	case len(m.Photo) > 0:
		fm.Media, fm.File = "photo", m.Photo[len(m.Photo)-1].FileID
	case m.Document != nil:
		fm.Media, fm.File = "document", m.Document.FileID
	case m.Video != nil:
		fm.Media, fm.File = "video", m.Video.FileID
	case m.Audio != nil:
		fm.Media, fm.File = "audio", m.Audio.FileID
	}
	if utf16Len(m.Caption) > maxCaption {
		fm.Caption = m.Caption
	}
	return fm
}
