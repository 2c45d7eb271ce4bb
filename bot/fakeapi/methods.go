package fakeapi

import (
	"strings"
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
		{"setMyDescription", s.mSetMyDescription},
		{"getMyDescription", s.mGetMyDescription},
		{"setMyShortDescription", s.mSetMyShortDescription},
		{"getMyShortDescription", s.mGetMyShortDescription},
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
