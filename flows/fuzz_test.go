package flows

import (
	"bytes"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aimabot/aimabot/rules"
)

// Fuzz targets for what applicants (and the support team) send into the
// conversation. Run one longer with, for example:
//
//	go test ./flows -run '^$' -fuzz '^FuzzStep$' -fuzztime 5m

// FuzzParseButton reads arbitrary button data. Data it accepts is 1..64
// bytes, has a step >= 0 and an action without a colon, and is
// "<step>:<action>[:<arg>]": the parts, joined again, give the data back
// (up to how the step number is spelt, "07" or "+7", and an empty last
// part), and the joined form reads back as the same parts.
func FuzzParseButton(f *testing.F) {
	for _, s := range []string{
		"3:lang:pt", "12:sit:duplicate", "7:continue", "0:reason:lost", "4:faq:fees", "5:redo:passport",
		"case:take", "0:case:take", "", ":", "1:", ":x", "-1:lang:en", "+1:lang:en", "007:x",
		"1:x:y:z", "99999999999999999999:x", "1:" + strings.Repeat("a", 62), "1:" + strings.Repeat("a", 63),
		"1:\xff\x00:\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data string) {
		step, action, arg, ok := parseButton(data)
		if !ok {
			if step != 0 || action != "" || arg != "" {
				t.Fatalf("parseButton(%q) = %d, %q, %q, false; want zero parts when refused", data, step, action, arg)
			}
			if !IsStale(Session{Step: step}, data) {
				t.Fatalf("IsStale(%q) = false for data parseButton refuses", data)
			}
			return
		}
		if len(data) == 0 || len(data) > maxButtonData {
			t.Fatalf("parseButton accepted %d bytes of data %q; want 1..%d", len(data), data, maxButtonData)
		}
		if step < 0 {
			t.Fatalf("parseButton(%q) step = %d; want >= 0", data, step)
		}
		if strings.Contains(action, ":") {
			t.Fatalf("parseButton(%q) action = %q holds a colon", data, action)
		}
		num, rest, found := strings.Cut(data, ":")
		if !found {
			t.Fatalf("parseButton(%q) accepted data without a colon", data)
		}
		if n, err := strconv.Atoi(num); err != nil || n != step {
			t.Fatalf("parseButton(%q) step = %d; the data's step part %q reads %d, %v", data, step, num, n, err)
		}
		if rest != action && rest != action+":"+arg {
			t.Fatalf("parseButton(%q) = %q, %q; %q joined again is %q", data, action, arg, rest, action+":"+arg)
		}
		if rest == action && arg != "" {
			t.Fatalf("parseButton(%q) found arg %q in data with no third part", data, arg)
		}
		canon := strconv.Itoa(step) + ":" + action
		if arg != "" {
			canon += ":" + arg
		}
		if len(canon) <= maxButtonData {
			s2, a2, g2, ok2 := parseButton(canon)
			if !ok2 || s2 != step || a2 != action || g2 != arg {
				t.Fatalf("parseButton(%q) = %d, %q, %q but its joined form %q reads %d, %q, %q, %t",
					data, step, action, arg, canon, s2, a2, g2, ok2)
			}
		}
		if IsStale(Session{Step: step}, data) {
			t.Fatalf("IsStale(step %d, %q) = true; want false for the same step", step, data)
		}
	})
}

// FuzzParseText reads an arbitrary typed line. It is a command exactly when
// it starts with "/" and a Telegram command name: the name in the Input is
// lower case, [a-z0-9_] and 1..32 bytes, and the arguments are trimmed;
// anything else is text, kept as it was typed.
func FuzzParseText(f *testing.F) {
	for _, s := range []string{
		"/start", "/START@AimaBot payload", "/start@aimabot  deep link ", "/help", "/", "//", "/ start",
		"/@bot", "/_", "/a1_b2", "/" + strings.Repeat("a", 32), "/" + strings.Repeat("a", 33), "/stárt",
		"/start\u00a0x", "/start\tx", "hello", "", " /start", "/K", "/\xff", "/start@",
	} {
		f.Add(s, "en")
	}
	f.Add("/comeÇar", "pt-BR")
	validName := regexp.MustCompile(`^[a-z0-9_]{1,32}$`)
	f.Fuzz(func(t *testing.T, text, lang string) {
		in := ParseText(text, lang)
		if in.ClientLang != lang {
			t.Fatalf("ParseText(%q, %q).ClientLang = %q", text, lang, in.ClientLang)
		}
		if in.From != nil || in.Data != "" || len(in.Files) > 0 {
			t.Fatalf("ParseText(%q) = %+v; want only text or a command", text, in)
		}
		switch in.Kind {
		case Text:
			if in.Text != text || in.Command != "" {
				t.Fatalf("ParseText(%q) = text %q, command %q; want the text as typed", text, in.Text, in.Command)
			}
		case Command:
			if !validName.MatchString(in.Command) {
				t.Fatalf("ParseText(%q) = command %q; want [a-z0-9_]{1,32}", text, in.Command)
			}
			if !strings.HasPrefix(strings.ToLower(text), "/"+in.Command) {
				t.Fatalf("ParseText(%q) = command %q, which the text does not start with", text, in.Command)
			}
			if in.Text != strings.TrimSpace(in.Text) {
				t.Fatalf("ParseText(%q) arguments %q are not trimmed", text, in.Text)
			}
			if !strings.Contains(text[1+len(in.Command):], in.Text) {
				t.Fatalf("ParseText(%q) arguments %q are not in the text after the command", text, in.Text)
			}
		default:
			t.Fatalf("ParseText(%q) kind = %d; want Text or Command", text, in.Kind)
		}
	})
}

// stepFuzz is what FuzzStep starts from: a flow with a support team, and
// sessions at a few points of a conversation, built by stepping real inputs.
type stepFuzz struct {
	f        *Flow
	now      time.Time
	sessions []namedSession
}

type namedSession struct {
	name string
	s    Session
}

var agentAna = &Agent{ID: 7, Name: "Ana"}

func newStepFuzz(tb testing.TB) *stepFuzz {
	tb.Helper()
	f, err := New(WithStaff("en"))
	if err != nil {
		tb.Fatal(err)
	}
	z := &stepFuzz{f: f, now: time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)}
	var s Session
	var last []Reply
	step := func(in Input) {
		tb.Helper()
		var err error
		s, last, err = f.Step(s, in, z.now)
		if err != nil {
			tb.Fatalf("building the fuzz sessions: Step(%+v): %v", in, err)
		}
	}
	press := func(action, arg string) {
		tb.Helper()
		for _, r := range last {
			for _, row := range r.Buttons {
				for _, b := range row {
					if _, a, g, ok := parseButton(b.Data); ok && a == action && (arg == "" || g == arg) {
						step(Input{Kind: Button, Data: b.Data, Label: b.Label})
						return
					}
				}
			}
		}
		tb.Fatalf("building the fuzz sessions: no button %s:%s in state %s", action, arg, s.State)
	}
	keep := func(name string) { z.sessions = append(z.sessions, namedSession{name, s}) }
	files := 0
	file := func(typ rules.FileType) Input {
		files++
		return Input{Kind: Files, Files: []File{{Ref: fmt.Sprintf("file-%d", files), Type: typ, Size: 150000, Photo: typ == rules.JPEG}},
			Msgs: []Message{{Chat: 42, ID: 100 + files}}}
	}

	keep("new session")
	step(ParseText("/start", "")) // an app language not ours: asked
	keep("language")
	press(actLang, "en")
	keep("situation")
	press(actSituation, string(rules.Duplicate))
	press(actReason, string(rules.Lost))
	keep("expiry")
	step(ParseText("my card expires on 26/07/2027", "en"))
	keep("verdict")
	press(actContinue, "")
	step(file(rules.JPEG))
	keep("documents")
	withDocs := s
	step(Input{Kind: Files, Album: "g1", Files: file(rules.JPEG).Files, Msgs: []Message{{Chat: 42, ID: 900}}})
	keep("documents, an album arriving")
	s = withDocs
	step(ParseText("/human", "en"))
	keep("documents, case waiting")
	waiting := s
	step(Input{Kind: Files, Album: "s1", Msgs: []Message{{Chat: -100, ID: 500}}, From: agentAna})
	keep("documents, case waiting, staff album arriving")
	s = waiting
	step(Input{Kind: Command, Command: "takeover", From: agentAna})
	keep("documents, case taken by staff")
	step(Input{Kind: Command, Command: "release", From: agentAna})
	keep("documents, case released")
	for i := 0; s.State == StateDocuments && i < 10; i++ {
		step(file(rules.PDF))
	}
	keep("review")
	press(actConfirm, "")
	keep("done")
	step(Input{Kind: Command, Command: "close", From: agentAna})
	keep("done, case closed")
	step(ParseText("/forget", "en"))
	keep("done, confirming /forget")
	return z
}

// FuzzStep feeds arbitrary inputs into the conversation, a few at a time,
// from sessions at different points (a new one, the expiry question,
// documents with a case waiting or taken over by staff, the end). The
// script holds one input a line, its first byte saying what it is:
//
//	t text     / command (or text)     b button data      s button of the current step: "<step>:" + data
//	p N press the Nth button shown     f file TYPESIZE    a album photo     e album end     u sticker
//	S staff message or command         K staff card button "case:" + data  @ hours passing
//
// Invariants: Step never fails nor changes the session it is given; the
// session it returns survives Marshal/Unmarshal, and the stored copy
// answers the next input exactly as the one in memory; every reply has text
// or is an effect for the transport (card, copy, event, erasure); no
// message is missing from the catalog; every button has a label and data of
// at most 64 bytes that reads back as it was written, for a step the turn
// went through (the last question's for the new step); the session stays
// in a known state and language, its step never goes back; and the
// applicant never puts their own case in a person's hands.
func FuzzStep(f *testing.F) {
	z := newStepFuzz(f)
	for i := range z.sessions {
		for _, script := range []string{
			"t hello",
			"/status",
			"p 1",
			"p 2\np 1\np 1",
			"t 26/07/2027\np 1",
			"t can I talk to a person?",
			"t how much does the 2nd copy cost?\nt what documents do I need?",
			"f J150000\nf P30000000\nf Z100\nf D0",
			"a g1\na g1\ne",
			"/forget\np 1",
			"/cancel\np 1",
			"s lang:fr",
			"b 0:case:take\nK take",
			"S /takeover\nS hello there\nt thanks\nS /release",
			"S /close\nt hi",
			"@ 2000\n/status",
			"t " + strings.Repeat("\u200b\u202eAIMA ", 2000),
		} {
			f.Add(uint8(i), script)
		}
	}
	f.Fuzz(func(t *testing.T, start uint8, script string) {
		// Transports hand over valid UTF-8 (Telegram's JSON is): a session
		// stored as JSON could not keep invalid bytes as they are anyway.
		script = strings.ToValidUTF8(script, "\uFFFD")
		ns := z.sessions[int(start)%len(z.sessions)]
		s, now := ns.s, z.now
		var last []Reply
		lines := strings.Split(script, "\n")
		if len(lines) > 8 {
			lines = lines[:8]
		}
		for i, line := range lines {
			in, ok := z.input(s, last, line, &now)
			if !ok {
				continue
			}
			where := fmt.Sprintf("from %q, input %d %q (%+v)", ns.name, i, line, in)
			before, err := s.Marshal()
			if err != nil {
				t.Fatalf("%s: Marshal before: %v", where, err)
			}
			next, replies, err := z.f.Step(s, in, now)
			if err != nil {
				t.Fatalf("%s: Step error: %v", where, err)
			}
			if after, _ := s.Marshal(); !bytes.Equal(before, after) {
				t.Fatalf("%s: Step changed the session it was given:\n%s\n%s", where, before, after)
			}
			z.checkReplies(t, where, s, next, replies)
			z.checkSession(t, where, s, next, in, replies)

			// The stored session answers as the one in memory.
			stored, err := Unmarshal(before)
			if err != nil {
				t.Fatalf("%s: Unmarshal(%s): %v", where, before, err)
			}
			next2, replies2, err := z.f.Step(stored, in, now)
			if err != nil {
				t.Fatalf("%s: Step on the stored session: %v", where, err)
			}
			if !reflect.DeepEqual(replies, replies2) {
				t.Fatalf("%s: the stored session answers differently:\nmemory: %+v\nstored: %+v", where, replies, replies2)
			}
			a, _ := next.Marshal()
			b, _ := next2.Marshal()
			if !bytes.Equal(a, b) {
				t.Fatalf("%s: the stored session steps to a different session:\nmemory: %s\nstored: %s", where, a, b)
			}
			s, last = next, replies
		}
	})
}

// input reads one script line; false for a line that is not an input.
func (z *stepFuzz) input(s Session, last []Reply, line string, now *time.Time) (Input, bool) {
	if line == "" {
		return Input{}, false
	}
	op, rest := line[0], strings.TrimPrefix(line[1:], " ")
	lang := ""
	if len(rest) > 0 && rest[0] == '~' { // "~pt rest": the applicant's app language
		lang, rest, _ = strings.Cut(rest[1:], " ")
	}
	msgs := []Message{{Chat: 42, ID: len(line)}}
	switch op {
	case 't':
		return Input{Kind: Text, Text: rest, ClientLang: lang, Msgs: msgs}, true
	case '/':
		in := ParseText(line, lang)
		in.Msgs = msgs
		return in, true
	case 'b':
		return Input{Kind: Button, Data: rest, ClientLang: lang}, true
	case 's':
		return Input{Kind: Button, Data: strconv.Itoa(s.Step) + ":" + rest, ClientLang: lang}, true
	case 'p':
		var shown []ButtonSpec
		for _, r := range last {
			if !r.Staff {
				for _, row := range r.Buttons {
					shown = append(shown, row...)
				}
			}
		}
		if len(shown) == 0 {
			shown = buttonsOf(z.f.Prompt(s, *now))
		}
		n, err := strconv.Atoi(rest)
		if err != nil || len(shown) == 0 {
			return Input{}, false
		}
		b := shown[((n-1)%len(shown)+len(shown))%len(shown)]
		return Input{Kind: Button, Data: b.Data, Label: b.Label, ClientLang: lang}, true
	case 'f':
		typ := map[byte]rules.FileType{'J': rules.JPEG, 'P': rules.PDF, 'N': rules.PNG}
		var t rules.FileType
		var size int64 = 1000
		if rest != "" {
			t = typ[rest[0]]
			if n, err := strconv.ParseInt(rest[1:], 10, 64); err == nil {
				size = n
			}
		}
		return Input{Kind: Files, Files: []File{{Ref: "f:" + rest, Type: t, Size: size, Photo: t == rules.JPEG}},
			ClientLang: lang, Msgs: msgs}, true
	case 'a':
		return Input{Kind: Files, Album: rest, Files: []File{{Ref: "a:" + line, Type: rules.JPEG, Size: 150000, Photo: true}},
			ClientLang: lang, Msgs: msgs}, true
	case 'e':
		return Input{Kind: AlbumEnd}, true
	case 'u':
		return Input{Kind: Unsupported, ClientLang: lang, Msgs: msgs}, true
	case 'S':
		in := ParseText(rest, "")
		in.From, in.Msgs = agentAna, []Message{{Chat: -100, ID: len(line)}}
		return in, true
	case 'K':
		return Input{Kind: Button, Data: staffPrefix + rest, From: agentAna}, true
	case '@':
		if h, err := strconv.Atoi(rest); err == nil && h > 0 {
			*now = now.Add(time.Duration(min(h, 24*400)) * time.Hour)
		}
		return Input{}, false
	}
	in := ParseText(line, lang)
	in.Msgs = msgs
	return in, true
}

func buttonsOf(replies []Reply) []ButtonSpec {
	var out []ButtonSpec
	for _, r := range replies {
		for _, row := range r.Buttons {
			out = append(out, row...)
		}
	}
	return out
}

// missingMessage is how the catalog renders a message it does not have.
var missingMessage = regexp.MustCompile(`^\[[a-z][a-z0-9_]*\]$`)

// lastButtons is the index of the last reply to the applicant with buttons,
// -1 when none has any.
func lastButtons(replies []Reply) int {
	last := -1
	for i, r := range replies {
		if !r.Staff && len(r.Buttons) > 0 {
			last = i
		}
	}
	return last
}

// checkReplies checks the replies of one step from prev to next. Buttons
// belong to steps between the two; those of the last reply with buttons, the
// question the applicant answers next, to next's step. (When an album is
// answered before the input that follows it, the album's reply carries
// buttons of the step before.)
func (z *stepFuzz) checkReplies(t *testing.T, where string, prev, next Session, replies []Reply) {
	t.Helper()
	for i, r := range replies {
		effect := r.Card || len(r.Copy) > 0 || r.Forget || r.DropCase || r.Event != ""
		if !effect && strings.TrimSpace(r.Text) == "" {
			t.Fatalf("%s: a reply with no text and no effect: %+v", where, r)
		}
		for _, p := range strings.Split(r.Text, "\n\n") {
			if missingMessage.MatchString(strings.TrimSpace(p)) {
				t.Fatalf("%s: a message missing from the catalog: %q in %q", where, p, r.Text)
			}
		}
		if len(r.Buttons) > 0 && strings.TrimSpace(r.Text) == "" {
			t.Fatalf("%s: buttons with no text to carry them: %+v", where, r)
		}
		for _, row := range r.Buttons {
			for _, b := range row {
				if len(b.Data) > maxButtonData {
					t.Fatalf("%s: button %q data %q is %d bytes; Telegram takes %d", where, b.Label, b.Data, len(b.Data), maxButtonData)
				}
				if strings.TrimSpace(b.Label) == "" {
					t.Fatalf("%s: a button without a label: %+v", where, b)
				}
				if r.Staff {
					continue
				}
				step, action, arg, ok := parseButton(b.Data)
				if !ok {
					t.Fatalf("%s: button %q data %q does not read back", where, b.Label, b.Data)
				}
				canon := strconv.Itoa(step) + ":" + action
				if arg != "" {
					canon += ":" + arg
				}
				if canon != b.Data {
					t.Fatalf("%s: button %q data %q reads back as %q", where, b.Label, b.Data, canon)
				}
				if step < prev.Step || step > next.Step || (r.Buttons != nil && lastButtons(replies) == i && step != next.Step) {
					t.Fatalf("%s: button %q data %q is for step %d; the session went from step %d to %d",
						where, b.Label, b.Data, step, prev.Step, next.Step)
				}
			}
		}
	}
}

func (z *stepFuzz) checkSession(t *testing.T, where string, prev, next Session, in Input, replies []Reply) {
	t.Helper()
	forgot := slices.ContainsFunc(replies, func(r Reply) bool { return r.Forget })
	if forgot {
		if !reflect.DeepEqual(next, Session{}) {
			t.Fatalf("%s: erased, yet the session returned is %+v", where, next)
		}
		return
	}
	data, err := next.Marshal()
	if err != nil {
		t.Fatalf("%s: Marshal: %v", where, err)
	}
	back, err := Unmarshal(data)
	if err != nil {
		t.Fatalf("%s: Unmarshal(%s): %v", where, data, err)
	}
	again, err := back.Marshal()
	if err != nil || !bytes.Equal(data, again) {
		t.Fatalf("%s: the session does not survive Marshal/Unmarshal:\n%s\n%s (%v)", where, data, again, err)
	}
	if next.State == "" {
		if prev.State != "" {
			t.Fatalf("%s: the conversation ended without an erasure", where)
		}
		return
	}
	if !slices.Contains(allStates(), next.State) {
		t.Fatalf("%s: unknown state %q", where, next.State)
	}
	if !slices.Contains(Languages(), next.Lang) {
		t.Fatalf("%s: language %q is not one the assistant speaks", where, next.Lang)
	}
	if next.Step < prev.Step {
		t.Fatalf("%s: step went back from %d to %d; an old button would be taken as current", where, prev.Step, next.Step)
	}
	if next.Misses < 0 || next.Unanswered < 0 || len(next.Recent) > recentLines {
		t.Fatalf("%s: counters out of range: misses %d, unanswered %d, %d recent lines", where, next.Misses, next.Unanswered, len(next.Recent))
	}
	// A document may have several pages (files), but only documents the
	// request asks for.
	asked, _ := rules.Documents(next.Kind, next.Reason)
	for _, d := range next.Docs {
		if !slices.ContainsFunc(asked, func(a rules.Document) bool { return a.ID == d.ID }) {
			t.Fatalf("%s: document %s is filed, but %s/%s does not ask for it", where, d.ID, next.Kind, next.Reason)
		}
	}
	if next.Adding != "" && next.pages(next.Adding) == 0 {
		t.Fatalf("%s: a page is asked for %s, which has no first page", where, next.Adding)
	}
	if c := next.Human; c != nil {
		if !slices.Contains([]string{CaseWaiting, CaseTaken, CaseReleased, CaseClosed}, next.CaseStatus()) {
			t.Fatalf("%s: case status %q", where, next.CaseStatus())
		}
		if len(c.History) > historyLen {
			t.Fatalf("%s: %d case events kept; at most %d", where, len(c.History), historyLen)
		}
		if next.CaseStatus() == CaseTaken && c.Agent == nil {
			t.Fatalf("%s: case taken by nobody", where)
		}
		for _, row := range z.f.Card(next, z.now).Buttons {
			for _, b := range row {
				if len(b.Data) > maxButtonData {
					t.Fatalf("%s: card button data %q over %d bytes", where, b.Data, maxButtonData)
				}
			}
		}
	}
	// The applicant cannot hand their own case to a person. A staff album
	// waiting to be passed on is the exception: any next input completes it,
	// and passing it on is the staff member taking over.
	staffAlbum := prev.Human != nil && prev.Human.StaffAlbum != nil && prev.Human.StaffAlbum.From != nil
	if in.From == nil && !staffAlbum && prev.CaseStatus() != CaseTaken && next.CaseStatus() == CaseTaken {
		t.Fatalf("%s: an applicant's input put the case in a person's hands (%s -> %s)", where, prev.CaseStatus(), next.CaseStatus())
	}
	if in.From == nil && !staffAlbum {
		for _, r := range replies {
			if len(r.Copy) > 0 && !r.Staff {
				t.Fatalf("%s: an applicant's input copied messages to the applicant: %+v", where, r)
			}
		}
	}
}
