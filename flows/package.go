package flows

import (
	"slices"
	"strings"
	"time"

	"github.com/aimabot/aimabot/rules"
)

// The end of the journey: the documents handed back as one PDF per form
// field (a Package the transport builds, whose outcome comes back as a
// Packed input), reminders before the last day to use the form, and one
// check-in after the applicant says they sent their request.

// Package asks the transport to make one PDF of each document's files, in
// the order they were received, and to send them back (or, in the console,
// write them to Dir). The transport answers with a Packed input.
type Package struct {
	Docs []PackDoc
	// Dir is where the console writes the files ("/package DIR"); Telegram
	// sends them to the chat instead.
	Dir string
}

// PackDoc is one document of a package: its files, the name of the PDF to
// make of them, and the caption to send it with.
type PackDoc struct {
	Doc     rules.DocID
	Name    string // e.g. "passaporte.pdf"
	Caption string
	Files   []File
}

// PackResult is what the transport made of a Package.
type PackResult struct {
	Sent []Packed
	// Unreadable are the references of files that could not be fetched any
	// more (too old, too big, gone); Broken those fetched but unreadable
	// as an image or a PDF. Their documents must be sent again.
	Unreadable []string
	Broken     []string
	// TooBig are the documents that cannot fit the size limit legibly.
	TooBig []rules.DocID
	// Failed says the transport could not make the package (after its
	// retries); nothing was sent.
	Failed bool
	// Dir is where the console wrote the files.
	Dir string
	// Limit is the size limit the PDFs were made under, in bytes.
	Limit int64
}

// Packed is a PDF made of a document's files and sent back: what /mydata
// lists and /forget erases (Telegram's reference to the sent file).
type Packed struct {
	Doc   rules.DocID `json:"doc"`
	Name  string      `json:"name"`
	Ref   string      `json:"ref,omitempty"` // Telegram's file id of the sent PDF, or the console's path
	Msg   int         `json:"msg,omitempty"` // the message it was sent in
	Size  int64       `json:"size"`
	Pages int         `json:"pages"`
	At    time.Time   `json:"at"`
}

// maxPacked bounds the PDFs a session remembers (each /package sends a set).
const maxPacked = 48

// Remind holds the reminders before the last day the applicant asked for.
type Remind struct {
	Since time.Time `json:"since"`
	// Sent are the reminders already sent, in days before the last day
	// (rules.ReminderDays), for the last day they were counted to.
	Sent    []int      `json:"sent,omitempty"`
	LastDay rules.Date `json:"last_day,omitzero"`
}

// CheckInAfter is how long after the applicant says they sent their request
// the assistant asks whether AIMA answered.
const CheckInAfter = 10 * 24 * time.Hour

// Button actions of this file; they work whatever step the conversation is
// at, since they come in reminders sent between steps.
const (
	actPackage   = "pack"
	actSubmitted = "sent"
	actRemind    = "remind"  // arg: "on" or "off"
	actCheckIn   = "checkin" // arg: "yes" or "no"
)

// anyStep says a button's action is answered at any step.
func anyStep(action string) bool {
	switch action {
	case actPackage, actSubmitted, actRemind, actCheckIn:
		return true
	}
	return false
}

// Events for the operator's metrics.
const (
	EventPackage   = "package"   // a package asked for
	EventPacked    = "packed"    // a package sent
	EventRemindOn  = "remind_on" // reminders asked for
	EventRemindOff = "remind_off"
	EventRemind    = "deadline_reminder"
	EventSubmitted = "submitted"
	EventCheckIn   = "check_in"
)

// finishInput says the input is about the package, the reminders or the
// submission, which the assistant answers even while a person has the
// conversation.
func (t *turn) finishInput() bool {
	switch t.in.Kind {
	case Command:
		return t.in.Command == "package" || t.in.Command == "reminders"
	case Button:
		_, action, _, ok := parseButton(t.in.Data)
		return ok && anyStep(action)
	}
	return false
}

// finish answers /package, /reminders and their buttons.
func (t *turn) finish() error {
	t.s.Confirming = ""
	if t.in.Kind == Command {
		switch t.in.Command {
		case "package":
			if t.pack(strings.TrimSpace(t.in.Text)) {
				return nil // the package's outcome carries on
			}
		case "reminders":
			t.remindersStatus()
		}
		t.carryOn()
		return nil
	}
	_, action, arg, _ := parseButton(t.in.Data)
	switch action {
	case actPackage:
		if t.pack("") {
			return nil
		}
	case actSubmitted:
		t.submitted()
	case actRemind:
		if arg == "on" {
			t.remindOn()
		} else {
			t.remindOff()
		}
	case actCheckIn:
		t.checkInAnswer(arg == "yes")
	}
	t.carryOn()
	return nil
}

// carryOn follows an answer of this file: at the verdict and at the end,
// whose long text stands just above, the step's buttons come again under
// the answer; at other steps the question is asked again.
func (t *turn) carryOn() {
	if t.s.WithPerson() {
		return
	}
	if t.s.State != StateVerdict && t.s.State != StateDone || len(t.out) == 0 {
		t.ask()
		return
	}
	last := &t.out[len(t.out)-1]
	for i := len(t.out) - 1; i >= 0; i-- {
		if t.out[i].Text != "" && !t.out[i].Staff {
			last = &t.out[i]
			break
		}
	}
	has := map[string]bool{}
	for _, row := range last.Buttons {
		for _, b := range row {
			has[b.Data] = true
		}
	}
	for _, b := range t.stepButtons(t.s.Language()) {
		if !has[b.Data] {
			last.Buttons = append(last.Buttons, []ButtonSpec{b})
		}
	}
}

// --- the package ---

// pack asks the transport for the package of every document sent so far;
// false when there is nothing to make.
func (t *turn) pack(dir string) bool {
	var docs []PackDoc
	for _, d := range t.requiredDocs() {
		var files []File
		for _, sent := range t.s.Docs {
			if sent.ID == d.ID {
				files = append(files, File{Ref: sent.Ref, Type: sent.Type, Size: sent.Size, Photo: sent.Photo})
			}
		}
		if len(files) == 0 {
			continue
		}
		docs = append(docs, PackDoc{Doc: d.ID, Name: rules.FileName(d.ID), Files: files,
			Caption: t.tr("pack_caption", map[string]any{"Title": t.docTitle(d.ID), "Field": t.fieldName(d.ID)})})
	}
	if len(docs) == 0 {
		t.say("pack_nothing", nil)
		t.send()
		return false
	}
	t.say("pack_making", nil)
	t.send()
	t.out = append(t.out, Reply{Package: &Package{Docs: docs, Dir: dir}, Event: EventPackage})
	return true
}

// fieldName is the form's field a document goes in, as the form names it
// (in Portuguese) with a word of explanation in the applicant's language.
func (t *turn) fieldName(id rules.DocID) string {
	f := rules.Field(id)
	if f == rules.FieldProof {
		return t.tr("form_field_proof_"+string(t.s.Kind), nil)
	}
	return t.tr("form_field_"+string(f), nil)
}

// packed answers the transport's outcome of a package: what was sent, where
// each file goes, and which documents must be sent again.
func (t *turn) packed(r *PackResult) {
	if r == nil {
		t.say("pack_failed", nil)
		t.send()
		return
	}
	// What was sent is recorded even when the rest failed: the applicant
	// has those files, and /mydata and /forget must know of them.
	for _, p := range r.Sent {
		// A new PDF of a document replaces the reference to the last one.
		t.s.Packed = slices.DeleteFunc(t.s.Packed, func(old Packed) bool { return old.Doc == p.Doc })
		p.At = t.now
		t.s.Packed = append(t.s.Packed, p)
	}
	if n := len(t.s.Packed); n > maxPacked {
		t.s.Packed = slices.Clone(t.s.Packed[n-maxPacked:])
	}
	if len(r.Sent) > 0 {
		var lines []string
		for _, p := range r.Sent {
			lines = append(lines, "• "+t.tr("pack_line", map[string]any{"Name": p.Name, "Title": t.docTitle(p.Doc),
				"Pages": t.cat.Plural(t.s.Language(), "pack_pages", p.Pages, nil),
				"Size":  packSize(t.s.Language(), p.Size), "Field": t.fieldName(p.Doc)}))
		}
		key := "pack_sent"
		if r.Dir != "" {
			key = "pack_written"
		}
		t.say(key, map[string]any{"Dir": r.Dir, "Limit": megabytes(t.s.Language(), r.Limit)})
		t.text = append(t.text, strings.Join(lines, "\n"))
		_, card := t.s.doc(rules.DocResidenceCard)
		if !card && (t.s.Reason == rules.Lost || t.s.Reason == rules.Stolen) && len(r.Sent) > 0 {
			t.say("pack_no_card_copy", nil)
		}
		t.say("pack_upload", nil)
	}
	titles := func(refs []string) string {
		var out []string
		for _, d := range t.s.Docs {
			if slices.Contains(refs, d.Ref) && !slices.Contains(out, t.docTitle(d.ID)) {
				out = append(out, t.docTitle(d.ID))
			}
		}
		return strings.Join(out, "; ")
	}
	gone := append(slices.Clone(r.Unreadable), r.Broken...)
	for _, id := range r.TooBig {
		t.say("pack_too_big", map[string]any{"Title": t.docTitle(id), "Limit": megabytes(t.s.Language(), r.Limit)})
	}
	if docs := titles(r.Unreadable); docs != "" {
		t.say("pack_send_again", map[string]any{"Docs": docs})
	}
	if docs := titles(r.Broken); docs != "" {
		t.say("pack_broken", map[string]any{"Docs": docs})
	}
	if r.Failed {
		t.say("pack_failed", nil)
	}
	if titles(gone) == "" {
		t.send(t.finishButtons(false)...)
		return
	}
	t.send()
	// The files that cannot be had are no longer the applicant's documents:
	// the checklist asks for them again.
	first := rules.DocID("")
	t.s.Docs = slices.DeleteFunc(t.s.Docs, func(d Doc) bool {
		if slices.Contains(gone, d.Ref) {
			if first == "" {
				first = d.ID
			}
			return true
		}
		return false
	})
	if t.s.WithPerson() || first == "" {
		return
	}
	if _, still := t.s.doc(first); still {
		return // other pages of it are kept; the applicant adds the missing one
	}
	switch t.s.State {
	case StateDone:
		if t.fire(evBack) != nil {
			return
		}
		fallthrough
	case StateReview, StateDocuments:
		t.revisit(first)
		if t.s.State != StateDocuments {
			_ = t.fire(evRevisit)
		}
		t.s.Step++
	}
}

// finishButtons are the buttons at the end of the journey: the package, the
// reminders (when they can be had) and "I've sent it".
func (t *turn) finishButtons(withPackage bool) [][]ButtonSpec {
	var rows [][]ButtonSpec
	if withPackage && len(t.s.Docs) > 0 {
		rows = append(rows, t.button("btn_package", nil, actPackage))
	}
	if t.s.Remind == nil && t.canRemind() {
		rows = append(rows, t.button("btn_remind_on", map[string]any{"LastDay": t.words(t.eligibility().LastDay)}, actRemind, "on"))
	}
	if t.s.Submitted.IsZero() && t.s.Kind != "" {
		rows = append(rows, t.button("btn_submitted", nil, actSubmitted))
	}
	return rows
}

// --- reminders ---

// reminderTimes are the reminders still to come for the session's card, in
// order, with the days before the last day each is for; none when the
// form is not (or no longer) open to the applicant, or they sent their
// request.
func (f *Flow) reminderTimes(s Session, now time.Time) (at []time.Time, days []int) {
	if s.Expiry.IsZero() || s.Kind == "" || !s.Submitted.IsZero() {
		return nil, nil
	}
	e := rules.CheckEligibility(s.Expiry, rules.Today(now))
	if e.Verdict != rules.Eligible {
		return nil, nil
	}
	for _, d := range rules.ReminderDays() {
		when := e.LastDay.AddDays(-d).At(rules.ReminderHour)
		if when.After(now) {
			at, days = append(at, when), append(days, d)
		}
	}
	return at, days
}

// canRemind says reminders would bring something: the form is open to the
// applicant and at least one reminder is still to come.
func (t *turn) canRemind() bool {
	at, _ := t.f.reminderTimes(t.s, t.now)
	return len(at) > 0
}

func (t *turn) reminderDates() string {
	at, _ := t.f.reminderTimes(t.s, t.now)
	var words []string
	for _, w := range at {
		words = append(words, t.words(rules.Today(w)))
	}
	return strings.Join(words, "; ")
}

func (t *turn) remindOn() {
	if !t.canRemind() {
		t.say("remind_impossible", nil)
		t.send()
		return
	}
	if t.s.Remind == nil {
		t.s.Remind = &Remind{Since: t.now, LastDay: t.eligibility().LastDay}
		t.out = append(t.out, Reply{Event: EventRemindOn})
	}
	t.say("remind_on", map[string]any{"Dates": t.reminderDates(), "LastDay": t.words(t.eligibility().LastDay)})
	t.send()
}

func (t *turn) remindOff() {
	had := t.s.Remind != nil || !t.s.CheckIn.IsZero()
	t.s.Remind, t.s.CheckIn = nil, time.Time{}
	if had {
		t.out = append(t.out, Reply{Event: EventRemindOff})
	}
	t.say("remind_off", nil)
	t.send()
}

// remindersStatus answers /reminders: what is planned, and the button that
// turns it off (or on).
func (t *turn) remindersStatus() {
	switch {
	case !t.s.CheckIn.IsZero():
		t.say("reminders_check_in", map[string]any{"Date": t.words(rules.Today(t.s.CheckIn))})
		t.send(t.button("btn_remind_off", nil, actRemind, "off"))
	case t.s.Remind != nil && t.canRemind():
		t.say("reminders_on", map[string]any{"Dates": t.reminderDates(), "LastDay": t.words(t.eligibility().LastDay)})
		t.send(t.button("btn_remind_off", nil, actRemind, "off"))
	case t.canRemind():
		t.say("reminders_off", map[string]any{"LastDay": t.words(t.eligibility().LastDay)})
		t.send(t.button("btn_remind_on", map[string]any{"LastDay": t.words(t.eligibility().LastDay)}, actRemind, "on"))
	default:
		t.say("reminders_none", nil)
		t.send()
	}
}

// nextReminder is when the next reminder (before the last day, or the
// check-in) is due; zero when none.
func (f *Flow) nextReminder(s Session) time.Time {
	if !s.CheckIn.IsZero() {
		return s.CheckIn
	}
	if s.Remind == nil {
		return time.Time{}
	}
	at, days := f.reminderTimes(s, s.Remind.Since)
	lastDay := s.Expiry.AddDays(-rules.NoticeDays)
	for i, d := range days {
		if !s.Remind.sent(d, lastDay) {
			return at[i]
		}
	}
	return time.Time{}
}

func (r *Remind) sent(days int, lastDay rules.Date) bool {
	return r.LastDay == lastDay && slices.Contains(r.Sent, days)
}

// remindDue sends the reminder or the check-in that is due at now, once:
// when several are due (the assistant was stopped), only the latest.
func (t *turn) remindDue() bool {
	if at := t.s.CheckIn; !at.IsZero() && !t.now.Before(at) {
		t.s.CheckIn = time.Time{}
		if t.s.Blocked != nil {
			return true
		}
		t.say("check_in", map[string]any{"Kind": t.tr("kind_"+string(t.s.Kind), nil),
			"Date": t.words(rules.Today(t.s.Submitted))})
		t.send(t.button("btn_check_in_yes", nil, actCheckIn, "yes"), t.button("btn_check_in_no", nil, actCheckIn, "no"))
		t.out = append(t.out, Reply{Event: EventCheckIn})
		return true
	}
	r := t.s.Remind
	if r == nil {
		return false
	}
	at, days := t.f.reminderTimes(t.s, r.Since)
	e := t.eligibility()
	due := -1
	for i, d := range days {
		if !t.now.Before(at[i]) && !r.sent(d, e.LastDay) {
			due = d
		}
	}
	if due < 0 {
		return false
	}
	rem := *r
	if rem.LastDay != e.LastDay {
		rem.LastDay, rem.Sent = e.LastDay, nil
	}
	for i, d := range days {
		if !t.now.Before(at[i]) && !slices.Contains(rem.Sent, d) {
			rem.Sent = append(rem.Sent, d)
		}
	}
	t.s.Remind = &rem
	// This reminder says what is missing: no reminder to send documents
	// for the same spell of inactivity.
	t.s.Reminded = t.s.Updated
	if t.s.Blocked != nil || e.Verdict != rules.Eligible {
		return true
	}
	data := map[string]any{"Kind": t.tr("kind_"+string(t.s.Kind), nil), "LastDay": t.words(e.LastDay),
		"Days": t.cat.Days(t.s.Language(), t.today.DaysUntil(e.LastDay))}
	if due == 0 || t.today == e.LastDay {
		t.say("remind_today", data)
	} else {
		t.say("remind_before", data)
	}
	if missing := t.missingTitles(); missing != "" {
		t.say("remind_missing", map[string]any{"Docs": missing})
	}
	rows := t.finishButtons(true)
	t.send(append(rows, t.button("btn_remind_off", nil, actRemind, "off"))...)
	t.out = append(t.out, Reply{Event: EventRemind})
	return true
}

// missingTitles are the mandatory documents not sent yet.
func (t *turn) missingTitles() string {
	var out []string
	for _, d := range t.requiredDocs() {
		if _, ok := t.s.doc(d.ID); !ok && d.Mandatory {
			out = append(out, t.docTitle(d.ID))
		}
	}
	return strings.Join(out, "; ")
}

// --- sent ---

// submitted records that the applicant sent their request: the reminders
// stop and one check-in is planned.
func (t *turn) submitted() {
	first := t.s.Submitted.IsZero()
	if first {
		t.s.Submitted = t.now
		t.s.CheckIn = t.now.Add(CheckInAfter)
		t.s.Remind = nil
		t.out = append(t.out, Reply{Event: EventSubmitted})
	}
	t.say("submitted", map[string]any{"CheckIn": !t.s.CheckIn.IsZero(), "Date": t.words(rules.Today(t.s.CheckIn))})
	if t.s.CheckIn.IsZero() {
		t.send()
		return
	}
	t.send(t.button("btn_remind_off", nil, actRemind, "off"))
}

// checkInAnswer answers "Did AIMA email you?".
func (t *turn) checkInAnswer(yes bool) {
	if yes {
		t.say("check_in_yes", nil)
	} else {
		t.say("check_in_no", map[string]any{"Staff": t.f.staff})
	}
	t.send()
}

// keepUntil is when an idle conversation is erased: the retention after
// the last activity, or after the last reminder planned when later.
func (f *Flow) keepUntil(s Session) time.Time {
	until := s.Updated.Add(f.keep.Session)
	last := s.CheckIn
	if s.Remind != nil {
		at, _ := f.reminderTimes(s, s.Remind.Since)
		if len(at) > 0 && at[len(at)-1].After(last) {
			last = at[len(at)-1]
		}
	}
	if !last.IsZero() && last.Add(f.keep.Session).After(until) {
		until = last.Add(f.keep.Session)
	}
	return until
}

// keepAlive is when the assistant wakes only to keep a conversation whose
// planned reminders reach beyond the retention after its last activity: the
// store lets an unwritten session expire some time after the retention
// (see cmd's backstop), and the wake-up's write renews it. Zero when not
// needed.
func (f *Flow) keepAlive(s Session) time.Time {
	if !f.keepUntil(s).After(s.Updated.Add(f.keep.Session)) {
		return time.Time{}
	}
	last := s.Updated
	if s.Alive.After(last) {
		last = s.Alive
	}
	return last.Add(max(f.keep.Session-24*time.Hour, f.keep.Session/2))
}

// packSize is a PDF's size in MB for the summary, "<0.1" for a small one.
func packSize(lang string, size int64) string {
	if size < 100<<10 {
		return "<" + megabytes(lang, 100<<10)
	}
	return megabytes(lang, size)
}
