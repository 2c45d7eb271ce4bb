package fakeapi

// target resolves and checks the chat (and thread) a call writes to.
func (s *Server) target(r *request) (*chat, int, *apiError) {
	c, aerr := s.writable(r)
	if aerr != nil {
		return nil, 0, aerr
	}
	thread := r.int("message_thread_id")
	if aerr := s.checkThread(c, thread); aerr != nil {
		return nil, 0, aerr
	}
	return c, thread, nil
}

// migratedCheck resolves chat_id for a deletion: like writable, but a
// blocked chat is not checked (as before).
func (s *Server) migratedCheck(r *request) (*chat, *apiError) {
	id, aerr := r.chatID("chat_id")
	if aerr != nil {
		return nil, aerr
	}
	c := s.chatLocked(id)
	if c.migratedTo != 0 {
		return nil, migrated(c.migratedTo)
	}
	return c, nil
}

// writable resolves chat_id for a call that writes to the chat (sends,
// copies, edits, deletions, topics): a basic group that was upgraded
// answers with its supergroup's id, a blocked chat with 403.
func (s *Server) writable(r *request) (*chat, *apiError) {
	c, aerr := s.migratedCheck(r)
	if aerr != nil {
		return nil, aerr
	}
	if aerr := s.checkBlocked(c); aerr != nil {
		return nil, aerr
	}
	return c, nil
}

func (s *Server) checkBlocked(c *chat) *apiError {
	if !c.blocked {
		return nil
	}
	switch c.typ {
	case chatPrivate:
		return forbidden("bot was blocked by the user")
	case chatChannel:
		return forbidden("bot is not a member of the channel chat")
	case chatSupergroup:
		return forbidden("bot was kicked from the supergroup chat")
	}
	return forbidden("bot was kicked from the group chat")
}

func (s *Server) checkThread(c *chat, thread int) *apiError {
	if thread == 0 || c.typ == chatPrivate {
		return nil
	}
	t := c.topics[thread]
	if t == nil {
		return nil
	}
	if t.Deleted {
		return badRequest("message thread not found")
	}
	if t.Closed {
		return badRequest("TOPIC_CLOSED")
	}
	return nil
}

func (s *Server) mSendChatAction(r *request) (any, *apiError) {
	if _, _, aerr := s.target(r); aerr != nil {
		return nil, aerr
	}
	switch r.str("action") {
	case "typing", "upload_photo", "record_video", "upload_video", "record_voice", "upload_voice",
		"upload_document", "choose_sticker", "find_location", "record_video_note", "upload_video_note":
		return true, nil
	}
	return nil, badRequest("wrong parameter action in request")
}

type chatFullInfo struct {
	ID               int64  `json:"id"`
	Type             string `json:"type"`
	Title            string `json:"title,omitempty"`
	FirstName        string `json:"first_name,omitempty"`
	IsForum          bool   `json:"is_forum,omitempty"`
	AccentColorID    int    `json:"accent_color_id"`
	MaxReactionCount int    `json:"max_reaction_count"`
}

func (s *Server) mGetChat(r *request) (any, *apiError) {
	id, aerr := r.chatID("chat_id")
	if aerr != nil {
		return nil, aerr
	}
	c := s.chats[id]
	if c == nil {
		return nil, badRequest("chat not found")
	}
	o := s.chatObj(c)
	return chatFullInfo{ID: o.ID, Type: string(o.Type), Title: o.Title, FirstName: o.FirstName, IsForum: o.IsForum, MaxReactionCount: 11}, nil
}
