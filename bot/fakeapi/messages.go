package fakeapi

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/go-telegram/bot/models"
)

// textReader reads the text (or caption) of a message off a request.
type textReader func(*request) (string, []models.MessageEntity, *apiError)

// text formats and checks the text of a message.
func textParam(r *request, field string, limit int, empty, tooLong string) (string, []models.MessageEntity, *apiError) {
	var explicit []models.MessageEntity
	if raw := strings.TrimSpace(r.str(entitiesField(field))); raw != "" && raw != "null" && r.str("parse_mode") == "" {
		if err := json.Unmarshal([]byte(raw), &explicit); err != nil {
			return "", nil, badRequest("can't parse entities JSON object")
		}
	}
	text, ents, aerr := formatText(r.str(field), r.str("parse_mode"), explicit)
	if aerr != nil {
		return "", nil, aerr
	}
	if empty != "" && text == "" {
		return "", nil, badRequest("%s", empty)
	}
	if utf16Len(text) > limit {
		return "", nil, badRequest("%s", tooLong)
	}
	return text, ents, nil
}

func entitiesField(field string) string {
	if field == "caption" {
		return "caption_entities"
	}
	return "entities"
}

func messageText(r *request) (string, []models.MessageEntity, *apiError) {
	return textParam(r, "text", maxTextLen, "message text is empty", "message is too long")
}

func captionParam(r *request) (string, []models.MessageEntity, *apiError) {
	return textParam(r, "caption", maxCaptionLen, "", "message caption is too long")
}

// replyTo resolves reply_parameters (or the older reply_to_message_id).
func (s *Server) replyTo(r *request, c *chat) (*message, *apiError) {
	id := r.int("reply_to_message_id")
	allow := r.bool("allow_sending_without_reply")
	if raw := strings.TrimSpace(r.str("reply_parameters")); raw != "" && raw != "null" {
		var p struct {
			MessageID int  `json:"message_id"`
			Allow     bool `json:"allow_sending_without_reply"`
		}
		if err := json.Unmarshal([]byte(raw), &p); err != nil {
			return nil, badRequest("can't parse reply parameters JSON object")
		}
		id, allow = p.MessageID, allow || p.Allow
	}
	if id == 0 {
		return nil, nil
	}
	m := c.msgs[id]
	if m == nil || m.deleted {
		if allow {
			return nil, nil
		}
		return nil, badRequest("message to be replied not found")
	}
	return m, nil
}

func (s *Server) setReply(m, to *message) {
	if to == nil {
		return
	}
	cp := to.w
	cp.ReplyToMessage = nil
	m.w.ReplyToMessage = &cp
	m.replyTo = to.w.ID
}

func (s *Server) markupParam(r *request) (*keyboard, *apiError) {
	return parseMarkup(r.str("reply_markup"))
}

// replyOptions reads what a new message carries besides its content:
// reply_markup and the message it replies to, in chat c.
func (s *Server) replyOptions(r *request, c *chat) (*keyboard, *message, *apiError) {
	kb, aerr := s.markupParam(r)
	if aerr != nil {
		return nil, nil, aerr
	}
	to, aerr := s.replyTo(r, c)
	if aerr != nil {
		return nil, nil, aerr
	}
	return kb, to, nil
}

// outgoing is what a send call has read and checked before it sends.
type outgoing struct {
	c      *chat
	thread int
	text   string // the text, or the caption of media
	ents   []models.MessageEntity
	kb     *keyboard
	to     *message
}

// readOutgoing resolves the chat (and thread) a send writes to, its text
// or caption (as read reads it), its keyboard and the message it replies to.
func (s *Server) readOutgoing(r *request, read textReader) (*outgoing, *apiError) {
	c, thread, aerr := s.target(r)
	if aerr != nil {
		return nil, aerr
	}
	text, ents, aerr := read(r)
	if aerr != nil {
		return nil, aerr
	}
	kb, to, aerr := s.replyOptions(r, c)
	if aerr != nil {
		return nil, aerr
	}
	return &outgoing{c: c, thread: thread, text: text, ents: ents, kb: kb, to: to}, nil
}

func (s *Server) mSendMessage(r *request) (any, *apiError) {
	o, aerr := s.readOutgoing(r, messageText)
	if aerr != nil {
		return nil, aerr
	}
	if aerr := s.limiter.take(o.c.id, time.Now()); aerr != nil {
		return nil, aerr
	}
	m := s.newBotMessageLocked(o.c, o.thread, KindText)
	m.w.HasProtectedContent = r.bool("protect_content")
	m.w.Text, m.w.Entities = o.text, o.ents
	m.setKeyboard(o.kb)
	s.setReply(m, o.to)
	return m.json(), nil
}

func (s *Server) mAnswerCallbackQuery(r *request) (any, *apiError) {
	id := r.str("callback_query_id")
	q := s.queries[id]
	if q == nil || q.answered {
		return nil, badRequest("query is too old and response timeout expired or query ID is invalid")
	}
	text := r.str("text")
	if utf16Len(text) > 200 {
		return nil, badRequest("MESSAGE_TOO_LONG")
	}
	q.answered = true
	s.answers = append(s.answers, CallbackAnswer{QueryID: id, Text: text, ShowAlert: r.bool("show_alert"), Chat: q.chat, MessageID: q.msgID})
	return true, nil
}

func (s *Server) mDeleteMessage(r *request) (any, *apiError) {
	c, aerr := s.migratedCheck(r)
	if aerr != nil {
		return nil, aerr
	}
	m := c.msgs[r.int("message_id")]
	if m == nil || m.deleted {
		return nil, badRequest("message to delete not found")
	}
	if !s.canDeleteLocked(c, m) {
		return nil, badRequest("message can't be deleted")
	}
	m.deleted = true
	return true, nil
}

func (s *Server) mDeleteMessages(r *request) (any, *apiError) {
	c, aerr := s.migratedCheck(r)
	if aerr != nil {
		return nil, aerr
	}
	ids, aerr := messageIDs(r)
	if aerr != nil {
		return nil, aerr
	}
	// Messages not found are skipped, as Telegram documents; one that may
	// not be deleted fails the whole call, and nothing is deleted.
	for _, mid := range ids {
		if m := c.msgs[mid]; m != nil && !m.deleted && !s.canDeleteLocked(c, m) {
			return nil, badRequest("message can't be deleted")
		}
	}
	for _, mid := range ids {
		if m := c.msgs[mid]; m != nil {
			m.deleted = true
		}
	}
	return true, nil
}

// messageIDs reads message_ids: from 1 to 100 message identifiers.
func messageIDs(r *request) ([]int, *apiError) {
	ids, ok := r.intList("message_ids")
	if !ok || len(ids) == 0 || len(ids) > 100 {
		return nil, badRequest("message_ids must be a non-empty list of at most 100 message identifiers")
	}
	return ids, nil
}
