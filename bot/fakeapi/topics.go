package fakeapi

import (
	"strings"

	"github.com/go-telegram/bot/models"
)

// Telegram's topic icon colours; the first is the default.
func validIconColor(c int) bool {
	switch c {
	case 7322096, 16766590, 13338331, 9367192, 16749490, 16478047:
		return true
	}
	return false
}

// NewForum makes chatID a supergroup with topics enabled (is_forum), titled
// title when it is not empty, without sending any message. It panics on a
// chat id that is not negative.
func (s *Server) NewForum(chatID int64, title string) {
	if chatID >= 0 {
		panic(errorf("NewForum(%d): a forum is a supergroup, with a negative id", chatID))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.chatLocked(chatID)
	c.typ, c.forum = chatSupergroup, true
	if title != "" {
		c.title = title
	}
	s.notifyLocked()
}

// forum resolves the chat of a topic call; only supergroups have topics.
func (s *Server) forum(r *request) (*chat, *apiError) {
	c, aerr := s.writable(r)
	if aerr != nil {
		return nil, aerr
	}
	if c.typ != chatSupergroup {
		return nil, badRequest("the chat is not a forum")
	}
	return c, nil
}

// liveTopic resolves message_thread_id to a topic that was not deleted.
func (s *Server) liveTopic(r *request) (*chat, *topic, *apiError) {
	c, aerr := s.forum(r)
	if aerr != nil {
		return nil, nil, aerr
	}
	t := c.topics[r.int("message_thread_id")]
	if t == nil || t.Deleted {
		return nil, nil, badRequest("TOPIC_ID_INVALID")
	}
	return c, t, nil
}

func (s *Server) addTopicLocked(c *chat, thread int, name string, color int) *topic {
	t := &topic{Topic{ThreadID: thread, Name: name, IconColor: color}}
	c.topics[thread] = t
	c.topicIDs = append(c.topicIDs, thread)
	c.forum = true
	return t
}

func (s *Server) mCreateForumTopic(r *request) (any, *apiError) {
	c, aerr := s.forum(r)
	if aerr != nil {
		return nil, aerr
	}
	if rt := s.botRightsLocked(c); !rt.admin() || !rt.CanManageTopics {
		return nil, badRequest("not enough rights to create a topic")
	}
	name := strings.TrimSpace(r.str("name"))
	if name == "" {
		return nil, badRequest("TOPIC_TITLE_EMPTY")
	}
	if utf16Len(name) > 128 {
		return nil, badRequest("TOPIC_TITLE_TOO_LONG")
	}
	color := 7322096
	if r.has("icon_color") {
		color = r.int("icon_color")
		if !validIconColor(color) {
			return nil, badRequest("TOPIC_ICON_COLOR_INVALID")
		}
	}
	c.forum = true
	m := s.newMessageLocked(c, 0)
	bot := s.botUser()
	m.w.From, m.fromBot, m.kind = &bot, true, kindService
	m.w.ForumTopicCreated = &models.ForumTopicCreated{Name: name, IconColor: color}
	m.w.MessageThreadID, m.w.IsTopicMessage = m.w.ID, true
	s.addTopicLocked(c, m.w.ID, name, color)
	return models.ForumTopic{MessageThreadID: m.w.ID, Name: name, IconColor: color}, nil
}

func (s *Server) mEditForumTopic(r *request) (any, *apiError) {
	_, t, aerr := s.liveTopic(r)
	if aerr != nil {
		return nil, aerr
	}
	name := t.Name
	if r.has("name") {
		name = strings.TrimSpace(r.str("name"))
		if name == "" {
			return nil, badRequest("TOPIC_TITLE_EMPTY")
		}
		if utf16Len(name) > 128 {
			return nil, badRequest("TOPIC_TITLE_TOO_LONG")
		}
	}
	if name == t.Name && !r.has("icon_custom_emoji_id") {
		return nil, badRequest("TOPIC_NOT_MODIFIED")
	}
	t.Name = name
	return true, nil
}

func (s *Server) mCloseForumTopic(r *request) (any, *apiError)  { return s.setTopicClosed(r, true) }
func (s *Server) mReopenForumTopic(r *request) (any, *apiError) { return s.setTopicClosed(r, false) }

// setTopicClosed closes or reopens a topic; TOPIC_NOT_MODIFIED when it is
// so already.
func (s *Server) setTopicClosed(r *request, closed bool) (any, *apiError) {
	_, t, aerr := s.liveTopic(r)
	if aerr != nil {
		return nil, aerr
	}
	if t.Closed == closed {
		return nil, badRequest("TOPIC_NOT_MODIFIED")
	}
	t.Closed = closed
	return true, nil
}

func (s *Server) mDeleteForumTopic(r *request) (any, *apiError) {
	c, t, aerr := s.liveTopic(r)
	if aerr != nil {
		return nil, aerr
	}
	if rt := s.botRightsLocked(c); !rt.admin() || !rt.CanDeleteMessages {
		// Telegram's answer when the bot lacks the right deleteForumTopic
		// needs (can_delete_messages).
		return nil, badRequest("CHAT_ADMIN_REQUIRED")
	}
	s.deleteTopicLocked(c, t)
	return true, nil
}

func (s *Server) deleteTopicLocked(c *chat, t *topic) {
	t.Deleted = true
	for id, m := range c.msgs {
		if m.w.MessageThreadID == t.ThreadID || id == t.ThreadID {
			m.deleted = true
		}
	}
}

func (s *Server) mUnpinAllForumTopicMessages(r *request) (any, *apiError) {
	if _, _, aerr := s.liveTopic(r); aerr != nil {
		return nil, aerr
	}
	return true, nil
}
