package fakeapi

import (
	"bytes"
	"encoding/json"
	"reflect"

	"github.com/go-telegram/bot/models"
)

// editable finds the bot message an edit targets.
func (s *Server) editable(r *request) (*chat, *message, *apiError) {
	if r.str("inline_message_id") != "" {
		return nil, nil, badRequest("MESSAGE_ID_INVALID")
	}
	c, aerr := s.writable(r)
	if aerr != nil {
		return nil, nil, aerr
	}
	msgID := r.int("message_id")
	if msgID == 0 {
		return nil, nil, badRequest("message identifier is not specified")
	}
	m := c.msgs[msgID]
	if m == nil || m.deleted {
		return nil, nil, badRequest("message to edit not found")
	}
	if !m.fromBot || m.kind == kindService {
		return nil, nil, badRequest("message can't be edited")
	}
	return c, m, nil
}

func inlineOnly(kb *keyboard) (*keyboard, *apiError) {
	if kb != nil && kb.inline == nil {
		return nil, badRequest("inline keyboard expected")
	}
	return kb, nil
}

func markupOf(kb *keyboard) json.RawMessage {
	if kb == nil {
		return nil
	}
	return kb.inline
}

func notModified() *apiError {
	return badRequest("message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message")
}

func (s *Server) edited(m *message, kb *keyboard) {
	m.markup, m.buttons = nil, nil
	if kb != nil {
		m.markup, m.buttons = kb.inline, kb.buttons
	}
	m.edits++
	m.w.EditDate = int(s.clock.Unix())
}

// editTarget reads an edit's reply_markup, which must be an inline
// keyboard if any, and finds the bot message the edit targets.
func (s *Server) editTarget(r *request) (*message, *keyboard, *apiError) {
	kb, aerr := s.markupParam(r)
	if aerr == nil {
		kb, aerr = inlineOnly(kb)
	}
	if aerr != nil {
		return nil, nil, aerr
	}
	_, m, aerr := s.editable(r)
	if aerr != nil {
		return nil, nil, aerr
	}
	return m, kb, nil
}

// editTextual is editMessageText and editMessageCaption: read reads the
// new text, a message with media (or without, as media says) is the only
// kind that may be edited, else the call fails with missing, and field
// points at the text and entities the edit replaces.
func (s *Server) editTextual(r *request, read textReader, media bool, missing string,
	field func(*models.Message) (*string, *[]models.MessageEntity)) (any, *apiError) {
	text, ents, aerr := read(r)
	if aerr != nil {
		return nil, aerr
	}
	m, kb, aerr := s.editTarget(r)
	if aerr != nil {
		return nil, aerr
	}
	if m.media != media {
		return nil, badRequest("%s", missing)
	}
	old, oldEnts := field(&m.w)
	if *old == text && reflect.DeepEqual(normEntities(*oldEnts), normEntities(ents)) && bytes.Equal(m.markup, markupOf(kb)) {
		return nil, notModified()
	}
	*old, *oldEnts = text, ents
	s.edited(m, kb)
	return m.json(), nil
}

func (s *Server) mEditMessageText(r *request) (any, *apiError) {
	return s.editTextual(r, messageText, false, "there is no text in the message to edit",
		func(w *models.Message) (*string, *[]models.MessageEntity) { return &w.Text, &w.Entities })
}

func normEntities(e []models.MessageEntity) []models.MessageEntity {
	if len(e) == 0 {
		return nil
	}
	return e
}

func (s *Server) mEditMessageCaption(r *request) (any, *apiError) {
	return s.editTextual(r, captionParam, true, "there is no caption in the message to edit",
		func(w *models.Message) (*string, *[]models.MessageEntity) { return &w.Caption, &w.CaptionEntities })
}

func (s *Server) mEditMessageReplyMarkup(r *request) (any, *apiError) {
	m, kb, aerr := s.editTarget(r)
	if aerr != nil {
		return nil, aerr
	}
	if bytes.Equal(m.markup, markupOf(kb)) {
		return nil, notModified()
	}
	s.edited(m, kb)
	return m.json(), nil
}
