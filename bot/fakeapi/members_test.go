package fakeapi

import (
	"time"

	"testing"

	tgbot "github.com/go-telegram/bot"
	"github.com/go-telegram/bot/models"
)

// The bot's rights in a group: every right until set; getChatMember and
// my_chat_member report them; without can_delete_messages the bot deletes
// only its own messages (less than 48 hours old) and no topic.
func TestBotRights(t *testing.T) {
	srv := newServer(t, Options{})
	b := newBot(t, srv)
	ctx := testCtx(t)
	srv.NewForum(forumID, "Support")
	me, err := b.GetMe(ctx)
	if err != nil || me.Username != DefaultBotUsername || !me.IsBot {
		t.Fatalf("getMe = %+v, %v; want the bot @%s", me, err, DefaultBotUsername)
	}
	m, err := b.GetChatMember(ctx, &tgbot.GetChatMemberParams{ChatID: forumID, UserID: me.ID})
	if err != nil {
		t.Fatal(err)
	}
	if a := m.Administrator; m.Type != models.ChatMemberTypeAdministrator || a == nil || !a.CanDeleteMessages || !a.CanManageTopics {
		t.Fatalf("getChatMember(bot) = %+v; want an administrator with every right", m)
	}
	if m, err := b.GetChatMember(ctx, &tgbot.GetChatMemberParams{ChatID: forumID, UserID: 99}); err != nil || m.Type != models.ChatMemberTypeMember {
		t.Fatalf("getChatMember(99) = %+v, %v; want a member", m, err)
	}

	topic, err := b.CreateForumTopic(ctx, &tgbot.CreateForumTopicParams{ChatID: forumID, Name: "Ana"})
	if err != nil {
		t.Fatal(err)
	}
	th := topic.MessageThreadID
	own, err := b.SendMessage(ctx, &tgbot.SendMessageParams{ChatID: forumID, MessageThreadID: th, Text: "card"})
	if err != nil {
		t.Fatal(err)
	}
	old, err := b.SendMessage(ctx, &tgbot.SendMessageParams{ChatID: forumID, MessageThreadID: th, Text: "old"})
	if err != nil {
		t.Fatal(err)
	}
	srv.UserTopicText(forumID, th, 99, "a staff message")
	staffMsg := srv.LastUserMessageID(forumID)

	id := srv.SetBotRights(forumID, Rights{Status: "administrator", CanManageTopics: true})
	ups := getUpdates(t, srv, id)
	if len(ups) == 0 || ups[len(ups)-1].MyChatMember == nil {
		t.Fatalf("no my_chat_member update after SetBotRights: %+v", ups)
	}
	u := ups[len(ups)-1].MyChatMember
	if u.Chat.ID != forumID || u.NewChatMember.Administrator == nil || u.NewChatMember.Administrator.CanDeleteMessages ||
		u.OldChatMember.Administrator == nil || !u.OldChatMember.Administrator.CanDeleteMessages {
		t.Fatalf("my_chat_member = %+v; want the right to delete messages taken away", u)
	}
	m, err = b.GetChatMember(ctx, &tgbot.GetChatMemberParams{ChatID: forumID, UserID: me.ID})
	if err != nil || m.Administrator == nil || m.Administrator.CanDeleteMessages || !m.Administrator.CanManageTopics {
		t.Fatalf("getChatMember(bot) = %+v, %v; want can_manage_topics only", m, err)
	}

	_, err = b.DeleteForumTopic(ctx, &tgbot.DeleteForumTopicParams{ChatID: forumID, MessageThreadID: th})
	wantBadRequest(t, err, "CHAT_ADMIN_REQUIRED")
	_, err = b.DeleteMessages(ctx, &tgbot.DeleteMessagesParams{ChatID: forumID, MessageIDs: []int{own.ID, staffMsg}})
	wantBadRequest(t, err, "message can't be deleted")
	if bot, others := srv.TopicLeft(forumID, th); bot != 2 || others != 1 {
		t.Fatalf("after a refused deleteMessages, TopicLeft = %d, %d; want 2, 1 (nothing deleted)", bot, others)
	}
	_, err = b.DeleteMessage(ctx, &tgbot.DeleteMessageParams{ChatID: forumID, MessageID: staffMsg})
	wantBadRequest(t, err, "message can't be deleted")
	_, err = b.DeleteMessage(ctx, &tgbot.DeleteMessageParams{ChatID: forumID, MessageID: th})
	wantBadRequest(t, err, "message can't be deleted")
	if _, err := b.DeleteMessages(ctx, &tgbot.DeleteMessagesParams{ChatID: forumID, MessageIDs: []int{own.ID, 9999}}); err != nil {
		t.Fatalf("deleteMessages of the bot's own message and a missing one: %v; want it done", err)
	}
	srv.Advance(49 * time.Hour)
	_, err = b.DeleteMessage(ctx, &tgbot.DeleteMessageParams{ChatID: forumID, MessageID: old.ID})
	wantBadRequest(t, err, "message can't be deleted")
	if bot, others := srv.TopicLeft(forumID, th); bot != 1 || others != 1 {
		t.Fatalf("TopicLeft = %d, %d; want 1, 1", bot, others)
	}

	srv.SetBotRights(forumID, Rights{Status: "member"})
	_, err = b.CreateForumTopic(ctx, &tgbot.CreateForumTopicParams{ChatID: forumID, Name: "Bruno"})
	wantBadRequest(t, err, "not enough rights to create a topic")
	if m, err := b.GetChatMember(ctx, &tgbot.GetChatMemberParams{ChatID: forumID, UserID: me.ID}); err != nil || m.Type != models.ChatMemberTypeMember {
		t.Fatalf("getChatMember(bot) = %+v, %v; want a member", m, err)
	}
	srv.SetBotRights(forumID, AllRights())
	if _, err := b.DeleteForumTopic(ctx, &tgbot.DeleteForumTopicParams{ChatID: forumID, MessageThreadID: th}); err != nil {
		t.Fatalf("deleteForumTopic with every right: %v", err)
	}
}

// InitBotRights sets the rights without telling the bot.
func TestInitBotRights(t *testing.T) {
	srv := newServer(t, Options{})
	b := newBot(t, srv)
	ctx := testCtx(t)
	srv.NewForum(forumID, "Support")
	srv.InitBotRights(forumID, Rights{Status: "member"})
	if ups := getUpdates(t, srv, 0); len(ups) != 0 {
		t.Fatalf("updates after InitBotRights = %+v; want none", ups)
	}
	me, err := b.GetMe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if m, err := b.GetChatMember(ctx, &tgbot.GetChatMemberParams{ChatID: forumID, UserID: me.ID}); err != nil || m.Type != models.ChatMemberTypeMember {
		t.Fatalf("getChatMember(bot) = %+v, %v; want a member", m, err)
	}
}
