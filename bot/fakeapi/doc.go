// Package fakeapi is a fake Telegram Bot API server for end-to-end tests,
// benchmarks and the load test (cmd/aimabot-load); the aimabot binary does
// not link it. It speaks Telegram's wire format, so the real go-telegram/bot
// client and the project's own getUpdates and webhook intake talk to it
// exactly as they would talk to api.telegram.org.
//
// A short tour:
//
//	srv := fakeapi.New(fakeapi.Options{})
//	defer srv.Close()
//	b, _ := tgbot.New(srv.Token(), tgbot.WithServerURL(srv.URL()), tgbot.WithSkipGetMe())
//
//	srv.SetUserLang(42, "pt-BR")
//	srv.UserText(42, "/start")            // queue an update, as user 42 would
//	msgs, err := srv.WaitMessages(ctx, 42, 1) // what the user now sees
//	_, err = srv.UserPressLabel(42, "Yes") // press a button of the bot's last keyboard
//
// Simulated users queue updates with increasing update_id and per-chat
// message_id, dated by a fake clock (SetNow, Advance):
//
//   - private chats: UserText, UserPhoto, UserAlbum, UserAlbumCaption,
//     UserDocument, UserBigDocument, UserSticker, UserVoice, UserLocation,
//     UserContact, UserEdit, and button presses with UserPress and
//     UserPressLabel;
//   - groups and channels: GroupText, ChannelPost, and presses by a given
//     user with GroupPress and GroupPressLabel;
//   - forum supergroups (a support staff group): NewForum makes one;
//     UserTopicText, TopicPhoto, TopicDocument, TopicAlbum and TopicSticker
//     post as a staff member in a topic (thread 0 is General), creating an
//     unknown topic; DeleteTopic deletes one by hand;
//   - MigrateGroup upgrades a basic group to a forum supergroup: the two
//     migration service messages are queued and later writes to the old id
//     answer "group chat was upgraded to a supergroup chat" with
//     migrate_to_chat_id;
//   - SetBotRights changes the bot's status and administrator rights in a
//     group (every right until set) and queues my_chat_member (InitBotRights
//     sets them without an update, as they were before); getChatMember
//     reports them. Without can_delete_messages, deleteForumTopic answers
//     CHAT_ADMIN_REQUIRED and the bot deletes only its own messages less
//     than 48 hours old ("message can't be deleted"; deleteMessages fails
//     whole and deletes nothing); without can_manage_topics,
//     createForumTopic is refused. TopicLeft counts what is left in a topic;
//   - RawUpdate queues any update JSON.
//
// LastUserMessageID tells the message_id of the last message a user sent in
// a chat. Updates are served by getUpdates with Telegram's offset semantics
// and long polling, or, once setWebhook was called, POSTed to the webhook
// one at a time per chat with retries.
//
// Every request is recorded (Calls) and the bot's messages are kept as the
// user would see them after edits (Messages, LastMessage, TopicMessages for
// one forum topic; Topics lists the topics). The server validates what
// Telegram validates and a bot could plausibly get wrong: empty or too long
// texts and captions (including copies of a user's caption longer than a
// bot may send), invalid inline keyboards
// (including the empty copy_text that go-telegram/bot's
// models.InlineKeyboardButton always sends), media groups mixing documents
// with other media, edits of missing or unchanged messages, stale callback
// queries, big files, blocked or migrated chats and deleted or closed forum
// topics, answering with Telegram's own error descriptions. Copies keep
// album grouping as Telegram does: copyMessages gives the copies of an
// album's messages a new media_group_id.
//
// It does not emulate parse_mode (HTML or Markdown markup), which the bot
// never sends: a request with any parse_mode is answered 400, "parse_mode is
// not emulated by the fake Bot API", so a bot that starts using it fails its
// tests rather than passing against markup nobody checked.
//
// Failures can be provoked: Inject queues faults (429 with retry_after, 5xx,
// slow answers, answers late to a request already done, dropped
// connections) for matching requests, file downloads included (Method
// "file"), BlockChat makes a
// chat answer 403, and Options.Limits emulates Telegram's flood limits with
// token buckets.
//
// Tests wait with WaitFor or WaitMessages, which re-check their condition
// whenever the server's state changes; nothing here needs sleeping.
//
// The server never logs message texts; Options.Logf only receives method
// names, ids and errors.
package fakeapi
