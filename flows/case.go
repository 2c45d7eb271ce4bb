package flows

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/looplab/fsm"

	"github.com/aimabot/aimabot/flows/faq"
	"github.com/aimabot/aimabot/rules"
)

// The support case, in one place: when an applicant needs a person, a case
// opens for the support team. A staff member can take the conversation over
// (the assistant pauses and messages pass between the applicant and the
// staff topic), hand it back to the assistant, which asks its current
// question again, or close it.
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

// Staff button data: "case:<action>". Staff buttons are only ever read from
// the staff group; an applicant sending this data gets the usual answer to
// a button that is not theirs.
const (
	staffPrefix  = "case:"
	staffTake    = "take"
	staffRelease = "release"
	staffClose   = "close"
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
	// Msgs are the staff topic's messages the assistant knows of (staff
	// messages, and what the transport posted), to empty the topic when it
	// cannot be deleted.
	Msgs []int `json:"msgs,omitempty"`

	// Kept by the transport: where the case lives in the staff group.
	Topic  int      `json:"topic,omitempty"`  // the topic's thread id
	Card   int      `json:"card,omitempty"`   // the card's message id
	Shown  string   `json:"shown,omitempty"`  // digest of the card and topic name as last shown
	Posted []string `json:"posted,omitempty"` // file refs of the documents posted to the topic
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

// caseEvent moves the case's machine, built fresh from the stored status.
func (t *turn) caseEvent(event string, by *Agent, why string) error {
	m := fsm.NewFSM(t.s.CaseStatus(), caseTransitions(), nil)
	err := m.Event(context.Background(), event)
	var same fsm.NoTransitionError
	if err != nil && !errors.As(err, &same) {
		return fmt.Errorf("flows: case %s in status %s: %w", event, t.s.CaseStatus(), err)
	}
	if t.s.Human == nil {
		t.s.Human = &Case{}
	}
	c := t.s.Human
	c.Status = m.Current()
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
	t.cardChanged()
	return nil
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
	switch {
	case len(t.in.Msgs) > 0:
		t.out = append(t.out, Reply{Staff: true, Copy: t.in.Msgs})
	case t.in.Kind == Button:
		t.staffSay("staff_pressed", map[string]any{"Label": t.in.Label})
	case t.in.Kind == Text || t.in.Kind == Command:
		t.staffSay("staff_applicant_wrote", map[string]any{"Text": quote(t.in.Text)})
	}
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
	t.s.Human.noteTopicMessages(t.in.Msgs)
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
	t.say("case_closed", nil)
	t.send()
	if was {
		t.ask()
	}
	return nil
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
	t.s.Human.noteTopicMessages(in.Msgs)
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

// --- what the support team sees ---

// Card is the case card and the topic's name for the support team, written
// from the session as it is now.
type Card struct {
	Title string // the topic's name: first name, request, status
	Text  string
	// Buttons are the staff actions that fit the case's status.
	Buttons [][]ButtonSpec
}

// Card writes the case card for the staff topic.
func (f *Flow) Card(s Session, now time.Time) Card {
	lang := f.staffLang
	tr := func(id string, d map[string]any) string { return f.cat.Text(lang, id, d) }
	words := func(d rules.Date) string { return f.cat.DateWords(lang, d) }
	at := func(x time.Time) string { return clock(x) }
	status := s.CaseStatus()

	name := applicantName(s.Name, tr("card_no_name", nil))
	kind, short := tr("card_kind_unknown", nil), tr("card_kind_unknown", nil)
	if s.Kind != "" {
		kind, short = tr("kind_"+string(s.Kind), nil), tr("title_kind_"+string(s.Kind), nil)
	}
	title := clip(fmt.Sprintf("%s · %s · %s", name, short, tr("case_status_"+status, nil)), 120)

	var b []string
	head := []string{tr("card_title", map[string]any{"Name": name})}
	req := kind
	if s.Reason != "" {
		req += " — " + tr("reason_"+string(s.Reason), nil)
	}
	head = append(head, tr("card_request", map[string]any{"Request": req}))
	if !s.Expiry.IsZero() {
		e := rules.CheckEligibility(s.Expiry, rules.Today(now))
		head = append(head, tr("card_expiry", map[string]any{"Expiry": words(e.Expiry),
			"Verdict": tr("verdict_name_"+string(e.Verdict), nil), "LastDay": words(e.LastDay)}))
	}
	head = append(head, tr("card_language", map[string]any{"Language": tr("lang_name_"+s.Language(), nil)}))
	head = append(head, tr("card_step", map[string]any{"Step": tr("step_"+s.State, nil)}))
	if c := s.Human; c != nil {
		head = append(head, tr("card_status_"+status, map[string]any{"Since": at(c.At), "Why": tr("case_why_"+c.Why, nil),
			"Agent": agentName(c.Agent), "Taken": at(c.Since)}))
		if s.Blocked != nil {
			head = append(head, tr("card_blocked", map[string]any{"At": at(*s.Blocked)}))
		}
	}
	b = append(b, strings.Join(head, "\n"))
	if s.Kind != "" && s.Reason != "" {
		b = append(b, checklist(f.cat, lang, s, "card_documents"))
	}
	if s.Question != "" {
		b = append(b, tr("card_question", map[string]any{"Question": quote(clip(s.Question, 600))}))
	}
	if len(s.Recent) > 0 {
		lines := []string{tr("card_recent", nil)}
		for _, l := range s.Recent {
			text := oneLine(l.Text)
			if l.Typed {
				text = quote(l.Text)
			}
			lines = append(lines, at(l.At)+" "+text)
		}
		b = append(b, strings.Join(lines, "\n"))
	}
	if c := s.Human; c != nil && len(c.History) > 0 {
		lines := []string{tr("card_history", nil)}
		for _, e := range c.History {
			d := map[string]any{"At": at(e.At), "By": e.By}
			if e.Why != "" {
				d["Why"] = tr("case_why_"+e.Why, nil)
			}
			lines = append(lines, tr("card_event_"+e.What, d))
		}
		b = append(b, strings.Join(lines, "\n"))
	}
	b = append(b, tr("card_help", nil))

	btn := func(label, action string) ButtonSpec {
		return ButtonSpec{Label: tr(label, nil), Data: staffPrefix + action}
	}
	var rows [][]ButtonSpec
	switch status {
	case CaseTaken:
		rows = [][]ButtonSpec{{btn("btn_staff_release", staffRelease), btn("btn_staff_close", staffClose)}}
	case CaseWaiting, CaseReleased:
		rows = [][]ButtonSpec{{btn("btn_staff_take", staffTake), btn("btn_staff_close", staffClose)}}
	default:
		rows = [][]ButtonSpec{{btn("btn_staff_take", staffTake)}}
	}
	return Card{Title: title, Text: strings.Join(b, "\n\n"), Buttons: rows}
}

// cardMoved reports whether the case card would read differently after a
// step. While a person has the conversation, the applicant's messages reach
// the topic as they are, so the card's last messages are not refreshed for
// each of them.
func cardMoved(f *Flow, before, after Session, now time.Time) bool {
	if before.Human == nil {
		return true
	}
	if after.WithPerson() && before.WithPerson() {
		after.Recent = before.Recent
	}
	return f.Card(before, now).Text != f.Card(after, now).Text
}

// Waiting is a case in the support team's queue.
type Waiting struct {
	Title string    // the topic's name
	Since time.Time // when a person was asked for
	Link  string    // a link to the topic, when the transport has one
}

// Queue writes the list of cases waiting for a person, oldest first.
func (f *Flow) Queue(cases []Waiting, now time.Time) string {
	lang := f.staffLang
	if len(cases) == 0 {
		return f.cat.Text(lang, "queue_empty", map[string]any{"At": clock(now)})
	}
	cases = append([]Waiting(nil), cases...)
	sort.Slice(cases, func(i, j int) bool { return cases[i].Since.Before(cases[j].Since) })
	lines := []string{f.cat.Plural(lang, "queue_title", len(cases), map[string]any{"At": clock(now)})}
	for i, c := range cases {
		line := fmt.Sprintf("%d. %s — %s", i+1, c.Title, f.waited(now.Sub(c.Since)))
		if c.Link != "" {
			line += "\n   " + c.Link
		}
		lines = append(lines, line)
	}
	return strings.Join(lines, "\n")
}

// waited writes a wait in minutes, hours or days.
func (f *Flow) waited(d time.Duration) string {
	lang := f.staffLang
	d = max(d, 0)
	m := int(d / time.Minute)
	switch {
	case m < 60:
		return f.cat.Text(lang, "waited_minutes", map[string]any{"M": m})
	case m < 48*60:
		return f.cat.Text(lang, "waited_hours", map[string]any{"H": m / 60, "M": m % 60})
	}
	return f.cat.Text(lang, "waited_days", map[string]any{"D": m / (24 * 60), "H": m / 60 % 24})
}

// Blocked records that the applicant blocked the bot, and tells the support
// team when a case is open.
func (f *Flow) Blocked(s Session, now time.Time) (Session, []Reply) {
	t := &turn{f: f, cat: f.cat, s: s.clone(), now: now, today: rules.Today(now)}
	was := t.s.Blocked != nil
	t.s.Blocked = &now
	if c := t.s.Human; !was && c != nil && c.Topic != 0 && t.s.CaseStatus() != CaseClosed {
		t.staffSay("staff_blocked", nil)
		t.cardChanged()
	}
	return t.s, t.out
}

// Toast is the notice shown on a pressed button: "" normally, a word that
// the button is out of date, or that a person has the conversation.
func (f *Flow) Toast(s Session, data string) (text string, stale bool) {
	lang := s.Language()
	if s.WithPerson() {
		return f.cat.Text(lang, "toast_with_person", nil), false
	}
	if IsStale(s, data) {
		return f.cat.Text(lang, "toast_out_of_date", nil), true
	}
	return "", false
}

// clock writes an instant as Lisbon time, "25 Nov 14:05".
func clock(x time.Time) string {
	if x.IsZero() {
		return "—"
	}
	return x.In(rules.Lisbon()).Format("02/01 15:04") // day/month, in every language
}

func agentName(a *Agent) string {
	if a == nil {
		return "—"
	}
	return a.Name
}

// applicantName cleans the applicant's first name for a topic name: no
// control or format characters (right-to-left overrides), at most 32 runes.
func applicantName(name, none string) string {
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return -1
		}
		return r
	}, name)
	name = strings.Join(strings.Fields(name), " ")
	if name == "" {
		return none
	}
	return clip(name, 32)
}

// quote shows the applicant's own text on the staff side so that it reads
// as theirs and cannot pass for the card's lines: on one line, its line
// breaks shown as " ⏎ ", without control or format characters (which could
// reorder what staff see), inside «…».
func quote(text string) string { return "«" + oneLine(text) + "»" }

// oneLine writes text on one line: line breaks become " ⏎ ", control and
// format characters are dropped.
func oneLine(text string) string {
	lines := strings.FieldsFunc(text, func(r rune) bool {
		switch r {
		case '\n', '\r', '\v', '\f', '\u0085', '\u2028', '\u2029':
			return true
		}
		return false
	})
	kept := lines[:0]
	for _, l := range lines {
		l = strings.TrimSpace(strings.Map(func(r rune) rune {
			if (unicode.IsControl(r) && r != '\t') || unicode.Is(unicode.Cf, r) {
				return -1
			}
			return r
		}, l))
		if l != "" {
			kept = append(kept, l)
		}
	}
	return strings.Join(kept, " ⏎ ")
}

// clip cuts text to at most n runes, marking the cut.
func clip(s string, n int) string {
	s = strings.TrimSpace(s)
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return strings.TrimSpace(string(r[:n-1])) + "…"
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
