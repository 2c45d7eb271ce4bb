package fakeapi

import (
	"bytes"
	"encoding/json"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/go-telegram/bot/models"
)

// methodTable lists the Bot API methods the fake serves, by lower-case
// name (Telegram's method names are case-insensitive).
func (s *Server) methodTable() map[string]methodSpec {
	list := []methodSpec{
		{"getMe", s.mGetMe},
		{"logOut", s.mTrue},
		{"close", s.mTrue},
		{"getUpdates", s.mGetUpdates},
		{"setWebhook", s.mSetWebhook},
		{"deleteWebhook", s.mDeleteWebhook},
		{"getWebhookInfo", s.mGetWebhookInfo},
		{"sendMessage", s.mSendMessage},
		{"editMessageText", s.mEditMessageText},
		{"editMessageCaption", s.mEditMessageCaption},
		{"editMessageReplyMarkup", s.mEditMessageReplyMarkup},
		{"answerCallbackQuery", s.mAnswerCallbackQuery},
		{"getFile", s.mGetFile},
		{"setMyCommands", s.mSetMyCommands},
		{"getMyCommands", s.mGetMyCommands},
		{"deleteMyCommands", s.mDeleteMyCommands},
		{"sendPhoto", s.mSendPhoto},
		{"sendDocument", s.mSendDocument},
		{"sendMediaGroup", s.mSendMediaGroup},
		{"copyMessage", s.mCopyMessage},
		{"copyMessages", s.mCopyMessages},
		{"deleteMessage", s.mDeleteMessage},
		{"deleteMessages", s.mDeleteMessages},
		{"createForumTopic", s.mCreateForumTopic},
		{"editForumTopic", s.mEditForumTopic},
		{"closeForumTopic", s.mCloseForumTopic},
		{"reopenForumTopic", s.mReopenForumTopic},
		{"deleteForumTopic", s.mDeleteForumTopic},
		{"unpinAllForumTopicMessages", s.mUnpinAllForumTopicMessages},
		{"sendChatAction", s.mSendChatAction},
		{"getChat", s.mGetChat},
		{"getChatMember", s.mGetChatMember},
	}
	m := make(map[string]methodSpec, len(list))
	for _, spec := range list {
		m[strings.ToLower(spec.name)] = spec
	}
	return m
}

func (s *Server) mTrue(*request) (any, *apiError) { return true, nil }

func (s *Server) mGetMe(*request) (any, *apiError) {
	u := s.botUser()
	u.CanJoinGroups = true
	return u, nil
}

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

func (s *Server) mSendMessage(r *request) (any, *apiError) {
	c, thread, aerr := s.target(r)
	if aerr != nil {
		return nil, aerr
	}
	text, ents, aerr := messageText(r)
	if aerr != nil {
		return nil, aerr
	}
	kb, aerr := s.markupParam(r)
	if aerr != nil {
		return nil, aerr
	}
	to, aerr := s.replyTo(r, c)
	if aerr != nil {
		return nil, aerr
	}
	if aerr := s.limiter.take(c.id, time.Now()); aerr != nil {
		return nil, aerr
	}
	m := s.newBotMessageLocked(c, thread, KindText)
	m.w.Text, m.w.Entities = text, ents
	m.setKeyboard(kb)
	s.setReply(m, to)
	return m.json(), nil
}

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
	ids, ok := r.intList("message_ids")
	if !ok || len(ids) == 0 || len(ids) > 100 {
		return nil, badRequest("message_ids must be a non-empty list of at most 100 message identifiers")
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
	c, thread, aerr := s.target(r)
	if aerr != nil {
		return nil, aerr
	}
	fc, aerr := s.copySource(r)
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
	kb, aerr := s.markupParam(r)
	if aerr != nil {
		return nil, aerr
	}
	to, aerr := s.replyTo(r, c)
	if aerr != nil {
		return nil, aerr
	}
	if aerr := s.limiter.take(c.id, time.Now()); aerr != nil {
		return nil, aerr
	}
	m := s.copyOf(src, c, thread)
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
	c, thread, aerr := s.target(r)
	if aerr != nil {
		return nil, aerr
	}
	fc, aerr := s.copySource(r)
	if aerr != nil {
		return nil, aerr
	}
	ids, ok := r.intList("message_ids")
	if !ok || len(ids) == 0 || len(ids) > 100 {
		return nil, badRequest("message_ids must be a non-empty list of at most 100 message identifiers")
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

// Commands.

func validCommand(name string) bool {
	if len(name) < 1 || len(name) > 32 {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

func commandsScope(r *request) (commandsKey, *apiError) {
	k := commandsKey{scope: "default", lang: r.str("language_code")}
	if k.lang != "" && !langCode(k.lang) {
		return k, badRequest("invalid language code specified")
	}
	raw := strings.TrimSpace(r.str("scope"))
	if raw == "" || raw == "null" {
		return k, nil
	}
	var obj map[string]any
	if err := json.Unmarshal([]byte(raw), &obj); err != nil || obj == nil {
		return k, badRequest("can't parse BotCommandScope JSON object")
	}
	typ, _ := obj["type"].(string)
	switch typ {
	case "default", "all_private_chats", "all_group_chats", "all_chat_administrators":
	case "chat", "chat_administrators", "chat_member":
		if obj["chat_id"] == nil {
			return k, badRequest("chat not found")
		}
	default:
		return k, badRequest("wrong BotCommandScope type specified")
	}
	if typ == "default" {
		return k, nil
	}
	enc, err := json.Marshal(obj)
	if err != nil {
		return k, badRequest("can't parse BotCommandScope JSON object")
	}
	k.scope = string(enc)
	return k, nil
}

func langCode(s string) bool {
	return len(s) == 2 && s[0] >= 'a' && s[0] <= 'z' && s[1] >= 'a' && s[1] <= 'z'
}

func (s *Server) mSetMyCommands(r *request) (any, *apiError) {
	var cmds []BotCommand
	if err := json.Unmarshal([]byte(r.str("commands")), &cmds); err != nil {
		return nil, badRequest("can't parse commands JSON object")
	}
	if len(cmds) > 100 {
		return nil, badRequest("too many commands specified")
	}
	for _, c := range cmds {
		if !validCommand(c.Command) {
			return nil, badRequest("BOT_COMMAND_INVALID")
		}
		if d := strings.TrimSpace(c.Description); d == "" || utf16Len(d) > 256 {
			return nil, badRequest("BOT_COMMAND_DESCRIPTION_INVALID")
		}
	}
	k, aerr := commandsScope(r)
	if aerr != nil {
		return nil, aerr
	}
	if len(cmds) == 0 {
		delete(s.commands, k)
		delete(s.latestCmds, k.lang)
		return true, nil
	}
	s.commands[k] = cmds
	s.latestCmds[k.lang] = cmds
	return true, nil
}

func (s *Server) mDeleteMyCommands(r *request) (any, *apiError) {
	k, aerr := commandsScope(r)
	if aerr != nil {
		return nil, aerr
	}
	delete(s.commands, k)
	delete(s.latestCmds, k.lang)
	return true, nil
}

func (s *Server) mGetMyCommands(r *request) (any, *apiError) {
	k, aerr := commandsScope(r)
	if aerr != nil {
		return nil, aerr
	}
	cmds := s.commands[k]
	if cmds == nil {
		cmds = []BotCommand{}
	}
	return cmds, nil
}
