package flows

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/looplab/fsm"

	"github.com/aimabot/aimabot/flows/faq"
	"github.com/aimabot/aimabot/rules"
)

// The support case's machine, in one place: when an applicant needs a
// person, a case opens for the support team. A staff member can take the
// conversation over (the assistant pauses and messages pass between the
// applicant and the staff topic), hand it back to the assistant, which asks
// its current question again, or close it. What the support team reads (the
// case card, the queue) is in casecard.go.
//
//	none -> waiting -> taken -> released | closed
//
// What opens a case: the applicant asks (/human, the button, "can I talk to a
// person"), keeps being misunderstood, insists on a question the assistant
// cannot answer, or asks a person to check the finished package.

// Case statuses.
const (
	CaseNone     = "none"     // no case (only in the diagram: the session has none)
	CaseWaiting  = "waiting"  // waiting for a person
	CaseTaken    = "taken"    // a person has the conversation; the assistant is paused
	CaseReleased = "released" // handed back to the assistant; the case stays open
	CaseClosed   = "closed"
)

// Case events.
const (
	evEscalate = "escalate"
	evTake     = "take"
	evRelease  = "release"
	evClose    = "close"
)

// Why a case opened.
const (
	WhyAsked    = "asked"    // the applicant asked for a person
	WhyMisses   = "misses"   // the assistant kept misunderstanding
	WhyQuestion = "question" // a question the knowledge base cannot answer
	WhyReview   = "review"   // the applicant wants the package checked
)

func caseTransitions() fsm.Events {
	return fsm.Events{
		{Name: evEscalate, Src: []string{CaseNone, CaseReleased, CaseClosed}, Dst: CaseWaiting},
		{Name: evTake, Src: []string{CaseWaiting, CaseTaken, CaseReleased, CaseClosed}, Dst: CaseTaken},
		{Name: evRelease, Src: []string{CaseTaken}, Dst: CaseReleased},
		{Name: evClose, Src: []string{CaseWaiting, CaseTaken, CaseReleased}, Dst: CaseClosed},
	}
}

// CaseDiagram returns the support case's states as a Mermaid state diagram.
func CaseDiagram() (string, error) {
	return fsm.VisualizeForMermaidWithGraphType(fsm.NewFSM(CaseNone, caseTransitions(), nil), fsm.StateDiagram)
}

// The data of the case card's buttons the transport reads: Take over, the
// saved replies' list, and a saved reply (then its key).
const (
	StaffTakeData    = staffPrefix + staffTake
	StaffRepliesData = staffPrefix + staffReplies
	StaffReplyData   = staffPrefix + staffReply
)

// Staff button data: "case:<action>". Staff buttons are only ever read from
// the staff group; an applicant sending this data gets the usual answer to
// a button that is not theirs.
const (
	staffPrefix  = "case:"
	staffTake    = "take"
	staffRelease = "release"
	staffClose   = "close"
	staffReplies = "replies" // list the saved replies as buttons
	staffReply   = "reply:"  // and a saved reply's key: send it
	// How many of the applicant's last messages the card shows.
	recentLines = 5
	recentRunes = 200
	// How many case events are kept.
	historyLen = 12
	// Consecutive misunderstandings after which a case opens by itself.
	missesForCase = 5
	// Consecutive questions the knowledge base could not answer after which a case opens.
	unansweredForCase = 2
)

// Agent is a member of the support team.
type Agent struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

// Case is the applicant's support case.
type Case struct {
	Status string    `json:"status,omitempty"` // "" in sessions written before statuses: waiting
	At     time.Time `json:"at"`               // when a person was last asked for: the wait counts from it
	Why    string    `json:"why"`
	// Agent is who has the conversation (taken) or last had it.
	Agent   *Agent      `json:"agent,omitempty"`
	Since   time.Time   `json:"since,omitzero"` // when Agent took it
	History []CaseEvent `json:"history,omitempty"`
	// StaffAlbum gathers a staff member's album until it is complete, so it
	// reaches the applicant as one album.
	StaffAlbum *Album    `json:"staff_album,omitempty"`
	ClosedAt   time.Time `json:"closed_at,omitzero"`
	// Msgs are the support team's messages in the case (the transport's
	// ids), removed with the case when it is erased (Reply.CaseMsgs).
	Msgs []int `json:"msgs,omitempty"`
	// Turn is who the open case waits for, TurnTeam or TurnApplicant, since
	// TurnSince; Answered is when the team first wrote to the applicant
	// (the first response).
	Turn      string    `json:"turn,omitempty"`
	TurnSince time.Time `json:"turn_since,omitzero"`
	Answered  time.Time `json:"answered,omitzero"`
	// TeamLast is when the team last wrote to the applicant: an open case
	// the applicant leaves unanswered that long after it closes by itself.
	TeamLast time.Time `json:"team_last,omitzero"`
	// Flagged is how far the team's turn that began at FlaggedTurn was
	// flagged in the General topic: flagNear, then flagLate, once each.
	Flagged     string    `json:"flagged,omitempty"`
	FlaggedTurn time.Time `json:"flagged_turn,omitzero"`
	// Rating is what the applicant said of the help once the case closed
	// (asked once per close: RateAsked).
	Rating    *Rating `json:"rating,omitempty"`
	RateAsked bool    `json:"rate_asked,omitempty"`

	// Legacy is where the case was shown, as versions before 0.13 kept it
	// in the session. The conversation neither reads nor writes it: it is
	// carried along so the transport can move it to its own records.
	Legacy
}

// Legacy is the transport's bookkeeping of a case that older versions kept
// in the session (a staff topic, its card, what was posted there). Sessions
// written since carry none.
type Legacy struct {
	Topic  int      `json:"topic,omitempty"`
	Card   int      `json:"card,omitempty"`
	Shown  string   `json:"shown,omitempty"`
	Posted []string `json:"posted,omitempty"`
}

// CaseEvent is one change of a case, shown on its card.
type CaseEvent struct {
	At   time.Time `json:"at"`
	What string    `json:"what"` // opened, taken, released, closed
	By   string    `json:"by,omitempty"`
	Why  string    `json:"why,omitempty"`
}

// Line is one of the applicant's messages as the card shows it.
type Line struct {
	At   time.Time `json:"at"`
	Text string    `json:"text"`
	// Typed says Text is the applicant's own (typed text or a command),
	// which the card shows quoted, rather than the assistant's summary of
	// what they sent ("[files: 2]").
	Typed bool `json:"typed,omitempty"`
}

// Message is a Telegram message the transport can pass on as it is. Media,
// File and Caption are kept only when the caption is longer than a bot may
// send, so the transport can send the media with the caption cut in parts.
type Message struct {
	Chat    int64  `json:"chat"` // the chat it is in
	ID      int    `json:"id"`
	Media   string `json:"media,omitempty"` // photo, document, video, audio
	File    string `json:"file,omitempty"`
	Caption string `json:"caption,omitempty"`
}

// CaseStatus is the case's status, CaseNone when there is none.
func (s Session) CaseStatus() string {
	switch {
	case s.Human == nil:
		return CaseNone
	case s.Human.Status == "":
		return CaseWaiting
	}
	return s.Human.Status
}

// WithPerson reports whether a person has the conversation, so the
// assistant is paused.
func (s Session) WithPerson() bool { return s.CaseStatus() == CaseTaken }

func (c *Case) clone() *Case {
	if c == nil {
		return nil
	}
	n := *c
	if c.Agent != nil {
		a := *c.Agent
		n.Agent = &a
	}
	n.History = append([]CaseEvent(nil), c.History...)
	n.Posted = append([]string(nil), c.Posted...)
	n.Msgs = append([]int(nil), c.Msgs...)
	if c.StaffAlbum != nil {
		n.StaffAlbum = c.StaffAlbum.clone()
	}
	return &n
}

func (a *Album) clone() *Album {
	n := &Album{ID: a.ID, Files: append([]File(nil), a.Files...), Msgs: append([]Message(nil), a.Msgs...), Note: a.Note}
	if a.From != nil {
		f := *a.From
		n.From = &f
	}
	return n
}

// caseEvent moves the case's machine, set to the stored status.
func (t *turn) caseEvent(event string, by *Agent, why string) error {
	status, err := t.f.cases.run(t.s.CaseStatus(), event)
	if err != nil {
		return fmt.Errorf("flows: case %s in status %s: %w", event, t.s.CaseStatus(), err)
	}
	if t.s.Human == nil {
		t.s.Human = &Case{}
	}
	c := t.s.Human
	c.Status = status
	if c.Status == CaseClosed {
		c.ClosedAt = t.now
	} else {
		c.ClosedAt = time.Time{}
	}
	e := CaseEvent{At: t.now, What: event, Why: why}
	if by != nil {
		e.By = by.Name
	}
	c.History = append(c.History, e)
	if len(c.History) > historyLen {
		c.History = c.History[len(c.History)-historyLen:]
	}
	switch {
	case c.Status == CaseClosed:
		c.Turn, c.TurnSince = "", time.Time{}
	case event == evRelease && c.Turn != TurnApplicant:
		// Handed back to the assistant: the team waits for nothing more.
		c.Turn, c.TurnSince = TurnApplicant, t.now
	case event == evEscalate || c.Turn == "":
		// A case opened, or reopened, waits for the team.
		c.Turn, c.TurnSince = TurnTeam, t.now
	}
	t.cardChanged()
	return nil
}

// MentionPrefix starts a link that mentions a Telegram user: their id
// follows. A transport may drop it (the name stays) for a member who turned
// mentions off.
const MentionPrefix = "tg://user?id="

// mention links a staff member's name to them, so that they are notified.
func mention(a *Agent) Link {
	return Link{Text: a.Name, URL: MentionPrefix + strconv.FormatInt(a.ID, 10)}
}

// Whose turn an open case is.
const (
	TurnTeam      = "team"
	TurnApplicant = "applicant"
)

// teamWrote records the team writing to the applicant: the case now waits
// for the applicant, and its first response is timed.
func (t *turn) teamWrote() {
	c := t.s.Human
	if c == nil || t.s.CaseStatus() == CaseClosed {
		return
	}
	if c.Answered.IsZero() {
		c.Answered = t.now
	}
	c.TeamLast = t.now
	if c.Turn != TurnApplicant {
		c.Turn, c.TurnSince = TurnApplicant, t.now
		t.cardChanged()
	}
}

// applicantWrote records the applicant writing to the team: the case waits
// for the team again.
func (t *turn) applicantWrote() {
	c := t.s.Human
	if c == nil || t.s.CaseStatus() == CaseClosed || c.Turn == TurnTeam {
		return
	}
	c.Turn, c.TurnSince = TurnTeam, t.now
	t.cardChanged()
	if a := c.Agent; a != nil && t.s.CaseStatus() == CaseTaken && t.f.staff {
		// The member who has the case is told it is their turn, by a
		// mention (unless they turned mentions off): once per answer.
		t.out = append(t.out, Reply{Staff: true, Text: t.staffText("staff_your_turn", map[string]any{"Name": a.Name,
			"Due": clock(t.f.ReplyDue(t.s))}), Links: []Link{mention(a)}})
	}
}

// --- the applicant's side ---

// openCase opens (or reopens) a case for the support team, quietly; false
// when there is no support team, or a case is already waiting or taken.
func (t *turn) openCase(why string) bool {
	if !t.f.staff {
		return false
	}
	switch t.s.CaseStatus() {
	case CaseWaiting, CaseTaken:
		return false
	}
	if err := t.caseEvent(evEscalate, nil, why); err != nil {
		return false
	}
	t.s.Human.At, t.s.Human.Why = t.now, why
	// A new message in the General topic notifies the team (the queue is
	// edited in place, silently). It names no applicant: the General topic
	// outlives the case's erasure.
	t.out = append(t.out, Reply{Staff: true, General: true, Text: t.staffText("staff_new_case",
		map[string]any{"Title": t.f.anonymous(t.s), "Why": t.staffText("case_why_"+why, nil)})})
	return true
}

// escalate answers the applicant's request for a person.
func (t *turn) escalate(why string) {
	t.s.Misses = 0
	switch {
	case !t.f.staff:
		t.say("human_unavailable", nil)
	case t.openCase(why):
		t.say("human_recorded", nil)
	default:
		t.say("human_already", nil)
	}
	t.send()
}

// offerPerson is what follows a misunderstanding: after a few, the offer of
// a person; after more, a case opened without asking.
func (t *turn) offerPerson() bool {
	if !t.f.staff {
		return false
	}
	switch {
	case t.s.Misses >= missesForCase && t.openCase(WhyMisses):
		t.say("human_auto", nil)
		t.send()
		return true
	case t.s.Misses >= missesForHuman && t.s.CaseStatus() != CaseWaiting:
		t.say("offer_human", nil)
		t.send(t.button("btn_human", nil, actHuman))
		return true
	}
	return false
}

// remember keeps the applicant's last messages for the support team's card.
func (t *turn) remember() {
	if t.in.From != nil {
		return
	}
	var text string
	typed := false
	switch t.in.Kind {
	case Text:
		text, typed = clip(t.in.Text, recentRunes), true
	case Command:
		text, typed = clip(strings.TrimSpace("/"+t.in.Command+" "+t.in.Text), recentRunes), true
	case Button:
		if t.in.Label == "" {
			return
		}
		text = "[" + clip(t.in.Label, recentRunes) + "]"
	case Files:
		text = t.staffText("line_files", map[string]any{"Count": len(t.in.Files)})
	case Unsupported:
		text = t.staffText("line_unsupported", nil)
	default:
		return
	}
	t.s.Recent = append(t.s.Recent, Line{At: t.now, Text: text, Typed: typed})
	if len(t.s.Recent) > recentLines {
		t.s.Recent = t.s.Recent[len(t.s.Recent)-recentLines:]
	}
}

// relay passes what the applicant sent to the person who has the
// conversation; the assistant says nothing.
func (t *turn) relay() {
	t.applicantWrote()
	switch {
	case len(t.in.Msgs) > 0:
		t.out = append(t.out, Reply{Staff: true, Copy: t.in.Msgs})
	case t.in.Kind == Button:
		t.staffSay("staff_pressed", map[string]any{"Label": t.in.Label})
	case t.in.Kind == Text || t.in.Kind == Command:
		t.staffSay("staff_applicant_wrote", map[string]any{"Text": quote(t.in.Text)})
	}
}

// wantsPerson recognises a request to talk to a person, in English,
// Portuguese or French: "can I talk to a person?", "quero falar com alguém",
// "je voudrais parler à un conseiller". A message about reaching someone at
// AIMA is a question for the knowledge base instead.
func wantsPerson(text string) bool {
	words := faq.Words(text)
	if len(words) == 0 || len(words) > 14 {
		return false
	}
	verb, who := false, false
	for i, w := range words {
		switch w {
		case "aima", "sef", "loja", "balcao", "embassy", "consulate", "consulado", "consulat", "ambassade", "embaixada":
			return false
		case "human", "humano", "humain", "humaine", "person", "pessoa", "personne", "someone", "somebody",
			"alguem", "quelqu", "agent", "agente", "operator", "operador", "operateur", "atendente", "staff",
			"conseiller", "conseillere", "support", "suporte", "equipe", "team":
			who = true
		case "talk", "speak", "chat", "falar", "conversar", "parler", "contact", "contactar", "contacter", "reach",
			"joindre":
			verb = true
		case "real":
			if i+1 < len(words) && (words[i+1] == "person" || words[i+1] == "people" || words[i+1] == "human") {
				who = true
			}
		}
	}
	if who && (verb || len(words) <= 3) {
		return true
	}
	return false
}

// --- the support team's side ---

// fromStaff applies a staff member's command, button or message in the
// applicant's topic.
func (t *turn) fromStaff() error {
	a := t.in.From
	if t.s.Human == nil {
		t.staffSay("staff_no_case", nil)
		return nil
	}
	t.s.Human.noteStaffMessages(t.in.Msgs)
	switch t.in.Kind {
	case Command:
		switch t.in.Command {
		case "takeover":
			return t.take(a)
		case "release":
			return t.release(a)
		case "close":
			return t.closeCase(a)
		case "note":
			return nil
		case "card":
			t.cardChanged()
			return nil
		case "reply":
			return t.sendSaved(a)
		case "assign":
			return t.assign(a)
		}
		t.staffSay("staff_commands", nil)
		return nil
	case Button:
		action, ok := strings.CutPrefix(t.in.Data, staffPrefix)
		switch {
		case ok && action == staffTake:
			return t.take(a)
		case ok && action == staffRelease:
			return t.release(a)
		case ok && action == staffClose:
			return t.closeCase(a)
		case ok && action == staffReplies:
			t.listReplies()
			return nil
		case ok && strings.HasPrefix(action, staffReply):
			t.in.Text = strings.TrimPrefix(action, staffReply)
			return t.sendSaved(a)
		}
		t.staffSay("staff_bad_button", nil)
		return nil
	case Text:
		if isNote(t.in.Text) {
			return nil
		}
	}
	if isNote(t.in.Caption) {
		return nil
	}
	if len(t.in.Msgs) == 0 {
		return nil
	}
	return t.toApplicant(a, t.in.Msgs)
}

// toApplicant passes a staff member's messages to the applicant, taking the
// conversation over first when nobody has it: writing to the applicant is
// taking over.
func (t *turn) toApplicant(a *Agent, msgs []Message) error {
	if !t.s.WithPerson() {
		if err := t.take(a); err != nil {
			return err
		}
	}
	t.out = append(t.out, Reply{Copy: msgs})
	t.teamWrote()
	return nil
}

// listReplies posts the saved replies as buttons in the case's topic: one
// tap sends one. The transport names them all (Input.ReplyKeys); the
// shipped ones otherwise.
func (t *turn) listReplies() {
	keys := t.in.ReplyKeys
	if keys == nil {
		keys = replyKeys(t.f.replies)
	}
	var rows [][]ButtonSpec
	for _, k := range keys {
		if len(staffPrefix+staffReply+k) <= maxButtonData {
			rows = append(rows, []ButtonSpec{{Label: "✉️ " + k, Data: staffPrefix + staffReply + k}})
		}
	}
	t.out = append(t.out, Reply{Staff: true, Text: t.staffText("staff_replies_pick", nil), Buttons: rows})
}

// sendSaved sends the applicant a saved reply in their language: the
// transport's (Input.Reply) or the shipped one of the key typed. Like any
// message from the team, it takes the conversation over when nobody has
// it. The team sees which text went out.
func (t *turn) sendSaved(a *Agent) error {
	key := strings.ToLower(strings.TrimSpace(t.in.Text))
	r := t.in.Reply
	if r == nil || r.Key != key {
		shipped, ok := t.f.replies[key]
		if !ok {
			id := "staff_reply_unknown"
			if key == "" {
				id = "staff_reply_which"
			}
			t.staffSay(id, map[string]any{"Key": key, "Keys": strings.Join(replyKeys(t.f.replies), ", ")})
			return nil
		}
		r = &shipped
	}
	if !t.s.WithPerson() {
		if err := t.take(a); err != nil {
			return err
		}
	}
	lang := t.s.Language()
	t.text = append(t.text, r.Text[lang])
	t.send()
	t.teamWrote()
	t.staffSay("staff_reply_sent", map[string]any{"Key": r.Key, "Lang": t.staffText("lang_name_"+lang, nil), "Text": r.Text[lang]})
	return nil
}

// assign hands the case to another member of the team, named after
// /assign: it is theirs as if they had taken it over, and they are
// mentioned. A name nobody on the team has lists the team.
func (t *turn) assign(by *Agent) error {
	want := strings.ToLower(strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(t.in.Text), "@")))
	var to *Agent
	var names []string
	for _, m := range t.in.Team {
		names = append(names, m.Name)
		if want != "" && strings.ToLower(m.Name) == want {
			to = &Agent{ID: m.ID, Name: m.Name}
		}
	}
	if to == nil {
		t.staffSay("staff_assign_who", map[string]any{"Names": strings.Join(names, ", ")})
		return nil
	}
	if err := t.take(to); err != nil {
		return err
	}
	if to.ID != by.ID {
		t.out = append(t.out, Reply{Staff: true, Text: t.staffText("staff_assigned", map[string]any{"Name": to.Name, "By": by.Name}),
			Links: []Link{mention(to)}})
	}
	return nil
}

func (t *turn) take(a *Agent) error {
	prev := t.s.Human.Agent
	if t.s.WithPerson() && prev != nil && prev.ID == a.ID {
		t.staffSay("staff_already_yours", nil)
		return nil
	}
	if err := t.caseEvent(evTake, a, ""); err != nil {
		return err
	}
	t.s.Human.Agent, t.s.Human.Since = &Agent{ID: a.ID, Name: a.Name}, t.now
	t.s.Confirming = ""
	t.staffSay("staff_taken", map[string]any{"Name": a.Name})
	t.say("human_joined", map[string]any{"Name": a.Name})
	t.send()
	return nil
}

func (t *turn) release(a *Agent) error {
	if !t.s.WithPerson() {
		t.staffSay("staff_not_taken", nil)
		return nil
	}
	if err := t.caseEvent(evRelease, a, ""); err != nil {
		return err
	}
	t.staffSay("staff_released", map[string]any{"Name": a.Name})
	t.say("human_released", nil)
	t.send()
	t.ask()
	return nil
}

func (t *turn) closeCase(a *Agent) error {
	if t.s.CaseStatus() == CaseClosed {
		t.staffSay("staff_already_closed", nil)
		return nil
	}
	was := t.s.WithPerson()
	if err := t.caseEvent(evClose, a, ""); err != nil {
		return err
	}
	t.staffSay("staff_closed", map[string]any{"Name": a.Name})
	t.closedToApplicant("case_closed", was)
	return nil
}

// closedToApplicant tells the applicant their case closed (text id), asks
// how the help went and, when a person had the conversation, the step's
// question again.
func (t *turn) closedToApplicant(id string, was bool) {
	t.say(id, nil)
	t.send()
	t.askRating()
	if was {
		t.ask()
	}
}

// staffText renders a text for the support team, in their language.
func (t *turn) staffText(id string, data map[string]any) string {
	return t.cat.Text(t.f.staffLang, id, data)
}

// staffSay posts a notice in the applicant's staff topic.
func (t *turn) staffSay(id string, data map[string]any) {
	if !t.f.staff {
		return
	}
	t.out = append(t.out, Reply{Staff: true, Text: t.staffText(id, data)})
}

// cardChanged asks the transport to bring the staff topic up to date.
func (t *turn) cardChanged() {
	if !t.f.staff || t.s.Human == nil {
		return
	}
	for _, r := range t.out {
		if r.Card {
			return
		}
	}
	t.out = append(t.out, Reply{Staff: true, Card: true})
}

// gatherStaffAlbum keeps a staff member's album photos until the album is
// complete, and passes a complete one on before anything else; done reports
// that the input was taken.
func (t *turn) gatherStaffAlbum() (done bool, err error) {
	in := t.in
	inAlbum := in.From != nil && in.Album != "" && (in.Kind == Files || in.Kind == Unsupported)
	if c := t.s.Human; c != nil && c.StaffAlbum != nil && !(inAlbum && in.Album == c.StaffAlbum.ID) {
		a := c.StaffAlbum
		c.StaffAlbum = nil
		if a.From != nil && !a.Note {
			if err := t.toApplicant(a.From, a.Msgs); err != nil {
				return false, err
			}
		}
	}
	if !inAlbum || t.s.Human == nil {
		return false, nil
	}
	if t.s.Human.StaffAlbum == nil {
		t.s.Human.StaffAlbum = &Album{ID: in.Album, From: in.From}
	}
	t.s.Human.noteStaffMessages(in.Msgs)
	t.s.Human.StaffAlbum.Msgs = append(t.s.Human.StaffAlbum.Msgs, in.Msgs...)
	if isNote(in.Caption) {
		t.s.Human.StaffAlbum.Note = true
	}
	return true, nil
}

// isNote says whether a staff member's text or caption is an internal note,
// kept in the topic and never passed to the applicant: it starts with "!"
// or with the /note command. An album with a note caption on any of its
// items is internal as a whole.
func isNote(text string) bool {
	text = strings.TrimSpace(text)
	if strings.HasPrefix(text, "!") {
		return true
	}
	rest, ok := strings.CutPrefix(strings.ToLower(text), "/note")
	return ok && (rest == "" || rest[0] == '@' || unicode.IsSpace(rune(rest[0])))
}

// Blocked records that the applicant blocked the bot, and tells the support
// team when a case is open.
func (f *Flow) Blocked(s Session, now time.Time) (Session, []Reply) {
	t := &turn{f: f, cat: f.cat, s: s.clone(), now: now, today: rules.Today(now)}
	was := t.s.Blocked != nil
	t.s.Blocked = &now
	if c := t.s.Human; !was && c != nil && t.s.CaseStatus() != CaseClosed {
		t.staffSay("staff_blocked", nil)
		t.cardChanged()
	}
	return t.s, t.out
}

// Unblocked is the applicant unblocking the bot (Telegram's my_chat_member
// update): they are greeted with where they left off, and the support team
// told when a case is open. Nothing is said to someone the assistant has no
// conversation with: their /start comes next.
func (f *Flow) Unblocked(s Session, now time.Time) (Session, []Reply) {
	if s.State == "" {
		return s, nil
	}
	t := &turn{f: f, cat: f.cat, s: s.clone(), now: now, today: rules.Today(now)}
	was := t.s.Blocked != nil
	t.s.Blocked = nil
	if c := t.s.Human; was && c != nil && t.s.CaseStatus() != CaseClosed {
		t.staffSay("staff_unblocked", nil)
		t.cardChanged()
	}
	t.say("welcome_back", nil)
	t.statusLines()
	t.send()
	t.resume()
	return t.s, t.out
}
