package flows

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aimabot/aimabot/flows/officehours"
	"github.com/aimabot/aimabot/rules"
)

func TestWantsPerson(t *testing.T) {
	tests := []struct {
		text string // what the applicant typed
		want bool   // whether it asks for a person of the support team
	}{
		{"can I talk to a person?", true},
		{"I want to speak to a real human", true},
		{"human", true},
		{"talk to someone please", true},
		{"quero falar com uma pessoa", true},
		{"posso falar com alguém?", true},
		{"je voudrais parler à un conseiller", true},
		{"parler avec un humain", true},
		{"how do I talk to someone at AIMA?", false},   // a question about AIMA, for the knowledge base
		{"can I speak Portuguese with AIMA?", false},   // not a person
		{"a person stole my card on the metro", false}, // a person, but no wish to talk
		{"my card was stolen", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := wantsPerson(tt.text); got != tt.want {
			t.Errorf("wantsPerson(%q) = %v; want %v", tt.text, got, tt.want)
		}
	}
}

// An applicant can never act as the support team, whatever they send.
func TestApplicantCannotActAsStaff(t *testing.T) {
	f, err := New(WithStaff("en"))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	s, _, err := f.Step(Session{}, ParseText("/start", "en"), now)
	if err != nil {
		t.Fatal(err)
	}
	s, _, _ = f.Step(s, ParseText("/human", "en"), now)
	if got := s.CaseStatus(); got != CaseWaiting {
		t.Fatalf("after /human, CaseStatus() = %q; want %q", got, CaseWaiting)
	}
	forged := []Input{
		ParseText("/takeover", "en"),
		ParseText("/release", "en"),
		ParseText("/close", "en"),
		ParseText("/note hello", "en"),
		{Kind: Button, Data: "case:take"},
		{Kind: Button, Data: "case:close"},
		{Kind: Button, Data: "0:case:take"},
		{Kind: Button, Data: staffPrefix + staffTake, Label: "✋ Take over"},
	}
	for _, in := range forged {
		next, replies, err := f.Step(s, in, now)
		if err != nil {
			t.Fatalf("Step(%+v) error: %v", in, err)
		}
		if got := next.CaseStatus(); got != CaseWaiting {
			t.Errorf("applicant %+v: CaseStatus() = %q; want %q", in, got, CaseWaiting)
		}
		for _, r := range replies {
			if r.Staff && !r.Card {
				t.Errorf("applicant %+v: a staff notice %q", in, r.Text)
			}
			if len(r.Copy) > 0 {
				t.Errorf("applicant %+v: messages copied %v", in, r.Copy)
			}
		}
	}
}

// A staff member's album reaches the applicant as one album, after takeover.
func TestStaffAlbum(t *testing.T) {
	f, err := New(WithStaff("en"))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	s, _, _ := f.Step(Session{}, ParseText("/start", "en"), now)
	s, _, _ = f.Step(s, ParseText("/human", "en"), now)
	ana := &Agent{ID: 7, Name: "Ana"}
	var copies [][]Message
	for i, in := range []Input{
		{Kind: Files, Album: "g1", Msgs: []Message{{ID: 10}}, From: ana},
		{Kind: Files, Album: "g1", Msgs: []Message{{ID: 11}}, From: ana},
		{Kind: Files, Album: "g1", Msgs: []Message{{ID: 12}}, From: ana},
		{Kind: AlbumEnd},
	} {
		var replies []Reply
		s, replies, err = f.Step(s, in, now)
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		for _, r := range replies {
			if len(r.Copy) > 0 && !r.Staff {
				copies = append(copies, r.Copy)
			}
		}
	}
	if len(copies) != 1 || len(copies[0]) != 3 || copies[0][0].ID != 10 || copies[0][2].ID != 12 {
		t.Fatalf("copies to the applicant = %v; want one album of messages 10, 11, 12", copies)
	}
	if !s.WithPerson() || s.Human.Agent.Name != "Ana" {
		t.Errorf("after a staff album, WithPerson() = %v, agent %v; want taken by Ana", s.WithPerson(), s.Human.Agent)
	}
}

func TestCardNameIsCleaned(t *testing.T) {
	f, err := New(WithStaff("en"))
	if err != nil {
		t.Fatal(err)
	}
	s := Session{State: StateSituation, Name: "Ma\u202eria\u200b\n" + strings.Repeat("x", 80), Human: &Case{Status: CaseWaiting}}
	c := f.Card(s, time.Now())
	if strings.ContainsAny(c.Title, "\u202e\u200b\n") {
		t.Errorf("Card title = %q; want no control or format characters", c.Title)
	}
	if n := len([]rune(c.Title)); n > 128 {
		t.Errorf("Card title has %d runes; want at most 128 (Telegram's topic name limit)", n)
	}
}

func TestQueue(t *testing.T) {
	f, err := New(WithStaff("en"))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	got := f.Queue([]Waiting{
		{Title: "Bruno · 2nd copy · waiting", Since: now.Add(-5 * time.Minute)},
		{Title: "Maria · data change · waiting", Since: now.Add(-3*time.Hour - 7*time.Minute), Link: "https://t.me/c/1/5"},
		{Title: "Chen · 2nd copy · waiting", Since: now.Add(-50 * time.Hour)},
	}, now)
	want := "3 cases waiting for a person (updated 25/11 12:00):\n" +
		"1. Chen · 2nd copy · waiting — waiting 2 d 2 h\n" +
		"2. Maria · data change · waiting — waiting 3 h 7 min\n   https://t.me/c/1/5\n" +
		"3. Bruno · 2nd copy · waiting — waiting 5 min"
	if got != want {
		t.Errorf("Queue() =\n%s\nwant\n%s", got, want)
	}
	if got := f.Queue(nil, now); !strings.Contains(got, "No case is waiting") {
		t.Errorf("Queue(nil) = %q; want the empty queue", got)
	}
}

// A case opens by itself when the assistant keeps misunderstanding, or
// cannot answer questions the applicant insists on.
func TestCaseOpensByItself(t *testing.T) {
	f, err := New(WithStaff("en"))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		inputs []string // typed after /start and [English]
		want   string   // Why of the case; "" for none
	}{
		{"four misses", []string{"x", "y", "z", "w"}, ""},
		{"five misses", []string{"x", "y", "z", "w", "v"}, WhyMisses},
		{"one unanswerable question", []string{"what are the opening hours of the Brazilian consulate in Lisbon?"}, ""},
		{"two unanswerable questions", []string{"what are the opening hours of the Brazilian consulate in Lisbon?",
			"how do I get a Portuguese driving licence?"}, WhyQuestion},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _, _ := f.Step(Session{}, ParseText("/start", "en"), now)
			s, _, _ = f.Step(s, Input{Kind: Button, Data: fmt.Sprintf("%d:lang:en", s.Step)}, now)
			for _, text := range tt.inputs {
				s, _, err = f.Step(s, ParseText(text, "en"), now)
				if err != nil {
					t.Fatal(err)
				}
			}
			got := ""
			if s.Human != nil {
				got = s.Human.Why
			}
			if got != tt.want {
				t.Errorf("after %q, case opened for %q; want %q", tt.inputs, got, tt.want)
			}
		})
	}
}

func TestDue(t *testing.T) {
	f, err := New(WithStaff("en"), WithRetention(Retention{Session: 30 * 24 * time.Hour, Case: 90 * 24 * time.Hour,
		Reminder: 24 * time.Hour, Notice: 3 * 24 * time.Hour}))
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	tests := []struct {
		name string
		s    Session
		want time.Time // the next wake-up
	}{
		{"no conversation", Session{}, time.Time{}},
		{"choosing a request: the notice", Session{State: StateSituation, Updated: at}, at.Add(27 * day)},
		{"collecting documents: the reminder", Session{State: StateDocuments, Updated: at}, at.Add(day)},
		{"reminded: the notice", Session{State: StateDocuments, Updated: at, Reminded: at}, at.Add(27 * day)},
		{"noticed: the erasure", Session{State: StateDocuments, Updated: at, Reminded: at, Noticed: at}, at.Add(30 * day)},
		{"active since the reminder: a new one", Session{State: StateDocuments, Updated: at.Add(day), Reminded: at}, at.Add(2 * day)},
		{"with a person: no reminder", Session{State: StateDocuments, Updated: at, Human: &Case{Status: CaseTaken}}, at.Add(27 * day)},
		{"a case closed long ago: its erasure", Session{State: StateDone, Updated: at, Noticed: at,
			Human: &Case{Status: CaseClosed, ClosedAt: at.Add(-89 * day)}}, at.Add(day)},
		{"an album not answered yet", Session{State: StateDocuments, Updated: at, Album: &Album{ID: "a1"}}, at.Add(AlbumGrace)},
	}
	for _, tt := range tests {
		if got := f.Due(tt.s); !got.Equal(tt.want) {
			t.Errorf("%s: Due() = %v; want %v", tt.name, got, tt.want)
		}
	}
}

// An album whose replica stopped before answering it is answered by the
// waker: the same replies as at its end, and nothing before its grace.
func TestWakeAnswersAlbum(t *testing.T) {
	f, err := New()
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	s := Session{}
	for _, in := range []Input{ParseText("/start", "en"), {Kind: Button, Data: "0:lang:en"},
		{Kind: Button, Data: "1:sit:duplicate"}, {Kind: Button, Data: "2:reason:lost"}, ParseText("26/07/2028", "en"),
		{Kind: Button, Data: "4:continue"}} {
		if s, _, err = f.Step(s, in, at); err != nil {
			t.Fatal(err)
		}
	}
	if s.State != StateDocuments {
		t.Fatalf("state = %s; want documents (the test's walk is out of date)", s.State)
	}
	photo := func(id string) Input {
		return Input{Kind: Files, Album: "a1", Files: []File{{Ref: id, Size: 1000, Type: rules.JPEG, Photo: true}}}
	}
	for _, id := range []string{"p1", "p2"} {
		if s, _, err = f.Step(s, photo(id), at); err != nil {
			t.Fatal(err)
		}
	}
	want, wantOut, _ := f.Step(s, Input{Kind: AlbumEnd}, at.Add(AlbumGrace))
	if len(wantOut) == 0 {
		t.Fatal("the album's end has no replies")
	}
	if _, out := f.Wake(s, at.Add(AlbumGrace-time.Second)); len(out) != 0 {
		t.Errorf("Wake before the album's grace = %d replies; want none", len(out))
	}
	got, out := f.Wake(s, at.Add(AlbumGrace))
	if len(out) != len(wantOut) || out[0].Text != wantOut[0].Text || got.Album != nil || len(got.Docs) != len(want.Docs) {
		t.Errorf("Wake after the grace = %d replies, album %v, %d documents; want the album's end: %d replies, %d documents",
			len(out), got.Album, len(got.Docs), len(wantOut), len(want.Docs))
	}
}

// A staff message whose text or caption starts like a note stays in the
// topic, whatever its kind; an album with a note caption on any item stays
// there as a whole.
func TestStaffNotes(t *testing.T) {
	f, err := New(WithStaff("en"))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	s, _, _ := f.Step(Session{}, ParseText("/start", "en"), now)
	s, _, _ = f.Step(s, ParseText("/human", "en"), now)
	ana := &Agent{ID: 7, Name: "Ana"}
	one := func(in Input) []Input { return []Input{in} }
	tests := []struct {
		name   string
		inputs []Input
		copied bool // whether anything reaches the applicant
	}{
		{"text !", one(Input{Kind: Text, Text: " !checked", Msgs: []Message{{ID: 1}}, From: ana}), false},
		{"/note command", one(Input{Kind: Command, Command: "note", Text: "x", Msgs: []Message{{ID: 2}}, From: ana}), false},
		{"photo !", one(Input{Kind: Files, Caption: "!looks fake", Msgs: []Message{{ID: 3}}, From: ana}), false},
		{"document /note", one(Input{Kind: Files, Caption: "/note passport scan", Msgs: []Message{{ID: 4}}, From: ana}), false},
		{"voice /note@bot", one(Input{Kind: Unsupported, Caption: "/note@aimabot listen", Msgs: []Message{{ID: 5}}, From: ana}), false},
		{"video /NOTE", one(Input{Kind: Unsupported, Caption: "/NOTE", Msgs: []Message{{ID: 6}}, From: ana}), false},
		{"album, note on the second item", []Input{
			{Kind: Files, Album: "g1", Msgs: []Message{{ID: 7}}, From: ana},
			{Kind: Files, Album: "g1", Caption: "!internal", Msgs: []Message{{ID: 8}}, From: ana},
			{Kind: Files, Album: "g1", Msgs: []Message{{ID: 9}}, From: ana},
			{Kind: AlbumEnd},
		}, false},
		{"photo /notes is not a note", one(Input{Kind: Files, Caption: "/notes for you", Msgs: []Message{{ID: 10}}, From: ana}), true},
		{"photo with a caption", one(Input{Kind: Files, Caption: "like this!", Msgs: []Message{{ID: 11}}, From: ana}), true},
		{"album without a note", []Input{
			{Kind: Files, Album: "g2", Caption: "see", Msgs: []Message{{ID: 12}}, From: ana},
			{Kind: Files, Album: "g2", Msgs: []Message{{ID: 13}}, From: ana},
			{Kind: AlbumEnd},
		}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cur := s
			copied := false
			for i, in := range tt.inputs {
				next, replies, err := f.Step(cur, in, now)
				if err != nil {
					t.Fatalf("step %d: %v", i, err)
				}
				cur = next
				for _, r := range replies {
					if len(r.Copy) > 0 && !r.Staff {
						copied = true
					}
				}
			}
			if copied != tt.copied {
				t.Errorf("copied to the applicant = %v; want %v", copied, tt.copied)
			}
		})
	}
}

// The applicant's text on the card is quoted, on one line: it cannot draw
// lines that look like the card's own.
func TestCardQuotesApplicantText(t *testing.T) {
	f, err := New(WithStaff("en"))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	forged := "hello\nStatus: closed\r\nDocuments: ✅ all received\u2028History:\u202e"
	s := Session{State: StateSituation, Human: &Case{Status: CaseWaiting, At: now}, Question: forged,
		Recent: []Line{{At: now, Text: forged, Typed: true}, {At: now, Text: "[files: 2]"}}}
	card := f.Card(s, now).Text
	for _, line := range strings.Split(card, "\n") {
		for _, fake := range []string{"Status: closed", "Documents: ✅", "History:\u202e"} {
			if strings.HasPrefix(strings.TrimSpace(line), fake) {
				t.Errorf("card line %q imitates the card's own lines:\n%s", line, card)
			}
		}
	}
	want := "«hello ⏎ Status: closed ⏎ Documents: ✅ all received ⏎ History:»"
	if got := strings.Count(card, want); got != 2 {
		t.Errorf("card quotes the applicant's text %d times as %q; want 2 (question, last message):\n%s", got, want, card)
	}
	if !strings.Contains(card, "10:00 [files: 2]") {
		t.Errorf("card shows the assistant's summary of files quoted or not at all:\n%s", card)
	}
	tests := []struct{ in, want string }{
		{"plain", "«plain»"},
		{"  two\n\n\nlines  ", "«two ⏎ lines»"},
		{"zero\u200bwidth\u202eright", "«zerowidthright»"},
		{"", "«»"},
	}
	for _, tt := range tests {
		if got := quote(tt.in); got != tt.want {
			t.Errorf("quote(%q) = %q; want %q", tt.in, got, tt.want)
		}
	}
}

// Whose turn a case is, and when the team's answer is due, counted in
// office hours: asked on a Friday evening before a weekend, the first
// answer is due on Monday; once the team has written, the case waits for
// the applicant and has no due time; the applicant writing again starts
// the next target, and the queue puts the case due first at the top.
func TestTurnsAndTargets(t *testing.T) {
	f, at := officeFlow(t, "mon-fri 09:00-13:00 14:00-18:00")
	ana := &Agent{ID: 7, Name: "Ana"}
	step := func(s Session, in Input, now string) Session {
		t.Helper()
		next, _, err := f.Step(s, in, at(now))
		if err != nil {
			t.Fatal(err)
		}
		return next
	}
	s := step(Session{}, ParseText("/start", "en"), "2026-12-11 17:00")
	s = step(s, ParseText("/human", "en"), "2026-12-11 17:30") // a Friday
	if got, want := f.ReplyDue(s), at("2026-12-14 10:30"); !got.Equal(want) {
		t.Errorf("first answer due %v; want Monday 10:30 (%v)", got, want)
	}
	card := f.Card(s, at("2026-12-11 17:30"))
	if !strings.HasSuffix(card.Title, " · ⏳14/12 10:30") || !strings.Contains(card.Text, "Waiting for the team's first reply since 11/12 17:30 · due 14/12 10:30") {
		t.Errorf("card = %q\n%s\nwant the first answer due on Monday 10:30", card.Title, card.Text)
	}

	reply := Input{Kind: Text, Text: "Hello, I'm Ana.", From: ana, Msgs: []Message{{Chat: -100, ID: 5}}}
	s = step(s, reply, "2026-12-14 09:10")
	if due := f.ReplyDue(s); !due.IsZero() || s.Human.Turn != TurnApplicant || !s.Human.Answered.Equal(at("2026-12-14 09:10")) {
		t.Errorf("after the team wrote: due %v, turn %q, answered %v; want no due time, the applicant's turn, answered at 09:10", due, s.Human.Turn, s.Human.Answered)
	}
	if card := f.Card(s, at("2026-12-14 09:10")); strings.Contains(card.Title, "⏳") || !strings.Contains(card.Text, "Waiting for the applicant since 14/12 09:10") {
		t.Errorf("card = %q\n%s\nwant it waiting for the applicant", card.Title, card.Text)
	}

	s = step(s, Input{Kind: Text, Text: "Thanks! And the police report?", Msgs: []Message{{Chat: 1, ID: 9}}}, "2026-12-14 17:00")
	if got, want := f.ReplyDue(s), at("2026-12-15 17:00"); !got.Equal(want) {
		t.Errorf("next answer due %v; want Tuesday 17:00 (%v): 1 h on Monday, 7 on Tuesday", got, want)
	}

	q := f.Queue([]Waiting{
		{Title: "Later", Since: at("2026-12-14 08:00"), Due: at("2026-12-15 17:00")},
		{Title: "No target", Since: at("2026-12-10 08:00")},
		{Title: "Sooner", Since: at("2026-12-14 16:00"), Due: at("2026-12-15 09:30")},
	}, at("2026-12-14 17:05"))
	if i, j, k := strings.Index(q, "Sooner"), strings.Index(q, "Later"), strings.Index(q, "No target"); !(i < j && j < k) {
		t.Errorf("queue =\n%s\nwant the case due first at the top, one without a due time last", q)
	}
}

// At "I have a question", small talk is answered as such: it is not the
// question for the team, and opens no case.
func TestSmallTalkIsNoQuestion(t *testing.T) {
	f := sharedFlow(t, true, "en")
	now := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	s, _, err := f.Step(Session{}, ParseText("/start", "en"), now)
	if err != nil {
		t.Fatal(err)
	}
	s, _, _ = f.Step(s, Input{Kind: Button, Data: fmt.Sprintf("%d:%s:%s", s.Step, actSituation, situationQuest)}, now)
	if s.State != StateQuestion {
		t.Fatalf("state = %s; want the question step", s.State)
	}
	s, out, err := f.Step(s, ParseText("thanks a lot!", "en"), now)
	if err != nil {
		t.Fatal(err)
	}
	if s.Human != nil || s.Question != "" || len(out) == 0 || !strings.Contains(out[len(out)-1].Text, "You're welcome") {
		t.Errorf("after thanks at the question step: case %+v, question %q, replies %+v; want a word back and no case", s.Human, s.Question, out)
	}
}

// officeFlow is a flow with a support team open in hours (targets 2 h and
// 8 h), and a reader of Lisbon times ("2026-12-11 17:30").
func officeFlow(t *testing.T, hours string) (*Flow, func(string) time.Time) {
	t.Helper()
	cal, err := officehours.Parse(hours, rules.Lisbon())
	if err != nil {
		t.Fatal(err)
	}
	f, err := New(WithStaff("en"), WithOfficeHours(cal, Targets{First: 2 * time.Hour, Next: 8 * time.Hour}))
	if err != nil {
		t.Fatal(err)
	}
	return f, func(s string) time.Time {
		v, err := time.ParseInLocation("2006-01-02 15:04", s, rules.Lisbon())
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}
