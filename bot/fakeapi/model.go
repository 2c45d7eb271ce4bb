package fakeapi

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/go-telegram/bot/models"
)

// Chat types, as Telegram names them.
const (
	chatPrivate    = "private"
	chatGroup      = "group"
	chatSupergroup = "supergroup"
	chatChannel    = "channel"
)

// Message kinds reported by Message.Kind.
const (
	KindText      = "text"
	KindPhoto     = "photo"
	KindDocument  = "document"
	KindMediaItem = "media_group_item"
	KindCopy      = "copy"
	kindService   = "service"
	kindUser      = "user"
)

type chat struct {
	id       int64
	typ      string
	title    string
	forum    bool
	nextMsg  int
	msgs     map[int]*message
	order    []*message // the bot's messages, in the order they were sent
	blocked  bool
	topics   map[int]*topic
	topicIDs []int
	lastUser int64
	// lastUserMsg is the id of the last message a user sent (not service
	// messages, not the bot's).
	lastUserMsg int
	// migratedTo is the supergroup a basic group was upgraded to (0 if
	// none); writes to the group then answer "group chat was upgraded".
	migratedTo int64
	// rights are the bot's in a group (nil: an administrator with every
	// right).
	rights *Rights
}

type topic struct {
	Topic
}

type user struct {
	id   int64
	name string
	lang string
}

// message is a message of a chat: the wire form (without reply_markup, kept
// apart in Telegram's normalised form) and what tests inspect.
type message struct {
	w       models.Message
	markup  json.RawMessage
	fromBot bool
	deleted bool
	media   bool
	kind    string
	fileID  string
	buttons [][]Button
	reply   [][]string
	edits   int
	sent    time.Time
	replyTo int
}

// json is the message as Telegram sends it.
func (m *message) json() json.RawMessage {
	b, err := json.Marshal(&m.w)
	if err != nil {
		// models.Message has no field that can fail to encode; keep the
		// identity at least.
		b, _ = json.Marshal(map[string]any{"message_id": m.w.ID, "date": m.w.Date, "chat": m.w.Chat})
	}
	if len(m.markup) > 0 && len(b) > 1 && b[len(b)-1] == '}' {
		out := make([]byte, 0, len(b)+len(m.markup)+16)
		out = append(out, b[:len(b)-1]...)
		out = append(out, `,"reply_markup":`...)
		out = append(out, m.markup...)
		out = append(out, '}')
		b = out
	}
	return b
}

func (m *message) setKeyboard(kb *keyboard) {
	m.markup, m.buttons, m.reply = nil, nil, nil
	if kb == nil {
		return
	}
	m.markup, m.buttons, m.reply = kb.inline, kb.buttons, kb.reply
}

type file struct {
	id     string
	unique string
	size   int64
	path   string
	data   []byte
	kind   string
	name   string
	mime   string
	photo  []models.PhotoSize // the photo this file belongs to, ascending
	width  int
	height int
}

type query struct {
	chat     int64
	msgID    int
	answered bool
}

type update struct {
	id       int64
	kind     string
	chat     int64
	body     []byte
	attempts int
	retryAt  time.Time
	inflight bool
}

type commandsKey struct {
	scope string
	lang  string
}

// chatLocked returns the chat with this id, creating it: positive ids are
// private chats, ids below -10^12 supergroups, other negative ids groups.
func (s *Server) chatLocked(id int64) *chat {
	if c := s.chats[id]; c != nil {
		return c
	}
	c := &chat{id: id, msgs: map[int]*message{}, topics: map[int]*topic{}}
	switch {
	case id > 0:
		c.typ = chatPrivate
	case id <= -1_000_000_000_000:
		c.typ = chatSupergroup
	default:
		c.typ = chatGroup
	}
	if id < 0 {
		c.title = "Group " + strconv.FormatInt(-id, 10)
	}
	s.chats[id] = c
	return c
}

func (s *Server) userLocked(id int64) *user {
	if u := s.users[id]; u != nil {
		return u
	}
	u := &user{id: id, name: "User" + strconv.FormatInt(id, 10)}
	s.users[id] = u
	return u
}

func (s *Server) chatObj(c *chat) models.Chat {
	if c.typ == chatPrivate {
		u := s.userLocked(c.id)
		return models.Chat{ID: c.id, Type: chatPrivate, FirstName: u.name}
	}
	return models.Chat{ID: c.id, Type: models.ChatType(c.typ), Title: c.title, IsForum: c.forum}
}

func (s *Server) userObj(u *user) models.User {
	return models.User{ID: u.id, FirstName: u.name, LanguageCode: u.lang}
}

func (s *Server) botUser() models.User {
	return models.User{ID: s.botID, IsBot: true, FirstName: s.opts.BotUsername, Username: s.opts.BotUsername}
}

// newMessageLocked allocates the next message of a chat.
func (s *Server) newMessageLocked(c *chat, thread int) *message {
	c.nextMsg++
	m := &message{sent: s.clock}
	m.w.ID = c.nextMsg
	m.w.Date = int(s.clock.Unix())
	m.w.Chat = s.chatObj(c)
	if thread != 0 && c.typ != chatPrivate {
		m.w.MessageThreadID = thread
		m.w.IsTopicMessage = c.forum
	}
	c.msgs[m.w.ID] = m
	return m
}

// newBotMessageLocked allocates a message sent by the bot.
func (s *Server) newBotMessageLocked(c *chat, thread int, kind string) *message {
	m := s.newMessageLocked(c, thread)
	bot := s.botUser()
	m.w.From = &bot
	m.fromBot = true
	m.kind = kind
	c.order = append(c.order, m)
	return m
}

// newUserMessageLocked allocates a message sent by a user.
func (s *Server) newUserMessageLocked(c *chat, u *user, thread int) *message {
	m := s.newMessageLocked(c, thread)
	from := s.userObj(u)
	m.w.From = &from
	m.kind = kindUser
	c.lastUser = u.id
	c.lastUserMsg = m.w.ID
	return m
}

func defaultAllowed() map[string]bool {
	all := []string{
		models.AllowedUpdateMessage, models.AllowedUpdateEditedMessage, models.AllowedUpdateChannelPost,
		models.AllowedUpdateEditedChannelPost, models.AllowedUpdateBusinessConnection,
		models.AllowedUpdateBusinessMessage, models.AllowedUpdateEditedBusinessMessage,
		models.AllowedUpdateDeletedBusinessMessages, models.AllowedUpdateInlineQuery,
		models.AllowedUpdateChosenInlineResult, models.AllowedUpdateCallbackQuery,
		models.AllowedUpdateShippingQuery, models.AllowedUpdatePreCheckoutQuery,
		models.AllowedUpdatePurchasedPaidMedia, models.AllowedUpdatePoll, models.AllowedUpdatePollAnswer,
		models.AllowedUpdateMyChatMember, models.AllowedUpdateChatJoinRequest,
		models.AllowedUpdateChatBoost, models.AllowedUpdateRemovedChatBoost,
	}
	m := make(map[string]bool, len(all))
	for _, k := range all {
		m[k] = true
	}
	return m
}
