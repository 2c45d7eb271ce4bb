package fakeapi

import (
	"sort"
	"strconv"
	"time"

	"github.com/go-telegram/bot/models"
)

// copyOf makes the bot's copy of a message in chat c.
func (s *Server) copyOf(src *message, c *chat, thread int) *message {
	m := s.newBotMessageLocked(c, thread, KindCopy)
	w := m.w
	m.w = src.w
	m.w.ID, m.w.Date, m.w.Chat, m.w.From = w.ID, w.Date, w.Chat, w.From
	m.w.MessageThreadID, m.w.IsTopicMessage = w.MessageThreadID, w.IsTopicMessage
	m.w.SenderChat, m.w.ForwardOrigin, m.w.ReplyToMessage = nil, nil, nil
	m.w.EditDate, m.w.MediaGroupID, m.w.AuthorSignature = 0, "", ""
	m.media, m.fileID = src.media, src.fileID
	if !src.fromBot || src.kind == KindCopy {
		m.markup, m.buttons = nil, nil
	} else {
		m.markup, m.buttons = src.markup, src.buttons
	}
	return m
}

func (s *Server) copySource(r *request) (*chat, *apiError) {
	from, aerr := r.chatID("from_chat_id")
	if aerr != nil {
		return nil, aerr
	}
	return s.chatLocked(from), nil
}

// copyEnds resolves both ends of a copy: the chat (and thread) it writes
// to, then the chat it copies from.
func (s *Server) copyEnds(r *request) (*chat, int, *chat, *apiError) {
	c, thread, aerr := s.target(r)
	if aerr != nil {
		return nil, 0, nil, aerr
	}
	fc, aerr := s.copySource(r)
	if aerr != nil {
		return nil, 0, nil, aerr
	}
	return c, thread, fc, nil
}

// copiedCaption checks the caption a copy keeps: a user's message may
// carry a longer caption (Telegram Premium allows 4096) than a bot may send.
func copiedCaption(src *message, r *request) *apiError {
	if r.bool("remove_caption") || utf16Len(src.w.Caption) <= maxCaptionLen {
		return nil
	}
	return badRequest("message caption is too long")
}

func copyable(m *message) *apiError {
	if m == nil || m.deleted {
		return badRequest("message to copy not found")
	}
	if m.kind == kindService {
		return badRequest("message can't be copied")
	}
	return nil
}

func (s *Server) mCopyMessage(r *request) (any, *apiError) {
	c, thread, fc, aerr := s.copyEnds(r)
	if aerr != nil {
		return nil, aerr
	}
	src := fc.msgs[r.int("message_id")]
	if aerr := copyable(src); aerr != nil {
		return nil, aerr
	}
	var caption string
	var ents []models.MessageEntity
	if r.has("caption") {
		if caption, ents, aerr = captionParam(r); aerr != nil {
			return nil, aerr
		}
	} else if aerr := copiedCaption(src, r); aerr != nil {
		return nil, aerr
	}
	kb, to, aerr := s.replyOptions(r, c)
	if aerr != nil {
		return nil, aerr
	}
	if aerr := s.limiter.take(c.id, time.Now()); aerr != nil {
		return nil, aerr
	}
	m := s.copyOf(src, c, thread)
	m.w.HasProtectedContent = r.bool("protect_content")
	if r.has("caption") && src.media {
		m.w.Caption, m.w.CaptionEntities = caption, ents
	}
	if r.bool("remove_caption") {
		m.w.Caption, m.w.CaptionEntities = "", nil
	}
	if kb != nil {
		m.setKeyboard(kb)
	}
	s.setReply(m, to)
	return models.MessageID{ID: m.w.ID}, nil
}

func (s *Server) mCopyMessages(r *request) (any, *apiError) {
	c, thread, fc, aerr := s.copyEnds(r)
	if aerr != nil {
		return nil, aerr
	}
	ids, aerr := messageIDs(r)
	if aerr != nil {
		return nil, aerr
	}
	if !sort.IntsAreSorted(ids) {
		return nil, badRequest("message identifiers must be specified in increasing order")
	}
	var srcs []*message
	for _, id := range ids {
		if m := fc.msgs[id]; copyable(m) == nil {
			srcs = append(srcs, m)
		}
	}
	if len(srcs) == 0 {
		return nil, badRequest("message to copy not found")
	}
	// Copies of an album's messages form a new album, as TDLib regroups
	// them, when at least two of them are copied.
	inAlbum := map[string]int{}
	for _, src := range srcs {
		if aerr := copiedCaption(src, r); aerr != nil {
			return nil, aerr
		}
		if src.w.MediaGroupID != "" {
			inAlbum[src.w.MediaGroupID]++
		}
	}
	if aerr := s.limiter.take(c.id, time.Now()); aerr != nil {
		return nil, aerr
	}
	albums := map[string]string{}
	out := make([]models.MessageID, 0, len(srcs))
	for _, src := range srcs {
		m := s.copyOf(src, c, thread)
		m.w.HasProtectedContent = r.bool("protect_content")
		if r.bool("remove_caption") {
			m.w.Caption, m.w.CaptionEntities = "", nil
		}
		if g := src.w.MediaGroupID; inAlbum[g] >= 2 {
			if albums[g] == "" {
				albums[g] = s.newMediaGroupLocked()
			}
			m.w.MediaGroupID = albums[g]
		}
		out = append(out, models.MessageID{ID: m.w.ID})
	}
	return out, nil
}

// newMediaGroupLocked allocates a media_group_id.
func (s *Server) newMediaGroupLocked() string {
	s.groupSeq++
	return strconv.FormatInt(13000000000000000+s.groupSeq, 10)
}
