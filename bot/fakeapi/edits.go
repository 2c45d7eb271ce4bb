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

func (s *Server) mEditMessageText(r *request) (any, *apiError) {
	text, ents, aerr := messageText(r)
	if aerr != nil {
		return nil, aerr
	}
	kb, aerr := s.markupParam(r)
	if aerr == nil {
		kb, aerr = inlineOnly(kb)
	}
	if aerr != nil {
		return nil, aerr
	}
	_, m, aerr := s.editable(r)
	if aerr != nil {
		return nil, aerr
	}
	if m.media {
		return nil, badRequest("there is no text in the message to edit")
	}
	if m.w.Text == text && reflect.DeepEqual(normEntities(m.w.Entities), normEntities(ents)) && bytes.Equal(m.markup, markupOf(kb)) {
		return nil, notModified()
	}
	m.w.Text, m.w.Entities = text, ents
	s.edited(m, kb)
	return m.json(), nil
}

func normEntities(e []models.MessageEntity) []models.MessageEntity {
	if len(e) == 0 {
		return nil
	}
	return e
}

func (s *Server) mEditMessageCaption(r *request) (any, *apiError) {
	caption, ents, aerr := captionParam(r)
	if aerr != nil {
		return nil, aerr
	}
	kb, aerr := s.markupParam(r)
	if aerr == nil {
		kb, aerr = inlineOnly(kb)
	}
	if aerr != nil {
		return nil, aerr
	}
	_, m, aerr := s.editable(r)
	if aerr != nil {
		return nil, aerr
	}
	if !m.media {
		return nil, badRequest("there is no caption in the message to edit")
	}
	if m.w.Caption == caption && reflect.DeepEqual(normEntities(m.w.CaptionEntities), normEntities(ents)) && bytes.Equal(m.markup, markupOf(kb)) {
		return nil, notModified()
	}
	m.w.Caption, m.w.CaptionEntities = caption, ents
	s.edited(m, kb)
	return m.json(), nil
}

func (s *Server) mEditMessageReplyMarkup(r *request) (any, *apiError) {
	kb, aerr := s.markupParam(r)
	if aerr == nil {
		kb, aerr = inlineOnly(kb)
	}
	if aerr != nil {
		return nil, aerr
	}
	_, m, aerr := s.editable(r)
	if aerr != nil {
		return nil, aerr
	}
	if bytes.Equal(m.markup, markupOf(kb)) {
		return nil, notModified()
	}
	s.edited(m, kb)
	return m.json(), nil
}
