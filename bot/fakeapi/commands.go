package fakeapi

import (
	"encoding/json"
	"strings"
)

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

// setDescription is setMyDescription (limit 512) and setMyShortDescription
// (limit 120): an empty text removes the language's; an invalid language
// code or a text over the limit is refused.
func (s *Server) setDescription(r *request, field string, limit int, into map[string]string) (any, *apiError) {
	lang := r.str("language_code")
	if lang != "" && !langCode(lang) {
		return nil, badRequest("invalid language code specified")
	}
	text := r.str(field)
	if utf16Len(text) > limit {
		return nil, badRequest("BOT_%s_INVALID", strings.ToUpper(field))
	}
	if text == "" {
		delete(into, lang)
	} else {
		into[lang] = text
	}
	return true, nil
}

func (s *Server) mSetMyDescription(r *request) (any, *apiError) {
	return s.setDescription(r, "description", 512, s.descriptions)
}

func (s *Server) mSetMyShortDescription(r *request) (any, *apiError) {
	return s.setDescription(r, "short_description", 120, s.shortDescs)
}

// getDescription answers a language's text, else the default one.
func getDescription(r *request, from map[string]string) string {
	if d, ok := from[r.str("language_code")]; ok {
		return d
	}
	return from[""]
}

func (s *Server) mGetMyDescription(r *request) (any, *apiError) {
	return map[string]string{"description": getDescription(r, s.descriptions)}, nil
}

func (s *Server) mGetMyShortDescription(r *request) (any, *apiError) {
	return map[string]string{"short_description": getDescription(r, s.shortDescs)}, nil
}
