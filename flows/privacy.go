package flows

import (
	"slices"
	"strings"
	"time"

	"github.com/aimabot/aimabot/rules"
)

// The applicant's data, in one place: what /privacy says is kept and for how
// long, what /mydata shows, what /forget erases, and when the assistant
// wakes by itself: one reminder when documents stop coming, one notice
// before an idle conversation is erased, the erasure itself, and the
// erasure of a case closed long ago.

// Retention says how long data is kept and when reminders come.
type Retention struct {
	Session  time.Duration // an idle conversation is erased after this long
	Case     time.Duration // a closed case is erased this long after it closed
	Reminder time.Duration // one reminder this long after documents stopped coming
	Notice   time.Duration // the notice of an erasure comes this long before it
}

// ForgottenIDsKept is how long, after an erasure (/forget, or an idle
// conversation's), the store keeps the ids of the chat's last updates,
// numbers only and under a keyed hash of the chat id, so that Telegram
// delivering one again is recognised: store.ForgottenTTL is this, and
// /privacy says so. Telegram keeps an update it could not deliver for 24
// hours; two more cover a delivery begun just before that end and retried.
const ForgottenIDsKept = 26 * time.Hour

// DefaultRetention is 30 days for conversations, 90 days for closed cases,
// a reminder after 24 hours and the notice 3 days before an erasure.
func DefaultRetention() Retention {
	return Retention{Session: 30 * 24 * time.Hour, Case: 90 * 24 * time.Hour, Reminder: 24 * time.Hour,
		Notice: 3 * 24 * time.Hour}
}

// WithRetention sets how long data is kept; zero fields keep the defaults.
func WithRetention(r Retention) Option {
	return func(f *Flow) {
		d := DefaultRetention()
		if r.Session > 0 {
			d.Session = r.Session
		}
		if r.Case > 0 {
			d.Case = r.Case
		}
		if r.Reminder > 0 {
			d.Reminder = r.Reminder
		}
		if r.Notice > 0 {
			d.Notice = r.Notice
		}
		f.keep = d
	}
}

// Retention returns how long the flow keeps data.
func (f *Flow) Retention() Retention { return f.keep }

// Button actions of /forget.
const (
	actForgetYes = "forget_yes"
	actForgetNo  = "forget_no"
)

// Events reported for the operator's metrics (Reply.Event).
const (
	EventFAQMatched     = "faq_matched"
	EventFAQUnmatched   = "faq_unmatched"
	EventFAQUnsure      = "faq_unsure" // the likeliest topics offered, and a person
	EventSmallTalk      = "small_talk"
	EventRated          = "rated" // "rated_yes", "rated_partly" or "rated_no"
	EventAutoClosed     = "case_auto_closed"
	EventReminder       = "reminder"
	EventEraseNotice    = "erase_notice"
	EventErasedIdle     = "erased_idle"
	EventErasedCase     = "erased_case"
	EventErasedByChoice = "erased_forget"
)

// privacyInput says whether the input is about the applicant's data, which
// is answered by the assistant even while a person has the conversation.
func (t *turn) privacyInput() bool {
	switch t.in.Kind {
	case Command:
		return t.in.Command == "privacy" || t.in.Command == "mydata" || t.in.Command == "forget"
	case Button:
		_, action, _, ok := parseButton(t.in.Data)
		return ok && (action == actForgetYes || action == actForgetNo) && t.s.Confirming == "forget"
	}
	return false
}

// privacy answers /privacy, /mydata and /forget with its confirmation.
func (t *turn) privacy() error {
	confirming := t.s.Confirming
	t.s.Confirming = ""
	if t.in.Kind == Button {
		step, action, _, _ := parseButton(t.in.Data)
		switch {
		case step != t.s.Step:
			t.say("stale_button", nil)
		case action == actForgetYes && confirming == "forget":
			t.forget()
			return nil
		default:
			t.say("forget_kept", nil)
		}
		t.send()
		t.resume()
		return nil
	}
	switch t.in.Command {
	case "privacy":
		k := t.f.keep
		t.say("privacy", map[string]any{"Days": int(k.Session / (24 * time.Hour)),
			"CaseDays": int(k.Case / (24 * time.Hour)), "Staff": t.f.staff,
			"ForgetHours": int(ForgottenIDsKept / time.Hour)})
		t.send()
		t.resume()
	case "mydata":
		t.myData()
		t.send()
		t.resume()
	case "forget":
		t.s.Confirming = "forget"
		t.say("forget_confirm", map[string]any{"Staff": t.f.staff})
		t.send(t.button("btn_forget_yes", nil, actForgetYes), t.button("btn_forget_no", nil, actForgetNo))
	}
	return nil
}

// resume asks the current step's question again, unless a person has the
// conversation.
func (t *turn) resume() {
	if !t.s.WithPerson() {
		t.ask()
	}
}

// forget erases everything: the transport erases the session, the outbox
// and the wake-ups, and deletes the case's staff topic; the applicant is
// told what was erased.
func (t *turn) forget() {
	old := t.s
	t.out = append(t.out, Reply{Forget: true, Event: EventErasedByChoice})
	if old.Human != nil {
		t.out = append(t.out, Reply{Staff: true, DropCase: true, CaseMsgs: old.Human.Msgs, Lang: old.Language()})
	}
	var what []string
	what = append(what, t.tr("forget_what_conversation", nil))
	if n := len(old.Docs); n > 0 {
		what = append(what, t.cat.Plural(old.Language(), "forget_what_documents", n, nil))
	}
	if n := len(old.Packed); n > 0 {
		what = append(what, t.cat.Plural(old.Language(), "forget_what_packed", n, nil))
	}
	if old.Remind != nil || !old.CheckIn.IsZero() {
		what = append(what, t.tr("forget_what_reminders", nil))
	}
	if old.Human != nil {
		what = append(what, t.tr("forget_what_case", nil))
		if t.f.staff {
			what = append(what, t.tr("forget_what_topic", nil))
		}
	}
	if len(old.Recent) > 0 || old.Question != "" {
		what = append(what, t.tr("forget_what_messages", map[string]any{"Staff": t.f.staff}))
	}
	what = append(what, t.tr("forget_what_pending", nil))
	t.say("forget_done", map[string]any{"What": "• " + strings.Join(what, "\n• ")})
	t.send()
	t.forgotten = true
}

// myData writes everything stored about the applicant.
func (t *turn) myData() {
	s := t.s
	var lines []string
	add := func(id string, d map[string]any) { lines = append(lines, "• "+t.tr(id, d)) }
	add("mydata_language", map[string]any{"Language": t.tr("lang_name_"+s.Language(), nil)})
	if s.Name != "" {
		add("mydata_name", map[string]any{"Name": s.Name})
	}
	add("mydata_dates", map[string]any{"Created": t.words(rules.Today(s.Created)), "Updated": t.words(rules.Today(s.Updated))})
	add("mydata_step", map[string]any{"Step": t.tr("step_"+s.State, nil)})
	if s.Kind != "" {
		req := t.tr("kind_"+string(s.Kind), nil)
		if s.Reason != "" {
			req += " — " + t.tr("reason_"+string(s.Reason), nil)
		}
		add("mydata_request", map[string]any{"Request": req})
	}
	if !s.Expiry.IsZero() {
		add("mydata_expiry", map[string]any{"Expiry": t.words(s.Expiry)})
	}
	for _, d := range s.Docs {
		kind := t.tr("mydata_file", nil)
		if d.Photo {
			kind = t.tr("mydata_photo", nil)
		}
		add("mydata_document", map[string]any{"Title": t.docTitle(d.ID), "Kind": kind,
			"Size": megabytes(s.Language(), d.Size), "At": t.words(rules.Today(d.At))})
	}
	if c := s.Human; c != nil {
		add("mydata_case", map[string]any{"Status": t.tr("mydata_case_"+s.CaseStatus(), nil),
			"Opened": t.words(rules.Today(c.At))})
	}
	if s.Question != "" {
		add("mydata_question", map[string]any{"Question": clip(s.Question, 300)})
	}
	if n := len(s.Recent); n > 0 {
		add("mydata_recent", map[string]any{"Count": n, "Staff": t.f.staff})
	}
	for _, p := range s.Packed {
		add("mydata_packed", map[string]any{"Name": p.Name, "Size": megabytes(s.Language(), p.Size),
			"At": t.words(rules.Today(p.At))})
	}
	if s.Remind != nil {
		add("mydata_remind", map[string]any{"Dates": t.reminderDates()})
	}
	if !s.Submitted.IsZero() {
		add("mydata_submitted", map[string]any{"Date": t.words(rules.Today(s.Submitted))})
	}
	if !s.CheckIn.IsZero() {
		add("mydata_check_in", map[string]any{"Date": t.words(rules.Today(s.CheckIn))})
	}
	t.say("mydata_title", nil)
	t.text = append(t.text, strings.Join(lines, "\n"))
	t.say("mydata_footer", map[string]any{"Erase": t.words(rules.Today(t.f.keepUntil(s)))})
}

// --- waking up ---

// AlbumGrace is how long after an album's last photo the waker answers an
// album nobody answered: the replica that received it answers it after a
// shorter wait of its own, unless it stopped meanwhile.
const AlbumGrace = 3 * time.Second

// Due is when the session next needs the assistant to wake by itself: a
// reminder, a notice, an erasure, an album to answer. Zero when never (no
// conversation).
func (f *Flow) Due(s Session) time.Time {
	if s.State == "" {
		return time.Time{}
	}
	k := f.keep
	idle := s.Updated
	until := f.keepUntil(s)
	due := until
	if at := f.nextReminder(s); !at.IsZero() {
		due = minTime(due, at)
	}
	if at := f.keepAlive(s); !at.IsZero() {
		due = minTime(due, at)
	}
	if s.Album != nil {
		due = minTime(due, idle.Add(AlbumGrace))
	}
	if s.State == StateDocuments && s.Reminded.Before(idle) && !s.WithPerson() {
		due = minTime(due, idle.Add(k.Reminder))
	}
	if s.Noticed.Before(idle) && k.Session > k.Notice {
		due = minTime(due, until.Add(-k.Notice))
	}
	if s.CaseStatus() == CaseClosed && !s.Human.ClosedAt.IsZero() {
		due = minTime(due, s.Human.ClosedAt.Add(k.Case))
	}
	if at := f.autoCloseAt(s); !at.IsZero() {
		due = minTime(due, at)
	}
	if f.staff {
		if kind, at := f.nextFlag(s); kind != "" {
			due = minTime(due, at)
		}
	}
	return due
}

// autoCloseAt is when an open case closes by itself: the applicant left the
// team's last message unanswered for the configured time. Zero when it
// waits for nobody but the team, or nothing closes cases by themselves.
func (f *Flow) autoCloseAt(s Session) time.Time {
	c := s.Human
	if f.autoClose <= 0 || c == nil || c.Turn != TurnApplicant || c.TeamLast.IsZero() {
		return time.Time{}
	}
	switch s.CaseStatus() {
	case CaseWaiting, CaseTaken, CaseReleased:
		return c.TeamLast.Add(f.autoClose)
	}
	return time.Time{}
}

// whyInactive is why a case closed by itself.
const whyInactive = "inactive"

// autoClose closes a case the applicant left unanswered, telling both
// sides, and asks the applicant how the help went.
func (t *turn) autoClose() bool {
	was := t.s.WithPerson()
	if err := t.caseEvent(evClose, nil, whyInactive); err != nil {
		return false
	}
	t.staffSay("staff_auto_closed", map[string]any{"Wait": t.f.waitedFor(t.f.autoClose)})
	t.out = append(t.out, Reply{Event: EventAutoClosed})
	if t.s.Blocked != nil {
		return true
	}
	t.closedToApplicant("case_auto_closed", was)
	return true
}

// Wake is the assistant waking by itself at now: it erases an idle
// conversation or a case closed long ago, or sends the reminder or the
// notice that is due. It changes nothing when nothing is due (a wake-up
// earlier than needed is harmless). Like Step, it does no I/O.
func (f *Flow) Wake(s Session, now time.Time) (Session, []Reply) {
	if s.State == "" {
		return s, nil
	}
	if s.Album != nil && !now.Before(s.Updated.Add(AlbumGrace)) {
		// An album whose end was never answered (the replica that
		// received it stopped): answer it now.
		next, out, err := f.Step(s, Input{Kind: AlbumEnd}, now)
		if err == nil {
			return next, out
		}
	}
	t := &turn{f: f, cat: f.cat, s: s.clone(), now: now, today: rules.Today(now)}
	k := f.keep
	idle := s.Updated
	until := f.keepUntil(s)
	switch {
	case !now.Before(until):
		var out []Reply
		if s.Human != nil {
			out = append(out, Reply{Staff: true, DropCase: true, CaseMsgs: s.Human.Msgs})
		}
		return Session{}, append([]Reply{{Forget: true, Event: EventErasedIdle}}, out...)
	case s.CaseStatus() == CaseClosed && !s.Human.ClosedAt.IsZero() && !now.Before(s.Human.ClosedAt.Add(k.Case)):
		t.out = append(t.out, Reply{Staff: true, DropCase: true, CaseMsgs: s.Human.Msgs})
		t.out = append(t.out, Reply{Event: EventErasedCase})
		t.s.Human, t.s.Question, t.s.Recent = nil, "", nil
		return t.s, t.out
	}
	if at := f.autoCloseAt(s); !at.IsZero() && !now.Before(at) && t.autoClose() {
		return t.s, t.out
	}
	if f.staff && t.flag() {
		return t.s, t.out
	}
	if t.remindDue() {
		return t.s, t.out
	}
	if at := f.keepAlive(s); !at.IsZero() && !now.Before(at) {
		t.s.Alive = now
	}
	quiet := s.Blocked != nil || s.WithPerson()
	if s.State == StateDocuments && s.Reminded.Before(idle) && !now.Before(idle.Add(k.Reminder)) && !s.WithPerson() {
		t.s.Reminded = idle
		if !quiet {
			t.say("reminder_documents", map[string]any{"Kind": t.tr("kind_"+string(s.Kind), nil)})
			t.send()
			t.ask()
			t.out = append(t.out, Reply{Event: EventReminder})
		}
	}
	if s.Noticed.Before(idle) && k.Session > k.Notice && !now.Before(until.Add(-k.Notice)) {
		t.s.Noticed = idle
		if s.Blocked == nil {
			t.say("erase_notice", map[string]any{"Date": t.words(rules.Today(until))})
			t.send()
			t.out = append(t.out, Reply{Event: EventEraseNotice})
		}
	}
	return t.s, t.out
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// noteStaffMessages remembers the support team's messages in the case, to
// remove them with it.
func (c *Case) noteStaffMessages(msgs []Message) {
	for _, m := range msgs {
		if !slices.Contains(c.Msgs, m.ID) {
			c.Msgs = append(c.Msgs, m.ID)
		}
	}
	if len(c.Msgs) > maxCaseMsgs {
		c.Msgs = c.Msgs[len(c.Msgs)-maxCaseMsgs:]
	}
}

// maxCaseMsgs bounds the staff messages a case remembers.
const maxCaseMsgs = 1000
