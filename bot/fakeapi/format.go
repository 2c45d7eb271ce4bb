package fakeapi

import (
	"strconv"
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
// its entities: entities given explicitly are kept, shifted by the
// trimming; with parse_mode HTML the markup is parsed as Telegram does (see
// parseHTML), and explicit entities are then ignored, as Telegram ignores
// them. Markdown is not emulated: a request with it is refused, so that a
// bot starting to use it fails its tests instead of passing against markup
// nobody checked.
func formatText(text, parseMode string, explicit []models.MessageEntity) (string, []models.MessageEntity, *apiError) {
	if !utf8.ValidString(text) {
		return "", nil, badRequest("strings must be encoded in UTF-8")
	}
	switch strings.ToLower(parseMode) {
	case "":
	case "html":
		plain, ents, aerr := parseHTML(text)
		if aerr != nil {
			return "", nil, aerr
		}
		text, explicit = plain, ents
	default:
		return "", nil, badRequest("%s", parseModeUnsupported)
	}
	out, ents := trimText(text, explicit)
	return out, ents, nil
}

// parseModeUnsupported is the description of the 400 a request with a
// parse_mode other than HTML gets.
const parseModeUnsupported = "parse_mode other than HTML is not emulated by the fake Bot API (bot/fakeapi)"

// htmlTags are the tags Telegram's HTML parse mode knows, and the entity
// each makes.
var htmlTags = map[string]models.MessageEntityType{
	"b": models.MessageEntityTypeBold, "strong": models.MessageEntityTypeBold,
	"i": models.MessageEntityTypeItalic, "em": models.MessageEntityTypeItalic,
	"u": models.MessageEntityTypeUnderline, "ins": models.MessageEntityTypeUnderline,
	"s": models.MessageEntityTypeStrikethrough, "strike": models.MessageEntityTypeStrikethrough,
	"del": models.MessageEntityTypeStrikethrough, "tg-spoiler": models.MessageEntityTypeSpoiler,
	"code": models.MessageEntityTypeCode, "pre": models.MessageEntityTypePre,
	"a": models.MessageEntityTypeTextLink, "blockquote": models.MessageEntityTypeBlockquote,
}

// parseHTML reads Telegram's HTML parse mode: the tags above (a with an
// href), the entities &lt; &gt; &amp; &quot; and numeric ones. A '<' or
// '&' that starts no tag or entity, an unknown tag, or a tag closed out of
// order is refused with Telegram's "can't parse entities".
func parseHTML(src string) (string, []models.MessageEntity, *apiError) {
	type open struct {
		name  string
		start int // UTF-16 offset in the output
		url   string
	}
	fail := func(format string, args ...any) (string, []models.MessageEntity, *apiError) {
		return "", nil, badRequest("can't parse entities: "+format, args...)
	}
	var out strings.Builder
	var ents []models.MessageEntity
	var stack []open
	units := 0
	for i := 0; i < len(src); {
		switch c := src[i]; c {
		case '<':
			end := strings.IndexByte(src[i:], '>')
			if end < 0 {
				return fail("unclosed start tag at byte offset %d", i)
			}
			tag := src[i+1 : i+end]
			i += end + 1
			if name, ok := strings.CutPrefix(tag, "/"); ok {
				name = strings.ToLower(strings.TrimSpace(name))
				if len(stack) == 0 || stack[len(stack)-1].name != name {
					return fail("unmatched end tag \"%s\"", name)
				}
				o := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				if units > o.start {
					e := models.MessageEntity{Type: htmlTags[o.name], Offset: o.start, Length: units - o.start, URL: o.url}
					ents = append(ents, e)
				}
				continue
			}
			name, attrs, _ := strings.Cut(tag, " ")
			name = strings.ToLower(name)
			if _, ok := htmlTags[name]; !ok {
				return fail("unsupported start tag \"%s\"", name)
			}
			o := open{name: name, start: units}
			if name == "a" {
				href, ok := strings.CutPrefix(strings.TrimSpace(attrs), "href=\"")
				href, _, closed := strings.Cut(href, "\"")
				if !ok || !closed {
					return fail("a tag needs an href in double quotes")
				}
				url, aerr := htmlUnescape(href)
				if aerr != nil {
					return "", nil, aerr
				}
				o.url = url
			}
			stack = append(stack, o)
		case '&':
			end := strings.IndexByte(src[i:], ';')
			if end < 0 || end > 10 {
				return fail("character '&' is reserved and must be escaped (&amp;)")
			}
			r, aerr := htmlUnescape(src[i : i+end+1])
			if aerr != nil {
				return "", nil, aerr
			}
			out.WriteString(r)
			units += utf16Len(r)
			i += end + 1
		default:
			r, size := utf8.DecodeRuneInString(src[i:])
			out.WriteString(src[i : i+size])
			units += utf16Len(string(r))
			i += size
		}
	}
	if len(stack) > 0 {
		return fail("unclosed start tag \"%s\"", stack[len(stack)-1].name)
	}
	return out.String(), ents, nil
}

// htmlUnescape replaces the entities Telegram knows in s.
func htmlUnescape(s string) (string, *apiError) {
	var out strings.Builder
	for {
		i := strings.IndexByte(s, '&')
		if i < 0 {
			out.WriteString(s)
			return out.String(), nil
		}
		out.WriteString(s[:i])
		end := strings.IndexByte(s[i:], ';')
		if end < 0 {
			return "", badRequest("can't parse entities: character '&' is reserved and must be escaped (&amp;)")
		}
		name := s[i+1 : i+end]
		switch {
		case name == "lt":
			out.WriteByte('<')
		case name == "gt":
			out.WriteByte('>')
		case name == "amp":
			out.WriteByte('&')
		case name == "quot":
			out.WriteByte('"')
		case strings.HasPrefix(name, "#"):
			n, err := strconv.ParseInt(strings.TrimPrefix(strings.TrimPrefix(name[1:], "x"), "X"), map[bool]int{true: 16, false: 10}[strings.HasPrefix(strings.ToLower(name[1:]), "x")], 32)
			if err != nil || n <= 0 || n > unicode.MaxRune {
				return "", badRequest("can't parse entities: bad numeric entity &%s;", name)
			}
			out.WriteRune(rune(n))
		default:
			return "", badRequest("can't parse entities: unsupported entity &%s;", name)
		}
		s = s[i+end+1:]
	}
}

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
