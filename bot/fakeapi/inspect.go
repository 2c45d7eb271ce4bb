package fakeapi

import (
	"slices"
	"strings"
	"time"

	"github.com/go-telegram/bot/models"
)

// Message is a message the bot sent, as the user sees it now (after edits).
type Message struct {
	ID       int
	Chat     int64
	ThreadID int
	// Text is the visible text, trimmed as Telegram trims it.
	Text    string
	Caption string
	// Kind is "text", "photo", "document", "media_group_item" or "copy".
	Kind string
	// FileID is the file of a photo (its largest size), document or copy.
	FileID string
	// Buttons is the inline keyboard.
	Buttons [][]Button
	// Keyboard holds the labels of a reply keyboard sent with the message.
	Keyboard [][]string
	// Edits counts successful edits.
	Edits int
	// Sent is the fake clock's time when the message was sent.
	Sent time.Time
	// ReplyTo is the id of the message this one replies to, or 0.
	ReplyTo int
	// MediaGroupID is set on items of a media group.
	MediaGroupID string
	// Entities are the text's entities as stored: those the bot sent (text
	// links) and those Telegram finds itself (commands).
	Entities []models.MessageEntity
	// Protected is a message sent with protect_content: it cannot be
	// forwarded or saved.
	Protected bool
}

// Button is an inline keyboard button.
type Button struct {
	Label string
	Data  string
	URL   string
}

// Call is a request the server answered.
type Call struct {
	Method string
	// Params are the request's parameters; uploaded files appear as
	// "@<file name>".
	Params map[string]string
	// At is the real time the call was answered.
	At time.Time
	// Status is the HTTP status answered (0 for a dropped connection, 499
	// when the client went away first).
	Status int
}

// CallbackAnswer is an answerCallbackQuery the bot made.
type CallbackAnswer struct {
	QueryID   string
	Text      string
	ShowAlert bool
	Chat      int64
	MessageID int
}

// BotCommand is a command set with setMyCommands.
type BotCommand struct {
	Command     string `json:"command"`
	Description string `json:"description"`
}

// Topic is a forum topic of a supergroup.
type Topic struct {
	ThreadID  int
	Name      string
	IconColor int
	Closed    bool
	Deleted   bool
}

func (m *message) view() Message {
	v := Message{
		ID:           m.w.ID,
		Chat:         m.w.Chat.ID,
		ThreadID:     m.w.MessageThreadID,
		Text:         m.w.Text,
		Caption:      m.w.Caption,
		Kind:         m.kind,
		FileID:       m.fileID,
		Protected:    m.w.HasProtectedContent,
		Edits:        m.edits,
		Sent:         m.sent,
		ReplyTo:      m.replyTo,
		MediaGroupID: m.w.MediaGroupID,
		Entities:     slices.Clone(m.w.Entities),
	}
	for _, row := range m.buttons {
		v.Buttons = append(v.Buttons, append([]Button(nil), row...))
	}
	for _, row := range m.reply {
		v.Keyboard = append(v.Keyboard, append([]string(nil), row...))
	}
	return v
}

// Messages returns the bot's messages in a chat that were not deleted, in
// the order they were sent, as they are now.
func (s *Server) Messages(chatID int64) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.chats[chatID]
	if c == nil {
		return nil
	}
	out := make([]Message, 0, len(c.order))
	for _, m := range c.order {
		if !m.deleted {
			out = append(out, m.view())
		}
	}
	return out
}

// TopicMessages returns the bot's messages in the forum topic threadID of a
// chat (0: the General topic, that is messages without message_thread_id)
// that were not deleted, in the order they were sent, as they are now.
func (s *Server) TopicMessages(chatID int64, threadID int) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.chats[chatID]
	if c == nil {
		return nil
	}
	out := []Message{}
	for _, m := range c.order {
		if !m.deleted && m.w.MessageThreadID == threadID {
			out = append(out, m.view())
		}
	}
	return out
}

// LastUserMessageID is the id of the most recent message a user (not the
// bot) sent in a chat, as queued by UserText, GroupText, UserTopicText,
// TopicPhoto and the like; service messages do not count. It is 0 when
// there is none.
func (s *Server) LastUserMessageID(chatID int64) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.chats[chatID]; c != nil {
		return c.lastUserMsg
	}
	return 0
}

// LastMessage returns the bot's most recent message in a chat.
func (s *Server) LastMessage(chatID int64) (Message, bool) {
	msgs := s.Messages(chatID)
	if len(msgs) == 0 {
		return Message{}, false
	}
	return msgs[len(msgs)-1], true
}

// Calls returns the recorded calls of a method (case-insensitive), or of
// all methods when method is "". File downloads are recorded as method
// "file" with the parameter file_path.
func (s *Server) Calls(method string) []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Call
	for _, c := range s.calls {
		if method == "" || strings.EqualFold(c.Method, method) {
			out = append(out, c)
		}
	}
	return out
}

// CallbackAnswers returns the bot's answers to callback queries, in order.
func (s *Server) CallbackAnswers() []CallbackAnswer {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]CallbackAnswer(nil), s.answers...)
}

// Commands returns the bot's commands keyed by language_code ("" is the
// default), as last set for any scope.
func (s *Server) Commands() map[string][]BotCommand {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string][]BotCommand, len(s.latestCmds))
	for k, v := range s.latestCmds {
		out[k] = append([]BotCommand(nil), v...)
	}
	return out
}

// TooManyRequests is how many 429 answers the server gave (flood limits and
// injected faults).
func (s *Server) TooManyRequests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tooMany
}

// Topics returns the forum topics of a chat in creation order.
func (s *Server) Topics(chatID int64) []Topic {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.chats[chatID]
	if c == nil {
		return nil
	}
	out := make([]Topic, 0, len(c.topicIDs))
	for _, id := range c.topicIDs {
		out = append(out, c.topics[id].Topic)
	}
	return out
}

// Pending is the number of updates queued and not yet confirmed.
func (s *Server) Pending() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.pending)
}

// Confirmed is the highest update_id confirmed (by a getUpdates offset or a
// successful webhook delivery).
func (s *Server) Confirmed() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.confirmed
}

// Panics counts requests that made a handler panic (answered 500). It
// should stay 0; tests can assert it.
func (s *Server) Panics() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.panics
}

// Polls is the number of getUpdates long polls waiting for updates now.
func (s *Server) Polls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.polls
}

// File returns a file the server holds, by its file id: its name (for a
// document) and its bytes (nil when the server does not have them).
func (s *Server) File(fileID string) (name string, data []byte, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.files[fileID]
	if f == nil {
		return "", nil, false
	}
	return f.name, append([]byte(nil), f.data...), true
}

// Descriptions returns the bot's descriptions and short descriptions as
// set, by language code ("" for the default).
func (s *Server) Descriptions() (long, short map[string]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	long, short = map[string]string{}, map[string]string{}
	for k, v := range s.descriptions {
		long[k] = v
	}
	for k, v := range s.shortDescs {
		short[k] = v
	}
	return long, short
}
