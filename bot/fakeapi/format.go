package fakeapi

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/go-telegram/bot/models"
)

// Limits of message contents, as Telegram counts them (UTF-16 code units of
// the text).
const (
	maxTextLen    = 4096
	maxCaptionLen = 1024
	maxDataLen    = 64
)

func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		if r >= 0x10000 {
			n += 2
		} else {
			n++
		}
	}
	return n
}

// formatText checks a text or caption and returns what the user sees with
// its entities: entities given explicitly are kept, shifted by the trimming.
// The fake does not emulate parse_mode, which the bot never sends: a
// request with one is refused, so that a bot starting to use it fails its
// tests instead of passing against markup nobody checked.
func formatText(text, parseMode string, explicit []models.MessageEntity) (string, []models.MessageEntity, *apiError) {
	if !utf8.ValidString(text) {
		return "", nil, badRequest("strings must be encoded in UTF-8")
	}
	if parseMode != "" {
		return "", nil, badRequest("%s", parseModeUnsupported)
	}
	out, ents := trimText(text, explicit)
	return out, ents, nil
}

// parseModeUnsupported is the description of the 400 a request with a
// parse_mode gets.
const parseModeUnsupported = "parse_mode is not emulated by the fake Bot API (bot/fakeapi): the bot sends plain text"

// trimText removes leading and trailing white space like Telegram does,
// shifting entities accordingly.
func trimText(s string, ents []models.MessageEntity) (string, []models.MessageEntity) {
	trimmed := strings.TrimLeftFunc(s, unicode.IsSpace)
	lead := utf16Len(s[:len(s)-len(trimmed)])
	trimmed = strings.TrimRightFunc(trimmed, unicode.IsSpace)
	total := utf16Len(trimmed)
	var out []models.MessageEntity
	for _, e := range ents {
		start, end := e.Offset-lead, e.Offset+e.Length-lead
		start, end = max(start, 0), min(end, total)
		if end <= start {
			continue
		}
		e.Offset, e.Length = start, end-start
		out = append(out, e)
	}
	return trimmed, out
}

// commandEntities finds bot commands ("/start", "/help@aimabot") that start
// the text or follow white space, like Telegram marks them.
func commandEntities(text string) []models.MessageEntity {
	var ents []models.MessageEntity
	u16 := 0
	prevSpace := true
	for i := 0; i < len(text); {
		r, size := utf8.DecodeRuneInString(text[i:])
		if r == '/' && prevSpace {
			j := i + 1
			for j < len(text) && j-i-1 < 64 && isCommandByte(text[j]) {
				j++
			}
			n := j - i - 1
			if n >= 1 && n <= 32 {
				if j < len(text) && text[j] == '@' {
					k := j + 1
					for k < len(text) && isCommandByte(text[k]) {
						k++
					}
					if k-j-1 >= 3 {
						j = k
					}
				}
				if j == len(text) || !isCommandByte(text[j]) {
					ents = append(ents, models.MessageEntity{Type: models.MessageEntityTypeBotCommand, Offset: u16, Length: j - i})
					u16 += j - i
					i = j
					prevSpace = false
					continue
				}
			}
		}
		prevSpace = unicode.IsSpace(r)
		if r >= 0x10000 {
			u16 += 2
		} else {
			u16++
		}
		i += size
	}
	return ents
}

func isCommandByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_'
}
