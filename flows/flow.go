package flows

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aimabot/aimabot/flows/faq"
	"github.com/aimabot/aimabot/flows/officehours"
	"github.com/aimabot/aimabot/rules"
)

// Flow runs the conversation. It is immutable and safe for concurrent use.
type Flow struct {
	cat       *Catalog
	kb        *faq.KB
	staff     bool   // a support team can take conversations over
	staffLang string // the language the support team reads
	keep      Retention
	replies   map[string]SavedReply // shipped saved replies, by key
	hours     *officehours.Calendar // the team's office hours
	targets   Targets
	autoClose time.Duration // an open case the applicant leaves this long unanswered closes; 0: never
	// conversation and cases lend the state machines (see machines).
	conversation, cases *machines
}

// DefaultAutoClose is how long after the team's last message a case the
// applicant does not answer closes by itself.
const DefaultAutoClose = 72 * time.Hour

// WithAutoClose sets how long after the team's last message a case the
// applicant does not answer closes by itself; 0 never closes one.
func WithAutoClose(d time.Duration) Option {
	return func(f *Flow) { f.autoClose = max(d, 0) }
}

// Targets are how long, in office hours, the team means to take to answer a
// case: the first time (First), and each time the applicant writes again
// (Next).
type Targets struct{ First, Next time.Duration }

// DefaultTargets: a first answer within 2 office hours, the next within 8.
func DefaultTargets() Targets { return Targets{First: 2 * time.Hour, Next: 8 * time.Hour} }

// WithOfficeHours sets the support team's office hours and response
// targets: a case's clock only runs while the team is open. Without it the
// team is always open, with DefaultTargets.
func WithOfficeHours(hours *officehours.Calendar, t Targets) Option {
	return func(f *Flow) {
		if hours != nil {
			f.hours = hours
		}
		if t.First > 0 {
			f.targets.First = t.First
		}
		if t.Next > 0 {
			f.targets.Next = t.Next
		}
	}
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
	replies, err := loadReplies()
	if err != nil {
		return nil, err
	}
	f := &Flow{cat: cat, kb: kb, staffLang: "en", keep: DefaultRetention(), replies: replies,
		hours: officehours.Always(), targets: DefaultTargets(), autoClose: DefaultAutoClose,
		conversation: newMachines(StateLanguage, transitions), cases: newMachines(CaseNone, caseTransitions)}
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
	case BotUnblocked:
		next, out := f.Unblocked(s, now)
		return next, out, nil
	}
	t := &turn{f: f, cat: f.cat, s: s.clone(), in: in, now: now, today: rules.Today(now)}
	if in.From == nil && in.Kind != AlbumEnd && in.Kind != PackageDone {
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
	if t.s.State == "" && (in.From != nil || in.Kind == AlbumEnd || in.Kind == PackageDone) {
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
	links []Link   // the links in them
	bold  []string // the key facts in them
	// forgotten says the applicant erased everything: the session ends.
	forgotten bool
	// received says this turn filed a file, so the next question offers
	// another page of it and "That's not it".
	received bool
	// listed says this turn's replies already show the checklist.
	listed bool
	// dateSaid says this turn's reply already said the card's expiry date
	// as it was read, so the verdict does not say it again.
	dateSaid bool
}

func (t *turn) tr(id string, data map[string]any) string { return t.cat.Text(t.s.Language(), id, data) }

// say adds a paragraph to the reply being written.
func (t *turn) say(id string, data map[string]any) {
	t.text = append(t.text, t.tr(id, data))
	// The key facts, shown in bold: the last day to use the form, the
	// request, and the documents a text names.
	for _, k := range [...]string{"LastDay", "Kind", "Docs"} {
		if v, ok := data[k].(string); ok && v != "" && !slices.Contains(t.bold, v) {
			t.bold = append(t.bold, v)
		}
	}
}

// send closes the reply being written, with buttons.
func (t *turn) send(buttons ...[]ButtonSpec) {
	if len(t.text) == 0 && len(buttons) == 0 {
		return
	}
	t.out = append(t.out, Reply{Text: strings.Join(t.text, "\n\n"), Buttons: buttons, Links: t.links, Bold: t.bold})
	t.text, t.links, t.bold = nil, nil, nil
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

func (t *turn) words(d rules.Date) string { return t.cat.DateWords(t.s.Language(), d) }
