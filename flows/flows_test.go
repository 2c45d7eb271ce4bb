package flows

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aimabot/aimabot/rules"
)

func newFlow(t *testing.T) *Flow {
	t.Helper()
	return sharedFlow(t, false, "")
}

// shared are the flows the tests build: without a support team, and with
// one per staff language. A Flow never changes once built, and building one
// (the knowledge base's index) is most of a short test's time under -race.
var shared = struct {
	sync.Mutex
	flows map[string]*Flow
}{flows: map[string]*Flow{}}

// sharedFlow is the flow without a support team (staff false), or with one
// reading staffLang.
func sharedFlow(t *testing.T, staff bool, staffLang string) *Flow {
	t.Helper()
	key := "none"
	var opts []Option
	if staff {
		key = "staff:" + staffLang
		opts = append(opts, WithStaff(staffLang))
	}
	shared.Lock()
	defer shared.Unlock()
	if f, ok := shared.flows[key]; ok {
		return f
	}
	f, err := New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	shared.flows[key] = f
	return f
}

// Every message exists in every language, and every id the conversation
// builds from rules (documents, reasons, kinds, states, verdicts) exists.
func TestCatalogComplete(t *testing.T) {
	f := newFlow(t)
	c := f.Catalog()
	want := c.IDs("en")
	for _, r := range []rules.Reason{rules.Address, rules.Name, rules.CivilStatus, rules.Nationality, rules.OtherChange, rules.Lost, rules.Stolen, rules.Damaged} {
		want = append(want, "btn_reason_"+string(r), "reason_"+string(r))
	}
	for _, k := range rules.Kinds() {
		want = append(want, "kind_"+string(k), "reason_prompt_"+string(k), "done_request_"+string(k),
			"done_proof_"+string(k), "done_expiry_"+string(k))
	}
	for _, id := range rules.AllDocIDs() {
		want = append(want, "doc_"+string(id), "doc_"+string(id)+"_what")
	}
	for _, s := range allStates() {
		want = append(want, "step_"+s)
	}
	for _, v := range []rules.Verdict{rules.Eligible, rules.TooLate, rules.Expired} {
		want = append(want, "verdict_name_"+string(v))
	}
	for _, l := range Languages() {
		want = append(want, "lang_name_"+l)
		for _, id := range want {
			if err := c.Check(l, id); err != nil {
				t.Errorf("catalog %s: message %q missing: %v", l, id, err)
			}
		}
		if got, en := len(c.IDs(l)), len(c.IDs("en")); got != en {
			t.Errorf("catalog %s has %d messages; en has %d", l, got, en)
		}
	}
}

// The plural rules come from the i18n library: one/other in English,
// Portuguese and French treat 0 and 1 alike.
func TestDaysPlural(t *testing.T) {
	c := newFlow(t).Catalog()
	tests := []struct {
		lang string
		n    int
		want string
	}{
		{"en", 1, "1 day"},
		{"en", 0, "0 days"},
		{"en", 90, "90 days"},
		{"pt", 1, "1 dia"},
		{"pt", 0, "0 dia"},
		{"pt", 2, "2 dias"},
		{"fr", 1, "1 jour"},
		{"fr", 0, "0 jour"},
		{"fr", 120, "120 jours"},
	}
	for _, tt := range tests {
		if got := c.Days(tt.lang, tt.n); got != tt.want {
			t.Errorf("Days(%s, %d) = %q; want %q", tt.lang, tt.n, got, tt.want)
		}
	}
}

func TestDateWords(t *testing.T) {
	c := newFlow(t).Catalog()
	d := rules.Date{Year: 2025, Month: time.July, Day: 26}
	for lang, want := range map[string]string{
		"en": "Saturday, 26 July 2025",
		"pt": "sábado, 26 de julho de 2025",
		"fr": "samedi 26 juillet 2025",
	} {
		if got := c.DateWords(lang, d); got != want {
			t.Errorf("DateWords(%s, %s) = %q; want %q", lang, d, got, want)
		}
	}
}

// The README's diagram is the state machine's; regenerate it with
// `go run ./cmd/aimabot diagram` when the flow changes.
func TestDiagramInReadme(t *testing.T) {
	d, err := Diagram()
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	want := "```mermaid\n" + d + "```"
	if !strings.Contains(string(readme), want) {
		t.Errorf("README.md's diagram differs from the flow's; replace it with the output of `go run ./cmd/aimabot diagram`:\n%s", want)
	}
	for _, s := range allStates() {
		if !strings.Contains(d, s) {
			t.Errorf("Diagram() lacks state %q", s)
		}
	}
	c, err := CaseDiagram()
	if err != nil {
		t.Fatal(err)
	}
	if want := "```mermaid\n" + c + "```"; !strings.Contains(string(readme), want) {
		t.Errorf("README.md's case diagram differs from the case's; replace it with the output of `go run ./cmd/aimabot diagram case`:\n%s", want)
	}
	for _, s := range []string{CaseWaiting, CaseTaken, CaseReleased, CaseClosed} {
		if !strings.Contains(c, s) {
			t.Errorf("CaseDiagram() lacks status %q", s)
		}
	}
}

func TestParseText(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Input
	}{
		{"plain text", "hello", Input{Kind: Text, Text: "hello"}},
		{"command", "/start", Input{Kind: Command, Command: "start"}},
		{"command to the bot by name", "/start@aimabot", Input{Kind: Command, Command: "start"}},
		{"deep link payload", "/start@aimabot ref-flyer", Input{Kind: Command, Command: "start", Text: "ref-flyer"}},
		{"upper case", "/HELP", Input{Kind: Command, Command: "help"}},
		{"a slash alone is text", "/", Input{Kind: Text, Text: "/"}},
		{"a date with slashes is text", "/07/2025", Input{Kind: Text, Text: "/07/2025"}},
		{"a path is text", "/home/me", Input{Kind: Text, Text: "/home/me"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ParseText(tt.in, ""); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseText(%q) = %+v; want %+v", tt.in, got, tt.want)
			}
		})
	}
}

func TestMatchLanguage(t *testing.T) {
	for in, want := range map[string]string{"pt-BR": "pt", "pt": "pt", "fr_CA": "fr", "FR": "fr", "de": "en", "": "en", "en-GB": "en"} {
		if got := MatchLanguage(in); got != want {
			t.Errorf("MatchLanguage(%q) = %q; want %q", in, got, want)
		}
	}
}

// A session survives its JSON, and one from a newer program is refused
// rather than misread.
func TestSessionJSON(t *testing.T) {
	f := newFlow(t)
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	s := Session{}
	for _, in := range []Input{ParseText("/start", "pt"), {Kind: Button, Data: "0:lang:pt"}} {
		var err error
		if s, _, err = f.Step(s, in, now); err != nil {
			t.Fatal(err)
		}
	}
	b, err := s.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	back, err := Unmarshal(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, s) {
		t.Errorf("Unmarshal(Marshal(s)) = %+v; want %+v", back, s)
	}
	if back.Lang != "pt" || back.State != StateSituation {
		t.Errorf("session = lang %q state %q; want pt situation", back.Lang, back.State)
	}
	if _, err := Unmarshal([]byte(`{"v":99,"state":"done"}`)); err == nil {
		t.Error("Unmarshal(v99) = nil error; want a refusal")
	}
	if _, err := Unmarshal([]byte(`{"v":1,`)); err == nil {
		t.Error("Unmarshal(truncated) = nil error; want an error")
	}
}

// A button of an earlier step is not acted on. Pressed again right after
// it was answered (a double tap), it gets no reply: the question it led to
// is the next message. An older one gets the out-of-date notice and the
// current question.
func TestStaleButton(t *testing.T) {
	f := newFlow(t)
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	s, replies, _ := f.Step(Session{}, ParseText("/start", "en"), now)
	english := replies[len(replies)-1].Buttons[0][0].Data
	s, replies, _ = f.Step(s, Input{Kind: Button, Data: english}, now)
	lost := replies[len(replies)-1].Buttons[0][0].Data // "My card was lost, stolen or damaged"
	before := s
	s, replies, err := f.Step(s, Input{Kind: Button, Data: english}, now)
	if err != nil {
		t.Fatal(err)
	}
	if s.State != before.State || s.Step != before.Step {
		t.Errorf("double tap moved the session to %s/%d; want %s/%d", s.State, s.Step, before.State, before.Step)
	}
	if len(replies) != 0 {
		t.Errorf("double tap replies = %+v; want none", replies)
	}
	s, _, _ = f.Step(s, Input{Kind: Button, Data: lost}, now)
	before = s
	s, replies, err = f.Step(s, Input{Kind: Button, Data: english}, now)
	if err != nil {
		t.Fatal(err)
	}
	if s.State != before.State || s.Step != before.Step {
		t.Errorf("stale press moved the session to %s/%d; want %s/%d", s.State, s.Step, before.State, before.Step)
	}
	if len(replies) == 0 || !strings.Contains(replies[0].Text, "earlier step") {
		t.Errorf("stale press replies = %+v; want the out-of-date notice", replies)
	}
	for _, bad := range []string{"", "x", "1", "-1:lang:en", "999999999999999999999:lang:en", strings.Repeat("9", 70)} {
		s2, replies, err := f.Step(s, Input{Kind: Button, Data: bad}, now)
		if err != nil || s2.State != s.State || len(replies) == 0 {
			t.Errorf("Step(button %q) = state %s, %d replies, %v; want the same state and a reply", bad, s2.State, len(replies), err)
		}
	}
}

// Step is a function of its arguments: the same input twice gives the same
// session and replies, and the caller's session is not modified.
func TestStepIsPure(t *testing.T) {
	f := newFlow(t)
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	s := Session{}
	for _, in := range []Input{ParseText("/start", "en"), {Kind: Button, Data: "0:lang:en"},
		{Kind: Button, Data: "1:sit:duplicate"}, {Kind: Button, Data: "2:reason:lost"}, ParseText("26/07/2028", "en"),
		{Kind: Button, Data: "4:continue"}} {
		s, _, _ = f.Step(s, in, now)
	}
	in := Input{Kind: Files, Files: []File{{Ref: "a", Type: rules.JPEG, Size: 10}}}
	snapshot := s.clone()
	s1, r1, err1 := f.Step(s, in, now)
	s2, r2, err2 := f.Step(s, in, now)
	if !reflect.DeepEqual(s1, s2) || !reflect.DeepEqual(r1, r2) || err1 != nil || err2 != nil {
		t.Errorf("Step twice differs: %+v / %+v", s1, s2)
	}
	if !reflect.DeepEqual(s, snapshot) {
		t.Errorf("Step modified its argument: %+v; want %+v", s, snapshot)
	}
	if len(s1.Docs) != 1 || s1.Docs[0].ID != rules.DocPassport {
		t.Errorf("after a photo, docs = %+v; want the passport", s1.Docs)
	}
}

// Every state's question renders in every language, for every kind and
// reason and verdict, with no message missing.
func TestEveryPromptRenders(t *testing.T) {
	f := newFlow(t)
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	expiries := []rules.Date{{Year: 2028, Month: 1, Day: 1}, {Year: 2027, Month: 1, Day: 1}, {Year: 2026, Month: 1, Day: 1}}
	var sessions []Session
	for _, k := range append(rules.Kinds(), "") {
		reasons := append(rules.Reasons(k), "")
		for _, r := range reasons {
			for _, e := range expiries {
				docs, _ := rules.Documents(k, r)
				var sent []Doc
				for i, d := range docs {
					if i%2 == 0 {
						sent = append(sent, Doc{ID: d.ID, Ref: "x", Type: rules.PDF, Size: 1})
					}
				}
				for _, st := range allStates() {
					needsKind := st == StateReason || needsReason(st)
					if (needsKind && k == "") || (needsReason(st) && r == "") {
						continue // not a session the flow can reach
					}
					sessions = append(sessions, Session{State: st, Kind: k, Reason: r, Expiry: e, Docs: sent})
				}
			}
		}
	}
	for _, lang := range Languages() {
		for _, s := range sessions {
			s.Lang = lang
			for _, in := range []Input{ParseText("/status", lang), ParseText("/help", lang), {Kind: Unsupported}} {
				_, replies, err := f.Step(s, in, now)
				if err != nil {
					t.Fatalf("Step(%s %s/%s/%s, %v) error: %v", lang, s.State, s.Kind, s.Reason, in, err)
				}
				for _, r := range replies {
					if strings.Contains(r.Text, "[") && strings.Contains(r.Text, "_") {
						t.Errorf("Step(%s %s/%s/%s) renders a missing message: %q", lang, s.State, s.Kind, s.Reason, r.Text)
					}
					if len(r.Text) > 4096 {
						t.Errorf("reply of %d bytes is over Telegram's 4096", len(r.Text))
					}
					for _, row := range r.Buttons {
						for _, b := range row {
							if b.Label == "" || len(b.Data) > maxButtonData || strings.Contains(b.Label, "[") {
								t.Errorf("bad button %+v in %s %s", b, lang, s.State)
							}
						}
					}
				}
			}
		}
	}
}

func needsReason(state string) bool {
	switch state {
	case StateDocuments, StateReplace, StateReview, StateDone:
		return true
	}
	return false
}

// The photos of an album fill the next documents in order, the card's
// front and back both, and get one answer that says what each was filed
// as, when the album ends or when the applicant does something else.
func TestAlbum(t *testing.T) {
	f := newFlow(t)
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	s := Session{}
	for _, in := range []Input{ParseText("/start", "en"), {Kind: Button, Data: "0:lang:en"},
		{Kind: Button, Data: "1:sit:data_change"}, {Kind: Button, Data: "2:reason:address"}, ParseText("26/07/2028", "en"),
		{Kind: Button, Data: "4:continue"}} {
		s, _, _ = f.Step(s, in, now)
	}
	photo := func(ref string) Input {
		return Input{Kind: Files, Album: "g1", Files: []File{{Ref: ref, Type: rules.JPEG, Size: 100, Photo: true}}}
	}
	for _, end := range []Input{{Kind: AlbumEnd}, ParseText("/status", "en")} {
		t.Run(fmt.Sprint(end.Kind), func(t *testing.T) {
			a := s
			for _, ref := range []string{"p1", "p2", "p3"} {
				var replies []Reply
				a, replies, _ = f.Step(a, photo(ref), now)
				if len(replies) != 0 {
					t.Fatalf("album photo %s got %d replies; want none until the album ends", ref, len(replies))
				}
			}
			if len(a.Docs) != 0 {
				t.Fatalf("docs before the album ends = %+v; want none", a.Docs)
			}
			a, replies, err := f.Step(a, end, now)
			if err != nil {
				t.Fatal(err)
			}
			want := []rules.DocID{rules.DocPassport, rules.DocResidenceCard, rules.DocResidenceCard}
			if len(a.Docs) != len(want) {
				t.Fatalf("docs = %+v; want %v", a.Docs, want)
			}
			for i, d := range a.Docs {
				if d.ID != want[i] || d.Ref != fmt.Sprintf("p%d", i+1) {
					t.Errorf("docs[%d] = %s from %s; want %s from p%d", i, d.ID, d.Ref, want[i], i+1)
				}
			}
			if a.Album != nil || len(replies) == 0 || !strings.Contains(replies[0].Text, "Received: Passport copy ✅\nReceived: Residence card copy, front ✅\nReceived: Residence card copy, back ✅") {
				t.Errorf("album answer = %+v; want one answer listing the documents", replies)
			}
			again, replies, _ := f.Step(a, Input{Kind: AlbumEnd}, now)
			if len(replies) != 0 || !reflect.DeepEqual(again, a) {
				t.Errorf("a second AlbumEnd changed something: %d replies", len(replies))
			}
		})
	}
}

// A question with two close topics offers both, and either button works,
// at any step, including the "I have a question" step.
func TestFAQChoiceButtonsWork(t *testing.T) {
	f := newFlow(t)
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	// Two topics' own titles asked together are close to both.
	var ambiguous string
	topics := f.KB().Topics()
	for i := 0; i < len(topics) && ambiguous == ""; i++ {
		for j := i + 1; j < len(topics); j++ {
			q := topics[i].Text["en"].Title + " and " + topics[j].Text["en"].Title + "?"
			if m := f.KB().Match(q, "en"); len(m.Also) > 0 {
				ambiguous = q
				break
			}
		}
	}
	if ambiguous == "" {
		t.Fatal("no two topics are ever offered together; the choice cannot be tested")
	}
	for _, path := range [][]Input{
		{ParseText("/start", "en"), {Kind: Button, Data: "0:lang:en"}},
		{ParseText("/start", "en"), {Kind: Button, Data: "0:lang:en"}, {Kind: Button, Data: "1:sit:question"}},
	} {
		s := Session{}
		for _, in := range path {
			s, _, _ = f.Step(s, in, now)
		}
		s, replies, err := f.Step(s, ParseText(ambiguous, "en"), now)
		if err != nil {
			t.Fatal(err)
		}
		var choice string
		for _, r := range replies {
			if strings.Contains(r.Text, "Which of these") && len(r.Buttons) > 0 {
				choice = r.Buttons[0][0].Data
			}
		}
		if choice == "" {
			t.Fatalf("state %s: no choice offered for %q: %+v", path[len(path)-1].Data, ambiguous, replies)
		}
		_, replies, _ = f.Step(s, Input{Kind: Button, Data: choice}, now)
		if len(replies) == 0 || strings.Contains(replies[0].Text, "earlier step") || !strings.Contains(replies[0].Text, "Sources") {
			t.Errorf("pressing the offered topic = %+v; want its answer", replies)
		}
	}
}

// A saved reply is written as /savereply KEY and a line per language; one
// that lacks a language, or has a bad key, is refused with the reason.
func TestParseSavedReply(t *testing.T) {
	f := sharedFlow(t, true, "en")
	tests := []struct {
		name, args string
		want       map[string]string // nil: refused
		problem    string
	}{
		{"three lines", "docs\nen: Send your passport.\npt: Envie o passaporte.\nfr : Envoyez le passeport.",
			map[string]string{"en": "Send your passport.", "pt": "Envie o passaporte.", "fr": "Envoyez le passeport."}, ""},
		{"a text over two lines", "Docs\nen: Line one\nline two\npt: Um\nfr: Un",
			map[string]string{"en": "Line one\nline two", "pt": "Um", "fr": "Un"}, ""},
		{"a language missing", "docs\nen: Send it.\npt: Envie.", nil, "«docs» has no text in fr"},
		{"no key", "", nil, "no key"},
		{"a bad key", "two words\nen: a\npt: b\nfr: c", nil, "the key «two words» may have only"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := ParseSavedReply(tt.args)
			if tt.want == nil {
				var re *ReplyError
				if !errors.As(err, &re) || !strings.Contains(re.Text(f.cat, "en"), tt.problem) {
					t.Errorf("ParseSavedReply(%q) = %v; want an error saying %q", tt.args, err, tt.problem)
				}
				return
			}
			if err != nil || r.Key != "docs" || !maps.Equal(r.Text, tt.want) {
				t.Errorf("ParseSavedReply(%q) = %+v, %v; want docs %v", tt.args, r, err, tt.want)
			}
		})
	}
}
