package flows

import (
	"fmt"
	"sort"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/aimabot/aimabot/rules"
)

// --- what the support team sees ---

// Card is the case card and the topic's name for the support team, written
// from the session as it is now.
type Card struct {
	Title string // the topic's name: first name, request, status
	Text  string
	// Buttons are the staff actions that fit the case's status.
	Buttons [][]ButtonSpec
}

// How far a team's turn has been flagged.
const (
	flagNear = "near"
	flagLate = "late"
)

// nearShare is the share of a target after which the case is near it.
const nearShare = 0.75

// nextFlag is the flag a case waiting for the team is due next, and when:
// near its target at three quarters of it, then past it. "" when none.
func (f *Flow) nextFlag(s Session) (string, time.Time) {
	due := f.ReplyDue(s)
	if due.IsZero() {
		return "", time.Time{}
	}
	c := s.Human
	done := ""
	if c.FlaggedTurn.Equal(c.TurnSince) {
		done = c.Flagged
	}
	target := f.targets.Next
	if c.Answered.IsZero() {
		target = f.targets.First
	}
	switch done {
	case "":
		return flagNear, f.hours.Add(c.TurnSince, time.Duration(float64(target)*nearShare))
	case flagNear:
		return flagLate, due
	}
	return "", time.Time{}
}

// flag posts, once each, that a case is near its target and past it, in
// the General topic, when due at now; it reports whether it did.
func (t *turn) flag() bool {
	kind, at := t.f.nextFlag(t.s)
	if kind == "" || t.now.Before(at) {
		return false
	}
	c := t.s.Human
	if due := t.f.ReplyDue(t.s); kind == flagNear && !t.now.Before(due) {
		kind = flagLate // both at once: only the later one
	}
	c.Flagged, c.FlaggedTurn = kind, c.TurnSince
	t.out = append(t.out, Reply{Staff: true, General: true, Text: t.staffText("staff_flag_"+kind,
		map[string]any{"Title": t.f.anonymous(t.s), "Due": clock(t.f.ReplyDue(t.s))})},
		Reply{Event: "case_flag_" + kind})
	return true
}

// anonymous names a case without its applicant, for the General topic,
// which outlives a case's erasure: its request, "2nd copy".
func (f *Flow) anonymous(s Session) string {
	if s.Kind == "" {
		return f.cat.Text(f.staffLang, "card_kind_unknown", nil)
	}
	return f.cat.Text(f.staffLang, "title_kind_"+string(s.Kind), nil)
}

// ReplyDue is when the team means to have answered a case that waits for
// it: its target (the first or the next response) counted in office hours
// from when the turn became the team's. Zero when the case waits for nobody
// on the team.
func (f *Flow) ReplyDue(s Session) time.Time {
	c := s.Human
	if c == nil || s.CaseStatus() == CaseClosed || c.Turn != TurnTeam || c.TurnSince.IsZero() {
		return time.Time{}
	}
	target := f.targets.Next
	if c.Answered.IsZero() {
		target = f.targets.First
	}
	return f.hours.Add(c.TurnSince, target)
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
	due := f.ReplyDue(s)
	if !due.IsZero() {
		// At a glance, in the topic's name: when the team's answer is due.
		// After the name, so a topic is still found by its applicant's.
		title = clip(fmt.Sprintf("%s · %s · %s · ⏳%s", name, short, tr("case_status_"+status, nil), shortClock(due, now)), 120)
	}

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
		switch {
		case !due.IsZero():
			key := "card_turn_team_next"
			if c.Answered.IsZero() {
				key = "card_turn_team_first"
			}
			head = append(head, tr(key, map[string]any{"Since": at(c.TurnSince), "Due": at(due)}))
		case c.Turn == TurnApplicant && status != CaseClosed:
			head = append(head, tr("card_turn_applicant", map[string]any{"Since": at(c.TurnSince)}))
		}
		if r := c.Rating; r != nil {
			d := map[string]any{"Rating": tr("rating_"+r.Score, nil), "At": at(r.At), "Comment": quote(r.Comment)}
			if r.Comment == "" {
				head = append(head, tr("card_rating", d))
			} else {
				head = append(head, tr("card_rating_comment", d))
			}
		}
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
			key := "card_event_" + e.What
			switch {
			case e.What == evClose && e.Why == whyInactive:
				key += "_" + whyInactive
			case e.Why != "":
				d["Why"] = tr("case_why_"+e.Why, nil)
			}
			lines = append(lines, tr(key, d))
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
	if status != CaseClosed {
		rows = append(rows, []ButtonSpec{btn("btn_staff_replies", staffReplies)})
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
	Due   time.Time // when the team's answer is due (ReplyDue); zero if unknown
	Link  string    // a link to the topic, when the transport has one
	Topic int       // the case's topic, for a button that claims it
}

// ClaimPrefix starts the data of a queue's button that claims a case: the
// transport reads the topic after it, and takes the case over for whoever
// pressed.
const ClaimPrefix = "claim:"

// maxClaimButtons bounds the queue's buttons: the cases due first.
const maxClaimButtons = 8

// QueueButtons are one button per waiting case, in the queue's order, to
// take it over with one tap.
func (f *Flow) QueueButtons(cases []Waiting) [][]ButtonSpec {
	var rows [][]ButtonSpec
	for _, c := range sortedByDue(cases) {
		if c.Topic == 0 || len(rows) == maxClaimButtons {
			continue
		}
		label := f.cat.Text(f.staffLang, "btn_staff_claim", map[string]any{"Title": clip(c.Title, 48)})
		rows = append(rows, []ButtonSpec{{Label: label, Data: fmt.Sprintf("%s%d", ClaimPrefix, c.Topic)}})
	}
	return rows
}

// Queue writes the list of cases waiting for a person, the one whose answer
// is due first at the top (then the oldest).
func (f *Flow) Queue(cases []Waiting, now time.Time) string {
	lang := f.staffLang
	if len(cases) == 0 {
		return f.cat.Text(lang, "queue_empty", map[string]any{"At": clock(now)})
	}
	cases = sortedByDue(cases)
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

// Mine writes the list of a staff member's cases, the one due first at the
// top.
func (f *Flow) Mine(name string, cases []Waiting) string {
	lang := f.staffLang
	if len(cases) == 0 {
		return f.cat.Text(lang, "mine_empty", map[string]any{"Name": name})
	}
	lines := []string{f.cat.Text(lang, "mine_title", map[string]any{"Name": name, "N": len(cases)})}
	for i, c := range sortedByDue(cases) {
		line := fmt.Sprintf("%d. %s", i+1, c.Title)
		if c.Link != "" {
			line += "\n   " + c.Link
		}
		lines = append(lines, line)
	}
	return strings.Join(lines, "\n")
}

// sortedByDue orders cases by when the team's answer is due, those without
// a due time last, then by how long they have waited.
func sortedByDue(cases []Waiting) []Waiting {
	cases = append([]Waiting(nil), cases...)
	sort.SliceStable(cases, func(i, j int) bool {
		a, b := cases[i], cases[j]
		if a.Due.IsZero() != b.Due.IsZero() {
			return !a.Due.IsZero()
		}
		if !a.Due.Equal(b.Due) {
			return a.Due.Before(b.Due)
		}
		return a.Since.Before(b.Since)
	})
	return cases
}

// waitedFor writes a duration as the staff read it: minutes, hours or days.
func (f *Flow) waitedFor(d time.Duration) string {
	m := int(d / time.Minute)
	switch {
	case m < 60:
		return f.cat.Text(f.staffLang, "span_minutes", map[string]any{"M": m})
	case m < 48*60:
		return f.cat.Text(f.staffLang, "span_hours", map[string]any{"H": m / 60})
	}
	return f.cat.Text(f.staffLang, "span_days", map[string]any{"D": m / (24 * 60)})
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

// shortClock writes a due time for a topic's name: the hour alone when it
// is today in Lisbon, "25/11 14:05" otherwise.
func shortClock(x, now time.Time) string {
	l := rules.Lisbon()
	if x.In(l).Format("2006-01-02") == now.In(l).Format("2006-01-02") {
		return x.In(l).Format("15:04")
	}
	return clock(x)
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
