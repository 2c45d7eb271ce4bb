package flows

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aimabot/aimabot/rules"
)

// SchemaVersion is the version of the session's JSON. A session written by a
// newer version is refused rather than misread.
const SchemaVersion = 1

// Session is everything the assistant remembers about one conversation. It is
// stored as small JSON; document contents are never in it, only Telegram's
// (or the console's) reference to the file.
type Session struct {
	Version int           `json:"v"`
	State   string        `json:"state"`
	Step    int           `json:"step"` // bumped on every new question, so buttons of earlier steps are recognised
	Lang    string        `json:"lang"`
	Kind    rules.Kind    `json:"kind,omitempty"`
	Reason  rules.Reason  `json:"reason,omitempty"`
	Expiry  rules.Date    `json:"expiry,omitzero"`
	Docs    []Doc         `json:"docs,omitempty"`
	Skipped []rules.DocID `json:"skipped,omitempty"`
	// Replacing is the document the next file replaces, when the applicant
	// asked to replace one.
	Replacing rules.DocID `json:"replacing,omitempty"`
	// Adding is the document the next file is another page (or the back)
	// of: after the front of a card, or when the applicant asked to add a
	// page. A document's pages are its entries in Docs, in order.
	Adding rules.DocID `json:"adding,omitempty"`
	// Last is the reference of the file received last, which "That's not
	// it" files under another document.
	Last string `json:"last,omitempty"`
	// Confirming is a question asked on top of the current step ("cancel").
	Confirming string `json:"confirming,omitempty"`
	// Guess is what a typed story told (the request, a date), while the
	// applicant is asked to confirm it (Confirming "opening").
	Guess *Guess `json:"guess,omitempty"`
	// Opening is the first message, kept only while the language is asked
	// so that it is read once the language is chosen.
	Opening string `json:"opening,omitempty"`
	// ExpiryGiven says the expiry date came with the applicant's story, so
	// the expiry question is skipped when the conversation reaches it.
	ExpiryGiven bool `json:"expiry_given,omitempty"`
	// Misses counts consecutive inputs that did not fit the step.
	Misses int `json:"misses,omitempty"`
	// Unanswered counts consecutive questions the knowledge base could not answer.
	Unanswered int    `json:"unanswered,omitempty"`
	Human      *Case  `json:"human,omitempty"`    // the support case, once a person was asked for
	Question   string `json:"question,omitempty"` // the last question typed for the support team
	// Name is the applicant's first name as their app gives it, for the
	// support team's topic.
	Name string `json:"name,omitempty"`
	// Recent are the applicant's last messages, for the support team's card.
	Recent []Line `json:"recent,omitempty"`
	// Album holds the photos of an album (a Telegram media group) until the
	// album is complete, so that it fills documents in order with one reply.
	Album *Album `json:"album,omitempty"`
	// Blocked is when sending to this chat last failed because the applicant
	// blocked the bot; any new input from them clears it.
	Blocked *time.Time `json:"blocked,omitempty"`
	// Reminded and Noticed are the last activity (Updated) for which the
	// reminder to send documents, and the notice of an erasure, were sent:
	// one of each per spell of inactivity.
	Reminded time.Time `json:"reminded,omitzero"`
	Noticed  time.Time `json:"noticed,omitzero"`
	// Remind: the applicant asked for reminders before the last day.
	Remind *Remind `json:"remind,omitempty"`
	// Submitted is when the applicant said they sent their request to
	// AIMA; CheckIn when the assistant asks whether AIMA answered (zero
	// once asked, or when turned off).
	Submitted time.Time `json:"submitted,omitzero"`
	CheckIn   time.Time `json:"check_in,omitzero"`
	// Alive is when the assistant last woke only to keep a conversation
	// whose reminders reach beyond the retention (see Flow.keepAlive).
	Alive time.Time `json:"alive,omitzero"`
	// Packed are the PDFs made of the documents and sent back.
	Packed  []Packed  `json:"packed,omitempty"`
	Created time.Time `json:"created"`
	Updated time.Time `json:"updated"`
}

// Doc is a document the applicant sent.
type Doc struct {
	ID    rules.DocID    `json:"id"`
	Ref   string         `json:"ref"` // Telegram file id or console path; never the contents
	Type  rules.FileType `json:"type"`
	Size  int64          `json:"size"`
	Photo bool           `json:"photo,omitempty"`
	At    time.Time      `json:"at"`
}

// Album is an album being received.
type Album struct {
	ID    string    `json:"id"`
	Files []File    `json:"files,omitempty"`
	Msgs  []Message `json:"msgs,omitempty"`
	From  *Agent    `json:"from,omitempty"` // the staff member sending it, for a staff album
	// Note: an item of a staff album was captioned as an internal note, so
	// the whole album stays in the topic.
	Note bool `json:"note,omitempty"`
}

// Marshal encodes the session as JSON.
func (s Session) Marshal() ([]byte, error) {
	s.Version = SchemaVersion
	b, err := json.Marshal(s)
	if err != nil {
		return nil, fmt.Errorf("flows: encode session: %w", err)
	}
	return b, nil
}

// Unmarshal decodes a stored session; nil or empty data is a new session.
func Unmarshal(data []byte) (Session, error) {
	var s Session
	if len(data) == 0 {
		return s, nil
	}
	if err := json.Unmarshal(data, &s); err != nil {
		return Session{}, fmt.Errorf("flows: decode session: %w", err)
	}
	if s.Version > SchemaVersion {
		return Session{}, fmt.Errorf("flows: session schema v%d is newer than this program's v%d", s.Version, SchemaVersion)
	}
	return s, nil
}

// Language is the language to answer in: the applicant's choice, or
// English before they made one.
func (s Session) Language() string {
	if s.Lang == "" {
		return "en"
	}
	return s.Lang
}

func (s Session) clone() Session {
	s.Docs = slices.Clone(s.Docs)
	s.Skipped = slices.Clone(s.Skipped)
	s.Human = s.Human.clone()
	if s.Guess != nil {
		g := *s.Guess
		s.Guess = &g
	}
	s.Recent = slices.Clone(s.Recent)
	s.Packed = slices.Clone(s.Packed)
	if s.Remind != nil {
		r := *s.Remind
		r.Sent = slices.Clone(r.Sent)
		s.Remind = &r
	}
	if s.Album != nil {
		s.Album = s.Album.clone()
	}
	return s
}

func (s Session) doc(id rules.DocID) (Doc, bool) {
	for _, d := range s.Docs {
		if d.ID == id {
			return d, true
		}
	}
	return Doc{}, false
}

// pages are the files sent for document id, in order.
func (s Session) pages(id rules.DocID) int {
	n := 0
	for _, d := range s.Docs {
		if d.ID == id {
			n++
		}
	}
	return n
}

func (s Session) skipped(id rules.DocID) bool { return slices.Contains(s.Skipped, id) }

// Input is one thing the applicant did: typed text or a command, pressed a
// button, sent files, or sent something the assistant cannot read.
type Input struct {
	Kind    InputKind
	Text    string // Text: the message; Command: the arguments after the command
	Command string // Command: the name without "/" or "@bot", lower case
	Data    string // Button: the button's data
	Files   []File // Files: one file, or an album in order
	// Album is the album (media group) a file belongs to; its files are
	// gathered and answered together when an input of another kind, or
	// AlbumEnd, arrives.
	Album string
	// ClientLang is the language of the user's app, used for a new session.
	ClientLang string
	// Name is the applicant's first name, as their app gives it.
	Name string
	// Label is the pressed button's label (Button), when the transport knows it.
	Label string
	// Msgs are the messages the input came in, for passing them on as they
	// are between the applicant and the support team.
	Msgs []Message
	// From is set when the input comes from a member of the support team,
	// in the applicant's staff topic.
	From *Agent
	// Caption is the caption of a staff member's media message: one that
	// starts like a note ("!", "/note") keeps the message internal.
	Caption string
	// Reply is the saved reply a staff member's /reply names, when the
	// transport has one of its own (saved with /savereply); otherwise the
	// shipped one of that key is sent.
	Reply *SavedReply
	// Team is the support team as the transport knows it, for /assign.
	Team []Agent
	// ReplyKeys are the keys of every saved reply, the team's and the
	// shipped ones, when the transport lists them for a card's button.
	ReplyKeys []string
	// Packed is what the transport made of a Package (input Packed).
	Packed *PackResult
}

// InputKind says what an Input carries.
type InputKind int

// The kinds of input.
const (
	Text InputKind = iota + 1
	Command
	Button
	Files
	Unsupported // stickers, voice, locations, contacts…
	AlbumEnd    // the transport saw no more photos of the album: answer it
	// WakeUp is the transport's clock: what is due now (a reminder, the
	// notice before an erasure, the erasure) happens.
	WakeUp
	// BotBlocked is the transport's word that the applicant blocked the
	// bot: a reply could not be delivered.
	BotBlocked
	// BotUnblocked is the transport's word that the applicant unblocked
	// the bot (see Flow.Unblocked).
	BotUnblocked
	// PackageDone is the transport's outcome of a Reply.Package
	// (Input.Packed): what was sent, and what could not be.
	PackageDone
)

// File is a document or photo the transport has already checked by content.
type File struct {
	Ref   string         `json:"ref"`
	Type  rules.FileType `json:"type"` // from the file's first bytes; "" when not one the assistant accepts
	Size  int64          `json:"size"`
	Photo bool           `json:"photo,omitempty"`
	// Claimed is the accepted type the file was sent as (its declared
	// MIME type) when its first bytes are not that type: a ZIP named .pdf,
	// a damaged JPEG. It lets the assistant say what was wrong.
	Claimed rules.FileType `json:"claimed,omitempty"`
	// Unreadable is a file Telegram will not hand over (a permanent error
	// fetching it): the applicant is asked to send it again.
	Unreadable bool `json:"unreadable,omitempty"`
}

// Reply is one message to the applicant or, with Staff set, to the support
// team's topic about this applicant.
type Reply struct {
	Text    string
	Buttons [][]ButtonSpec // rows of buttons
	Staff   bool
	// General, with Staff, posts Text in the staff group's General topic,
	// with a link to the case's topic, rather than in the case's topic.
	General bool
	// Copy are messages to pass on as they are instead of Text: the
	// applicant's into the staff topic, or a staff member's to the applicant.
	Copy []Message
	// Card asks the transport to bring the staff topic up to date with the
	// case: open it if needed, and show the card and documents as they are.
	Card bool
	// Forget asks the transport to erase everything stored about the
	// applicant (session, pending messages, wake-ups) before the replies
	// that follow.
	Forget bool
	// DropCase asks the transport to remove what shows the case to the
	// support team (its topic, its card, the copies), because the case was
	// erased.
	DropCase bool
	// CaseMsgs, with DropCase, are the support team's messages in the
	// case, to remove with it where the transport cannot remove the whole.
	CaseMsgs []int
	// Lang, with DropCase, is the language in which to tell the applicant
	// what of the topic could not be removed; "" when they are not told.
	Lang string
	// Event names what happened, for the operator's metrics; not shown.
	Event string
	// Links are pieces of Text that open a web page: Telegram shows the
	// address behind the words (a text link), the console next to them.
	Links []Link
	// Bold are pieces of Text that carry a key fact (the last day, the
	// request, what is missing): the transport shows them in bold.
	Bold []string
	// Package asks the transport to make the applicant's documents into
	// one PDF each and send them back; it answers with a PackageDone
	// input.
	Package *Package
}

// Link is a piece of a reply's text, and the address it opens. A reply's
// links are in the order their texts first appear in it.
type Link struct {
	Text string
	URL  string
}

// ButtonSpec is an inline button: the label shown and the data sent back.
type ButtonSpec struct {
	Label string
	Data  string
}

// ParseText turns a typed line into a command Input when it is one
// ("/start", "/start@aimabot payload") and into a text Input otherwise.
func ParseText(text, clientLang string) Input {
	in := Input{Kind: Text, Text: text, ClientLang: clientLang}
	if len(text) < 2 || text[0] != '/' {
		return in
	}
	word, args, _ := cutSpace(text[1:])
	name, _, _ := strings.Cut(word, "@")
	if name == "" || !isCommandName(name) {
		return in
	}
	return Input{Kind: Command, Command: strings.ToLower(name), Text: args, ClientLang: clientLang}
}
