package flows

import (
	"slices"
	"strconv"
	"strings"
)

func (t *turn) run() error {
	if t.s.State == "" {
		t.s = Session{Version: SchemaVersion, State: StateLanguage, Lang: MatchLanguage(t.in.ClientLang),
			Name: t.s.Name, Created: t.now}
		t.s.Updated = t.now
		t.remember()
		if t.in.Kind != Button {
			return t.open()
		}
	} else {
		t.remember()
	}
	t.s.Updated = t.now
	if t.privacyInput() {
		return t.privacy()
	}
	if t.in.Kind == PackageDone {
		t.packed(t.in.Packed)
		t.carryOn()
		return nil
	}
	if t.finishInput() {
		return t.finish()
	}
	if t.s.WithPerson() {
		t.relay()
		return nil
	}
	if t.in.Kind == Text && t.s.Confirming == confirmRateComment {
		t.rateComment()
		return nil
	}
	if t.in.Kind == Text && wantsPerson(t.in.Text) {
		t.s.Confirming, t.s.Guess = "", nil
		t.escalate(WhyAsked)
		t.ask()
		return nil
	}
	if t.in.Kind == Text {
		// The step's buttons and the text's reading, each made once.
		buttons := t.stepButtons(t.s.Language())
		if !t.matchLabel(buttons) {
			u := understand(t.in.Text, t.today)
			if t.namedLanguage(u) {
				return nil
			}
			if ok, err := t.readTyped(u); ok || err != nil {
				return err
			}
			t.matchLoose(buttons)
		}
	}
	confirming := t.s.Confirming
	t.s.Confirming = ""
	if confirming != confirmOpening {
		t.s.Guess = nil
	}
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
		if action == actRate || action == actRateComment {
			// The rating is of the case, not of a step: a press counts
			// whatever the applicant did since.
			return t.rate(action, arg)
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

// matchLabel takes typed text that is the label of one of buttons (the
// current step's) (or its number, as the console shows them) as a press, and
// a yes or no typed at a confirmation as its answer. It reports whether it
// made the text a press.
func (t *turn) matchLabel(buttons []ButtonSpec) bool {
	want := fold(t.in.Text)
	if want == "" {
		return false
	}
	for _, b := range buttons {
		if fold(b.Label) == want {
			t.in = Input{Kind: Button, Data: b.Data, Label: b.Label, ClientLang: t.in.ClientLang}
			return true
		}
	}
	if t.s.Confirming == confirmOpening {
		if yes, ok := yesNo(t.in.Text); ok {
			act := actOpeningNo
			if yes {
				act = actOpeningYes
			}
			t.in = Input{Kind: Button, Data: t.btn("", act).Data, ClientLang: t.in.ClientLang}
			return true
		}
	}
	return false
}

// matchLoose takes a short answer that names one button (a word of its
// label, in any of the three languages, a small typo) as a press of that one.
func (t *turn) matchLoose(buttons []ButtonSpec) {
	if b, ok := t.looseMatch(buttons); ok {
		t.in = Input{Kind: Button, Data: b.Data, Label: b.Label, ClientLang: t.in.ClientLang}
	}
}

// stepButtons are the buttons the current step shows in lang: a
// confirmation's first (its "Continue" is not the step's).
func (t *turn) stepButtons(lang string) []ButtonSpec {
	s := t.s
	s.Lang = lang
	probe := &turn{f: t.f, cat: t.cat, s: s, now: t.now, today: t.today}
	probe.out = []Reply{{Buttons: probe.confirmButtons()}}
	probe.ask()
	var out []ButtonSpec
	for _, r := range probe.out {
		for _, row := range r.Buttons {
			out = append(out, row...)
		}
	}
	return out
}

// maxLooseWords bounds the answers read loosely: a longer text is a
// sentence (a question, a story), for the knowledge base.
const maxLooseWords = 5

// looseMatch finds the one button a short typed answer names: each button
// scores the answer's words found in its label in any language (a word of
// five letters or more may have one letter wrong, one of four or more may
// be the start of a label's word), and the best wins when it is alone and
// covers at least half of the answer's words.
func (t *turn) looseMatch(buttons []ButtonSpec) (ButtonSpec, bool) {
	typed := contentWords(t.in.Text)
	if len(typed) == 0 || len(typed) > maxLooseWords || strings.Contains(t.in.Text, "?") {
		return ButtonSpec{}, false
	}
	labels := map[string][]string{} // button data -> its label's words in every language
	for _, b := range buttons {
		labels[b.Data] = contentWords(b.Label)
	}
	for _, lang := range Languages() {
		if lang == t.s.Language() {
			continue // buttons, already
		}
		for _, b := range t.stepButtons(lang) {
			labels[b.Data] = append(labels[b.Data], contentWords(b.Label)...)
		}
	}
	best, bestScore, tie := ButtonSpec{}, 0, false
	for _, b := range buttons {
		score := 0
		for _, w := range typed {
			if slices.ContainsFunc(labels[b.Data], func(l string) bool { return wordsMatch(w, l) }) {
				score++
			}
		}
		switch {
		case score > bestScore:
			best, bestScore, tie = b, score, false
		case score == bestScore && score > 0 && b.Data != best.Data:
			tie = true
		}
	}
	if bestScore == 0 || tie || 2*bestScore < len(typed) {
		return ButtonSpec{}, false
	}
	return best, true
}

// contentWords are a text's folded words of three letters or more, without
// numbers (a date is not a label) and the words that name nothing
// (articles, pronouns, "card").
func contentWords(text string) []string {
	var out []string
	for _, w := range strings.Fields(fold(text)) {
		if len([]rune(w)) >= 3 && !strings.ContainsAny(w, "0123456789") && !slices.Contains(looseStopWords, w) {
			out = append(out, w)
		}
	}
	return out
}

// looseStopWords are folded words too common in labels and answers to tell
// buttons apart, in the three languages.
var looseStopWords = []string{
	"the", "and", "was", "my", "card", "its", "for", "you", "your", "this", "that", "with", "please", "pls", "yes",
	"nao", "meu", "minha", "cartao", "uma", "com", "por", "para", "foi", "sim", "favor",
	"mon", "une", "est", "les", "des", "pour", "avec", "carte", "pas", "oui", "plait",
}

// wordsMatch says a typed word names a label's word.
func wordsMatch(typed, label string) bool {
	switch {
	case typed == label:
		return true
	case len(typed) >= 4 && strings.HasPrefix(label, typed):
		return true
	case len(typed) >= 5 && len(label) >= 5:
		return oneEdit(typed, label)
	}
	return false
}

// oneEdit says a and b differ by at most one letter inserted, removed or
// changed.
func oneEdit(a, b string) bool {
	ra, rb := []rune(a), []rune(b)
	if len(ra) > len(rb) {
		ra, rb = rb, ra
	}
	if len(rb)-len(ra) > 1 {
		return false
	}
	i := 0
	for i < len(ra) && ra[i] == rb[i] {
		i++
	}
	if len(ra) == len(rb) {
		return string(ra[i+min(1, len(ra)-i):]) == string(rb[i+min(1, len(rb)-i):])
	}
	return string(ra[i:]) == string(rb[i+1:])
}

// confirmButtons are the buttons of the question asked on top of the
// current step (Session.Confirming), if any.
func (t *turn) confirmButtons() [][]ButtonSpec {
	switch t.s.Confirming {
	case "cancel":
		return [][]ButtonSpec{t.button("btn_cancel_yes", nil, actCancelYes), t.button("btn_cancel_no", nil, actCancelNo)}
	case "restart":
		return [][]ButtonSpec{t.button("btn_restart_continue", nil, actResume), t.button("btn_restart_erase", nil, actStartAgain)}
	case confirmRefile:
		return t.refileButtons()
	case confirmOpening:
		return [][]ButtonSpec{{t.btn(t.tr("btn_opening_yes", nil), actOpeningYes), t.btn(t.tr("btn_opening_no", nil), actOpeningNo)}}
	}
	return nil
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

// IsStale reports whether button data belongs to an earlier step of the
// session (or is malformed), so a transport can say so on the button itself.
func IsStale(s Session, data string) bool {
	step, _, _, ok := parseButton(data)
	return !ok || step != s.Step
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

func (t *turn) command() error {
	switch t.in.Command {
	case "start", "restart":
		if t.s.State == StateLanguage {
			t.say("greeting", nil)
			t.ask()
			return nil
		}
		if !t.answered() {
			return t.restart("restart_done")
		}
		// Mid-conversation, /start is often a habit: say where they are and
		// ask before erasing anything, as /cancel does.
		t.s.Confirming = "restart"
		t.statusLines()
		t.say("restart_confirm", nil)
		t.send(t.confirmButtons()...)
		return nil
	case "cancel":
		if !t.answered() {
			t.say("cancel_nothing", nil)
			t.ask()
			return nil
		}
		t.s.Confirming = "cancel"
		t.say("cancel_confirm", nil)
		t.send(t.confirmButtons()...)
		return nil
	case "back":
		return t.back()
	case "help":
		t.say("help", map[string]any{"Staff": t.f.staff})
		t.send() // apart from the step's question: each message short enough for a phone
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
			return t.chosenLanguage(understanding{})
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
	case actResume:
		if confirming == "restart" {
			t.say("cancel_kept", nil)
			t.ask()
			return nil
		}
	case actMorePages, actPagesDone, actRefileAsk, actRefile:
		if t.s.State == StateDocuments || t.s.State == StateReview {
			if ok, err := t.onPages(action, arg, confirming); ok || err != nil {
				return err
			}
		}
	case actOpeningYes, actOpeningNo:
		if confirming == confirmOpening {
			return t.onOpening(action == actOpeningYes)
		}
	case actStartAgain:
		if confirming == "restart" {
			return t.restart("restart_done")
		}
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

// answered reports whether the applicant gave anything that a restart
// would erase: a request, an expiry date or a document.
func (t *turn) answered() bool {
	return t.s.Kind != "" || len(t.s.Docs) > 0 || !t.s.Expiry.IsZero()
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
	if t.s.State == StateDocuments && t.s.Adding != "" {
		// Back from "the next page, please": no more pages of it.
		t.s.Adding = ""
		t.s.Step++
		return t.afterDocument()
	}
	if t.s.State == StateDocuments {
		if prev, ok := t.previousDoc(); ok {
			t.revisit(prev)
			return t.move(evRevisit)
		}
	}
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

// --- status ---

func (t *turn) status() {
	t.statusLines()
	t.send()
}

// statusLines writes where the conversation is and what was given so far.
func (t *turn) statusLines() {
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
}
