package fakeapi

import (
	"encoding/json"
	"time"

	"github.com/go-telegram/bot/models"
)

// Rights are the bot's status and administrator rights in a group, as
// Telegram's ChatMemberAdministrator gives them (getChatMember,
// my_chat_member). A chat whose rights were never set has the bot as an
// administrator with every right.
type Rights struct {
	// Status is "administrator" or "member" (an empty Status is read as
	// "administrator").
	Status            string
	CanManageChat     bool
	CanDeleteMessages bool
	CanManageTopics   bool
	CanPinMessages    bool
	CanPostMessages   bool
	CanEditMessages   bool
	CanInviteUsers    bool
	CanChangeInfo     bool
}

// AllRights is an administrator with every right.
func AllRights() Rights {
	return Rights{Status: "administrator", CanManageChat: true, CanDeleteMessages: true, CanManageTopics: true,
		CanPinMessages: true, CanPostMessages: true, CanEditMessages: true, CanInviteUsers: true, CanChangeInfo: true}
}

func (r Rights) admin() bool { return r.Status == "" || r.Status == "administrator" }

// botRightsLocked are the bot's rights in a chat.
func (s *Server) botRightsLocked(c *chat) Rights {
	if c.rights == nil {
		return AllRights()
	}
	return *c.rights
}

// SetBotRights changes the bot's status and rights in a group, as its owner
// would in the group's settings, and queues the my_chat_member update
// Telegram sends about it (when allowed_updates asks for it).
func (s *Server) SetBotRights(chatID int64, r Rights) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.chatLocked(chatID)
	old := s.botRightsLocked(c)
	c.rights = &r
	owner := s.userObj(s.userLocked(groupOwner))
	payload, _ := json.Marshal(map[string]any{
		"chat": s.chatObj(c), "from": owner, "date": s.clock.Unix(),
		"old_chat_member": s.memberJSON(old), "new_chat_member": s.memberJSON(r),
	})
	return s.enqueueLocked(models.AllowedUpdateMyChatMember, chatID, payload, true)
}

// InitBotRights sets the bot's rights in a group as they were before the
// bot started reading updates: no my_chat_member is queued.
func (s *Server) InitBotRights(chatID int64, r Rights) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.chatLocked(chatID).rights = &r
	s.notifyLocked()
}

// groupOwner is the user who changes the bot's rights.
const groupOwner = int64(1)

// memberJSON is the bot as a ChatMember with these rights.
func (s *Server) memberJSON(r Rights) map[string]any {
	m := map[string]any{"user": s.botUser()}
	if !r.admin() {
		m["status"] = r.Status
		return m
	}
	m["status"] = "administrator"
	m["can_be_edited"] = false
	m["is_anonymous"] = false
	m["can_manage_chat"] = r.CanManageChat
	m["can_delete_messages"] = r.CanDeleteMessages
	m["can_manage_video_chats"] = false
	m["can_restrict_members"] = false
	m["can_promote_members"] = false
	m["can_change_info"] = r.CanChangeInfo
	m["can_invite_users"] = r.CanInviteUsers
	m["can_post_stories"] = false
	m["can_edit_stories"] = false
	m["can_delete_stories"] = false
	m["can_post_messages"] = r.CanPostMessages
	m["can_edit_messages"] = r.CanEditMessages
	m["can_pin_messages"] = r.CanPinMessages
	m["can_manage_topics"] = r.CanManageTopics
	return m
}

// mGetChatMember answers for the bot with its rights, for anyone else as a
// member.
func (s *Server) mGetChatMember(r *request) (any, *apiError) {
	c, aerr := s.migratedCheck(r)
	if aerr != nil {
		return nil, aerr
	}
	uid := r.int64("user_id")
	if uid == 0 {
		return nil, badRequest("user_id must be a positive number")
	}
	if c.typ == chatPrivate {
		return nil, badRequest("member not found")
	}
	if uid == s.botID {
		return s.memberJSON(s.botRightsLocked(c)), nil
	}
	return map[string]any{"status": "member", "user": s.userObj(s.userLocked(uid))}, nil
}

// canDeleteLocked follows Telegram's rules for deleting a message in a
// group: an administrator with can_delete_messages deletes any message (but
// not a topic's creation message); otherwise the bot deletes only its own
// messages, less than 48 hours old. Private chats keep every deletion.
func (s *Server) canDeleteLocked(c *chat, m *message) bool {
	if c.typ == chatPrivate {
		return true
	}
	if m.w.ForumTopicCreated != nil {
		return false
	}
	if r := s.botRightsLocked(c); r.admin() && r.CanDeleteMessages {
		return true
	}
	return m.fromBot && s.clock.Sub(m.sent) < 48*time.Hour
}

// TopicLeft counts the messages left in a forum topic that a deletion could
// remove: the bot's and its members', not deleted, without the topic's
// creation message.
func (s *Server) TopicLeft(chatID int64, threadID int) (bot, others int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.chats[chatID]
	if c == nil {
		return 0, 0
	}
	for id, m := range c.msgs {
		if m.deleted || id == threadID || m.w.MessageThreadID != threadID || m.kind == kindService {
			continue
		}
		if m.fromBot {
			bot++
		} else {
			others++
		}
	}
	return bot, others
}
