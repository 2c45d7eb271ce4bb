//lint:file-ignore ST1005 the parse errors are Telegram's descriptions, capitalized as Telegram sends them

package fakeapi

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/go-telegram/bot/models"
)

// Limits of message contents, as Telegram counts them (UTF-16 code units of
// the text after parse_mode processing).
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

// textBuilder accumulates visible text, counting UTF-16 code units.
type textBuilder struct {
	b   strings.Builder
	u16 int
}

func (t *textBuilder) byte(c byte) {
	t.b.WriteByte(c)
	if c < 0x80 {
		t.u16++
	} else if c >= 0xc0 { // first byte of a multi-byte sequence
		t.u16++
		if c >= 0xf0 {
			t.u16++
		}
	}
}

func (t *textBuilder) str(s string) {
	for i := 0; i < len(s); i++ {
		t.byte(s[i])
	}
}

func (t *textBuilder) rune(r rune) { t.str(string(r)) }

// formatText applies parse_mode to a text or caption and returns what the
// user sees with its entities, or Telegram's "can't parse entities" error.
// Entities given explicitly (without parse_mode) are kept, shifted by the
// trimming.
func formatText(text, parseMode string, explicit []models.MessageEntity) (string, []models.MessageEntity, *apiError) {
	if !utf8.ValidString(text) {
		return "", nil, badRequest("strings must be encoded in UTF-8")
	}
	var (
		out  string
		ents []models.MessageEntity
		err  error
	)
	switch strings.ToLower(parseMode) {
	case "":
		out, ents = text, explicit
	case "html":
		out, ents, err = parseHTML(text)
	case "markdownv2":
		out, ents, err = parseMarkdownV2(text)
	case "markdown":
		out, ents, err = parseMarkdown(text)
	default:
		return "", nil, badRequest("unsupported parse_mode")
	}
	if err != nil {
		return "", nil, badRequest("can't parse entities: %v", err)
	}
	out, ents = trimText(out, ents)
	return out, ents, nil
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

type openEntity struct {
	tag    string
	typ    models.MessageEntityType
	offset int // UTF-16 offset in the output
	pos    int // byte offset in the input
	outPos int // byte offset in the output
	url    string
	lang   string
}

// htmlEntityType maps a supported HTML tag to its entity type.
func htmlEntityType(tag string) (models.MessageEntityType, bool) {
	switch tag {
	case "b", "strong":
		return models.MessageEntityTypeBold, true
	case "i", "em":
		return models.MessageEntityTypeItalic, true
	case "u", "ins":
		return models.MessageEntityTypeUnderline, true
	case "s", "strike", "del":
		return models.MessageEntityTypeStrikethrough, true
	case "tg-spoiler", "span":
		return models.MessageEntityTypeSpoiler, true
	case "a":
		return models.MessageEntityTypeTextLink, true
	case "code":
		return models.MessageEntityTypeCode, true
	case "pre":
		return models.MessageEntityTypePre, true
	case "blockquote":
		return models.MessageEntityTypeBlockquote, true
	case "tg-emoji":
		return models.MessageEntityTypeCustomEmoji, true
	}
	return "", false
}

func isNameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_'
}

func isSpaceByte(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r'
}

// decodeHTMLEntity decodes the entity at s[i] ('&'); ok is false when it is
// not one Telegram knows, and the '&' is then literal.
func decodeHTMLEntity(s string, i int) (r rune, n int, ok bool) {
	end := strings.IndexByte(s[i:min(len(s), i+16)], ';')
	if end < 2 || end > 12 {
		return 0, 0, false
	}
	name := s[i+1 : i+end]
	switch name {
	case "lt":
		return '<', end + 1, true
	case "gt":
		return '>', end + 1, true
	case "amp":
		return '&', end + 1, true
	case "quot":
		return '"', end + 1, true
	}
	if name[0] != '#' {
		return 0, 0, false
	}
	var v uint64
	var err error
	if len(name) > 1 && (name[1] == 'x' || name[1] == 'X') {
		v, err = strconv.ParseUint(name[2:], 16, 32)
	} else {
		v, err = strconv.ParseUint(name[1:], 10, 32)
	}
	if err != nil || v == 0 || v > unicode.MaxRune || (v >= 0xd800 && v <= 0xdfff) {
		return 0, 0, false
	}
	return rune(v), end + 1, true
}

// parseHTML follows Telegram's HTML parse mode (tdlib's parse_html).
func parseHTML(s string) (string, []models.MessageEntity, error) {
	var out textBuilder
	var stack []openEntity
	var ents []models.MessageEntity
	for i := 0; i < len(s); {
		c := s[i]
		if c == '&' {
			if r, n, ok := decodeHTMLEntity(s, i); ok {
				out.rune(r)
				i += n
				continue
			}
			out.byte(c)
			i++
			continue
		}
		if c != '<' {
			out.byte(c)
			i++
			continue
		}
		begin := i
		if i+1 < len(s) && s[i+1] == '/' {
			// end tag
			if len(stack) == 0 {
				return "", nil, fmt.Errorf("Unexpected end tag at byte offset %d", begin)
			}
			i += 2
			j := i
			for j < len(s) && isNameByte(s[j]) {
				j++
			}
			name := strings.ToLower(s[i:j])
			top := stack[len(stack)-1]
			if name != top.tag {
				return "", nil, fmt.Errorf("Unmatched end tag at byte offset %d, expected \"</%s>\", found \"</%s>\"", begin, top.tag, name)
			}
			for j < len(s) && isSpaceByte(s[j]) {
				j++
			}
			if j >= len(s) || s[j] != '>' {
				return "", nil, fmt.Errorf("Unclosed end tag at byte offset %d", begin)
			}
			i = j + 1
			stack = stack[:len(stack)-1]
			if out.u16 > top.offset {
				e := models.MessageEntity{Type: top.typ, Offset: top.offset, Length: out.u16 - top.offset, URL: top.url, Language: top.lang}
				if top.typ == models.MessageEntityTypeCode && top.lang != "" && len(stack) > 0 && stack[len(stack)-1].tag == "pre" {
					stack[len(stack)-1].lang = top.lang
					continue
				}
				ents = append(ents, e)
			}
			continue
		}
		// start tag
		i++
		j := i
		for j < len(s) && isNameByte(s[j]) {
			j++
		}
		name := strings.ToLower(s[i:j])
		i = j
		if i >= len(s) {
			return "", nil, fmt.Errorf("Unclosed start tag at byte offset %d", begin)
		}
		typ, ok := htmlEntityType(name)
		if !ok {
			return "", nil, fmt.Errorf("Unsupported start tag \"%s\" at byte offset %d", name, begin)
		}
		open := openEntity{tag: name, typ: typ, offset: out.u16, pos: begin}
		for {
			for i < len(s) && isSpaceByte(s[i]) {
				i++
			}
			if i >= len(s) {
				return "", nil, fmt.Errorf("Unclosed start tag at byte offset %d", begin)
			}
			if s[i] == '>' {
				i++
				break
			}
			if s[i] == '/' && i+1 < len(s) && s[i+1] == '>' {
				return "", nil, fmt.Errorf("Unsupported start tag \"%s/\" at byte offset %d", name, begin)
			}
			a := i
			for i < len(s) && isNameByte(s[i]) {
				i++
			}
			attr := strings.ToLower(s[a:i])
			if attr == "" {
				return "", nil, fmt.Errorf("Empty attribute name in the tag \"%s\" at byte offset %d", name, begin)
			}
			for i < len(s) && isSpaceByte(s[i]) {
				i++
			}
			value := ""
			if i < len(s) && s[i] == '=' {
				i++
				for i < len(s) && isSpaceByte(s[i]) {
					i++
				}
				if i >= len(s) {
					return "", nil, fmt.Errorf("Unclosed start tag at byte offset %d", begin)
				}
				if q := s[i]; q == '"' || q == '\'' {
					end := strings.IndexByte(s[i+1:], q)
					if end < 0 {
						return "", nil, fmt.Errorf("Unclosed start tag at byte offset %d", begin)
					}
					value = decodeEntities(s[i+1 : i+1+end])
					i += end + 2
				} else {
					v := i
					for i < len(s) && !isSpaceByte(s[i]) && s[i] != '>' {
						i++
					}
					value = s[v:i]
				}
			} else if i < len(s) && s[i] != '>' && !isNameByte(s[i]) {
				return "", nil, fmt.Errorf("Expected equal sign in declaration of an attribute of the tag \"%s\" at byte offset %d", name, begin)
			}
			switch {
			case name == "a" && attr == "href":
				open.url = value
			case name == "code" && attr == "class":
				open.lang = strings.TrimPrefix(value, "language-")
			case name == "span" && attr == "class":
				if value != "tg-spoiler" {
					return "", nil, fmt.Errorf("Tag \"span\" must have class \"tg-spoiler\" at byte offset %d", begin)
				}
				open.url = "spoiler"
			case name == "blockquote" && attr == "expandable":
				open.typ = models.MessageEntityTypeExpandableBlockquote
			}
		}
		if name == "span" && open.url != "spoiler" {
			return "", nil, fmt.Errorf("Tag \"span\" must have class \"tg-spoiler\" at byte offset %d", begin)
		}
		if name == "span" {
			open.url = ""
		}
		stack = append(stack, open)
	}
	if len(stack) > 0 {
		return "", nil, fmt.Errorf("Can't find end tag corresponding to start tag \"%s\"", stack[len(stack)-1].tag)
	}
	return out.b.String(), ents, nil
}

func decodeEntities(s string) string {
	if !strings.Contains(s, "&") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		if s[i] == '&' {
			if r, n, ok := decodeHTMLEntity(s, i); ok {
				b.WriteRune(r)
				i += n
				continue
			}
		}
		b.WriteByte(s[i])
		i++
	}
	return b.String()
}

// mdv2Names are tdlib's names of entity types in its error messages.
func mdv2Name(t models.MessageEntityType) string {
	switch t {
	case models.MessageEntityTypeBold:
		return "Bold"
	case models.MessageEntityTypeItalic:
		return "Italic"
	case models.MessageEntityTypeUnderline:
		return "Underline"
	case models.MessageEntityTypeStrikethrough:
		return "Strikethrough"
	case models.MessageEntityTypeSpoiler:
		return "Spoiler"
	case models.MessageEntityTypeTextLink:
		return "TextUrl"
	case models.MessageEntityTypeCode:
		return "Code"
	case models.MessageEntityTypePre:
		return "Pre"
	case models.MessageEntityTypeCustomEmoji:
		return "CustomEmoji"
	}
	return string(t)
}

// parseMarkdownV2 follows Telegram's MarkdownV2 parse mode (tdlib's
// parse_markdown_v2).
func parseMarkdownV2(s string) (string, []models.MessageEntity, error) {
	at := func(i int) byte {
		if i < len(s) {
			return s[i]
		}
		return 0
	}
	var out textBuilder
	var stack []openEntity
	var ents []models.MessageEntity
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\\' && at(i+1) > 0 && at(i+1) <= 126 {
			i++
			out.byte(s[i])
			continue
		}
		reserved := "_*[]()~`>#+-=|{}.!"
		if len(stack) > 0 {
			switch stack[len(stack)-1].typ {
			case models.MessageEntityTypeCode, models.MessageEntityTypePre:
				reserved = "`"
			}
		}
		if !strings.ContainsRune(reserved, rune(c)) {
			out.byte(c)
			continue
		}
		if c == '>' && (i == 0 || s[i-1] == '\n') && reserved != "`" {
			// a block quote line; the marker is not shown
			continue
		}
		end := false
		if len(stack) > 0 {
			switch stack[len(stack)-1].typ {
			case models.MessageEntityTypeBold:
				end = c == '*'
			case models.MessageEntityTypeItalic:
				end = c == '_' && at(i+1) != '_'
			case models.MessageEntityTypeCode:
				end = c == '`'
			case models.MessageEntityTypePre:
				end = c == '`' && at(i+1) == '`' && at(i+2) == '`'
			case models.MessageEntityTypeTextLink, models.MessageEntityTypeCustomEmoji:
				end = c == ']'
			case models.MessageEntityTypeUnderline:
				end = c == '_' && at(i+1) == '_'
			case models.MessageEntityTypeStrikethrough:
				end = c == '~'
			case models.MessageEntityTypeSpoiler:
				end = c == '|' && at(i+1) == '|'
			}
		}
		if !end {
			open := openEntity{offset: out.u16, pos: i, outPos: out.b.Len()}
			switch c {
			case '_':
				if at(i+1) == '_' {
					open.typ = models.MessageEntityTypeUnderline
					i++
				} else {
					open.typ = models.MessageEntityTypeItalic
				}
			case '*':
				open.typ = models.MessageEntityTypeBold
			case '~':
				open.typ = models.MessageEntityTypeStrikethrough
			case '|':
				if at(i+1) != '|' {
					return "", nil, fmt.Errorf("Character '%c' is reserved and must be escaped with the preceding '\\'", c)
				}
				i++
				open.typ = models.MessageEntityTypeSpoiler
			case '[':
				open.typ = models.MessageEntityTypeTextLink
			case '`':
				if at(i+1) == '`' && at(i+2) == '`' {
					i += 3
					open.typ = models.MessageEntityTypePre
					le := i
					for le < len(s) && !isSpaceByte(s[le]) && s[le] != '`' {
						le++
					}
					if le != i && le < len(s) && s[le] != '`' {
						open.lang = s[i:le]
						i = le
					}
					if at(i) == '\n' || at(i) == '\r' {
						if (at(i+1) == '\n' || at(i+1) == '\r') && at(i) != at(i+1) {
							i += 2
						} else {
							i++
						}
					}
					i--
				} else {
					open.typ = models.MessageEntityTypeCode
				}
			case '!':
				if at(i+1) == '[' {
					i++
					open.typ = models.MessageEntityTypeCustomEmoji
					break
				}
				return "", nil, fmt.Errorf("Character '%c' is reserved and must be escaped with the preceding '\\'", c)
			default:
				return "", nil, fmt.Errorf("Character '%c' is reserved and must be escaped with the preceding '\\'", c)
			}
			open.offset = out.u16
			stack = append(stack, open)
			continue
		}
		top := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		e := models.MessageEntity{Type: top.typ, Offset: top.offset, Length: out.u16 - top.offset}
		switch top.typ {
		case models.MessageEntityTypeUnderline, models.MessageEntityTypeSpoiler:
			i++
		case models.MessageEntityTypePre:
			i += 2
			e.Language = top.lang
		case models.MessageEntityTypeTextLink, models.MessageEntityTypeCustomEmoji:
			var u strings.Builder
			if at(i+1) != '(' {
				u.WriteString(out.b.String()[top.outPos:])
			} else {
				i += 2
				ub := i
				for i < len(s) && s[i] != ')' {
					if s[i] == '\\' && at(i+1) > 0 && at(i+1) <= 126 {
						u.WriteByte(s[i+1])
						i += 2
						continue
					}
					u.WriteByte(s[i])
					i++
				}
				if at(i) != ')' {
					return "", nil, fmt.Errorf("Can't find end of a URL at byte offset %d", ub)
				}
			}
			if top.typ == models.MessageEntityTypeCustomEmoji {
				e.CustomEmojiID = strings.TrimPrefix(u.String(), "tg://emoji?id=")
			} else {
				e.URL = u.String()
			}
		}
		if e.Length > 0 {
			ents = append(ents, e)
		}
	}
	if len(stack) > 0 {
		top := stack[len(stack)-1]
		return "", nil, fmt.Errorf("Can't find end of %s entity at byte offset %d", mdv2Name(top.typ), top.pos)
	}
	return out.b.String(), ents, nil
}

// parseMarkdown follows Telegram's legacy Markdown parse mode.
func parseMarkdown(s string) (string, []models.MessageEntity, error) {
	at := func(i int) byte {
		if i < len(s) {
			return s[i]
		}
		return 0
	}
	var out textBuilder
	var ents []models.MessageEntity
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\\' && (at(i+1) == '_' || at(i+1) == '*' || at(i+1) == '`' || at(i+1) == '[') {
			i++
			out.byte(s[i])
			continue
		}
		if c != '_' && c != '*' && c != '`' && c != '[' {
			out.byte(c)
			continue
		}
		begin := i
		endChar := c
		if c == '[' {
			endChar = ']'
		}
		i++
		pre := false
		lang := ""
		if c == '`' && at(i) == '`' && at(i+1) == '`' {
			i += 2
			pre = true
			le := i
			for le < len(s) && !isSpaceByte(s[le]) && s[le] != '`' {
				le++
			}
			if le != i && le < len(s) && s[le] != '`' {
				lang = s[i:le]
				i = le
			}
		}
		offset := out.u16
		for i < len(s) && (s[i] != endChar || (pre && !(at(i+1) == '`' && at(i+2) == '`'))) {
			out.byte(s[i])
			i++
		}
		if i >= len(s) {
			return "", nil, fmt.Errorf("Can't find end of the entity starting at byte offset %d", begin)
		}
		if out.u16 > offset {
			e := models.MessageEntity{Offset: offset, Length: out.u16 - offset}
			switch c {
			case '_':
				e.Type = models.MessageEntityTypeItalic
			case '*':
				e.Type = models.MessageEntityTypeBold
			case '`':
				e.Type = models.MessageEntityTypeCode
				if pre {
					e.Type, e.Language = models.MessageEntityTypePre, lang
				}
			case '[':
				e.Type = models.MessageEntityTypeTextLink
				if at(i+1) != '(' {
					e.URL = s[begin+1 : i]
				} else {
					i += 2
					u := i
					for i < len(s) && s[i] != ')' {
						i++
					}
					e.URL = s[u:min(i, len(s))]
				}
			}
			ents = append(ents, e)
		}
		if pre {
			i += 2
		}
	}
	return out.b.String(), ents, nil
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
