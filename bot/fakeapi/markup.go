package fakeapi

import (
	"bytes"
	"encoding/json"
	"net/url"
	"strings"
	"unicode/utf8"
)

const maxButtons = 100

// keyboard is a validated reply_markup.
type keyboard struct {
	// inline is the normalised inline keyboard as Telegram echoes it in
	// messages ({"inline_keyboard":[[...]]}), nil when there is none.
	inline  json.RawMessage
	buttons [][]Button
	reply   [][]string
	remove  bool
	force   bool
}

// inlineButtonFields are the fields Telegram keeps on an inline button.
func inlineButtonField(name string) bool {
	switch name {
	case "text", "url", "callback_data", "web_app", "login_url", "switch_inline_query",
		"switch_inline_query_current_chat", "switch_inline_query_chosen_chat", "copy_text",
		"callback_game", "pay", "icon_custom_emoji_id", "style":
		return true
	}
	return false
}

// parseMarkup validates a reply_markup parameter; an empty or null one is
// no markup at all.
func parseMarkup(raw string) (*keyboard, *apiError) {
	raw = strings.TrimSpace(raw)
	if raw == "" || raw == "null" {
		return nil, nil
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal([]byte(raw), &obj); err != nil || obj == nil {
		return nil, badRequest("can't parse reply keyboard markup JSON object")
	}
	kb := &keyboard{}
	switch {
	case obj["inline_keyboard"] != nil:
		if aerr := parseInlineKeyboard(kb, obj["inline_keyboard"]); aerr != nil {
			return nil, aerr
		}
	case obj["keyboard"] != nil:
		if aerr := parseReplyKeyboard(kb, obj["keyboard"]); aerr != nil {
			return nil, aerr
		}
	case obj["remove_keyboard"] != nil:
		var v bool
		if err := json.Unmarshal(obj["remove_keyboard"], &v); err != nil || !v {
			return nil, badRequest("field \"remove_keyboard\" of the ReplyKeyboardRemove must be true")
		}
		kb.remove = true
	case obj["force_reply"] != nil:
		var v bool
		if err := json.Unmarshal(obj["force_reply"], &v); err != nil || !v {
			return nil, badRequest("field \"force_reply\" of the ForceReply must be true")
		}
		kb.force = true
	default:
		return nil, badRequest("can't parse reply keyboard markup JSON object")
	}
	return kb, nil
}

func parseInlineKeyboard(kb *keyboard, raw json.RawMessage) *apiError {
	var rows []json.RawMessage
	if err := json.Unmarshal(raw, &rows); err != nil {
		return badRequest("field \"inline_keyboard\" of the InlineKeyboardMarkup must be an Array")
	}
	norm := make([][]map[string]json.RawMessage, 0, len(rows))
	total := 0
	for _, rowRaw := range rows {
		var row []json.RawMessage
		if err := json.Unmarshal(rowRaw, &row); err != nil || row == nil {
			return badRequest("field \"inline_keyboard\" of the InlineKeyboardMarkup must be an Array of Arrays")
		}
		var nrow []map[string]json.RawMessage
		var brow []Button
		for _, bRaw := range row {
			total++
			if total > maxButtons {
				return badRequest("reply markup is too long")
			}
			nb, btn, aerr := parseInlineButton(bRaw)
			if aerr != nil {
				return aerr
			}
			nrow = append(nrow, nb)
			brow = append(brow, btn)
		}
		if len(nrow) == 0 {
			continue
		}
		norm = append(norm, nrow)
		kb.buttons = append(kb.buttons, brow)
	}
	enc, err := json.Marshal(map[string]any{"inline_keyboard": norm})
	if err != nil {
		return badRequest("can't parse reply keyboard markup JSON object")
	}
	kb.inline = enc
	return nil
}

func parseInlineButton(raw json.RawMessage) (map[string]json.RawMessage, Button, *apiError) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil || obj == nil {
		return nil, Button{}, badRequest("can't parse inline keyboard button: InlineKeyboardButton must be an Object")
	}
	var btn Button
	if err := json.Unmarshal(obj["text"], &btn.Label); err != nil || obj["text"] == nil {
		return nil, Button{}, badRequest("can't parse inline keyboard button: Field \"text\" must be of type String")
	}
	if strings.TrimSpace(btn.Label) == "" || !utf8.ValidString(btn.Label) {
		return nil, Button{}, badRequest("BUTTON_TEXT_INVALID")
	}
	actions := 0
	norm := map[string]json.RawMessage{}
	for k, v := range obj {
		if !inlineButtonField(k) || bytes.Equal(bytes.TrimSpace(v), []byte("null")) {
			continue
		}
		norm[k] = v
		switch k {
		case "text", "icon_custom_emoji_id", "style":
			continue
		case "pay":
			var pay bool
			if json.Unmarshal(v, &pay) != nil || !pay {
				delete(norm, k)
				continue
			}
		case "callback_data":
			if err := json.Unmarshal(v, &btn.Data); err != nil {
				return nil, Button{}, badRequest("can't parse inline keyboard button: Field \"callback_data\" must be of type String")
			}
			if btn.Data == "" || len(btn.Data) > maxDataLen {
				return nil, Button{}, badRequest("BUTTON_DATA_INVALID")
			}
		case "url":
			if err := json.Unmarshal(v, &btn.URL); err != nil || !validButtonURL(btn.URL) {
				return nil, Button{}, badRequest("BUTTON_URL_INVALID")
			}
		case "copy_text":
			var ct struct {
				Text *string `json:"text"`
			}
			if err := json.Unmarshal(v, &ct); err != nil || ct.Text == nil || *ct.Text == "" || utf16Len(*ct.Text) > 256 {
				return nil, Button{}, badRequest("BUTTON_COPY_TEXT_INVALID")
			}
		case "switch_inline_query", "switch_inline_query_current_chat":
			var q string
			if err := json.Unmarshal(v, &q); err != nil {
				return nil, Button{}, badRequest("can't parse inline keyboard button: Field \"%s\" must be of type String", k)
			}
		default: // web_app, login_url, switch_inline_query_chosen_chat, callback_game
			var o map[string]json.RawMessage
			if err := json.Unmarshal(v, &o); err != nil || o == nil {
				return nil, Button{}, badRequest("can't parse inline keyboard button: Field \"%s\" must be of type Object", k)
			}
		}
		actions++
	}
	if actions == 0 {
		return nil, Button{}, badRequest("can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard")
	}
	return norm, btn, nil
}

func validButtonURL(s string) bool {
	if s == "" {
		return false
	}
	u, err := url.Parse(s)
	if err != nil {
		return false
	}
	switch strings.ToLower(u.Scheme) {
	case "http", "https":
		return u.Host != ""
	case "tg", "ton":
		return true
	}
	return false
}

func parseReplyKeyboard(kb *keyboard, raw json.RawMessage) *apiError {
	var rows []json.RawMessage
	if err := json.Unmarshal(raw, &rows); err != nil {
		return badRequest("field \"keyboard\" of the ReplyKeyboardMarkup must be an Array")
	}
	for _, rowRaw := range rows {
		var row []json.RawMessage
		if err := json.Unmarshal(rowRaw, &row); err != nil {
			return badRequest("field \"keyboard\" of the ReplyKeyboardMarkup must be an Array of Arrays")
		}
		var labels []string
		for _, bRaw := range row {
			var label string
			if json.Unmarshal(bRaw, &label) != nil {
				var obj struct {
					Text *string `json:"text"`
				}
				if err := json.Unmarshal(bRaw, &obj); err != nil || obj.Text == nil {
					return badRequest("can't parse keyboard button: Field \"text\" must be of type String")
				}
				label = *obj.Text
			}
			if strings.TrimSpace(label) == "" {
				return badRequest("BUTTON_TEXT_INVALID")
			}
			labels = append(labels, label)
		}
		if len(labels) > 0 {
			kb.reply = append(kb.reply, labels)
		}
	}
	if len(kb.reply) == 0 {
		return badRequest("keyboard must be non-empty")
	}
	return nil
}
