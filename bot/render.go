package bot

import (
	"encoding/json"
	"fmt"
	"html"
	"slices"
	"strings"
	"time"
	"unicode/utf16"

	"github.com/go-telegram/bot/models"

	"github.com/aimabot/aimabot/flows"
)

// maxText is Telegram's limit on a message's text, in UTF-16 code units.
const maxText = 4096

// op is one call to Telegram, as kept in a chat's outbox. A chat's outbox
// also carries what concerns the chat's case in the staff group (Staff set),
// so that the applicant's and the team's messages keep one order and one
// delivery guarantee.
type op struct {
	Kind      string  `json:"k"`           // send, edit, unbutton, answer, copy, card
	Text      string  `json:"t,omitempty"` // send, edit: the text; answer: the notice
	Buttons   [][]btn `json:"b,omitempty"`
	MessageID int     `json:"m,omitempty"` // edit, unbutton
	QueryID   string  `json:"q,omitempty"` // answer
	// Staff sends (send, copy) to the case's topic in the staff group rather
	// than to the chat.
	Staff bool `json:"s,omitempty"`
	// General, with Staff, sends to the staff group's General topic, with a
	// link to the case's topic.
	General bool `json:"g,omitempty"`
	// Thread, for a drop, is the topic of a case whose session an older
	// version wrote (flows.Legacy), in case the desk has no record of it.
	Thread int `json:"th,omitempty"`
	// Msgs are the messages a copy passes on, in order.
	Msgs []flows.Message `json:"ms,omitempty"`
	// IDs are the staff's messages in an erased case's topic, to delete
	// when the topic itself cannot be (drop).
	IDs []int `json:"ids,omitempty"`
	// Lang is the language of the applicant to tell, after a drop, what
	// could not be removed; "" when the erasure was not theirs to ask.
	Lang string `json:"lang,omitempty"`
	// Links, for a send, are pieces of Text with a web address behind them.
	Links []flows.Link `json:"ln,omitempty"`
	// Bold, for a send, are pieces of Text shown in bold (key facts).
	Bold []string `json:"bd,omitempty"`
	// Pack, for a package, is what to make into PDFs and send back.
	Pack *flows.Package `json:"pk,omitempty"`
	// At is when the operation was committed (unix milliseconds), for the
	// outbox's age in the metrics.
	At int64 `json:"at,omitempty"`
}

const (
	opSend     = "send"
	opEdit     = "edit"     // replace a message's text and remove its buttons
	opUnbutton = "unbutton" // remove a message's buttons
	opAnswer   = "answer"   // answer a button press
	opCopy     = "copy"     // pass messages on between the applicant and the staff topic
	opCard     = "card"     // bring the case's staff topic up to date
	opDrop     = "drop"     // delete an erased case's staff topic
	opPackage  = "package"  // make the documents into PDFs and send them back
)

type btn struct {
	Label string `json:"l"`
	Data  string `json:"d"`
}

// keyboard is the inline keyboard as Telegram defines it. go-telegram/bot's
// own type serialises an empty copy_text on every button, which Telegram
// rejects, so only the two fields a callback button has are sent.
type keyboard struct {
	InlineKeyboard [][]keyButton `json:"inline_keyboard"`
}

type keyButton struct {
	Text         string `json:"text"`
	CallbackData string `json:"callback_data"`
}

// harmlessTwice says that performing the operation a second time changes
// nothing the applicant sees: an edit to the same text or buttons ("not
// modified"), or a second answer to a button press (refused as too old).
func (o op) harmlessTwice() bool {
	return o.Kind == opEdit || o.Kind == opUnbutton || o.Kind == opAnswer
}

// applicantFirst puts the operations for the applicant before those for
// the staff group, each in its order: the chat's outbox is delivered in
// order, and the applicant should not wait for the case's card and topic
// (several Bot API calls) to be brought up to date before the reply.
func applicantFirst(ops []op) []op {
	slices.SortStableFunc(ops, func(a, b op) int {
		switch {
		case !a.toStaff() && b.toStaff():
			return -1
		case a.toStaff() && !b.toStaff():
			return 1
		}
		return 0
	})
	return ops
}

// toStaff says the operation goes to the staff group.
func (o op) toStaff() bool { return o.Staff || o.Kind == opCard }

func (o op) keyboard() *keyboard { return keyboardOf(o.Buttons) }

// buttonsOf keeps the flow's buttons in an operation.
func buttonsOf(rows [][]flows.ButtonSpec) [][]btn {
	var out [][]btn
	for _, row := range rows {
		r := make([]btn, 0, len(row))
		for _, b := range row {
			r = append(r, btn{Label: b.Label, Data: b.Data})
		}
		out = append(out, r)
	}
	return out
}

// keyboardOf is the inline keyboard of buttons; nil when there are none.
func keyboardOf(rows [][]btn) *keyboard {
	if len(rows) == 0 {
		return nil
	}
	k := &keyboard{InlineKeyboard: make([][]keyButton, 0, len(rows))}
	for _, row := range rows {
		r := make([]keyButton, 0, len(row))
		for _, b := range row {
			r = append(r, keyButton{Text: b.Label, CallbackData: b.Data})
		}
		k.InlineKeyboard = append(k.InlineKeyboard, r)
	}
	return k
}

// render turns the flow's replies into send operations: texts over
// Telegram's limit are split at paragraph or line ends, and the buttons go
// with the last part.
func render(replies []flows.Reply) []op {
	var ops []op
	for _, r := range replies {
		switch {
		case r.Card:
			ops = append(ops, op{Kind: opCard})
			continue
		case r.DropCase:
			ops = append(ops, op{Kind: opDrop, Staff: true, IDs: r.CaseMsgs, Lang: r.Lang})
			continue
		case len(r.Copy) > 0:
			ops = append(ops, op{Kind: opCopy, Staff: r.Staff, Msgs: r.Copy})
			continue
		case r.Package != nil:
			ops = append(ops, op{Kind: opPackage, Pack: r.Package})
			continue
		}
		parts := split(r.Text, maxText)
		links := r.Links
		for i, p := range parts {
			o := op{Kind: opSend, Text: p, Staff: r.Staff, General: r.Staff && r.General}
			if i == len(parts)-1 {
				o.Buttons = buttonsOf(r.Buttons)
			}
			o.Links, links = linksIn(p, links)
			for _, b := range r.Bold {
				if strings.Contains(p, b) {
					o.Bold = append(o.Bold, b)
				}
			}
			ops = append(ops, o)
		}
	}
	return ops
}

// utf16Len is the length of s in UTF-16 code units, as Telegram counts, with
// no allocation (it runs on every reply).
func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		if l := utf16.RuneLen(r); l > 0 {
			n += l
		} else {
			n++ // not a valid rune: one replacement character, as utf16.Encode makes
		}
	}
	return n
}

// linksIn takes from links, in order, those whose text is in part, and
// returns them and the rest (for the parts that follow).
func linksIn(part string, links []flows.Link) (in, rest []flows.Link) {
	from := 0
	for len(links) > 0 {
		i := strings.Index(part[from:], links[0].Text)
		if i < 0 || links[0].Text == "" {
			break
		}
		in = append(in, links[0])
		from += i + len(links[0].Text)
		links = links[1:]
	}
	return in, links
}

// entities puts each link's address behind its text, as Telegram's
// text_link entities, whose offsets count UTF-16 code units. Links whose
// text is not found, in order, are left out.
func entities(text string, links []flows.Link) []models.MessageEntity {
	var out []models.MessageEntity
	from := 0
	for _, l := range links {
		i := strings.Index(text[from:], l.Text)
		if i < 0 || l.Text == "" {
			continue
		}
		start := from + i
		out = append(out, models.MessageEntity{Type: models.MessageEntityTypeTextLink,
			Offset: utf16Len(text[:start]), Length: utf16Len(l.Text), URL: l.URL})
		from = start + len(l.Text)
	}
	return out
}

// split cuts text into parts of at most limit UTF-16 code units, preferring
// paragraph breaks, then line breaks, then spaces.
func split(text string, limit int) []string {
	// Cut positions are counted on the runes, so bytes that are not UTF-8
	// (never from Telegram's JSON, but possible from elsewhere) are made
	// the replacement character first.
	text = strings.TrimSpace(strings.ToValidUTF8(text, "\uFFFD"))
	if text == "" {
		return nil
	}
	var parts []string
	for utf16Len(text) > limit {
		runes := []rune(text)
		n, units := 0, 0
		for n < len(runes) {
			u := 1
			if runes[n] > 0xFFFF {
				u = 2
			}
			if units+u > limit {
				break
			}
			units += u
			n++
		}
		head := string(runes[:n])
		cut := len(head)
		for _, sep := range []string{"\n\n", "\n", " "} {
			if i := strings.LastIndex(head, sep); i > len(head)/2 {
				cut = i
				break
			}
		}
		parts = append(parts, strings.TrimSpace(text[:cut]))
		text = strings.TrimSpace(text[cut:])
	}
	return append(parts, text)
}

func encodeOps(ops []op, now time.Time) ([][]byte, error) {
	out := make([][]byte, 0, len(ops))
	for _, o := range ops {
		o.At = now.UnixMilli()
		b, err := json.Marshal(o)
		if err != nil {
			return nil, fmt.Errorf("bot: encode outbox message: %w", err)
		}
		out = append(out, b)
	}
	return out, nil
}

// previewOff turns Telegram's link preview off for a text with links or a
// web address in it: a preview of AIMA's site under an answer takes a
// phone's whole screen and says nothing the answer does not. Nil (the
// default) for a text without.
func previewOff(text string, links []flows.Link) *models.LinkPreviewOptions {
	if len(links) == 0 && !strings.Contains(text, "http://") && !strings.Contains(text, "https://") &&
		!strings.Contains(text, "t.me/") && !strings.Contains(text, "www.") {
		return nil
	}
	off := true
	return &models.LinkPreviewOptions{IsDisabled: &off}
}

// htmlOf writes text for Telegram's HTML parse mode: every piece of it
// escaped (html.EscapeString: Telegram reads the numeric entities it makes
// of quotes) (it holds what applicants typed and the knowledge base's
// answers), each link's text inside <a href>, and each bold piece (its
// first place not inside another) inside <b>.
func htmlOf(text string, links []flows.Link, bold []string) string {
	type span struct {
		start, end int
		url        string // a link; "" for bold
	}
	var spans []span
	from := 0
	for _, l := range links {
		i := strings.Index(text[from:], l.Text)
		if i < 0 || l.Text == "" {
			continue
		}
		spans = append(spans, span{from + i, from + i + len(l.Text), l.URL})
		from += i + len(l.Text)
	}
	free := func(start, end int) bool {
		for _, s := range spans {
			if start < s.end && s.start < end {
				return false
			}
		}
		return true
	}
	for _, b := range bold {
		for at := 0; b != ""; {
			i := strings.Index(text[at:], b)
			if i < 0 {
				break
			}
			if start, end := at+i, at+i+len(b); free(start, end) {
				spans = append(spans, span{start: start, end: end})
				break
			}
			at += i + 1
		}
	}
	slices.SortFunc(spans, func(a, b span) int { return a.start - b.start })
	var out strings.Builder
	at := 0
	for _, s := range spans {
		out.WriteString(html.EscapeString(text[at:s.start]))
		if s.url != "" {
			out.WriteString(`<a href="` + html.EscapeString(s.url) + `">`)
			out.WriteString(html.EscapeString(text[s.start:s.end]) + "</a>")
		} else {
			out.WriteString("<b>" + html.EscapeString(text[s.start:s.end]) + "</b>")
		}
		at = s.end
	}
	out.WriteString(html.EscapeString(text[at:]))
	return out.String()
}
