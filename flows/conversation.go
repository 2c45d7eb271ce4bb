package flows

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/looplab/fsm"

	"github.com/aimabot/aimabot/flows/faq"
	"github.com/aimabot/aimabot/rules"
)

// The conversation, in one place: its states, the events that move between
// them, what each state asks and how each answer is checked.
//
//	language -> situation -> reason -> expiry -> verdict -> documents -> review -> done
//
// Commands (/start, /restart, /cancel, /back, /help, /language, /status,
// /human) work in every state and are handled before the state's own handler.

// States.
const (
	StateLanguage  = "language"  // greeting, choose a language
	StateSituation = "situation" // what happened
	StateQuestion  = "question"  // a free question for the support team
	StateReason    = "reason"    // which data changed / what happened to the card
	StateExpiry    = "expiry"    // the expiry date printed on the card
	StateVerdict   = "verdict"   // the 90-day rule applied, explained
	StateDocuments = "documents" // documents one at a time
	StateReplace   = "replace"   // which sent document to replace
	StateReview    = "review"    // everything at a glance, change any answer
	StateDone      = "done"      // the exact next steps
)

// Events.
const (
	evChoseLanguage    = "chose_language"
	evChoseKind        = "chose_kind"
	evChoseExpiring    = "chose_expiring"
	evChoseQuestion    = "chose_question"
	evAsked            = "asked"
	evChoseReason      = "chose_reason"
	evGaveExpiry       = "gave_expiry"
	evProceed          = "proceed"
	evGotDocument      = "got_document"
	evDocumentsDone    = "documents_done"
	evPickReplacement  = "pick_replacement"
	evChoseReplacement = "chose_replacement"
	evConfirm          = "confirm"
	evChangeSituation  = "change_situation"
	evChangeReason     = "change_reason"
	evChangeExpiry     = "change_expiry"
	evBack             = "back"
	evRestart          = "restart"
)

func allStates() []string {
	return []string{StateLanguage, StateSituation, StateQuestion, StateReason, StateExpiry,
		StateVerdict, StateDocuments, StateReplace, StateReview, StateDone}
}

// transitions is the conversation's state machine, read top to bottom. The
// README's diagram is generated from it.
func transitions() fsm.Events {
	return fsm.Events{
		{Name: evChoseLanguage, Src: []string{StateLanguage}, Dst: StateSituation},
		{Name: evChoseKind, Src: []string{StateSituation, StateVerdict}, Dst: StateReason},
		{Name: evChoseExpiring, Src: []string{StateSituation}, Dst: StateExpiry},
		{Name: evChoseQuestion, Src: []string{StateSituation}, Dst: StateQuestion},
		{Name: evAsked, Src: []string{StateQuestion}, Dst: StateSituation},
		{Name: evChoseReason, Src: []string{StateReason}, Dst: StateExpiry},
		{Name: evGaveExpiry, Src: []string{StateExpiry}, Dst: StateVerdict},
		{Name: evProceed, Src: []string{StateVerdict}, Dst: StateDocuments},
		{Name: evGotDocument, Src: []string{StateDocuments}, Dst: StateDocuments},
		{Name: evDocumentsDone, Src: []string{StateDocuments}, Dst: StateReview},
		{Name: evPickReplacement, Src: []string{StateDocuments, StateReview}, Dst: StateReplace},
		{Name: evChoseReplacement, Src: []string{StateReplace}, Dst: StateDocuments},
		{Name: evConfirm, Src: []string{StateReview}, Dst: StateDone},
		{Name: evChangeSituation, Src: []string{StateReason, StateExpiry, StateVerdict, StateReview}, Dst: StateSituation},
		{Name: evChangeReason, Src: []string{StateReview}, Dst: StateReason},
		{Name: evChangeExpiry, Src: []string{StateVerdict, StateReview}, Dst: StateExpiry},
		{Name: evBack, Src: []string{StateSituation}, Dst: StateLanguage},
		{Name: evBack, Src: []string{StateQuestion, StateReason}, Dst: StateSituation},
		{Name: evBack, Src: []string{StateExpiry}, Dst: StateReason},
		{Name: evBack, Src: []string{StateVerdict}, Dst: StateExpiry},
		{Name: evBack, Src: []string{StateDocuments}, Dst: StateVerdict},
		{Name: evBack, Src: []string{StateReplace}, Dst: StateDocuments},
		{Name: evBack, Src: []string{StateReview}, Dst: StateReplace},
		{Name: evBack, Src: []string{StateDone}, Dst: StateReview},
		{Name: evRestart, Src: allStates(), Dst: StateSituation},
	}
}

// Diagram returns the conversation as a Mermaid state diagram.
func Diagram() (string, error) {
	return fsm.VisualizeForMermaidWithGraphType(fsm.NewFSM(StateLanguage, transitions(), nil), fsm.StateDiagram)
}

// Button actions. Button data is "<step>:<action>[:<arg>]", at most 64 bytes.
const (
	actLang        = "lang"     // arg: language code
	actSituation   = "sit"      // arg: a rules.Kind, "expiring" or "question"
	actReason      = "reason"   // arg: a rules.Reason
	actKeepExpiry  = "keep"     // keep the expiry date already given
	actContinue    = "continue" // verdict -> documents
	actChangeDate  = "date"
	actRestart     = "restart"
	actSkip        = "skip"    // skip the current optional document
	actReplace     = "replace" // open the list of documents to replace
	actReplaceDoc  = "redo"    // arg: a rules.DocID
	actConfirm     = "confirm"
	actChangeKind  = "kind"
	actChangeWhy   = "why"
	actCancelYes   = "cancel_yes"
	actCancelNo    = "cancel_no"
	actHuman       = "human"
	actBack        = "back"
	actFAQ         = "faq"   // arg: a knowledge-base topic
	actCheck       = "check" // ask a person to check the finished package
	maxButtonData  = 64
	situationExp   = "expiring"
	situationQuest = "question"
	missesForHuman = 3
	farFutureDays  = 3700 // about ten years: no residence card is valid longer
)

// Flow runs the conversation. It is immutable and safe for concurrent use.
type Flow struct {
	cat       *Catalog
	kb        *faq.KB
	staff     bool   // a support team can take conversations over
	staffLang string // the language the support team reads
	keep      Retention
}

// Option configures a Flow.
type Option func(*Flow)

// WithStaff says a support team answers in a staff group, reading lang.
// Without it, applicants who ask for a person are told that personal help
// is not available, and the assistant goes on.
func WithStaff(lang string) Option {
	return func(f *Flow) {
		f.staff = true
		if validLang(lang) {
			f.staffLang = lang
		}
	}
}

// New loads the message catalogs and the knowledge base and returns the
// conversation.
func New(opts ...Option) (*Flow, error) {
	cat, err := LoadCatalog()
	if err != nil {
		return nil, err
	}
	kb, err := faq.Default()
	if err != nil {
		return nil, err
	}
	f := &Flow{cat: cat, kb: kb, staffLang: "en", keep: DefaultRetention()}
	for _, o := range opts {
		o(f)
	}
	return f, nil
}

// Staff reports whether a support team is configured.
func (f *Flow) Staff() bool { return f.staff }

// KB returns the knowledge base the flow answers questions from.
func (f *Flow) KB() *faq.KB { return f.kb }

// Catalog returns the message catalogs the flow speaks from.
func (f *Flow) Catalog() *Catalog { return f.cat }

// Step applies one input to a session at instant now and returns the new
// session and the replies. It does no I/O; the same arguments always give the
// same result. On an internal error the original session is returned with an
// apology, so nothing the applicant gave is lost.
func (f *Flow) Step(s Session, in Input, now time.Time) (Session, []Reply, error) {
	switch in.Kind {
	case WakeUp:
		next, out := f.Wake(s, now)
		return next, out, nil
	case BotBlocked:
		next, out := f.Blocked(s, now)
		return next, out, nil
	}
	t := &turn{f: f, cat: f.cat, s: s.clone(), in: in, now: now, today: rules.Today(now)}
	if in.From == nil && in.Kind != AlbumEnd {
		t.s.Blocked = nil
		if in.Name != "" {
			t.s.Name = in.Name
		}
	}
	if err := t.step(); err != nil {
		return s, f.Apology(s), err
	}
	if t.forgotten {
		return Session{}, t.out, nil
	}
	if f.staff && t.s.Human != nil && t.s.CaseStatus() != CaseClosed && cardMoved(f, s, t.s, now) {
		t.cardChanged()
	}
	return t.s, t.out, nil
}

// step gathers album photos and answers a whole album at once, before the
// input that follows it.
func (t *turn) step() error {
	in := t.in
	if t.s.State == "" && (in.From != nil || in.Kind == AlbumEnd) {
		return nil // no conversation: nothing to answer or pass on
	}
	if done, err := t.gatherStaffAlbum(); done || err != nil {
		return err
	}
	if in.From != nil {
		return t.fromStaff()
	}
	inAlbum := in.Kind == Files && in.Album != ""
	if a := t.s.Album; a != nil && !(inAlbum && in.Album == a.ID) {
		t.s.Album = nil
		t.in = Input{Kind: Files, Files: a.Files, Msgs: a.Msgs, ClientLang: in.ClientLang}
		if err := t.run(); err != nil {
			return err
		}
		t.in = in
	}
	switch {
	case in.Kind == AlbumEnd:
		return nil
	case inAlbum:
		if t.s.State == "" {
			break // a new session is greeted first
		}
		if t.s.Album == nil {
			t.s.Album = &Album{ID: in.Album}
		}
		t.s.Album.Files = append(t.s.Album.Files, in.Files...)
		t.s.Album.Msgs = append(t.s.Album.Msgs, in.Msgs...)
		t.s.Updated = t.now
		return nil
	}
	return t.run()
}

// Apology is the reply when something fails on the assistant's side.
func (f *Flow) Apology(s Session) []Reply {
	return []Reply{{Text: f.cat.Text(s.Language(), "error_internal", nil)}}
}

// Prompt returns the current step's question again, as after /status.
func (f *Flow) Prompt(s Session, now time.Time) []Reply {
	t := &turn{f: f, cat: f.cat, s: s.clone(), now: now, today: rules.Today(now)}
	t.ask()
	return t.out
}

// turn is one input being applied.
type turn struct {
	f     *Flow
	cat   *Catalog
	s     Session
	in    Input
	now   time.Time
	today rules.Date
	out   []Reply
	text  []string // paragraphs of the reply being written
	// forgotten says the applicant erased everything: the session ends.
	forgotten bool
}

func (t *turn) tr(id string, data map[string]any) string { return t.cat.Text(t.s.Language(), id, data) }

// say adds a paragraph to the reply being written.
func (t *turn) say(id string, data map[string]any) { t.text = append(t.text, t.tr(id, data)) }

// send closes the reply being written, with buttons.
func (t *turn) send(buttons ...[]ButtonSpec) {
	if len(t.text) == 0 && len(buttons) == 0 {
		return
	}
	t.out = append(t.out, Reply{Text: strings.Join(t.text, "\n\n"), Buttons: buttons})
	t.text = nil
}

// button makes an inline button for the current step.
func (t *turn) button(labelID string, data map[string]any, action string, arg ...string) []ButtonSpec {
	return []ButtonSpec{t.btn(t.tr(labelID, data), action, arg...)}
}

func (t *turn) btn(label, action string, arg ...string) ButtonSpec {
	d := strconv.Itoa(t.s.Step) + ":" + action
	if len(arg) > 0 {
		d += ":" + arg[0]
	}
	return ButtonSpec{Label: label, Data: d}
}

// fire moves the machine. A fresh machine is built from the stored state for
// every event, as looplab/fsm keeps no state worth trusting across updates.
func (t *turn) fire(event string) error {
	m := fsm.NewFSM(t.s.State, transitions(), nil)
	err := m.Event(context.Background(), event)
	var same fsm.NoTransitionError
	if err != nil && !errors.As(err, &same) {
		return fmt.Errorf("flows: %s in state %s: %w", event, t.s.State, err)
	}
	t.s.State = m.Current()
	t.s.Step++
	t.s.Misses, t.s.Unanswered = 0, 0
	if t.s.State == StateDocuments && t.s.Replacing == "" && t.currentDoc() == nil && t.requiredDone() {
		return t.fire(evDocumentsDone)
	}
	return nil
}

// move fires an event and asks the new state's question.
func (t *turn) move(event string) error {
	if err := t.fire(event); err != nil {
		return err
	}
	t.ask()
	return nil
}

func (t *turn) run() error {
	if t.s.State == "" {
		t.s = Session{Version: SchemaVersion, State: StateLanguage, Lang: MatchLanguage(t.in.ClientLang),
			Name: t.s.Name, Created: t.now}
		t.s.Updated = t.now
		t.remember()
		if t.in.Kind != Button {
			t.say("greeting", nil)
			t.ask()
			return nil
		}
	} else {
		t.remember()
	}
	t.s.Updated = t.now
	if t.privacyInput() {
		return t.privacy()
	}
	if t.s.WithPerson() {
		t.relay()
		return nil
	}
	if t.in.Kind == Text {
		t.matchLabel()
	}
	if t.in.Kind == Text && wantsPerson(t.in.Text) {
		t.s.Confirming = ""
		t.escalate(WhyAsked)
		t.ask()
		return nil
	}
	confirming := t.s.Confirming
	t.s.Confirming = ""
	switch t.in.Kind {
	case Command:
		return t.command()
	case Button:
		step, action, arg, ok := parseButton(t.in.Data)
		if !ok {
			t.say("bad_button", nil)
			t.ask()
			return nil
		}
		switch {
		case step == t.s.Step-1:
			// Pressed twice, or once more just after the answer: the
			// question it led to is the next message, and the transport
			// tells the applicant that the button is out of date.
			return nil
		case step != t.s.Step:
			t.say("stale_button", nil)
			t.ask()
			return nil
		}
		return t.press(action, arg, confirming)
	}
	return t.handle()
}

// matchLabel takes typed text that is the label of one of the current
// step's buttons (or its number, as the console shows them) as a press.
func (t *turn) matchLabel() {
	want := fold(t.in.Text)
	if want == "" {
		return
	}
	probe := &turn{f: t.f, cat: t.cat, s: t.s, now: t.now, today: t.today}
	probe.ask()
	for _, r := range probe.out {
		for _, row := range r.Buttons {
			for _, b := range row {
				if fold(b.Label) == want {
					t.in = Input{Kind: Button, Data: b.Data, ClientLang: t.in.ClientLang}
					return
				}
			}
		}
	}
}

func parseButton(data string) (step int, action, arg string, ok bool) {
	if len(data) == 0 || len(data) > maxButtonData {
		return 0, "", "", false
	}
	parts := strings.SplitN(data, ":", 3)
	if len(parts) < 2 {
		return 0, "", "", false
	}
	step, err := strconv.Atoi(parts[0])
	if err != nil || step < 0 {
		return 0, "", "", false
	}
	if len(parts) == 3 {
		arg = parts[2]
	}
	return step, parts[1], arg, true
}

func (t *turn) command() error {
	switch t.in.Command {
	case "start", "restart":
		if t.s.State == StateLanguage {
			t.say("greeting", nil)
			t.ask()
			return nil
		}
		return t.restart("restart_done")
	case "cancel":
		if t.s.Kind == "" && len(t.s.Docs) == 0 && t.s.Expiry.IsZero() {
			t.say("cancel_nothing", nil)
			t.ask()
			return nil
		}
		t.s.Confirming = "cancel"
		t.say("cancel_confirm", nil)
		t.send(t.button("btn_cancel_yes", nil, actCancelYes), t.button("btn_cancel_no", nil, actCancelNo))
		return nil
	case "back":
		return t.back()
	case "help":
		t.say("help", nil)
		t.ask()
		return nil
	case "language":
		t.askLanguage("language_prompt")
		return nil
	case "status":
		t.status()
		t.ask()
		return nil
	case "human":
		t.escalate(WhyAsked)
		t.ask()
		return nil
	case "faq":
		t.faqMenu()
		return nil
	}
	t.miss("unknown_command")
	return nil
}

// press handles a button of the current step.
func (t *turn) press(action, arg, confirming string) error {
	switch action {
	case actLang:
		if !validLang(arg) {
			break
		}
		t.s.Lang = arg
		t.say("language_set", nil)
		if t.s.State == StateLanguage {
			return t.move(evChoseLanguage)
		}
		t.s.Step++
		t.ask()
		return nil
	case actCancelYes:
		if confirming == "cancel" {
			return t.restart("cancel_done")
		}
	case actCancelNo:
		if confirming == "cancel" {
			t.say("cancel_kept", nil)
			t.ask()
			return nil
		}
	case actRestart:
		return t.restart("restart_done")
	case actHuman:
		t.escalate(WhyAsked)
		t.ask()
		return nil
	case actCheck:
		if t.s.State == StateDone && t.f.staff {
			if t.openCase(WhyReview) {
				t.say("human_review", nil)
			} else {
				t.say("human_already", nil)
			}
			t.send()
			t.ask()
			return nil
		}
	case actBack:
		return t.back()
	case actFAQ:
		if t.faqAnswer(arg) {
			t.ask()
			return nil
		}
	}
	return t.handle(action, arg)
}

func validLang(code string) bool {
	for _, l := range Languages() {
		if l == code {
			return true
		}
	}
	return false
}

// restart clears every answer but the language.
func (t *turn) restart(msg string) error {
	t.s = Session{Version: SchemaVersion, State: t.s.State, Step: t.s.Step, Lang: t.s.Lang,
		Human: t.s.Human, Question: t.s.Question, Name: t.s.Name, Recent: t.s.Recent, Created: t.s.Created,
		Updated: t.now}
	t.say(msg, nil)
	return t.move(evRestart)
}

func (t *turn) back() error {
	t.s.Replacing = ""
	switch t.s.State {
	case StateLanguage:
		t.say("back_nowhere", nil)
		t.ask()
		return nil
	case StateExpiry:
		if t.s.Kind == "" {
			return t.move(evChangeSituation)
		}
	}
	return t.move(evBack)
}

// handle gives the input to the current state. For a button press, action
// and arg are set; otherwise the state reads t.in.
func (t *turn) handle(button ...string) error {
	action, arg := "", ""
	if len(button) == 2 {
		action, arg = button[0], button[1]
	}
	switch t.s.State {
	case StateLanguage:
		t.miss("hint_buttons")
		return nil
	case StateSituation:
		return t.onSituation(action, arg)
	case StateQuestion:
		return t.onQuestion()
	case StateReason:
		return t.onReason(action, arg)
	case StateExpiry:
		return t.onExpiry(action)
	case StateVerdict:
		return t.onVerdict(action, arg)
	case StateDocuments:
		return t.onDocuments(action)
	case StateReplace:
		return t.onReplace(action, arg)
	case StateReview:
		return t.onReview(action)
	case StateDone:
		if action == actConfirm {
			return t.move(evBack)
		}
		t.miss("hint_done")
		return nil
	}
	return fmt.Errorf("flows: unknown state %q", t.s.State)
}

// ask writes the current state's question with its buttons.
func (t *turn) ask() {
	switch t.s.State {
	case StateLanguage:
		t.askLanguage("language_prompt")
	case StateSituation:
		t.say("situation_prompt", nil)
		t.send(
			t.button("btn_sit_duplicate", nil, actSituation, string(rules.Duplicate)),
			t.button("btn_sit_data_change", nil, actSituation, string(rules.DataChange)),
			t.button("btn_sit_expiring", nil, actSituation, situationExp),
			t.button("btn_sit_question", nil, actSituation, situationQuest),
		)
	case StateQuestion:
		if t.f.staff {
			t.say("question_prompt", nil)
		} else {
			t.say("question_prompt_no_staff", nil)
		}
		t.send(t.button("btn_back", nil, actBack))
	case StateReason:
		t.say("reason_prompt_"+string(t.s.Kind), nil)
		var rows [][]ButtonSpec
		for _, r := range rules.Reasons(t.s.Kind) {
			rows = append(rows, t.button("btn_reason_"+string(r), nil, actReason, string(r)))
		}
		t.send(append(rows, t.button("btn_back", nil, actBack))...)
	case StateExpiry:
		t.say("expiry_prompt", nil)
		if t.s.Reason == rules.Lost || t.s.Reason == rules.Stolen {
			t.say("expiry_hint_lost", nil)
		}
		var rows [][]ButtonSpec
		if !t.s.Expiry.IsZero() {
			rows = append(rows, t.button("btn_keep_expiry", map[string]any{"Date": t.words(t.s.Expiry)}, actKeepExpiry))
		}
		t.send(append(rows, t.button("btn_back", nil, actBack))...)
	case StateVerdict:
		t.askVerdict()
	case StateDocuments:
		t.askDocument()
	case StateReplace:
		t.say("replace_prompt", nil)
		var rows [][]ButtonSpec
		for _, d := range t.requiredDocs() {
			if _, ok := t.s.doc(d.ID); ok {
				rows = append(rows, []ButtonSpec{t.btn(t.docTitle(d.ID), actReplaceDoc, string(d.ID))})
			}
		}
		t.send(append(rows, t.button("btn_back", nil, actBack))...)
	case StateReview:
		t.askReview()
	case StateDone:
		t.askDone()
	}
}

func (t *turn) askLanguage(prompt string) {
	t.say(prompt, nil)
	var row []ButtonSpec
	for _, l := range Languages() {
		row = append(row, t.btn(t.tr("lang_name_"+l, nil), actLang, l))
	}
	t.send(row)
}

// miss answers input that does not fit the step: a hint, the question again,
// and after repeated misses the offer of a person.
func (t *turn) miss(hint string, data ...map[string]any) {
	var d map[string]any
	if len(data) > 0 {
		d = data[0]
	}
	if t.answerQuestion() {
		return
	}
	t.hint(hint, d)
}

// hint is miss without trying the knowledge base, for input that was
// recognised as a (wrong) answer to the step, such as an impossible date.
func (t *turn) hint(hint string, d map[string]any) {
	t.s.Misses++
	switch t.in.Kind {
	case Unsupported:
		t.say("unsupported_input", nil)
	case Files:
		if t.s.State != StateDocuments {
			t.say("file_not_now", nil)
		}
	}
	t.say(hint, d)
	if !t.offerPerson() {
		t.send()
	}
	t.ask()
}

// --- situation ---

func (t *turn) onSituation(action, arg string) error {
	if action != actSituation {
		t.miss("hint_buttons")
		return nil
	}
	switch arg {
	case situationExp:
		t.s.Kind, t.s.Reason = "", ""
		return t.move(evChoseExpiring)
	case situationQuest:
		return t.move(evChoseQuestion)
	}
	return t.chooseKind(arg)
}

func (t *turn) chooseKind(arg string) error {
	k, err := rules.ParseKind(arg)
	if err != nil {
		t.miss("hint_buttons")
		return nil
	}
	if k != t.s.Kind {
		t.s.Kind, t.s.Reason = k, ""
	}
	return t.move(evChoseKind)
}

// --- question ---

func (t *turn) onQuestion() error {
	if t.in.Kind != Text || strings.TrimSpace(t.in.Text) == "" {
		t.miss("hint_question")
		return nil
	}
	if m := t.f.kb.Match(t.in.Text, t.s.Language()); m.Topic != faq.None {
		t.out = append(t.out, Reply{Event: EventFAQMatched})
		// Move first, so that the buttons of a choice between two topics
		// belong to the step they are shown at.
		if err := t.fire(evAsked); err != nil {
			return err
		}
		t.answer(m)
		t.ask()
		return nil
	}
	t.s.Question = t.in.Text
	t.out = append(t.out, Reply{Event: EventFAQUnmatched})
	switch {
	case !t.f.staff:
		t.say("question_no_staff", nil)
	case t.openCase(WhyQuestion):
		t.say("question_noted", nil)
	default:
		t.cardChanged() // the card shows the new question
		t.say("question_noted", nil)
	}
	return t.move(evAsked)
}

// --- reason ---

func (t *turn) onReason(action, arg string) error {
	r, err := rules.ParseReason(t.s.Kind, arg)
	if action != actReason || err != nil {
		t.miss("hint_buttons")
		return nil
	}
	t.s.Reason = r
	t.pruneDocs()
	return t.move(evChoseReason)
}

// pruneDocs drops documents the current request no longer asks for.
func (t *turn) pruneDocs() {
	req := t.requiredDocs()
	keep := t.s.Docs[:0:0]
	for _, d := range t.s.Docs {
		for _, r := range req {
			if r.ID == d.ID {
				keep = append(keep, d)
				break
			}
		}
	}
	t.s.Docs = keep
}

// --- expiry ---

func (t *turn) onExpiry(action string) error {
	if action == actKeepExpiry && !t.s.Expiry.IsZero() {
		return t.move(evGaveExpiry)
	}
	if t.in.Kind != Text {
		t.miss("hint_expiry")
		return nil
	}
	d, err := rules.FindDate(t.in.Text)
	if err != nil {
		var de *rules.DateError
		if errors.As(err, &de) && de.Code == rules.DateImpossible && de.Month >= 1 && de.Month <= 12 && de.Year > 0 {
			t.hint("date_impossible", map[string]any{
				"Day": de.Day, "Month": t.tr(fmt.Sprintf("month_%d", de.Month), nil), "Year": de.Year,
				"Days": daysIn(de.Year, time.Month(de.Month)),
			})
			return nil
		}
		t.miss("date_unrecognised")
		return nil
	}
	if t.today.DaysUntil(d) > farFutureDays {
		t.hint("date_far", map[string]any{"Date": t.words(d)})
		return nil
	}
	t.s.Expiry = d
	return t.move(evGaveExpiry)
}

func daysIn(year int, m time.Month) int {
	return time.Date(year, m+1, 0, 12, 0, 0, 0, time.UTC).Day()
}

// --- verdict ---

func (t *turn) eligibility() rules.Eligibility { return rules.CheckEligibility(t.s.Expiry, t.today) }

func (t *turn) askVerdict() {
	e := t.eligibility()
	t.say("date_read", map[string]any{"Date": t.words(e.Expiry)})
	t.explain(e)
	switch {
	case e.Verdict == rules.Eligible && t.s.Kind != "":
		t.send(t.button("btn_continue", nil, actContinue), t.button("btn_change_date", nil, actChangeDate))
	case e.Verdict == rules.Eligible:
		t.send(
			t.button("btn_sit_duplicate", nil, actSituation, string(rules.Duplicate)),
			t.button("btn_sit_data_change", nil, actSituation, string(rules.DataChange)),
			t.button("btn_change_date", nil, actChangeDate),
		)
	default:
		t.send(t.button("btn_change_date", nil, actChangeDate), t.button("btn_restart", nil, actRestart))
	}
}

// explain says what the 90-day rule means for this card today.
func (t *turn) explain(e rules.Eligibility) {
	d := map[string]any{
		"Expiry":  t.words(e.Expiry),
		"LastDay": t.words(e.LastDay),
		"Days":    t.cat.Days(t.s.Language(), e.DaysLeft),
		"ToLast":  t.cat.Days(t.s.Language(), t.today.DaysUntil(e.LastDay)),
	}
	switch e.Verdict {
	case rules.Eligible:
		switch {
		case t.s.Kind == "":
			t.say("verdict_not_yet", d)
		case e.LastDay == t.today:
			t.say("verdict_eligible_today", d)
		default:
			t.say("verdict_eligible", d)
		}
		if e.Caution {
			t.say("verdict_caution", d)
		}
	case rules.TooLate:
		if e.DaysLeft == 0 {
			t.say("verdict_expires_today", d)
		} else {
			t.say("verdict_too_late", d)
		}
		t.say(t.renewAdvice(), d)
	case rules.Expired:
		t.say("verdict_expired", d)
		t.say(t.renewAdvice(), d)
		t.say("verdict_after_expiry", d)
	}
	if e.Verdict != rules.Eligible && (t.s.Reason == rules.Lost || t.s.Reason == rules.Stolen) {
		t.say("verdict_police_anyway", d)
	}
}

func (t *turn) renewAdvice() string {
	if t.s.Kind == rules.Duplicate {
		return "verdict_renew_duplicate"
	}
	return "verdict_renew_data_change"
}

func (t *turn) onVerdict(action, arg string) error {
	e := t.eligibility()
	switch {
	case action == actChangeDate:
		return t.move(evChangeExpiry)
	case action == actContinue && t.s.Kind != "" && e.Verdict == rules.Eligible:
		return t.move(evProceed)
	case action == actSituation && t.s.Kind == "" && e.Verdict == rules.Eligible:
		return t.chooseKind(arg)
	}
	t.miss("hint_buttons")
	return nil
}

// --- documents ---

func (t *turn) requiredDocs() []rules.Document {
	docs, err := rules.Documents(t.s.Kind, t.s.Reason)
	if err != nil {
		return nil
	}
	return docs
}

// currentDoc is the first document neither sent nor skipped.
func (t *turn) currentDoc() *rules.Document {
	for _, d := range t.requiredDocs() {
		if _, ok := t.s.doc(d.ID); !ok && !t.s.skipped(d.ID) {
			return &d
		}
	}
	return nil
}

func (t *turn) requiredDone() bool {
	for _, d := range t.requiredDocs() {
		if _, ok := t.s.doc(d.ID); !ok && d.Mandatory {
			return false
		}
	}
	return len(t.requiredDocs()) > 0
}

func (t *turn) docTitle(id rules.DocID) string { return t.tr("doc_"+string(id), nil) }

func (t *turn) askDocument() {
	if t.s.Replacing != "" {
		t.say("document_replace_prompt", map[string]any{"Title": t.docTitle(t.s.Replacing),
			"What": t.tr("doc_"+string(t.s.Replacing)+"_what", nil)})
		t.send(t.button("btn_back", nil, actBack))
		return
	}
	cur := t.currentDoc()
	if cur == nil {
		t.say("documents_complete", nil)
		t.checklist()
		t.send(t.button("btn_continue", nil, actContinue), t.button("btn_replace", nil, actReplace))
		return
	}
	docs := t.requiredDocs()
	n := 1
	for i, d := range docs {
		if d.ID == cur.ID {
			n = i + 1
		}
	}
	if len(t.s.Docs) == 0 && len(t.s.Skipped) == 0 && n == 1 {
		t.say("documents_intro", nil)
	} else {
		t.checklist()
	}
	t.say("document_prompt", map[string]any{"N": n, "Total": len(docs), "Title": t.docTitle(cur.ID),
		"What": t.tr("doc_"+string(cur.ID)+"_what", nil), "Optional": !cur.Mandatory})
	var rows [][]ButtonSpec
	if !cur.Mandatory {
		rows = append(rows, t.button("btn_skip", nil, actSkip))
	}
	if len(t.s.Docs) > 0 {
		rows = append(rows, t.button("btn_replace", nil, actReplace))
	}
	t.send(append(rows, t.button("btn_back", nil, actBack))...)
}

// checklist writes every document's status: sent, missing, optional or skipped.
func (t *turn) checklist() {
	t.text = append(t.text, checklist(t.cat, t.s.Language(), t.s, "checklist_title"))
}

// checklist writes the session's documents under a title, each sent,
// missing, optional or skipped, in lang: for the applicant, and on the
// support team's card.
func checklist(cat *Catalog, lang string, s Session, title string) string {
	docs, _ := rules.Documents(s.Kind, s.Reason)
	lines := []string{cat.Text(lang, title, nil)}
	for _, d := range docs {
		id := "checklist_missing"
		if _, ok := s.doc(d.ID); ok {
			id = "checklist_sent"
		} else if s.skipped(d.ID) {
			id = "checklist_skipped"
		} else if !d.Mandatory {
			id = "checklist_optional"
		}
		lines = append(lines, cat.Text(lang, id, map[string]any{"Title": cat.Text(lang, "doc_"+string(d.ID), nil)}))
	}
	return strings.Join(lines, "\n")
}

// megabytes writes a size in MB with one decimal, with a decimal comma in
// Portuguese and French.
func megabytes(lang string, size int64) string {
	mb := fmt.Sprintf("%.1f", float64(size)/(1<<20))
	if lang != "en" {
		mb = strings.Replace(mb, ".", ",", 1)
	}
	return mb
}

func (t *turn) onDocuments(action string) error {
	cur := t.currentDoc()
	switch {
	case action == actSkip && cur != nil && t.s.Replacing == "":
		if cur.Mandatory {
			t.miss("document_required", map[string]any{"Title": t.docTitle(cur.ID)})
			return nil
		}
		t.s.Skipped = append(t.s.Skipped, cur.ID)
		t.s.Step++
		return t.afterDocument()
	case action == actReplace && len(t.s.Docs) > 0:
		return t.move(evPickReplacement)
	case action == actContinue && cur == nil && t.requiredDone():
		return t.move(evDocumentsDone)
	case t.in.Kind == Files:
		return t.receive()
	}
	title := ""
	if t.s.Replacing != "" {
		title = t.docTitle(t.s.Replacing)
	} else if cur != nil {
		title = t.docTitle(cur.ID)
	}
	t.miss("hint_document", map[string]any{"Title": title})
	return nil
}

// receive files one document each, in order: one file, or an album that fills
// the next missing documents.
func (t *turn) receive() error {
	var got []string
	var problems []string
	extra, unreadable := 0, 0
	for _, f := range t.in.Files {
		if f.Unreadable {
			if unreadable++; unreadable == 1 {
				problems = append(problems, t.tr("file_unreadable", nil))
			}
			continue
		}
		if err := rules.CheckFile(f.Type, f.Size); err != nil {
			problems = append(problems, t.fileProblem(err, f))
			continue
		}
		target := t.s.Replacing
		if target == "" {
			cur := t.currentDoc()
			if cur == nil {
				extra++
				continue
			}
			target = cur.ID
		}
		doc := Doc{ID: target, Ref: f.Ref, Type: f.Type, Size: f.Size, Photo: f.Photo, At: t.now}
		replaced := false
		for i := range t.s.Docs {
			if t.s.Docs[i].ID == target {
				t.s.Docs[i], replaced = doc, true
			}
		}
		if !replaced {
			t.s.Docs = append(t.s.Docs, doc)
		}
		msg := "document_received"
		if replaced {
			msg = "document_replaced"
		}
		got = append(got, t.tr(msg, map[string]any{"Title": t.docTitle(target)}))
		t.s.Replacing = ""
	}
	t.text = append(t.text, problems...)
	if len(got) > 0 {
		t.text = append(t.text, strings.Join(got, "\n"))
	}
	if extra > 0 {
		t.text = append(t.text, t.cat.Plural(t.s.Language(), "files_extra", extra, nil))
	}
	if len(got) == 0 {
		if unreadable < len(t.in.Files) {
			t.s.Misses++ // a file Telegram lost is not the applicant's miss
		}
		t.ask()
		return nil
	}
	t.s.Step++
	t.s.Misses = 0
	return t.afterDocument()
}

func (t *turn) fileProblem(err error, f File) string {
	var fe *rules.FileError
	if errors.As(err, &fe) {
		switch fe.Code {
		case rules.FileTooLarge:
			return t.tr("file_too_large", map[string]any{"MB": megabytes(t.s.Language(), f.Size)})
		case rules.FileEmpty:
			return t.tr("file_empty", nil)
		}
	}
	return t.tr("file_wrong_type", nil)
}

// afterDocument goes to the review once every document is in, otherwise asks
// for the next one.
func (t *turn) afterDocument() error {
	if t.currentDoc() == nil && t.requiredDone() {
		return t.move(evDocumentsDone)
	}
	t.ask()
	return nil
}

// --- replace ---

func (t *turn) onReplace(action, arg string) error {
	if action == actReplaceDoc {
		if _, ok := t.s.doc(rules.DocID(arg)); ok {
			t.s.Replacing = rules.DocID(arg)
			return t.move(evChoseReplacement)
		}
	}
	t.miss("hint_buttons")
	return nil
}

// --- review ---

func (t *turn) askReview() {
	e := t.eligibility()
	t.say("review_title", nil)
	t.say("review_answers", map[string]any{
		"Kind":    t.tr("kind_"+string(t.s.Kind), nil),
		"Reason":  t.tr("reason_"+string(t.s.Reason), nil),
		"Expiry":  t.words(e.Expiry),
		"LastDay": t.words(e.LastDay),
	})
	t.checklist()
	if e.Verdict != rules.Eligible {
		t.say("review_no_longer", nil)
		t.explain(e)
		t.send(t.button("btn_change_date", nil, actChangeDate), t.button("btn_restart", nil, actRestart))
		return
	}
	if e.Caution {
		t.say("verdict_caution", map[string]any{"Days": t.cat.Days(t.s.Language(), e.DaysLeft)})
	}
	t.send(
		t.button("btn_all_correct", nil, actConfirm),
		t.button("btn_change_kind", nil, actChangeKind),
		t.button("btn_change_reason", nil, actChangeWhy),
		t.button("btn_change_expiry", nil, actChangeDate),
		t.button("btn_replace", nil, actReplace),
	)
}

func (t *turn) onReview(action string) error {
	switch action {
	case actConfirm:
		if t.eligibility().Verdict == rules.Eligible && t.requiredDone() {
			return t.move(evConfirm)
		}
		// The day moved on since the review was shown: show it again, with why.
		t.ask()
		return nil
	case actChangeKind:
		return t.move(evChangeSituation)
	case actChangeWhy:
		return t.move(evChangeReason)
	case actChangeDate:
		return t.move(evChangeExpiry)
	case actReplace:
		return t.move(evPickReplacement)
	}
	t.miss("hint_buttons")
	return nil
}

// --- done ---

func (t *turn) askDone() {
	e := t.eligibility()
	var ids, proofs []string
	for _, d := range t.requiredDocs() {
		if _, ok := t.s.doc(d.ID); !ok {
			continue
		}
		if d.ID == rules.DocPassport || d.ID == rules.DocResidenceCard {
			ids = append(ids, t.docTitle(d.ID))
		} else {
			proofs = append(proofs, t.docTitle(d.ID))
		}
	}
	t.say("done_title", nil)
	steps := []string{
		t.tr("done_open", nil),
		t.tr("done_request_"+string(t.s.Kind), nil),
		t.tr("done_number", nil),
		t.tr("done_ids", map[string]any{"Docs": strings.Join(ids, "; ")}),
		t.tr("done_proof_"+string(t.s.Kind), map[string]any{"Docs": strings.Join(proofs, "; ")}),
		t.tr("done_submit", map[string]any{"LastDay": t.words(e.LastDay)}),
	}
	for i, s := range steps {
		steps[i] = fmt.Sprintf("%d. %s", i+1, s)
	}
	t.text = append(t.text, strings.Join(steps, "\n"))
	t.say("done_expiry_"+string(t.s.Kind), map[string]any{"Expiry": t.words(e.Expiry)})
	switch t.s.Reason {
	case rules.Damaged:
		t.say("done_damaged", nil)
	case rules.Address:
		t.say("done_address", nil)
	}
	t.say("done_after", nil)
	rows := [][]ButtonSpec{t.button("btn_new_request", nil, actRestart), t.button("btn_back_review", nil, actConfirm)}
	if t.f.staff {
		rows = append(rows, t.button("btn_person_check", nil, actCheck))
	}
	t.send(rows...)
}

// --- status ---

func (t *turn) status() {
	t.say("status_step", map[string]any{"Step": t.tr("step_"+t.s.State, nil)})
	if t.s.Kind != "" {
		t.say("status_kind", map[string]any{"Kind": t.tr("kind_"+string(t.s.Kind), nil)})
	}
	if t.s.Reason != "" {
		t.say("status_reason", map[string]any{"Reason": t.tr("reason_"+string(t.s.Reason), nil)})
	}
	if !t.s.Expiry.IsZero() {
		e := t.eligibility()
		t.say("status_expiry", map[string]any{"Expiry": t.words(e.Expiry), "Verdict": t.tr("verdict_name_"+string(e.Verdict), nil)})
	}
	if t.s.Reason != "" {
		t.checklist()
	}
	t.send()
}

func (t *turn) words(d rules.Date) string { return t.cat.DateWords(t.s.Language(), d) }

// IsStale reports whether button data belongs to an earlier step of the
// session (or is malformed), so a transport can say so on the button itself.
func IsStale(s Session, data string) bool {
	step, _, _, ok := parseButton(data)
	return !ok || step != s.Step
}

// --- questions ---

// answerQuestion answers typed text that did not answer the current step
// from the knowledge base, then asks the step's question again. It reports
// false when the text is neither a known question nor looks like one, so the
// step's own hint is given instead.
func (t *turn) answerQuestion() bool {
	if t.in.Kind != Text || !hasWords(t.in.Text) {
		return false
	}
	// Where the step wants typed text (a date), a sentence is most likely
	// an attempt at the answer: only a real question goes to the knowledge base.
	if t.s.State == StateExpiry && !isQuestion(t.in.Text) {
		return false
	}
	m := t.f.kb.Match(t.in.Text, t.s.Language())
	if m.Topic == faq.None {
		if !looksLikeQuestion(t.in.Text) {
			return false
		}
		t.s.Misses++
		t.s.Unanswered++
		t.out = append(t.out, Reply{Event: EventFAQUnmatched})
		switch {
		case !t.f.staff:
			t.say("faq_none_no_staff", nil)
			t.send()
		case t.s.Unanswered >= unansweredForCase && t.openCase(WhyQuestion):
			t.s.Question = t.in.Text
			t.say("faq_none_case", nil)
			t.send()
		default:
			t.say("faq_none", nil)
			t.send(t.button("btn_human", nil, actHuman))
		}
		t.ask()
		return true
	}
	t.s.Unanswered = 0
	t.out = append(t.out, Reply{Event: EventFAQMatched})
	t.answer(m)
	t.ask()
	return true
}

// answer gives a matched topic's answer, or the choice between two close
// topics.
func (t *turn) answer(m faq.Match) {
	if len(m.Also) == 0 {
		t.faqAnswer(m.Topic)
		return
	}
	t.say("faq_pick", nil)
	var rows [][]ButtonSpec
	for _, id := range append([]string{m.Topic}, m.Also...)[:min(3, 1+len(m.Also))] {
		if tp, ok := t.f.kb.Topic(id); ok {
			rows = append(rows, []ButtonSpec{t.btn(tp.Text[t.s.Language()].Title, actFAQ, id)})
		}
	}
	t.send(rows...)
}

// faqAnswer writes a topic's answer with its sources, and says so when it is
// practical guidance rather than an official rule.
func (t *turn) faqAnswer(id string) bool {
	tp, ok := t.f.kb.Topic(id)
	if !ok {
		return false
	}
	lang := t.s.Language()
	t.text = append(t.text, tp.Text[lang].Answer)
	if tp.Kind == faq.Guidance {
		t.say("faq_guidance", nil)
	}
	checked, err := rules.ParseISO(tp.Checked)
	when := tp.Checked
	if err == nil {
		when = t.words(checked)
	}
	t.say("faq_sources", map[string]any{"Sources": strings.Join(tp.Sources, "\n"), "Checked": when})
	t.send()
	return true
}

// faqMenu lists every topic as a button.
func (t *turn) faqMenu() {
	t.say("faq_menu", nil)
	var rows [][]ButtonSpec
	for _, tp := range t.f.kb.Topics() {
		rows = append(rows, []ButtonSpec{t.btn(tp.Text[t.s.Language()].Title, actFAQ, tp.ID)})
	}
	t.send(rows...)
}

// hasWords is true when the text has at least two words of letters: a
// number or a single word is never taken for a question.
func hasWords(text string) bool {
	n := 0
	for _, f := range strings.Fields(text) {
		for _, r := range f {
			if unicode.IsLetter(r) {
				n++
				break
			}
		}
	}
	return n >= 2
}

// isQuestion is a question mark, or a question word first.
func isQuestion(text string) bool {
	if strings.Contains(text, "?") {
		return true
	}
	first, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(text)), " ")
	switch strings.Trim(first, ",.!:;") {
	case "how", "what", "where", "when", "why", "which", "who", "can", "could", "do", "does", "is", "are", "will",
		"should", "must", "may", "como", "onde", "quando", "quanto", "quantos", "qual", "quais", "porque", "posso",
		"pode", "preciso", "devo", "comment", "combien", "où", "ou", "quand", "quel", "quelle", "pourquoi", "est-ce",
		"puis-je", "dois-je", "faut-il", "peut-on":
		return true
	}
	return false
}

// looksLikeQuestion tells a question from a stray word: a question mark, or
// a few words.
func looksLikeQuestion(text string) bool {
	return strings.Contains(text, "?") || len(strings.Fields(text)) >= 4
}
