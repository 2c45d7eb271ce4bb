package flows

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aimabot/aimabot/flows/faq"
	"github.com/aimabot/aimabot/rules"
)

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
	m := t.f.kb.Match(t.in.Text, t.s.Language())
	if m.Chat != "" && m.Chat != "human" {
		// "thanks" or "hello" is not the question for the team.
		t.chat(m.Chat)
		return nil
	}
	if m.Topic != faq.None {
		// Move first, so that the buttons of a choice between two topics
		// belong to the step they are shown at.
		if err := t.fire(evAsked); err != nil {
			return err
		}
		t.answer(t.known(m))
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
	if err := t.fire(evChoseReason); err != nil {
		return err
	}
	return t.skipExpiry()
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
	if !t.dateSaid {
		t.say("date_read", map[string]any{"Date": t.words(e.Expiry)})
	}
	t.explain(e)
	switch {
	case e.Verdict == rules.Eligible && t.s.Kind != "":
		rows := [][]ButtonSpec{t.button("btn_continue", nil, actContinue)}
		if t.s.Remind == nil && t.canRemind() {
			rows = append(rows, t.button("btn_remind_on", map[string]any{"LastDay": t.words(e.LastDay)}, actRemind, "on"))
		}
		t.send(append(rows, t.button("btn_change_date", nil, actChangeDate))...)
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
		t.portal(e.Expiry)
	case rules.Expired:
		t.say("verdict_expired", d)
		t.say(t.renewAdvice(), d)
		t.portal(e.Expiry)
		t.say("verdict_after_expiry", d)
	}
	if e.Verdict != rules.Eligible && (t.s.Reason == rules.Lost || t.s.Reason == rules.Stolen) {
		t.say("verdict_police_anyway", d)
	}
}

// portal says where renewals are made and whether the Portal is known to
// take a card expiring on expiry: AIMA's windows are facts of a period, so
// a card outside every known one is told plainly that it is not known yet,
// where to check, and what to do meanwhile.
func (t *turn) portal(expiry rules.Date) {
	c := rules.CheckPortal(expiry)
	lang := t.s.Language()
	d := map[string]any{
		"Expiry":    t.cat.DateShort(lang, expiry),
		"From":      t.cat.DateShort(lang, c.Window.From),
		"To":        t.cat.DateShort(lang, c.Window.To),
		"Confirmed": t.cat.DateShort(lang, c.Window.Confirmed),
	}
	if c.Covered {
		t.say("portal_covered", d)
		return
	}
	t.say("portal_unknown", d)
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
	case action == "" && t.in.Kind == Text && typedDate(t.in.Text):
		// A date typed at the verdict is the card's date, corrected.
		if err := t.fire(evChangeExpiry); err != nil {
			return err
		}
		return t.onExpiry("")
	}
	t.miss("hint_buttons")
	return nil
}

// typedDate says the text holds a date, or something meant as one (31
// April): what the expiry step reads.
func typedDate(text string) bool {
	_, err := rules.FindDate(text)
	var de *rules.DateError
	return err == nil || (errors.As(err, &de) && de.Code == rules.DateImpossible)
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
	t.send(append(append([][]ButtonSpec{
		t.button("btn_all_correct", nil, actConfirm),
		t.button("btn_change_kind", nil, actChangeKind),
		t.button("btn_change_reason", nil, actChangeWhy),
		t.button("btn_change_expiry", nil, actChangeDate),
		t.button("btn_replace", nil, actReplace),
	}, t.addButtons()...), t.receiptButtons()...)...)
}

func (t *turn) onReview(action, arg string) error {
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
	case actAddDoc:
		if t.s.skipped(rules.DocID(arg)) {
			t.revisit(rules.DocID(arg))
			return t.move(evRevisit)
		}
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
		t.tr("done_number", map[string]any{"Lost": t.s.Reason == rules.Lost || t.s.Reason == rules.Stolen}),
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
	rows := append(t.finishButtons(true), t.button("btn_new_request", nil, actRestart), t.button("btn_back_review", nil, actConfirm))
	if t.f.staff {
		rows = append(rows, t.button("btn_person_check", nil, actCheck))
	}
	t.send(rows...)
}
