package bot

import (
	"context"
	"fmt"
	"strings"

	tg "github.com/go-telegram/bot"
	"github.com/go-telegram/bot/models"

	"github.com/aimabot/aimabot/flows"
)

// The bot's identity and rights in the staff group: it needs to be an
// administrator that may manage topics (to open a topic for each case) and
// delete messages (to delete an erased case's topic). It checks at start,
// and again whenever Telegram reports a change (my_chat_member), and warns
// in the General topic and the log when one is missing.

// self is the bot's own user, from getMe, asked once.
func (d *desk) self(ctx context.Context) (models.User, error) {
	d.mu.Lock()
	me := d.me
	d.mu.Unlock()
	if me.ID != 0 {
		return me, nil
	}
	u, err := d.tg.getMe(ctx)
	if err != nil {
		return models.User{}, fmt.Errorf("bot: %w", err)
	}
	d.mu.Lock()
	d.me = *u
	d.mu.Unlock()
	return *u, nil
}

// addressedElsewhere says that a command is addressed to another bot
// ("/close@OtherBot"): staff groups often have several, and Telegram
// passes every command to a bot that is an administrator.
func (d *desk) addressedElsewhere(ctx context.Context, text string) bool {
	if !strings.HasPrefix(text, "/") {
		return false
	}
	word, _, _ := strings.Cut(text, " ")
	word, _, _ = strings.Cut(word, "\n")
	_, to, ok := strings.Cut(word, "@")
	if !ok {
		return false
	}
	me, err := d.self(ctx)
	if err != nil {
		// Not knowing who it is, the bot cannot tell the command is its
		// own: it does not act on it.
		d.logger.Warn("bot: a staff command addressed to a bot, but the bot's own name is unknown; ignored", "err", err)
		return true
	}
	return !strings.EqualFold(to, me.Username)
}

// missingRights lists the rights the bot needs in the staff group and
// lacks, as catalog ids.
func missingRights(m models.ChatMember) []string {
	switch m.Type {
	case models.ChatMemberTypeOwner:
		return nil
	case models.ChatMemberTypeAdministrator:
	default:
		return []string{"right_admin"}
	}
	var out []string
	if a := m.Administrator; a == nil || !a.CanManageTopics {
		out = append(out, "right_manage_topics")
	}
	if a := m.Administrator; a == nil || !a.CanDeleteMessages {
		out = append(out, "right_delete_messages")
	}
	return out
}

// checkRights asks Telegram for the bot's rights in the staff group and
// warns about the missing ones.
func (d *desk) checkRights(ctx context.Context) {
	me, err := d.self(ctx)
	if err != nil {
		d.logger.Warn("bot: checking the bot's rights in the staff group", "err", err)
		return
	}
	staff, err := d.current(ctx)
	if err != nil {
		d.logger.Warn("bot: checking the bot's rights in the staff group", "err", err)
		return
	}
	m, err := do(ctx, d.tg, "getChatMember", d.tg.api.GetChatMember, &tg.GetChatMemberParams{ChatID: staff, UserID: me.ID})
	if err != nil {
		d.logger.Warn("bot: checking the bot's rights in the staff group", "err", err)
		return
	}
	d.warnRights(ctx, staff, *m)
}

// rightsChanged reads Telegram's word that the bot's status or rights in a
// chat changed, and warns when the staff group's lack one it needs.
func (it *intake) rightsChanged(ctx context.Context, u *models.ChatMemberUpdated) (flows.Input, int64, *press, bool, error) {
	if u.Chat.Type == models.ChatTypePrivate {
		// The applicant blocked the bot, or unblocked it: known at once,
		// not at the next message that fails.
		if err := privateClaim(u.Chat.ID, &u.From); err != nil {
			return flows.Input{}, 0, nil, false, err
		}
		switch {
		case u.NewChatMember.Type == models.ChatMemberTypeBanned:
			return flows.Input{Kind: flows.BotBlocked}, u.Chat.ID, nil, true, nil
		case u.NewChatMember.Type == models.ChatMemberTypeMember && u.OldChatMember.Type == models.ChatMemberTypeBanned:
			return flows.Input{Kind: flows.BotUnblocked, ClientLang: u.From.LanguageCode}, u.Chat.ID, nil, true, nil
		}
		return flows.Input{}, 0, nil, false, nil
	}
	if it.desk == nil {
		return flows.Input{}, 0, nil, false, nil
	}
	staff, err := it.desk.isStaffChat(ctx, u.Chat.ID)
	if err != nil || !staff {
		return flows.Input{}, 0, nil, false, err
	}
	it.desk.warnRights(ctx, u.Chat.ID, u.NewChatMember)
	return flows.Input{}, 0, nil, false, nil
}

// warnRights warns in the log and the General topic about the rights the
// bot lacks in the staff group.
func (d *desk) warnRights(ctx context.Context, staff int64, m models.ChatMember) {
	switch m.Type {
	case models.ChatMemberTypeLeft, models.ChatMemberTypeBanned:
		d.logger.Error("bot: the bot is not in the staff group; staff cannot be reached", "status", string(m.Type))
		return
	}
	missing := missingRights(m)
	d.mu.Lock()
	same := d.warned == strings.Join(missing, ",")
	d.warned = strings.Join(missing, ",")
	d.mu.Unlock()
	if len(missing) == 0 {
		d.logger.Info("bot: the bot has the rights it needs in the staff group")
		return
	}
	if same {
		return // said already (the check at start, then the update about the same change)
	}
	names := make([]string, 0, len(missing))
	for _, id := range missing {
		names = append(names, strings.TrimPrefix(id, "right_"))
	}
	d.logger.Warn("bot: the bot lacks rights it needs in the staff group; make it an administrator with them",
		"missing", strings.Join(names, ","))
	cat := d.flow.Catalog()
	lines := make([]string, 0, len(missing))
	for _, id := range missing {
		lines = append(lines, "• "+cat.Text(d.lang, id, nil))
	}
	text := cat.Text(d.lang, "staff_rights_missing", map[string]any{"Missing": strings.Join(lines, "\n")})
	if _, err := d.sendText(ctx, staff, 0, text, nil); err != nil {
		d.logger.Warn("bot: posting the missing rights in the staff group", "err", err)
	}
}
