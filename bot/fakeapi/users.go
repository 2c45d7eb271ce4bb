package fakeapi

import (
	"encoding/json"
	"sort"
	"strconv"

	"github.com/go-telegram/bot/models"
)

// Simulated users. In private chats the chat id is the user id (positive).
// Each method queues one update and returns its update_id.

// SetUserLang sets the language_code the user's updates carry (none by
// default: Telegram leaves it out when the app does not say).
func (s *Server) SetUserLang(userID int64, lang string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.userLocked(userID).lang = lang
	s.notifyLocked()
}

// SetUserName sets the user's first name ("User<id>" by default).
func (s *Server) SetUserName(userID int64, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.userLocked(userID).name = name
	s.notifyLocked()
}

// BlockChat makes every send to the chat answer 403, as when the user blocked
// the bot (or the bot was removed from the group).
func (s *Server) BlockChat(chatID int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.chatLocked(chatID).blocked = true
	s.notifyLocked()
}

// UnblockChat undoes BlockChat.
func (s *Server) UnblockChat(chatID int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.chatLocked(chatID).blocked = false
	s.notifyLocked()
}

// UserBlocksBot is the user blocking the bot in their private chat: sends
// to it answer 403 and, as Telegram does, a my_chat_member update says the
// bot's status went from member to kicked. It returns the update's id.
func (s *Server) UserBlocksBot(chatID int64) int64 {
	return s.privateStatus(chatID, true)
}

// UserUnblocksBot undoes UserBlocksBot, with its my_chat_member update
// (kicked to member).
func (s *Server) UserUnblocksBot(chatID int64) int64 {
	return s.privateStatus(chatID, false)
}

func (s *Server) privateStatus(chatID int64, blocked bool) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, u := s.privateLocked(chatID)
	c.blocked = blocked
	old, now := "member", "kicked"
	if !blocked {
		old, now = now, old
	}
	bot := s.botUser()
	status := func(st string) map[string]any {
		m := map[string]any{"status": st, "user": bot}
		if st == "kicked" {
			m["until_date"] = 0
		}
		return m
	}
	payload, _ := json.Marshal(map[string]any{
		"chat": s.chatObj(c), "from": s.userObj(u), "date": s.clock.Unix(),
		"old_chat_member": status(old), "new_chat_member": status(now),
	})
	return s.enqueueLocked(models.AllowedUpdateMyChatMember, chatID, payload, true)
}

// privateLocked is the private chat of a user and the user.
func (s *Server) privateLocked(chatID int64) (*chat, *user) {
	c := s.chatLocked(chatID)
	uid := chatID
	if c.typ != chatPrivate {
		uid = c.lastUser
		if uid == 0 {
			uid = 1
		}
	}
	return c, s.userLocked(uid)
}

func (s *Server) queueMessageLocked(kind string, m *message) int64 {
	return s.enqueueLocked(kind, m.w.Chat.ID, m.json(), true)
}

// UserText queues a text message from the user. Bot commands ("/start",
// "/start@aimabot payload") get bot_command entities as Telegram sets them.
func (s *Server) UserText(chatID int64, text string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, u := s.privateLocked(chatID)
	m := s.newUserMessageLocked(c, u, 0)
	m.w.Text, m.w.Entities = text, commandEntities(text)
	return s.queueMessageLocked(models.AllowedUpdateMessage, m)
}

// UserPress queues a callback_query: the user pressed a button with this
// callback data on the message messageID. The query carries the message as
// the fake stores it now (text and reply_markup as last set), or an
// inaccessible message when there is none.
func (s *Server) UserPress(chatID int64, messageID int, data string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, u := s.privateLocked(chatID)
	return s.pressLocked(c, u, messageID, data)
}

// GroupPress queues a callback_query from userID, who pressed a button with
// this callback data on the bot's message messageID in the group or
// supergroup chatID. The query's message is the group's message as the fake
// stores it now (with message_thread_id and is_topic_message when it is in a
// topic), or an inaccessible message when there is none.
func (s *Server) GroupPress(chatID, userID int64, messageID int, data string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pressLocked(s.chatLocked(chatID), s.userLocked(userID), messageID, data)
}

type callbackQuery struct {
	ID           string          `json:"id"`
	From         models.User     `json:"from"`
	Message      json.RawMessage `json:"message,omitempty"`
	ChatInstance string          `json:"chat_instance"`
	Data         string          `json:"data,omitempty"`
}

func (s *Server) pressLocked(c *chat, u *user, messageID int, data string) int64 {
	s.querySeq++
	qid := strconv.FormatInt(4_000_000_000_000_000_000+s.botID%1000*1_000_000_000+s.querySeq, 10)
	s.queries[qid] = &query{chat: c.id, msgID: messageID}
	q := callbackQuery{
		ID:           qid,
		From:         s.userObj(u),
		ChatInstance: strconv.FormatUint(uint64(c.id)^0x5deece66d, 10),
		Data:         data,
	}
	if m := c.msgs[messageID]; m != nil && !m.deleted {
		q.Message = m.json()
	} else {
		q.Message, _ = json.Marshal(models.InaccessibleMessage{Chat: s.chatObj(c), MessageID: messageID})
	}
	payload, _ := json.Marshal(q)
	return s.enqueueLocked(models.AllowedUpdateCallbackQuery, c.id, payload, true)
}

// UserPressLabel presses the inline button with this label on the most
// recent bot message in the chat that has one.
func (s *Server) UserPressLabel(chatID int64, label string) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	msgID, data, err := s.findButtonLocked(chatID, label)
	if err != nil {
		return 0, err
	}
	c, u := s.privateLocked(chatID)
	return s.pressLocked(c, u, msgID, data), nil
}

// GroupPressLabel is GroupPress on the most recent bot message in the chat
// with an inline button of this label.
func (s *Server) GroupPressLabel(chatID, userID int64, label string) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	msgID, data, err := s.findButtonLocked(chatID, label)
	if err != nil {
		return 0, err
	}
	return s.pressLocked(s.chatLocked(chatID), s.userLocked(userID), msgID, data), nil
}

// findButtonLocked finds the callback data of the button with this label on
// the most recent bot message in the chat that has one.
func (s *Server) findButtonLocked(chatID int64, label string) (int, string, error) {
	c := s.chats[chatID]
	if c == nil {
		return 0, "", errorf("chat %d has no messages", chatID)
	}
	for i := len(c.order) - 1; i >= 0; i-- {
		m := c.order[i]
		if m.deleted {
			continue
		}
		for _, row := range m.buttons {
			for _, b := range row {
				if b.Label != label {
					continue
				}
				if b.Data == "" {
					return 0, "", errorf("button %q of message %d in chat %d has no callback data", label, m.w.ID, chatID)
				}
				return m.w.ID, b.Data, nil
			}
		}
	}
	return 0, "", errorf("no bot message in chat %d has a button %q", chatID, label)
}

// UserPhoto queues a photo message: the bytes are stored as a file and the
// message has three sizes, the largest pointing to the bytes.
func (s *Server) UserPhoto(chatID int64, jpeg []byte, caption string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.userPhotoLocked(chatID, jpeg, caption)
	return s.queueMessageLocked(models.AllowedUpdateMessage, m)
}

func (s *Server) userPhotoLocked(chatID int64, data []byte, caption string) *message {
	c, u := s.privateLocked(chatID)
	m := s.newUserMessageLocked(c, u, 0)
	attachMedia(m, s.addPhotoLocked(data))
	m.w.Caption = caption
	return m
}

// UserAlbum queues several photo messages sharing one media_group_id, one
// update each, with consecutive ids.
func (s *Server) UserAlbum(chatID int64, images [][]byte) []int64 {
	return s.UserAlbumCaption(chatID, images, "")
}

// UserAlbumCaption is UserAlbum with a caption on the first photo, as
// Telegram's apps send an album's caption.
func (s *Server) UserAlbumCaption(chatID int64, images [][]byte, caption string) []int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	group := s.newMediaGroupLocked()
	ids := make([]int64, 0, len(images))
	for i, img := range images {
		m := s.userPhotoLocked(chatID, img, "")
		if i == 0 {
			m.w.Caption = caption
		}
		m.w.MediaGroupID = group
		ids = append(ids, s.queueMessageLocked(models.AllowedUpdateMessage, m))
	}
	return ids
}

// UserDocument queues a document message whose bytes getFile serves.
func (s *Server) UserDocument(chatID int64, name, mime string, data []byte) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.addFileLocked(fileKindDocument, name, data, int64(len(data)))
	f.mime = mime
	return s.userFileLocked(chatID, f)
}

// UserBigDocument queues a document of the given size without bytes; with a
// size over 20 MB getFile answers "file is too big", as for real.
func (s *Server) UserBigDocument(chatID int64, name, mime string, size int64) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.addFileLocked(fileKindDocument, name, nil, size)
	f.mime = mime
	return s.userFileLocked(chatID, f)
}

// UserSticker queues a sticker message.
func (s *Server) UserSticker(chatID int64) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.userFileLocked(chatID, s.stickerLocked())
}

// stickerLocked registers a sticker file.
func (s *Server) stickerLocked() *file {
	data := []byte("RIFF\x1a\x00\x00\x00WEBPVP8 \x0e\x00\x00\x00fake sticker..")
	return s.addFileLocked(fileKindSticker, "", data, int64(len(data)))
}

// UserVoice queues a voice message.
func (s *Server) UserVoice(chatID int64) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	data := []byte("OggS\x00\x02fake voice note")
	return s.userFileLocked(chatID, s.addFileLocked(fileKindVoice, "", data, int64(len(data))))
}

func (s *Server) userFileLocked(chatID int64, f *file) int64 {
	c, u := s.privateLocked(chatID)
	m := s.newUserMessageLocked(c, u, 0)
	attachMedia(m, f)
	return s.queueMessageLocked(models.AllowedUpdateMessage, m)
}

// UserLocation queues a location message (Lisbon).
func (s *Server) UserLocation(chatID int64) int64 {
	return s.userMessage(chatID, func(m *message, _ *user) {
		m.w.Location = &models.Location{Latitude: 38.7223, Longitude: -9.1393}
	})
}

// UserContact queues a contact message: the user shares their own contact.
func (s *Server) UserContact(chatID int64) int64 {
	return s.userMessage(chatID, func(m *message, u *user) {
		m.w.Contact = &models.Contact{PhoneNumber: "+351912345678", FirstName: u.name, UserID: u.id}
	})
}

// userMessage queues a message of the private chat's user, filled by fill.
func (s *Server) userMessage(chatID int64, fill func(m *message, u *user)) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, u := s.privateLocked(chatID)
	m := s.newUserMessageLocked(c, u, 0)
	fill(m, u)
	return s.queueMessageLocked(models.AllowedUpdateMessage, m)
}

// UserEdit queues an edited_message: the user changed the text of their
// message messageID (one is made up if it does not exist).
func (s *Server) UserEdit(chatID int64, messageID int, newText string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, u := s.privateLocked(chatID)
	m := c.msgs[messageID]
	if m == nil || m.fromBot {
		m = &message{kind: kindUser, sent: s.clock}
		m.w.ID, m.w.Date, m.w.Chat = messageID, int(s.clock.Unix()), s.chatObj(c)
		from := s.userObj(u)
		m.w.From = &from
		if m.w.ID > c.nextMsg {
			c.nextMsg = m.w.ID
		}
		c.msgs[messageID] = m
	}
	if m.media {
		m.w.Caption = newText
	} else {
		m.w.Text, m.w.Entities = newText, commandEntities(newText)
	}
	m.w.EditDate = int(s.clock.Unix())
	return s.queueMessageLocked(models.AllowedUpdateEditedMessage, m)
}

// GroupText queues a text message from userID in a group chat (negative
// id); chatType is "group" or "supergroup" ("" keeps the chat's type).
func (s *Server) GroupText(chatID, userID int64, text, chatType string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.chatLocked(chatID)
	if chatType == chatGroup || chatType == chatSupergroup {
		c.typ = chatType
	}
	m := s.newUserMessageLocked(c, s.userLocked(userID), 0)
	m.w.Text, m.w.Entities = text, commandEntities(text)
	return s.queueMessageLocked(models.AllowedUpdateMessage, m)
}

// ChannelPost queues a channel_post in a channel (negative id).
func (s *Server) ChannelPost(chatID int64, text string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.chatLocked(chatID)
	c.typ = chatChannel
	m := s.newMessageLocked(c, 0)
	m.kind = kindUser
	sender := s.chatObj(c)
	m.w.SenderChat = &sender
	m.w.Text, m.w.Entities = text, commandEntities(text)
	return s.queueMessageLocked(models.AllowedUpdateChannelPost, m)
}

// UserTopicText queues a message from userID in the forum topic threadID of
// a supergroup (0: the General topic). An unknown topic is created.
func (s *Server) UserTopicText(chatID int64, threadID int, userID int64, text string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.topicMessageLocked(chatID, threadID, userID)
	m.w.Text, m.w.Entities = text, commandEntities(text)
	return s.queueMessageLocked(models.AllowedUpdateMessage, m)
}

// TopicPhoto queues a photo from userID in a forum topic, as UserPhoto
// does in a private chat.
func (s *Server) TopicPhoto(chatID int64, threadID int, userID int64, jpeg []byte, caption string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.topicMessageLocked(chatID, threadID, userID)
	attachMedia(m, s.addPhotoLocked(jpeg))
	m.w.Caption = caption
	return s.queueMessageLocked(models.AllowedUpdateMessage, m)
}

// TopicDocument queues a document from userID in a forum topic; getFile
// serves its bytes.
func (s *Server) TopicDocument(chatID int64, threadID int, userID int64, name, mime string, data []byte, caption string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.addFileLocked(fileKindDocument, name, data, int64(len(data)))
	f.mime = mime
	m := s.topicMessageLocked(chatID, threadID, userID)
	attachMedia(m, f)
	m.w.Caption = caption
	return s.queueMessageLocked(models.AllowedUpdateMessage, m)
}

// TopicAlbum queues an album from userID in a forum topic: one photo
// message (and update) per image, sharing a media_group_id, the caption on
// the first.
func (s *Server) TopicAlbum(chatID int64, threadID int, userID int64, images [][]byte, caption string) []int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	group := s.newMediaGroupLocked()
	ids := make([]int64, 0, len(images))
	for i, img := range images {
		m := s.topicMessageLocked(chatID, threadID, userID)
		attachMedia(m, s.addPhotoLocked(img))
		if i == 0 {
			m.w.Caption = caption
		}
		m.w.MediaGroupID = group
		ids = append(ids, s.queueMessageLocked(models.AllowedUpdateMessage, m))
	}
	return ids
}

// TopicSticker queues a sticker from userID in a forum topic.
func (s *Server) TopicSticker(chatID int64, threadID int, userID int64) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.topicMessageLocked(chatID, threadID, userID)
	attachMedia(m, s.stickerLocked())
	return s.queueMessageLocked(models.AllowedUpdateMessage, m)
}

// topicMessageLocked allocates a message from userID in the topic threadID
// of the forum chatID (0: the General topic, whose messages have no
// message_thread_id). The chat becomes a forum supergroup and an unknown
// topic is created, with its forum_topic_created message at id threadID.
// As in Telegram, a message in a topic other than General replies to that
// service message: its reply_to_message is the topic's root.
func (s *Server) topicMessageLocked(chatID int64, threadID int, userID int64) *message {
	c := s.chatLocked(chatID)
	c.typ, c.forum = chatSupergroup, true
	u := s.userLocked(userID)
	if threadID > 0 && c.topics[threadID] == nil {
		const color = 7322096
		t := s.addTopicLocked(c, threadID, "Topic "+strconv.Itoa(threadID), color)
		if threadID > c.nextMsg {
			c.nextMsg = threadID
		}
		if c.msgs[threadID] == nil {
			root := &message{kind: kindService, sent: s.clock}
			root.w.ID, root.w.Date, root.w.Chat = threadID, int(s.clock.Unix()), s.chatObj(c)
			from := s.userObj(u)
			root.w.From = &from
			root.w.ForumTopicCreated = &models.ForumTopicCreated{Name: t.Name, IconColor: color}
			root.w.MessageThreadID, root.w.IsTopicMessage = threadID, true
			c.msgs[threadID] = root
		}
	}
	m := s.newUserMessageLocked(c, u, threadID)
	if root := c.msgs[threadID]; threadID > 0 && root != nil && !root.deleted && root.w.ForumTopicCreated != nil {
		s.setReply(m, root)
	}
	return m
}

// MigrateGroup upgrades the basic group oldID (-10^12 < oldID < 0) to the
// supergroup newID (newID <= -10^12), with topics enabled, as Telegram does
// when a group's owner turns on topics. Later writes to oldID (sends,
// copies, edits, deletions, topic calls) answer 400 "group chat was
// upgraded to a supergroup chat" with parameters.migrate_to_chat_id. It
// queues the two service messages Telegram sends: migrate_to_chat_id in the
// old chat (from the group's last user) and migrate_from_chat_id in the new
// one (from GroupAnonymousBot on behalf of the supergroup). It panics on
// ids outside those ranges.
func (s *Server) MigrateGroup(oldID, newID int64) {
	if oldID >= 0 || oldID <= -1_000_000_000_000 || newID > -1_000_000_000_000 {
		panic(errorf("MigrateGroup(%d, %d): want a basic group id in (-10^12, 0) and a supergroup id <= -10^12", oldID, newID))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.chatLocked(oldID)
	old.typ, old.forum = chatGroup, false
	nc := s.chatLocked(newID)
	nc.typ, nc.forum, nc.title = chatSupergroup, true, old.title
	old.migratedTo = newID

	uid := old.lastUser
	if uid == 0 {
		uid = 1
	}
	to := s.newMessageLocked(old, 0)
	from := s.userObj(s.userLocked(uid))
	to.w.From, to.kind = &from, kindService
	to.w.MigrateToChatID = newID
	s.queueMessageLocked(models.AllowedUpdateMessage, to)

	fm := s.newMessageLocked(nc, 0)
	anon := models.User{ID: groupAnonymousBot, IsBot: true, FirstName: "Group", Username: "GroupAnonymousBot"}
	sender := s.chatObj(nc)
	fm.w.From, fm.w.SenderChat, fm.kind = &anon, &sender, kindService
	fm.w.MigrateFromChatID = oldID
	s.queueMessageLocked(models.AllowedUpdateMessage, fm)
}

// groupAnonymousBot is the user id Telegram puts in from for messages sent
// on behalf of a group.
const groupAnonymousBot = 1087968824

// DeleteTopic deletes a forum topic as an administrator would: later sends
// to it answer "message thread not found".
func (s *Server) DeleteTopic(chatID int64, threadID int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.chatLocked(chatID)
	t := c.topics[threadID]
	if t == nil {
		t = s.addTopicLocked(c, threadID, "Topic "+strconv.Itoa(threadID), 7322096)
	}
	s.deleteTopicLocked(c, t)
	s.notifyLocked()
}

// RawUpdate queues arbitrary update JSON (an object, such as an update type
// the fake does not model); update_id is set, whatever the JSON says.
// allowed_updates does not filter raw updates. It returns 0, queuing
// nothing, when raw is not a JSON object.
func (s *Server) RawUpdate(raw []byte) int64 {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil || obj == nil {
		s.logf("RawUpdate: not a JSON object: %v", err)
		return 0
	}
	delete(obj, "update_id")
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	kind := "unknown"
	if len(keys) > 0 {
		kind = keys[0]
	}
	var chat int64
	for _, k := range keys {
		var probe struct {
			Chat    *struct{ ID int64 } `json:"chat"`
			Message *struct {
				Chat struct{ ID int64 } `json:"chat"`
			} `json:"message"`
		}
		if json.Unmarshal(obj[k], &probe) != nil {
			continue
		}
		if probe.Chat != nil {
			chat = probe.Chat.ID
		} else if probe.Message != nil {
			chat = probe.Message.Chat.ID
		}
		if chat != 0 {
			kind = k
			break
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	id := s.nextUpdate
	s.nextUpdate++
	obj["update_id"] = json.RawMessage(strconv.FormatInt(id, 10))
	body, err := json.Marshal(obj)
	if err != nil {
		s.logf("RawUpdate: %v", err)
		return 0
	}
	s.pending = append(s.pending, &update{id: id, kind: kind, chat: chat, body: body})
	s.notifyLocked()
	return id
}
